/* unary.c — elementwise unary functions and activations (UNARY opcode; also the fused
 * activations of conv/gemm/matmul/batch_norm). f32 computes in float with the C99 math
 * library, except sigmoid, tanh, silu and gelu_erf (vmath.c: vectorized; see its error bounds); i32/i64 support identity/abs/neg/sign/relu/clip; bool supports not;
 * is_nan/is_inf map f32 to bool. Attributes: i32 func, f32 alpha, f32 beta. */
#include "common.h"
#include "vmath.h"

#include <math.h>

/* In place (fused activations) the loop reads and writes one pointer: with two equal
 * pointers clang's runtime overlap check fails and it runs the scalar loop. */
#define MAP(EXPR)                                                                           \
    if (in == out) {                                                                        \
        for (size_t i = 0; i < n; i++) {                                                    \
            float x = out[i];                                                               \
            out[i] = (EXPR);                                                                \
        }                                                                                   \
    } else {                                                                                \
        for (size_t i = 0; i < n; i++) {                                                    \
            float x = in[i];                                                                \
            out[i] = (EXPR);                                                                \
        }                                                                                   \
    }                                                                                       \
    break

/* Two selects rather than nested ones, so compilers vectorize it (min/max-like); a NaN
 * passes through both. */
/* ONNX's min(max(x, lo), hi): when lo > hi every value becomes hi. */
static inline float clip_f32(float x, float lo, float hi) {
    float y = x < lo ? lo : x;
    return y > hi ? hi : y;
}

/* x * sigmoid(x) in stack-sized chunks (in may equal out); in one pass on AVX-512 CPUs. */
static void silu(const float *in, float *out, size_t n) {
#ifdef KILN_HAVE_AVX512
    /* Decided once, like gemm_small.c (cpuid and the environment are not read per row). */
    static volatile int has512 = -1;
    if (has512 < 0) has512 = kiln_isa_detect() == KILN_ISA_AVX512;
    if (has512) {
        kiln_vsilu_avx512(in, out, n);
        return;
    }
#endif
    float buf[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t m = n - i < 256 ? n - i : 256;
        kiln_vsigmoid(in + i, buf, m);
        for (size_t j = 0; j < m; j++) out[i + j] = in[i + j] * buf[j];
    }
}

static float softplus(float x) { return (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x))); }

void kiln_unary_f32(int32_t func, float alpha, float beta, const float *in, float *out, size_t n) {
    const float k_gelu = 0.7978845608028654f; /* sqrt(2 / pi) */
    switch (func) {
    case KILN_UNARY_IDENTITY: if (in != out) memmove(out, in, n * sizeof(float)); break;
    case KILN_UNARY_RELU: MAP(x < 0.0f ? 0.0f : x);
    case KILN_UNARY_LEAKY_RELU: MAP(x < 0.0f ? alpha * x : x);
    case KILN_UNARY_SIGMOID: kiln_vsigmoid(in, out, n); break;
    case KILN_UNARY_TANH: kiln_vtanh(in, out, n); break;
    case KILN_UNARY_GELU_ERF: kiln_vgelu_erf(in, out, n); break;
    case KILN_UNARY_GELU_TANH: MAP(0.5f * x * (1.0f + tanhf(k_gelu * (x + 0.044715f * x * x * x))));
    /* clip_f32, not fminf/fmaxf: those kept the loop scalar (a conv with HardSwish fused
     * spent 3.5x its time here); same values for every input (a NaN x gives NaN either way). */
    case KILN_UNARY_HARD_SWISH: MAP(x * clip_f32(x * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f));
    case KILN_UNARY_HARD_SIGMOID: MAP(fminf(fmaxf(alpha * x + beta, 0.0f), 1.0f));
    case KILN_UNARY_ELU: MAP(x < 0.0f ? alpha * expm1f(x) : x);
    case KILN_UNARY_SELU: MAP(x <= 0.0f ? beta * (alpha * expf(x) - alpha) : beta * x);
    case KILN_UNARY_CELU: MAP(fmaxf(0.0f, x) + fminf(0.0f, alpha * expm1f(x / alpha)));
    case KILN_UNARY_SOFTPLUS: MAP(softplus(x));
    case KILN_UNARY_SOFTSIGN: MAP(x / (1.0f + fabsf(x)));
    case KILN_UNARY_MISH: MAP(x * tanhf(softplus(x)));
    case KILN_UNARY_THRESHOLDED_RELU: MAP(x > alpha ? x : 0.0f);
    case KILN_UNARY_CLIP: MAP(clip_f32(x, alpha, beta));
    case KILN_UNARY_EXP: MAP(expf(x));
    case KILN_UNARY_LOG: MAP(logf(x));
    case KILN_UNARY_SQRT: MAP(sqrtf(x));
    case KILN_UNARY_ABS: MAP(fabsf(x));
    case KILN_UNARY_NEG: MAP(-x);
    case KILN_UNARY_RECIPROCAL: MAP(1.0f / x);
    case KILN_UNARY_FLOOR: MAP(floorf(x));
    case KILN_UNARY_CEIL: MAP(ceilf(x));
    case KILN_UNARY_ROUND: MAP(rintf(x)); /* default rounding mode: half to even */
    case KILN_UNARY_SIGN: MAP(x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x));
    case KILN_UNARY_ERF: MAP(erff(x));
    case KILN_UNARY_SIN: MAP(sinf(x));
    case KILN_UNARY_COS: MAP(cosf(x));
    case KILN_UNARY_TAN: MAP(tanf(x));
    case KILN_UNARY_ASIN: MAP(asinf(x));
    case KILN_UNARY_ACOS: MAP(acosf(x));
    case KILN_UNARY_ATAN: MAP(atanf(x));
    case KILN_UNARY_SINH: MAP(sinhf(x));
    case KILN_UNARY_COSH: MAP(coshf(x));
    case KILN_UNARY_ASINH: MAP(asinhf(x));
    case KILN_UNARY_ACOSH: MAP(acoshf(x));
    case KILN_UNARY_ATANH: MAP(atanhf(x));
    case KILN_UNARY_SILU: silu(in, out, n); break;
    case KILN_UNARY_AFFINE: MAP(alpha * x + beta);
    case KILN_UNARY_SCALED_TANH: MAP(alpha * tanhf(beta * x));
    default: break; /* rejected at load time */
    }
}

int kiln_unary_valid_on_f32(int32_t func) {
    return func >= 0 && func < KILN_UNARY_COUNT && func != KILN_UNARY_NOT && func != KILN_UNARY_IS_NAN &&
           func != KILN_UNARY_IS_INF;
}

typedef struct unary_params { int32_t func; float alpha, beta; uint8_t in_dtype, out_dtype; } unary_params;

static int int_func(int32_t f) {
    return f == KILN_UNARY_IDENTITY || f == KILN_UNARY_ABS || f == KILN_UNARY_NEG || f == KILN_UNARY_SIGN ||
           f == KILN_UNARY_RELU || f == KILN_UNARY_CLIP;
}

KILN_SMALL_CODE static kiln_status check_unary(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    if (!x || !y) return kiln_check_fail(c, "operand and result are required");
    if (!kiln_same_dims(x, y)) return kiln_check_fail(c, "operand and result shapes differ");
    unary_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->func = kiln_rdi32(c->attr);
    p->alpha = kiln_rdf32(c->attr + 4);
    p->beta = kiln_rdf32(c->attr + 8);
    p->in_dtype = x->dtype;
    p->out_dtype = y->dtype;
    int32_t f = p->func;
    int ok;
    if (f == KILN_UNARY_IS_NAN || f == KILN_UNARY_IS_INF) ok = x->dtype == KILN_F32 && y->dtype == KILN_BOOL;
    else if (f == KILN_UNARY_NOT) ok = x->dtype == KILN_BOOL && y->dtype == KILN_BOOL;
    else if (x->dtype != y->dtype) ok = 0;
    else if (x->dtype == KILN_F32) ok = kiln_unary_valid_on_f32(f);
    else if (x->dtype == KILN_I32 || x->dtype == KILN_I64) ok = int_func(f);
    else ok = 0;
    if (!ok)
        return kiln_check_fail(c, "function %d is not supported from %s to %s", (int)f,
                               kiln_dtype_name((kiln_dtype)x->dtype), kiln_dtype_name((kiln_dtype)y->dtype));
    return KILN_OK;
}

#define INT_MAP(T)                                                                          \
    {                                                                                       \
        const T *a = (const T *)in + begin;                                                 \
        T *o = (T *)out + begin;                                                            \
        T lo = (T)p->alpha, hi = (T)p->beta;                                                \
        for (size_t i = 0; i < n; i++) {                                                    \
            T x = a[i];                                                                     \
            switch (p->func) {                                                              \
            case KILN_UNARY_ABS: o[i] = x < 0 ? (T)(0 - (uint64_t)x) : x; break;            \
            case KILN_UNARY_NEG: o[i] = (T)(0 - (uint64_t)x); break;                        \
            case KILN_UNARY_SIGN: o[i] = (T)((x > 0) - (x < 0)); break;                     \
            case KILN_UNARY_RELU: o[i] = x < 0 ? 0 : x; break;                              \
            case KILN_UNARY_CLIP: o[i] = x < lo ? (lo > hi ? hi : lo) : (x > hi ? hi : x); break; \
            default: o[i] = x; break;                                                       \
            }                                                                               \
        }                                                                                   \
    }

/* Float bounds converted to an integer type without overflow. */
static float clamp_bound(float v, double lo, double hi) {
    if (v != v) return 0.0f;
    return (float)(v < lo ? lo : (v > hi ? hi : v));
}

typedef struct unary_job { const unary_params *p; const void *in; void *out; } unary_job;

static void unary_range(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const unary_job *j = ctx;
    const unary_params *p = j->p;
    const void *in = j->in;
    void *out = j->out;
    size_t n = end - begin;
    (void)thread;
    if (p->in_dtype == KILN_F32 && p->out_dtype == KILN_F32) {
        kiln_unary_f32(p->func, p->alpha, p->beta, (const float *)in + begin, (float *)out + begin, n);
    } else if (p->func == KILN_UNARY_NOT) {
        const uint8_t *a = (const uint8_t *)in + begin;
        uint8_t *o = (uint8_t *)out + begin;
        for (size_t i = 0; i < n; i++) o[i] = !a[i];
    } else if (p->func == KILN_UNARY_IS_NAN || p->func == KILN_UNARY_IS_INF) {
        const float *a = (const float *)in + begin;
        uint8_t *o = (uint8_t *)out + begin;
        for (size_t i = 0; i < n; i++) o[i] = p->func == KILN_UNARY_IS_NAN ? isnan(a[i]) != 0 : isinf(a[i]) != 0;
    } else if (p->in_dtype == KILN_I32) {
        unary_params q = *p;
        q.alpha = clamp_bound(p->alpha, -2147483648.0, 2147483520.0);
        q.beta = clamp_bound(p->beta, -2147483648.0, 2147483520.0);
        p = &q;
        INT_MAP(int32_t)
    } else {
        unary_params q = *p;
        q.alpha = clamp_bound(p->alpha, -9.2233720368547758e18, 9.2233714e18);
        q.beta = clamp_bound(p->beta, -9.2233720368547758e18, 9.2233714e18);
        p = &q;
        INT_MAP(int64_t)
    }
}

static void run_unary(const kiln_exec *e, const kiln_instr *ins) {
    const kiln_tdesc *x = &e->plan->tensors[ins->ids[0]];
    unary_job j = {ins->params, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0)};
    if (e->threads > 1 && x->count >= 2 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, (size_t)x->count, unary_range, &j);
    else unary_range(&j, 0, (size_t)x->count, 0);
}

const kiln_kernel kiln_k_unary = {KILN_OP_UNARY, "unary", 12, 1, 1, 1, 1, 1, check_unary, run_unary, 0};
