/* qadd.c — QADD: the elementwise sum of two u8 tensors of one shape with their own scales
 * and zero points, requantized to the result's (an int8 model's residual add, ONNX
 * Runtime's QLinearAdd without broadcasting), with a fused ReLU/clip as the output clamp.
 *
 * Operands: a u8, b u8 (same dims). Result: y u8 (same dims; may be a's or b's bytes).
 * Attributes (32 bytes): i32 a_zero_point, b_zero_point, y_zero_point, y_min, y_max,
 * a_mult, b_mult, shift. y = clamp(y_zp + ((a_mult·(a − a_zp) + b_mult·(b − b_zp) +
 * 2^(shift−1)) >> shift), y_min, y_max) (>> floors); the compiler derives the multipliers
 * from a_scale/y_scale and b_scale/y_scale (mults ≤ 2^21, shift in [1, 30], so every sum
 * fits int32).
 * Algorithm: the zero points and the rounding term fold into one bias at load; per 16
 * elements, widen both operands' bytes to i32, two vpmulld, add, arithmetic shift, add
 * y_zp, clamp in i32, narrow to bytes (AVX-512 vpmovdb; AVX2 packs plus a dword permute),
 * the last elements scalar (AVX2) or masked (AVX-512; left out of KILN_NO_AVX512 size builds).
 * Integer-exact: every path equals the portable loop bit for bit. Split over threads by element
 * ranges. */
#include "common.h"
#include "qadd.h"

#include <stdlib.h>
#include <string.h>

#define QADD_MAX_MULT (1 << 21)

/* The parameters in locals: y (bytes) may alias *p, so the compiler would reload them per element. */
void kiln_qadd_portable(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n, const kiln_qadd_params *p) {
    const int32_t am = p->a_mult, bm = p->b_mult, bias = p->bias, shift = p->shift, zp = p->y_zp, lo = p->y_min, hi = p->y_max;
    for (int64_t i = 0; i < n; i++) {
        int32_t v = ((am * a[i] + bm * b[i] + bias) >> shift) + zp;
        v = v < lo ? lo : v;
        y[i] = (uint8_t)(v > hi ? hi : v);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define QADD_AVX2 __attribute__((target("avx2")))
#define QADD_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2")))

/* 8 results in i32 lanes from 8 bytes of a and b. */
QADD_AVX2 static inline __m256i qadd8_avx2(const uint8_t *a, const uint8_t *b, __m256i ma, __m256i mb, __m256i bias,
                                           __m128i cnt, __m256i zp, __m256i lo, __m256i hi) {
    __m256i va = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)a));
    __m256i vb = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)b));
    __m256i t = _mm256_add_epi32(_mm256_add_epi32(_mm256_mullo_epi32(va, ma), _mm256_mullo_epi32(vb, mb)), bias);
    t = _mm256_add_epi32(_mm256_sra_epi32(t, cnt), zp);
    return _mm256_min_epi32(_mm256_max_epi32(t, lo), hi);
}

/* 16 results in order from 16 bytes of a and b: packs per 128-bit lane put dword k of lane 0
 * to results 4k.. of v0 (k = 0) and v1 (k = 1), lane 1 the upper halves; the permute orders them. */
QADD_AVX2 static inline __m128i qadd16_avx2(const uint8_t *a, const uint8_t *b, __m256i ma, __m256i mb, __m256i bias, __m128i cnt,
                                            __m256i zp, __m256i lo, __m256i hi, __m256i order) {
    __m256i v0 = qadd8_avx2(a, b, ma, mb, bias, cnt, zp, lo, hi), v1 = qadd8_avx2(a + 8, b + 8, ma, mb, bias, cnt, zp, lo, hi);
    __m256i w = _mm256_packs_epi32(v0, v1);
    return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_packus_epi16(w, w), order));
}

/* Two independent 16-element steps per iteration, then 16, then the scalar loop. */
QADD_AVX2 static void qadd_avx2(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n, const kiln_qadd_params *p) {
    const __m256i ma = _mm256_set1_epi32(p->a_mult), mb = _mm256_set1_epi32(p->b_mult), bias = _mm256_set1_epi32(p->bias);
    const __m256i zp = _mm256_set1_epi32(p->y_zp), lo = _mm256_set1_epi32(p->y_min), hi = _mm256_set1_epi32(p->y_max);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m128i cnt = _mm_cvtsi32_si128(p->shift);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m128i v0 = qadd16_avx2(a + i, b + i, ma, mb, bias, cnt, zp, lo, hi, order);
        __m128i v1 = qadd16_avx2(a + i + 16, b + i + 16, ma, mb, bias, cnt, zp, lo, hi, order);
        _mm_storeu_si128((__m128i *)(y + i), v0);
        _mm_storeu_si128((__m128i *)(y + i + 16), v1);
    }
    for (; i + 16 <= n; i += 16) _mm_storeu_si128((__m128i *)(y + i), qadd16_avx2(a + i, b + i, ma, mb, bias, cnt, zp, lo, hi, order));
    kiln_qadd_portable(a + i, b + i, y + i, n - i, p);
}

#ifndef KILN_NO_AVX512 /* size builds for AVX2 CPUs leave it out, as the float AVX-512 kernels */
/* 16 results from 16 bytes of a and b (lanes past `k` read as 0). */
QADD_AVX512 static inline __m128i qadd16_avx512(const uint8_t *a, const uint8_t *b, __mmask16 k, __m512i ma, __m512i mb,
                                                __m512i bias, __m128i cnt, __m512i zp, __m512i lo, __m512i hi) {
    __m512i va = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, a)), vb = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, b));
    __m512i t = _mm512_add_epi32(_mm512_add_epi32(_mm512_mullo_epi32(va, ma), _mm512_mullo_epi32(vb, mb)), bias);
    t = _mm512_add_epi32(_mm512_sra_epi32(t, cnt), zp);
    return _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(t, lo), hi)); /* vpmovdb to a register */
}

/* Four independent 16-element steps per iteration, then 16 at a time, the rest masked. */
QADD_AVX512 static void qadd_avx512(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n, const kiln_qadd_params *p) {
    const __m512i ma = _mm512_set1_epi32(p->a_mult), mb = _mm512_set1_epi32(p->b_mult), bias = _mm512_set1_epi32(p->bias);
    const __m512i zp = _mm512_set1_epi32(p->y_zp), lo = _mm512_set1_epi32(p->y_min), hi = _mm512_set1_epi32(p->y_max);
    const __m128i cnt = _mm_cvtsi32_si128(p->shift);
    const __mmask16 all = 0xFFFF;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i v0 = qadd16_avx512(a + i, b + i, all, ma, mb, bias, cnt, zp, lo, hi);
        __m128i v1 = qadd16_avx512(a + i + 16, b + i + 16, all, ma, mb, bias, cnt, zp, lo, hi);
        __m128i v2 = qadd16_avx512(a + i + 32, b + i + 32, all, ma, mb, bias, cnt, zp, lo, hi);
        __m128i v3 = qadd16_avx512(a + i + 48, b + i + 48, all, ma, mb, bias, cnt, zp, lo, hi);
        _mm_storeu_si128((__m128i *)(y + i), v0);
        _mm_storeu_si128((__m128i *)(y + i + 16), v1);
        _mm_storeu_si128((__m128i *)(y + i + 32), v2);
        _mm_storeu_si128((__m128i *)(y + i + 48), v3);
    }
    for (; i < n; i += 16) {
        __mmask16 k = (__mmask16)(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
        _mm_mask_storeu_epi8(y + i, k, qadd16_avx512(a + i, b + i, k, ma, mb, bias, cnt, zp, lo, hi));
    }
}

#endif

static int qadd_simd_allowed(void) {
    const char *force = getenv("KILN_QGEMM");
    if (force && strcmp(force, "portable") == 0) return 0;
    __builtin_cpu_init();
    return 1;
}
kiln_qadd_fn kiln_qadd_avx2(void) { return qadd_simd_allowed() && __builtin_cpu_supports("avx2") ? qadd_avx2 : NULL; }
kiln_qadd_fn kiln_qadd_avx512(void) {
#ifdef KILN_NO_AVX512
    return NULL;
#else
    return qadd_simd_allowed() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
               ? qadd_avx512
               : NULL;
#endif
}
#else
kiln_qadd_fn kiln_qadd_avx2(void) { return NULL; }
kiln_qadd_fn kiln_qadd_avx512(void) { return NULL; }
#endif

kiln_qadd_fn kiln_qadd_select(void) {
    kiln_qadd_fn f = kiln_qadd_avx512();
    if (!f) f = kiln_qadd_avx2();
    return f ? f : kiln_qadd_portable;
}

typedef struct qadd_load {
    kiln_qadd_params p;
    kiln_qadd_fn fn;
    int64_t n;
} qadd_load;

KILN_SMALL_CODE static kiln_status check_qadd(kiln_check *c) {
    const kiln_tdesc *a = kiln_operand(c, 0), *b = kiln_operand(c, 1), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, a, "a")) || (st = kiln_require_present(c, b, "b")) ||
        (st = kiln_require_dtype(c, a, "a", KILN_U8)) || (st = kiln_require_dtype(c, b, "b", KILN_U8)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_U8)))
        return st;
    if (!kiln_same_dims(a, b) || !kiln_same_dims(a, y)) return kiln_check_fail(c, "a, b and the result must have the same shape");
    int32_t v[8];
    for (int i = 0; i < 8; i++) v[i] = kiln_rdi32(c->attr + 4 * i);
    int32_t azp = v[0], bzp = v[1], yzp = v[2], ymin = v[3], ymax = v[4], am = v[5], bm = v[6], shift = v[7];
    if (azp < 0 || azp > 255 || bzp < 0 || bzp > 255 || yzp < 0 || yzp > 255)
        return kiln_check_fail(c, "zero points must lie in [0, 255]");
    if (ymin < 0 || ymin > ymax || ymax > 255) return kiln_check_fail(c, "y_min/y_max must satisfy 0 <= y_min <= y_max <= 255");
    if (am < 0 || am > QADD_MAX_MULT || bm < 0 || bm > QADD_MAX_MULT || shift < 1 || shift > 30)
        return kiln_check_fail(c, "multipliers must lie in [0, 2^21] and the shift in [1, 30]");
    qadd_load *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    /* |bias| <= 2^29 + 2 * 255 * 2^21 < 2^31 */
    p->p = (kiln_qadd_params){am, bm, (int32_t)((1 << (shift - 1)) - am * azp - bm * bzp), shift, yzp, ymin, ymax};
    p->fn = kiln_qadd_select();
    p->n = (int64_t)y->count;
    return KILN_OK;
}

typedef struct qadd_job { const qadd_load *p; const uint8_t *a, *b; uint8_t *y; } qadd_job;

static void qadd_range(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qadd_job *j = ctx;
    (void)thread;
    j->p->fn(j->a + begin, j->b + begin, j->y + begin, (int64_t)(end - begin), &j->p->p);
}

static void run_qadd(const kiln_exec *e, const kiln_instr *ins) {
    const qadd_load *p = ins->params;
    qadd_job j = {p, KILN_IN(e, ins, 0), KILN_IN(e, ins, 1), KILN_OUT(e, ins, 0)};
    if (e->threads > 1 && p->n >= 2 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, (size_t)p->n, qadd_range, &j);
    else qadd_range(&j, 0, (size_t)p->n, 0);
}

const kiln_kernel kiln_k_qadd = {KILN_OP_QADD, "qadd", 32, 2, 2, 1, 1, 1, check_qadd, run_qadd, 0};
