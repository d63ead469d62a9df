/* binary.c — elementwise binary ops with numpy broadcasting (BINARY opcode, attrs: i32
 * func, optionally followed by a fused activation `act` on f32 results) and
 * where(cond, x, y) (WHERE opcode, no attrs).
 * Dtypes: f32, i32, i64 arithmetic (add sub mul div pow min max mod fmod; prelu on f32);
 * comparisons on f32/i32/i64/bool produce bool; and/or/xor on bool. Integer division or
 * modulo by zero yields 0 (the runtime never traps). */
#include "common.h"

#include <math.h>

typedef void (*bin_fn)(const void *a, int64_t sa, const void *b, int64_t sb, void *o, int64_t n);

/* One function per (op, dtype): the stride pattern is switched outside the loop so the
 * common cases (same shape, scalar or row broadcast) vectorize. */
#define DEF_BIN(NAME, TA, TO, EXPR)                                                         \
    static void NAME(const void *av, int64_t sa, const void *bv, int64_t sb, void *ov, int64_t n) { \
        const TA *A = av, *B = bv;                                                          \
        TO *O = ov;                                                                         \
        if (sa == 1 && sb == 1) {                                                           \
            for (int64_t i = 0; i < n; i++) { TA a = A[i], b = B[i]; O[i] = (TO)(EXPR); }   \
        } else if (sa == 1 && sb == 0) {                                                    \
            TA b = B[0];                                                                    \
            for (int64_t i = 0; i < n; i++) { TA a = A[i]; O[i] = (TO)(EXPR); }             \
        } else if (sa == 0 && sb == 1) {                                                    \
            TA a = A[0];                                                                    \
            for (int64_t i = 0; i < n; i++) { TA b = B[i]; O[i] = (TO)(EXPR); }             \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) { TA a = A[i * sa], b = B[i * sb]; O[i] = (TO)(EXPR); } \
        }                                                                                   \
    }

/* The same with one strided loop: ops that are rare in models (integer shape arithmetic,
 * comparisons, libm-bound float ops) stay small in the binary (the footprint build). */
#define DEF_BIN_PLAIN(NAME, TA, TO, EXPR)                                                   \
    KILN_SMALL_CODE static void NAME(const void *av, int64_t sa, const void *bv, int64_t sb, void *ov, int64_t n) { \
        const TA *A = av, *B = bv;                                                          \
        TO *O = ov;                                                                         \
        for (int64_t i = 0; i < n; i++) { TA a = A[i * sa], b = B[i * sb]; O[i] = (TO)(EXPR); } \
    }

static float fmodpy(float a, float b) {
    float r = fmodf(a, b);
    return (r != 0.0f && ((r < 0.0f) != (b < 0.0f))) ? r + b : r;
}

/* Integer helpers that never trap: wrap-around arithmetic, x/0 = 0, MIN/-1 wraps. */
#define DEF_INT_HELPERS(T, UT, MINV)                                                        \
    static T T##_div(T a, T b) { return b == 0 ? 0 : (b == -1 ? (T)(0 - (UT)a) : a / b); }  \
    static T T##_fmod(T a, T b) { return (b == 0 || b == -1) ? 0 : a % b; }                 \
    static T T##_mod(T a, T b) {                                                            \
        T r = T##_fmod(a, b);                                                               \
        return (r != 0 && ((r < 0) != (b < 0))) ? (T)(r + b) : r;                           \
    }                                                                                       \
    static T T##_pow(T a, T b) {                                                            \
        if (b < 0) return (a == 1) ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);                \
        UT r = 1, x = (UT)a;                                                                \
        while (b) { if (b & 1) r *= x; x *= x; b >>= 1; }                                   \
        return (T)r;                                                                        \
    }
DEF_INT_HELPERS(int32_t, uint32_t, INT32_MIN)
DEF_INT_HELPERS(int64_t, uint64_t, INT64_MIN)

#define DEF_ARITH(SUF, T, UT)                                                               \
    DEF_BIN_PLAIN(add_##SUF, T, T, (UT)a + (UT)b)                                           \
    DEF_BIN_PLAIN(sub_##SUF, T, T, (UT)a - (UT)b)                                           \
    DEF_BIN_PLAIN(mul_##SUF, T, T, (UT)a * (UT)b)                                           \
    DEF_BIN_PLAIN(div_##SUF, T, T, T##_div(a, b))                                           \
    DEF_BIN_PLAIN(pow_##SUF, T, T, T##_pow(a, b))                                           \
    DEF_BIN_PLAIN(min_##SUF, T, T, a < b ? a : b)                                           \
    DEF_BIN_PLAIN(max_##SUF, T, T, a > b ? a : b)                                           \
    DEF_BIN_PLAIN(mod_##SUF, T, T, T##_mod(a, b))                                           \
    DEF_BIN_PLAIN(fmod_##SUF, T, T, T##_fmod(a, b))
DEF_ARITH(i32, int32_t, uint32_t)
DEF_ARITH(i64, int64_t, uint64_t)

DEF_BIN(add_f32, float, float, a + b)
DEF_BIN(sub_f32, float, float, a - b)
DEF_BIN(mul_f32, float, float, a * b)
DEF_BIN(div_f32, float, float, a / b)
DEF_BIN_PLAIN(pow_f32, float, float, powf(a, b))
DEF_BIN(min_f32, float, float, (a < b || a != a) ? a : b)
DEF_BIN(max_f32, float, float, (a > b || a != a) ? a : b)
DEF_BIN_PLAIN(mod_f32, float, float, fmodpy(a, b))
DEF_BIN_PLAIN(fmod_f32, float, float, fmodf(a, b))
DEF_BIN(prelu_f32, float, float, a < 0.0f ? a * b : a)

#define DEF_CMP(SUF, T)                                                                     \
    DEF_BIN_PLAIN(eq_##SUF, T, uint8_t, a == b)                                             \
    DEF_BIN_PLAIN(lt_##SUF, T, uint8_t, a < b)                                              \
    DEF_BIN_PLAIN(le_##SUF, T, uint8_t, a <= b)                                             \
    DEF_BIN_PLAIN(gt_##SUF, T, uint8_t, a > b)                                              \
    DEF_BIN_PLAIN(ge_##SUF, T, uint8_t, a >= b)
DEF_CMP(f32, float)
DEF_CMP(i32, int32_t)
DEF_CMP(i64, int64_t)
DEF_CMP(b8, uint8_t)
DEF_BIN_PLAIN(and_b8, uint8_t, uint8_t, (a != 0) & (b != 0))
DEF_BIN_PLAIN(or_b8, uint8_t, uint8_t, (a != 0) | (b != 0))
DEF_BIN_PLAIN(xor_b8, uint8_t, uint8_t, (a != 0) ^ (b != 0))

/* Table: [func][column] with columns f32, i32, i64, bool. */
static const bin_fn kTable[KILN_BINARY_COUNT][4] = {
    [KILN_BINARY_ADD] = {add_f32, add_i32, add_i64, NULL},
    [KILN_BINARY_SUB] = {sub_f32, sub_i32, sub_i64, NULL},
    [KILN_BINARY_MUL] = {mul_f32, mul_i32, mul_i64, NULL},
    [KILN_BINARY_DIV] = {div_f32, div_i32, div_i64, NULL},
    [KILN_BINARY_POW] = {pow_f32, pow_i32, pow_i64, NULL},
    [KILN_BINARY_MIN] = {min_f32, min_i32, min_i64, NULL},
    [KILN_BINARY_MAX] = {max_f32, max_i32, max_i64, NULL},
    [KILN_BINARY_MOD] = {mod_f32, mod_i32, mod_i64, NULL},
    [KILN_BINARY_FMOD] = {fmod_f32, fmod_i32, fmod_i64, NULL},
    [KILN_BINARY_EQUAL] = {eq_f32, eq_i32, eq_i64, eq_b8},
    [KILN_BINARY_LESS] = {lt_f32, lt_i32, lt_i64, lt_b8},
    [KILN_BINARY_LESS_OR_EQUAL] = {le_f32, le_i32, le_i64, le_b8},
    [KILN_BINARY_GREATER] = {gt_f32, gt_i32, gt_i64, gt_b8},
    [KILN_BINARY_GREATER_OR_EQUAL] = {ge_f32, ge_i32, ge_i64, ge_b8},
    [KILN_BINARY_AND] = {NULL, NULL, NULL, and_b8},
    [KILN_BINARY_OR] = {NULL, NULL, NULL, or_b8},
    [KILN_BINARY_XOR] = {NULL, NULL, NULL, xor_b8},
    [KILN_BINARY_PRELU] = {prelu_f32, NULL, NULL, NULL},
};

typedef struct bin_params { kiln_bcast b; bin_fn fn; uint32_t esize[3]; kiln_act act; } bin_params;

static int column(uint8_t dtype) {
    switch (dtype) {
    case KILN_F32: return 0;
    case KILN_I32: return 1;
    case KILN_I64: return 2;
    case KILN_BOOL: return 3;
    default: return -1;
    }
}

KILN_SMALL_CODE static kiln_status check_binary(kiln_check *c) {
    const kiln_tdesc *a = kiln_operand(c, 0), *b = kiln_operand(c, 1), *y = kiln_result(c, 0);
    if (!a || !b || !y) return kiln_check_fail(c, "two operands and a result are required");
    int32_t f = kiln_rdi32(c->attr);
    if (f < 1 || f >= KILN_BINARY_COUNT) return kiln_check_fail(c, "unknown binary function %d", (int)f);
    kiln_act act = {KILN_UNARY_IDENTITY, 0.0f, 0.0f};
    if (c->attr_size > 4) {
        kiln_status st = kiln_check_act(c, c->attr + 4, &act);
        if (st != KILN_OK) return st;
        if (act.func != KILN_UNARY_IDENTITY && y->dtype != KILN_F32)
            return kiln_check_fail(c, "a fused activation needs an f32 result, got %s",
                                   kiln_dtype_name((kiln_dtype)y->dtype));
    }
    int col = column(a->dtype);
    int cmp = f >= KILN_BINARY_EQUAL && f <= KILN_BINARY_GREATER_OR_EQUAL;
    uint8_t want = (cmp || col == 3) ? KILN_BOOL : a->dtype;
    if (col < 0 || a->dtype != b->dtype || y->dtype != want || !kTable[f][col])
        return kiln_check_fail(c, "function %d is not supported for %s, %s -> %s", (int)f,
                               kiln_dtype_name((kiln_dtype)a->dtype), kiln_dtype_name((kiln_dtype)b->dtype),
                               kiln_dtype_name((kiln_dtype)y->dtype));
    bin_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->fn = kTable[f][col];
    p->act = act;
    p->esize[0] = p->esize[1] = kiln_dtype_bytes(a->dtype);
    p->esize[2] = kiln_dtype_bytes(y->dtype);
    const kiln_tdesc *ops[2] = {a, b};
    return kiln_bcast_init(c, ops, 2, y, &p->b);
}

typedef struct bin_job { const bin_params *p; const uint8_t *a, *b; uint8_t *o; } bin_job;

static void bin_row(void *ctx, const int64_t *offs, int64_t out, int64_t n, const int64_t *inner) {
    const bin_job *j = ctx;
    const bin_params *p = j->p;
    uint8_t *o = j->o + out * p->esize[2];
    p->fn(j->a + offs[0] * p->esize[0], inner[0], j->b + offs[1] * p->esize[1], inner[1], o, n);
    kiln_apply_act(&p->act, (float *)o, (size_t)n); /* identity (the default) does nothing */
}

static void run_binary(const kiln_exec *e, const kiln_instr *ins) {
    bin_job j = {ins->params, KILN_IN(e, ins, 0), KILN_IN(e, ins, 1), KILN_OUT(e, ins, 0)};
    kiln_bcast_parallel(e, &j.p->b, bin_row, &j);
}

/* WHERE: operands cond (bool), x, y (same dtype, any); result broadcast of the three. */
typedef struct where_params { kiln_bcast b; uint32_t esize; } where_params;

KILN_SMALL_CODE static kiln_status check_where(kiln_check *c) {
    const kiln_tdesc *cond = kiln_operand(c, 0), *x = kiln_operand(c, 1), *y = kiln_operand(c, 2), *o = kiln_result(c, 0);
    if (!cond || !x || !y || !o) return kiln_check_fail(c, "three operands and a result are required");
    if (cond->dtype != KILN_BOOL || x->dtype != y->dtype || o->dtype != x->dtype)
        return kiln_check_fail(c, "needs a bool condition and matching x, y and result dtypes");
    where_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->esize = kiln_dtype_bytes(x->dtype);
    const kiln_tdesc *ops[3] = {cond, x, y};
    return kiln_bcast_init(c, ops, 3, o, &p->b);
}

typedef struct where_job { const where_params *p; const uint8_t *c, *x, *y; uint8_t *o; } where_job;

#define WHERE_LOOP(T)                                                                       \
    {                                                                                       \
        const T *X = (const T *)(j->x + offs[1] * es), *Y = (const T *)(j->y + offs[2] * es); \
        T *O = (T *)(j->o + out * es);                                                      \
        for (int64_t i = 0; i < n; i++) O[i] = C[i * inner[0]] ? X[i * inner[1]] : Y[i * inner[2]]; \
    }

static void where_row(void *ctx, const int64_t *offs, int64_t out, int64_t n, const int64_t *inner) {
    const where_job *j = ctx;
    uint32_t es = j->p->esize;
    const uint8_t *C = j->c + offs[0];
    if (es == 4) WHERE_LOOP(uint32_t)
    else if (es == 8) WHERE_LOOP(uint64_t)
    else if (es == 2) WHERE_LOOP(uint16_t)
    else WHERE_LOOP(uint8_t)
}

static void run_where(const kiln_exec *e, const kiln_instr *ins) {
    where_job j = {ins->params, KILN_IN(e, ins, 0), KILN_IN(e, ins, 1), KILN_IN(e, ins, 2), KILN_OUT(e, ins, 0)};
    kiln_bcast_parallel(e, &j.p->b, where_row, &j);
}

const kiln_kernel kiln_k_binary = {KILN_OP_BINARY, "binary", 4, 2, 2, 1, 1, 1, check_binary, run_binary, 16};
const kiln_kernel kiln_k_where = {KILN_OP_WHERE, "where", 0, 3, 3, 1, 1, 1, check_where, run_where, 0};
