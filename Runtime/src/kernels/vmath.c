/* vmath.c — exp, sigmoid and tanh over f32 arrays, branch-free: an AVX2+FMA path (8 lanes)
 * and a portable path with the same algorithm (used elsewhere, and by the tests as the
 * reference the AVX2 path is checked against). Both stay within a few float ulps of libm
 * (tests/test_vmath.c sweeps them against double-precision libm).
 *
 * Algorithm (exp): clamp x to [-87.33, 88.72] (NaN passes through the clamps); n = round(x *
 * log2(e)); r = x - n*ln2 with ln2 split in a high part exact in float and a low part
 * (Cody-Waite), so |r| <= ln2/2; e^r by its degree-7 Taylor polynomial in Horner form
 * (truncation error < 6e-9 relative); scale by 2^n built in the exponent bits.
 * sigmoid(x) = 1/(1+t) for x >= 0 and t/(1+t) for x < 0, with t = e^-|x| (no overflow,
 * full relative accuracy on the small side).
 * tanh(x) = sign(x) * (1-t)/(1+t) with t = e^-2|x| when |x| >= 0.5 (t <= 0.37: no
 * cancellation), and the odd Taylor series through x^13 when |x| < 0.5 (truncation error
 * < 5e-8 absolute there); the two are blended by a mask, so there is no branch.
 * gelu_erf(x) = x * Phi(x), Phi from erfc(|x|/sqrt2) by Abramowitz & Stegun 7.1.26 (a
 * degree-5 polynomial in 1/(1 + p z) times e^{-z^2}; |error| < 1.5e-7 on Phi, i.e. relative
 * error < 3e-7 for x >= 0 and absolute < 1.5e-7 |x| for x < 0). */
#include "vmath.h"

#include <string.h>

#define EXP_HI 88.72283f
#define EXP_LO -87.33654f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f            /* exact in 9 bits */
#define LN2_LO -2.12194440e-4f         /* ln2 - LN2_HI */
#define C2 (1.0f / 2.0f)
#define C3 (1.0f / 6.0f)
#define C4 (1.0f / 24.0f)
#define C5 (1.0f / 120.0f)
#define C6 (1.0f / 720.0f)
#define C7 (1.0f / 5040.0f)
/* tanh x = x + T3 x^3 + T5 x^5 + ... (Taylor coefficients) */
#define T3 (-1.0f / 3.0f)
#define T5 (2.0f / 15.0f)
#define T7 (-17.0f / 315.0f)
#define T9 (62.0f / 2835.0f)
#define T11 (-1382.0f / 155925.0f)
#define T13 (21844.0f / 6081075.0f)
/* erfc z = (A1 t + ... + A5 t^5) e^{-z^2}, t = 1/(1 + P z), z >= 0 (Abramowitz & Stegun
 * 7.1.26: |error| < 1.5e-7 on erf) */
#define SQRT1_2 0.70710678118654752f
#define ERF_P 0.3275911f
#define ERF_A1 0.254829592f
#define ERF_A2 -0.284496736f
#define ERF_A3 1.421413741f
#define ERF_A4 -1.453152027f
#define ERF_A5 1.061405429f

/* ---- portable -------------------------------------------------------------------------- */

static inline float exp_one(float x) {
    if (x != x) return x;
    x = x > EXP_HI ? EXP_HI : x;
    x = x < EXP_LO ? EXP_LO : x;
    float n = x * LOG2E;
    n = (float)(int32_t)(n + (n >= 0.0f ? 0.5f : -0.5f)); /* round half away; |n| <= 128 */
    float r = x - n * LN2_HI;
    r = r - n * LN2_LO;
    float p = C7;
    p = p * r + C6; p = p * r + C5; p = p * r + C4; p = p * r + C3; p = p * r + C2;
    p = p * r + 1.0f; p = p * r + 1.0f;
    /* 2^n for n in [-126, 127]: n = 128 (x near EXP_HI) is split as 2^127 * 2 */
    int32_t ni = (int32_t)n, extra = ni > 127;
    ni -= extra;
    uint32_t bits = (uint32_t)(ni + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale * (extra ? 2.0f : 1.0f);
}

void kiln_vexp_portable(const float *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = exp_one(in[i]);
}

static inline float sigmoid_one(float x) {
    float t = exp_one(-(x < 0.0f ? -x : x));
    float s = 1.0f / (1.0f + t);
    return x >= 0.0f ? s : (x != x ? x : t * s);
}

void kiln_vsigmoid_portable(const float *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = sigmoid_one(in[i]);
}

static inline float tanh_one(float x) {
    float a = x < 0.0f ? -x : x;
    if (a < 0.5f) {
        float x2 = x * x, p = T13;
        p = p * x2 + T11; p = p * x2 + T9; p = p * x2 + T7; p = p * x2 + T5; p = p * x2 + T3;
        return x + x * x2 * p;
    }
    float t = exp_one(-2.0f * a), y = (1.0f - t) / (1.0f + t);
    return x < 0.0f ? -y : (x != x ? x : y);
}

void kiln_vtanh_portable(const float *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = tanh_one(in[i]);
}

static inline float gelu_one(float x) {
    float z = (x < 0.0f ? -x : x) * SQRT1_2, t = 1.0f / (1.0f + ERF_P * z);
    float q = ERF_A5;
    q = q * t + ERF_A4; q = q * t + ERF_A3; q = q * t + ERF_A2; q = q * t + ERF_A1;
    float erfc = q * t * exp_one(-z * z); /* erfc(|x|/sqrt2) */
    float cdf = x < 0.0f ? 0.5f * erfc : 1.0f - 0.5f * erfc;
    return x * cdf;
}

void kiln_vgelu_erf_portable(const float *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = gelu_one(in[i]);
}

/* ---- AVX2 + FMA ----------------------------------------------------------------------- */

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

int kiln_vmath_simd(void) { return 1; }

static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(EXP_HI), x); /* second operand returned on NaN: NaN stays */
    x = _mm256_max_ps(_mm256_set1_ps(EXP_LO), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    __m256 p = _mm256_set1_ps(C7);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* 2^n as 2^(n - extra) * 2^extra, extra = 1 only for n = 128 */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i extra = _mm256_cmpgt_epi32(ni, _mm256_set1_epi32(127)); /* -1 where n = 128 */
    ni = _mm256_add_epi32(ni, extra);
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
    __m256 two = _mm256_blendv_ps(_mm256_set1_ps(1.0f), _mm256_set1_ps(2.0f), _mm256_castsi256_ps(extra));
    return _mm256_mul_ps(_mm256_mul_ps(p, scale), two);
}

static inline __m256 abs8(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

static inline __m256 sigmoid8(__m256 x) {
    __m256 t = exp8(_mm256_sub_ps(_mm256_setzero_ps(), abs8(x)));
    __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), t));
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 y = _mm256_blendv_ps(s, _mm256_mul_ps(t, s), neg);
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline __m256 tanh8(__m256 x) {
    __m256 a = abs8(x), sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    __m256 t = exp8(_mm256_mul_ps(a, _mm256_set1_ps(-2.0f)));
    __m256 big = _mm256_div_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), t), _mm256_add_ps(_mm256_set1_ps(1.0f), t));
    big = _mm256_or_ps(big, sign);
    __m256 x2 = _mm256_mul_ps(x, x), p = _mm256_set1_ps(T13);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T11));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T9));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T7));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T5));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(T3));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x, x2), p, x);
    __m256 y = _mm256_blendv_ps(big, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.5f), _CMP_LT_OQ));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline __m256 gelu8(__m256 x) {
    __m256 z = _mm256_mul_ps(abs8(x), _mm256_set1_ps(SQRT1_2));
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(ERF_P), _mm256_set1_ps(1.0f)));
    __m256 q = _mm256_set1_ps(ERF_A5);
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(ERF_A4));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(ERF_A3));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(ERF_A2));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(ERF_A1));
    __m256 half_erfc = _mm256_mul_ps(_mm256_mul_ps(q, t), _mm256_mul_ps(exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(z, z))), _mm256_set1_ps(0.5f)));
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 cdf = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), half_erfc), half_erfc, neg);
    return _mm256_mul_ps(x, cdf);
}

/* Full vectors, then the tail through a zero-padded stack vector (same math, so a value's
 * result does not depend on its position). */
#define VMAP(F8)                                                                            \
    size_t i = 0;                                                                           \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, F8(_mm256_loadu_ps(in + i)));      \
    if (i < n) {                                                                            \
        float buf[8] = {0};                                                                 \
        memcpy(buf, in + i, (n - i) * sizeof(float));                                       \
        _mm256_storeu_ps(buf, F8(_mm256_loadu_ps(buf)));                                    \
        memcpy(out + i, buf, (n - i) * sizeof(float));                                      \
    }

void kiln_vexp(const float *in, float *out, size_t n) { VMAP(exp8) }
void kiln_vsigmoid(const float *in, float *out, size_t n) { VMAP(sigmoid8) }
void kiln_vtanh(const float *in, float *out, size_t n) { VMAP(tanh8) }
void kiln_vgelu_erf(const float *in, float *out, size_t n) { VMAP(gelu8) }

#else

int kiln_vmath_simd(void) { return 0; }
void kiln_vexp(const float *in, float *out, size_t n) { kiln_vexp_portable(in, out, n); }
void kiln_vsigmoid(const float *in, float *out, size_t n) { kiln_vsigmoid_portable(in, out, n); }
void kiln_vtanh(const float *in, float *out, size_t n) { kiln_vtanh_portable(in, out, n); }
void kiln_vgelu_erf(const float *in, float *out, size_t n) { kiln_vgelu_erf_portable(in, out, n); }

#endif
