/* qlookup.c — QLOOKUP: y = table[x] elementwise on u8, the table a constant of 256 bytes
 * (an int8 model's activation that is not a clamp — SiLU, HardSwish, sigmoid, GELU … —
 * applied to a quantized conv/gemm result: the compiler tabulates quantize_y(f(dequantize_x(i)))
 * for every byte value i, so the kernel is one load per element).
 *
 * Operands: x u8 (any shape), table u8 constant [256]. Result: y u8 (x's dims; may be x's
 * bytes). No attributes.
 * Algorithm: the table is copied into the instruction's parameters at load. Portable: one
 * table load per byte. AVX-512 VBMI (chosen at load; left out of KILN_NO_AVX512 size builds;
 * KILN_QGEMM=portable or novbmi forces the C loop): the table lives in four zmm registers;
 * per 64 bytes two vpermi2b look the low 7 bits up in the lower and the upper 128 entries,
 * the byte's top bit (vpmovb2m) picks one (vpblendmb), the tail masked. Both paths are exact
 * table reads, so they agree bit for bit. Split over threads by element ranges. */
#include "common.h"
#include "qlookup.h"

#include <stdlib.h>
#include <string.h>

void kiln_qlookup_portable(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t *table) {
    for (int64_t i = 0; i < n; i++) y[i] = table[x[i]];
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(KILN_NO_AVX512)
#include <immintrin.h>

#define QLOOKUP_VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi")))

QLOOKUP_VBMI static inline __m512i qlookup64(__m512i v, __m512i t0, __m512i t1, __m512i t2, __m512i t3) {
    __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi);
}

/* Two independent 64-byte steps per iteration, then 64 at a time, the rest masked. */
QLOOKUP_VBMI static void qlookup_vbmi(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t *table) {
    const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
    const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
    int64_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m512i v0 = _mm512_loadu_si512(x + i), v1 = _mm512_loadu_si512(x + i + 64);
        v0 = qlookup64(v0, t0, t1, t2, t3);
        v1 = qlookup64(v1, t0, t1, t2, t3);
        _mm512_storeu_si512(y + i, v0);
        _mm512_storeu_si512(y + i + 64, v1);
    }
    for (; i < n; i += 64) {
        __mmask64 k = n - i >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (n - i)) - 1;
        _mm512_mask_storeu_epi8(y + i, k, qlookup64(_mm512_maskz_loadu_epi8(k, x + i), t0, t1, t2, t3));
    }
}

kiln_qlookup_fn kiln_qlookup_vbmi(void) {
    const char *force = getenv("KILN_QGEMM");
    if (force && (strcmp(force, "portable") == 0 || strcmp(force, "novbmi") == 0)) return NULL;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512vbmi")
               ? qlookup_vbmi
               : NULL;
}
#else
kiln_qlookup_fn kiln_qlookup_vbmi(void) { return NULL; }
#endif

kiln_qlookup_fn kiln_qlookup_select(void) {
    kiln_qlookup_fn f = kiln_qlookup_vbmi();
    return f ? f : kiln_qlookup_portable;
}

typedef struct qlookup_load {
    uint8_t table[256];
    kiln_qlookup_fn fn;
    int64_t n;
} qlookup_load;

KILN_SMALL_CODE static kiln_status check_qlookup(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *t = kiln_operand(c, 1), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, x, "x")) || (st = kiln_require_present(c, t, "table")) ||
        (st = kiln_require_dtype(c, x, "x", KILN_U8)) || (st = kiln_require_dtype(c, t, "table", KILN_U8)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_U8)))
        return st;
    if (!t->data || t->count != 256) return kiln_check_fail(c, "table must be a constant of 256 bytes");
    if (!kiln_same_dims(x, y)) return kiln_check_fail(c, "x and the result must have the same shape");
    qlookup_load *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    memcpy(p->table, t->data, 256);
    p->fn = kiln_qlookup_select();
    p->n = (int64_t)y->count;
    return KILN_OK;
}

typedef struct qlookup_job { const qlookup_load *p; const uint8_t *x; uint8_t *y; } qlookup_job;

/* Halves [begin, end) of the tensor (a lookup streams memory: a second thread helps, more do not). */
static void qlookup_halves(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qlookup_job *j = ctx;
    (void)thread;
    int64_t n = j->p->n, lo = n / 2 * (int64_t)begin, hi = end == 2 ? n : n / 2 * (int64_t)end;
    if (hi > lo) j->p->fn(j->x + lo, j->y + lo, hi - lo, j->p->table);
}

static void run_qlookup(const kiln_exec *e, const kiln_instr *ins) {
    const qlookup_load *p = ins->params;
    qlookup_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0)};
    if (e->threads > 1 && p->n >= 4 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, 2, qlookup_halves, &j);
    else qlookup_halves(&j, 0, 2, 0);
}

const kiln_kernel kiln_k_qlookup = {KILN_OP_QLOOKUP, "qlookup", 0, 2, 2, 1, 1, 1, check_qlookup, run_qlookup, 0};
