/* internal.h — structures shared by the loader, the session and the kernels. */
#ifndef KILN_INTERNAL_H
#define KILN_INTERNAL_H

#include "kiln.h"
#include "opcodes.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KILN_HEADER_SIZE 24u
#define KILN_SECTION_ENTRY_SIZE 40u
#define KILN_TENSOR_ENTRY_SIZE 112u
#define KILN_INSTR_HEADER_SIZE 12u
#define KILN_PROGRAM_HEADER_SIZE 16u
#define KILN_CONSTANT_ALIGN 64u

/* ---- little-endian readers (host-independent) ---- */
static inline uint16_t kiln_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t kiln_rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t kiln_rd64(const uint8_t *p) {
    return (uint64_t)kiln_rd32(p) | ((uint64_t)kiln_rd32(p + 4) << 32);
}
static inline int32_t kiln_rdi32(const uint8_t *p) { uint32_t u = kiln_rd32(p); int32_t v; memcpy(&v, &u, 4); return v; }
static inline int64_t kiln_rdi64(const uint8_t *p) { uint64_t u = kiln_rd64(p); int64_t v; memcpy(&v, &u, 8); return v; }
static inline float kiln_rdf32(const uint8_t *p) { uint32_t u = kiln_rd32(p); float v; memcpy(&v, &u, 4); return v; }
static inline double kiln_rdf64(const uint8_t *p) { uint64_t u = kiln_rd64(p); double v; memcpy(&v, &u, 8); return v; }

uint32_t kiln_crc32(const uint8_t *data, size_t size);

/* ---- the loaded plan ---- */

typedef struct kiln_tdesc {
    char *name;                  /* NUL-terminated copy ("" when unnamed) */
    uint8_t dtype, rank, storage;
    uint8_t flags;               /* KILN_TENSOR_F16_STORAGE: CONSTANTS holds f16, widened at load */
    uint32_t io_index;
    uint64_t offset, bytes, count;
    int64_t dims[KILN_MAX_RANK];
    uint32_t quant_count;
    int32_t quant_axis;
    float *scales;               /* quant_count entries, or NULL */
    int64_t *zero_points;
    int64_t producer;            /* instruction writing it, -1 if none (set by the loader) */
    const uint8_t *data;         /* CONSTANT: its bytes (in constants or widened), else NULL */
} kiln_tdesc;

struct kiln_kernel;

typedef struct kiln_instr {
    uint16_t opcode;
    uint8_t nin, nout;
    uint32_t *ids;               /* nin operand ids then nout result ids */
    void *params;                /* decoded attributes (owned by the plan), or NULL */
    const struct kiln_kernel *kernel;
} kiln_instr;

struct kiln_plan {
    uint8_t *buffer;             /* the file bytes (aligned heap copy or mapping) */
    size_t size;
    int mapped;
    uint16_t major, minor;
    uint32_t flags;
    const uint8_t *constants;    /* points into buffer, or into constants_owned */
    uint64_t constants_size;
    uint8_t *constants_owned;
    uint8_t *tables_owned[KILN_SECTION_KIND_COUNT]; /* decompressed table sections (1.2) */
    uint8_t *widened_owned;      /* f32 copies of f16-stored constants (one block) */
    kiln_tdesc *tensors;
    uint32_t tensor_count;
    uint32_t *inputs, *outputs;  /* tensor ids by io index */
    uint32_t input_count, output_count;
    kiln_instr *instrs;
    uint32_t instr_count;
    uint32_t *id_pool;
    uint64_t arena_size;
    char **meta_keys, **meta_values;
    uint32_t meta_count;
    size_t workspace_floats;     /* per-thread float workspace the kernels need */
    void **blocks;               /* load-time buffers the kernels asked for (kiln_plan_alloc) */
    uint32_t block_count;
};

/* ---- execution ---- */

typedef struct kiln_pool kiln_pool;

typedef struct kiln_exec {
    const kiln_plan *plan;
    kiln_pool *pool;
    void *const *ptr;            /* data pointer of every tensor */
    float *workspace;            /* threads * workspace_floats floats */
    size_t workspace_floats;
    uint32_t threads;
} kiln_exec;

/* Calls fn(ctx, begin, end, thread) over [0, n) split into contiguous chunks, one per
 * thread; thread is in [0, threads). Runs inline when threads == 1 or n is small. */
typedef void (*kiln_range_fn)(void *ctx, size_t begin, size_t end, uint32_t thread);
void kiln_parallel_for(const kiln_exec *e, size_t n, kiln_range_fn fn, void *ctx);

kiln_status kiln_pool_create(uint32_t threads, kiln_pool **pool);
void kiln_pool_free(kiln_pool *pool);

#define KILN_IN(e, ins, i) ((e)->ptr[(ins)->ids[(i)]])
#define KILN_OUT(e, ins, i) ((e)->ptr[(ins)->ids[(ins)->nin + (i)]])

/* ---- kernels ---- */

/* Context for decoding and validating one instruction at load time. */
typedef struct kiln_check {
    kiln_plan *plan;
    kiln_instr *ins;
    uint32_t index;
    const uint8_t *attr;         /* the attribute block (kernel->attr_size or attr_size_ext bytes) */
    kiln_error *error;
    uint32_t attr_size;          /* its size in bytes */
} kiln_check;

typedef kiln_status (*kiln_check_fn)(kiln_check *c);
typedef void (*kiln_run_fn)(const kiln_exec *e, const kiln_instr *ins);

typedef struct kiln_kernel {
    uint16_t opcode;
    const char *name;
    uint32_t attr_size;
    uint8_t min_in, max_in, min_out, max_out;
    uint8_t inplace;             /* a result may occupy exactly an operand's bytes */
    kiln_check_fn check;
    kiln_run_fn run;
    uint32_t attr_size_ext;      /* a longer block also accepted (fields appended after 1.0), 0 = none */
} kiln_kernel;

const kiln_kernel *kiln_kernel_for(uint16_t opcode);

/* Check helpers (plan_check.c). */
kiln_status kiln_fail(kiln_error *error, kiln_status status, const char *fmt, ...);
kiln_status kiln_check_fail(kiln_check *c, const char *fmt, ...);
const kiln_tdesc *kiln_operand(const kiln_check *c, uint32_t i);   /* NULL when absent */
const kiln_tdesc *kiln_result(const kiln_check *c, uint32_t i);
void *kiln_params_alloc(kiln_check *c, size_t size);                 /* zeroed, owned by ins */
int kiln_same_dims(const kiln_tdesc *a, const kiln_tdesc *b);
int kiln_is_float(uint8_t dtype);
void kiln_format_dims(const kiln_tdesc *t, char *buf, size_t size);
kiln_status kiln_require_dtype(kiln_check *c, const kiln_tdesc *t, const char *what, uint8_t dtype);
/* Requires `t` to be present (operands/results that are not optional). */
kiln_status kiln_require_present(kiln_check *c, const kiln_tdesc *t, const char *what);
/* Requires a per-thread float workspace of at least `floats`. */
void kiln_need_workspace(kiln_check *c, size_t floats);
uint32_t kiln_dtype_bytes(uint8_t dtype);
/* Overflow-safe a*b; returns 0 on overflow. */
int kiln_mul_ok(uint64_t a, uint64_t b, uint64_t *out);

/* Prepare functions (gemm.c): run once the whole program is loaded and checked (c->attr
 * is NULL then) by kiln_prepare_program; they may rewrite constants only their instruction
 * reads (kiln_constant_writable), e.g. pack GEMM weights. */
kiln_status kiln_prepare_gemm(kiln_check *c);
kiln_status kiln_prepare_matmul(kiln_check *c);
/* Load-time helpers for prepare functions (plan_prepare.c). A 64-byte aligned block freed
 * with the plan, or NULL when out of memory: */
void *kiln_plan_alloc(kiln_plan *p, size_t bytes);
/* Constant tensor `id` as writable memory when its bytes belong to the plan's own heap
 * copy and nothing but the single operand slot `slot` of instruction `index` reads them
 * (no other slot, instruction or overlapping constant); NULL otherwise. */
void *kiln_constant_writable(kiln_plan *p, uint32_t index, uint32_t slot);
/* After a prepare copied bytes [from, to) of the constant read by slot `slot` of
 * instruction `index` elsewhere: gives a read-only mapped plan's pages of them back to the
 * OS when that slot is the constant's only reader (they are read from the file again if
 * touched). */
void kiln_constant_release(kiln_plan *p, uint32_t index, uint32_t slot, uint64_t from, uint64_t to);

/* Fused activation shared by conv / gemm / matmul / batch_norm. */
typedef struct kiln_act { int32_t func; float alpha, beta; } kiln_act;
kiln_status kiln_check_act(kiln_check *c, const uint8_t *p, kiln_act *act);
void kiln_apply_act(const kiln_act *act, float *x, size_t n);
/* Applies unary `func` on f32 data (in may equal out). */
void kiln_unary_f32(int32_t func, float alpha, float beta, const float *in, float *out, size_t n);
int kiln_unary_valid_on_f32(int32_t func);

/* GEMM (row-major): C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T. */
void kiln_sgemm(const kiln_exec *e, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* Portable GEMM used when built without BLAS; also exported for tests. */
void kiln_sgemm_portable(const kiln_exec *e, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                         const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* GEMM with few rows or columns (gemm_small.c): computes C and returns 1 when M <= 4 (A
 * rows contiguous), N = 1, or K <= 1024 with N <= 64 (B not transposed) or at most 1M
 * multiply-adds (A rows contiguous when B is transposed); returns 0,
 * touching nothing, otherwise. The _path form picks the
 * SIMD (simd = 1 AVX2, 2 AVX-512 on CPUs that have it, when built) or the portable loops
 * (0), for tests. */
int kiln_sgemm_small(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                     const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* Whether kiln_sgemm_small computes this product (nonzero) or returns 0. */
int kiln_sgemm_small_takes(int trans_a, int trans_b, size_t m, size_t n, size_t k, size_t lda, size_t ldb, size_t ldc);
int kiln_sgemm_small_path(int simd, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a,
                          size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc);
/* Workspace floats per thread the portable GEMM needs. */
size_t kiln_sgemm_workspace_floats(void);

/* Aligned heap helpers (64-byte alignment). */
void *kiln_aligned_alloc(size_t size);
void kiln_aligned_free(void *p);

/* Half-precision conversions (cast kernel, exported for reuse). */
float kiln_f16_to_f32(uint16_t h);
/* n little-endian f16 values (any alignment) → f32, exactly. */
void kiln_widen_f16(const uint8_t *src, float *dst, size_t n);
uint16_t kiln_f32_to_f16(float f);
float kiln_bf16_to_f32(uint16_t h);
uint16_t kiln_f32_to_bf16(float f);

#endif
