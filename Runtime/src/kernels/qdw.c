/* qdw.c — int8 depthwise rows in the quad layout: each output's kernel row (up to 4 taps)
 * is one u8 quad of the zero-point-padded input times one i8 quad of weights, summed by
 * vpdpbusd; the padding reads x_zp, so the caller folds -x_zp * sum(w) into the bias.
 * Algorithm (AVX-512 VNNI, 16 outputs o0..o0+15 per step): for each kernel row, four
 * 16-byte loads at x + (o0 + 4q) * sw (q = 0..3) fill the four 128-bit lanes; vpshufb
 * spreads lane q's bytes so 32-bit element s holds bytes s*sw .. s*sw + 3 (output o0 + 4q +
 * s's window); one vpdpbusd with the row's weight quad broadcast accumulates it. The last
 * step masks its store. Exact integer sums: equal to the portable loop bit for bit. */
#include "qgemm.h"

#include <stdlib.h>
#include <string.h>

void kiln_qdw_row_portable(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                           int32_t *acc) {
    for (int64_t o = 0; o < ow; o++) {
        int32_t s = 0;
        for (int64_t ki = 0; ki < kh; ki++) {
            const uint8_t *r = x + ki * rstride + o * sw;
            for (int u = 0; u < 4; u++) s += kiln_qquad_at(wq[ki], u) * r[u];
        }
        acc[o] = s;
    }
}

void kiln_qdw_rowq_portable(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                            const kiln_qrequant *r, uint8_t *out, int64_t rows, int64_t xstep) {
    int32_t acc[64];
    for (int64_t i = 0; i < rows; i++)
        for (int64_t o0 = 0; o0 < ow; o0 += 64) {
            int64_t cnt = ow - o0 < 64 ? ow - o0 : 64;
            kiln_qdw_row_portable(x + i * xstep + o0 * sw, rstride, kh, sw, cnt, wq, acc);
            kiln_qrequant_row_portable(acc, cnt, r->bias, r->mult, r->shift, r->q, out + i * ow + o0);
        }
}

void kiln_qdw_planeq_portable(const uint8_t *x, const kiln_qdw_geom *g, const int32_t *wq, const kiln_qrequant *r, uint8_t *out) {
    for (int64_t oh = 0; oh < g->oh; oh++)
        for (int64_t o = 0; o < g->ow; o++) {
            int32_t s = 0;
            for (int64_t ki = 0; ki < g->kh; ki++) {
                int64_t ih = oh * g->sh - g->pt + ki * g->dh;
                for (int u = 0; u < 4; u++) {
                    int64_t iw = o * g->sw - g->pl + u;
                    int32_t v = ih >= 0 && ih < g->h && iw >= 0 && iw < g->w ? x[ih * g->w + iw] : g->x_zp;
                    s += kiln_qquad_at(wq[ki], u) * v;
                }
            }
            out[oh * g->ow + o] = kiln_requant((int32_t)((uint32_t)s + (uint32_t)r->bias), r->mult, r->shift, r->q->y_zp,
                                               r->q->y_min, r->q->y_max);
        }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define KILN_VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

KILN_VNNI512 static void qdw_row_vnni512(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow,
                                         const int32_t *wq, int32_t *acc) {
    const __m512i spread = sw == 1 ? _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6))
                                   : _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
    __m512i w[8];
    int64_t rows = kh < 8 ? kh : 8;
    for (int64_t ki = 0; ki < rows; ki++) w[ki] = _mm512_set1_epi32(wq[ki]);
    for (int64_t o0 = 0; o0 < ow; o0 += 16) {
        __m512i s = _mm512_setzero_si512();
        for (int64_t ki = 0; ki < kh; ki++) {
            const uint8_t *r = x + ki * rstride + o0 * sw;
            __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)r));
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(r + 4 * sw)), 1);
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(r + 8 * sw)), 2);
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(r + 12 * sw)), 3);
            s = _mm512_dpbusd_epi32(s, _mm512_shuffle_epi8(v, spread), ki < 8 ? w[ki] : _mm512_set1_epi32(wq[ki]));
        }
        __asm__("" : "+v"(s)); /* keeps GCC from copying s on every kernel row (qvnni.c) */
        int64_t left = ow - o0;
        _mm512_mask_storeu_epi32(acc + o0, (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1), s);
    }
}

/* With AVX-512 VBMI: one load per kernel row (32 bytes for stride 1; for stride 2 the 34
 * bytes the 16 windows span, masked so nothing past the row's readable end is touched)
 * and one vpermb placing window s's bytes in element s, instead of four loads, three
 * inserts and a vpshufb (KILN_QGEMM=novbmi forces the vpshufb version, for its test). */
#define KILN_VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))
/* vpermb indices: element s (bytes 4s .. 4s + 3) takes bytes s * sw .. s * sw + 3. */
static const uint8_t vbmi_spread[2][64] = {
    {0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10,
     8, 9, 10, 11, 9, 10, 11, 12, 10, 11, 12, 13, 11, 12, 13, 14, 12, 13, 14, 15, 13, 14, 15, 16, 14, 15, 16, 17, 15, 16, 17, 18},
    {0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15, 16, 17,
     16, 17, 18, 19, 18, 19, 20, 21, 20, 21, 22, 23, 22, 23, 24, 25, 24, 25, 26, 27, 26, 27, 28, 29, 28, 29, 30, 31, 30, 31, 32, 33}};
/* Sums of 16 outputs of one kernel column: kh rows of u8 taps spread into dpbusd quads by
 * idx (span: the bytes the 16 windows read). The empty asm keeps the sum in a register
 * (GCC 12 otherwise spilled it around the masked stores that follow). */
KILN_VBMI static inline __attribute__((always_inline)) __m512i qdw_sum16(const uint8_t *x, int64_t rstride, int64_t kh,
                                                                       __m512i idx, __mmask64 span, const int32_t *wq) {
    __m512i s = _mm512_setzero_si512();
    for (int64_t ki = 0; ki < kh; ki++) {
        __m512i v = _mm512_maskz_loadu_epi8(span, x + ki * rstride);
        s = _mm512_dpbusd_epi32(s, _mm512_permutexvar_epi8(idx, v), _mm512_set1_epi32(wq[ki]));
    }
    __asm__("" : "+v"(s));
    return s;
}

KILN_VBMI static void qdw_row_vbmi(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                                   int32_t *acc) {
    const __m512i idx = _mm512_loadu_si512(sw == 1 ? vbmi_spread[0] : vbmi_spread[1]);
    const __mmask64 span = sw == 1 ? (__mmask64)0xFFFFFFFFu : ((__mmask64)1 << 34) - 1;
    for (int64_t o0 = 0; o0 < ow; o0 += 16) {
        __m512i s = qdw_sum16(x + o0 * sw, rstride, kh, idx, span, wq);
        int64_t left = ow - o0;
        _mm512_mask_storeu_epi32(acc + o0, (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1), s);
    }
}

/* qdw_row_vbmi with the requantization of qsimd.c's 16-lane path applied to each step's
 * sums in registers, stored as u8: no int32 row written and read back. */
KILN_VBMI static void qdw_rowq_vbmi(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                                    const kiln_qrequant *r, uint8_t *out, int64_t rows, int64_t xstep) {
    const __m512i idx = _mm512_loadu_si512(sw == 1 ? vbmi_spread[0] : vbmi_spread[1]);
    const __mmask64 span = sw == 1 ? (__mmask64)0xFFFFFFFFu : ((__mmask64)1 << 34) - 1;
    const __m512i vb = _mm512_set1_epi32(r->bias), vm = _mm512_set1_epi32(r->mult);
    const __m512i radd = _mm512_set1_epi64((int64_t)1 << (r->shift - 1));
    const __m512i vlo = _mm512_set1_epi64(r->q->y_min - r->q->y_zp), vhi = _mm512_set1_epi64(r->q->y_max - r->q->y_zp);
    const __m512i vzp = _mm512_set1_epi32(r->q->y_zp);
    const __m128i cnt = _mm_cvtsi32_si128(r->shift);
    for (int64_t i = 0; i < rows; i++, x += xstep, out += ow) {
        for (int64_t o0 = 0; o0 < ow; o0 += 16) {
            __m512i s = qdw_sum16(x + o0 * sw, rstride, kh, idx, span, wq);
            __m512i a = _mm512_add_epi32(s, vb);
            __m512i pe = _mm512_mul_epi32(a, vm), po = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), vm);
            pe = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(_mm512_add_epi64(pe, radd), cnt), vlo), vhi);
            po = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(_mm512_add_epi64(po, radd), cnt), vlo), vhi);
            __m512i y = _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32)), vzp);
            int64_t left = ow - o0;
            __m128i b = _mm512_cvtepi32_epi8(y); /* vpmovdb to a register: its memory form is slow on AMD */
            if (left >= 16) _mm_storeu_si128((__m128i *)(out + o0), b);
            else _mm_mask_storeu_epi8(out + o0, (__mmask16)((1u << left) - 1), b);
        }
    }
}

/* A plane's requantization (one channel: scalar constants). The sums start at the bias
 * (vb; vpdpbusd wraps as the reference's addition). For 32 <= shift <= 54 (high) on 32-bit
 * lanes as qvnni.c's req16h: radd = 2^(s-1) + y_zp * 2^s, and (the high half of the 64-bit
 * product plus radd) >> (s - 32) is the requantized value plus y_zp, exactly. */
typedef struct qdw_rq {
    __m512i vb, vm, radd, vlo, vhi, vzp, lo32, hi32;
    __m128i cnt;
    int high;
} qdw_rq;

KILN_VBMI static inline __attribute__((always_inline)) void qdw_rq_init(qdw_rq *c, const kiln_qrequant *r) {
    int32_t s = r->shift, zp = r->q->y_zp;
    c->high = s >= 32 && s <= 54;
    c->vb = _mm512_set1_epi32(r->bias);
    c->vm = _mm512_set1_epi32(r->mult);
    c->radd = _mm512_set1_epi64(((int64_t)1 << (s - 1)) + (c->high ? (int64_t)zp << s : 0));
    c->vlo = _mm512_set1_epi64(r->q->y_min - zp);
    c->vhi = _mm512_set1_epi64(r->q->y_max - zp);
    c->vzp = _mm512_set1_epi32(zp);
    c->lo32 = _mm512_set1_epi32(r->q->y_min);
    c->hi32 = _mm512_set1_epi32(r->q->y_max);
    c->cnt = _mm_cvtsi32_si128(c->high ? s - 32 : s);
}

/* 16 sums (bias included) to 16 u8, in a register (vpmovdb's memory form is slow on AMD). */
KILN_VBMI static inline __attribute__((always_inline)) __m128i qdw_rq16(__m512i a, const qdw_rq *c) {
    __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(a, c->vm), c->radd);
    __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), c->vm), c->radd);
    __m128i b;
    if (c->high) {
        __m512i v = _mm512_sra_epi32(_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po), c->cnt);
        b = _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(v, c->lo32), c->hi32));
    } else {
        pe = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(pe, c->cnt), c->vlo), c->vhi);
        po = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(po, c->cnt), c->vlo), c->vhi);
        b = _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32)), c->vzp));
    }
    __asm__("" : "+v"(b));
    return b;
}

/* qdw_rowq_vbmi on the unpadded plane: per 16 outputs, the window's bytes inside [0, w) are
 * loaded under a mask over a vector of x_zp (masked-off bytes are not read, so the window may
 * start before the row or end past the plane), rows outside [0, h) are all x_zp. */
KILN_VBMI __attribute__((noinline)) static void qdw_planeq1_vbmi(const uint8_t *x, const kiln_qdw_geom *g, const int32_t *wq, const kiln_qrequant *r,
                                      uint8_t *out) {
    /* The geometry in locals: stores through out (u8) could alias *g, forcing reloads. */
    const int64_t h = g->h, w = g->w, oh_n = g->oh, ow = g->ow, kh = g->kh, sh = g->sh, sw = g->sw, dh = g->dh, pt = g->pt;
    const int64_t pl = g->pl, nbytes = sw == 1 ? 32 : 34;
    const __m512i idx = _mm512_loadu_si512(sw == 1 ? vbmi_spread[0] : vbmi_spread[1]);
    const __m512i zpv = _mm512_set1_epi8((char)g->x_zp), zpq = _mm512_permutexvar_epi8(idx, zpv);
    qdw_rq c;
    qdw_rq_init(&c, r);
    __m512i wv[8];
    for (int64_t ki = 0; ki < kh && ki < 8; ki++) wv[ki] = _mm512_set1_epi32(wq[ki]);
    for (int64_t o0 = 0; o0 < ow; o0 += 16) {
        int64_t c0 = o0 * sw - pl, lo = c0 < 0 ? -c0 : 0, hi = w - c0;
        if (hi > nbytes) hi = nbytes;
        __mmask64 m = hi <= lo ? 0 : (((__mmask64)1 << hi) - 1) & ~(((__mmask64)1 << lo) - 1);
        int64_t left = ow - o0;
        __mmask16 km = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1);
        for (int64_t oh = 0; oh < oh_n; oh++) {
            __m512i s = c.vb;
            for (int64_t ki = 0; ki < kh; ki++) {
                int64_t ih = oh * sh - pt + ki * dh;
                __m512i v = zpq;
                if (ih >= 0 && ih < h) /* the address may lie outside the plane: only masked-in bytes are read */
                    v = _mm512_permutexvar_epi8(idx, _mm512_mask_loadu_epi8(zpv, m, (const void *)((uintptr_t)(x + ih * w) + (uintptr_t)c0)));
                s = _mm512_dpbusd_epi32(s, v, ki < 8 ? wv[ki] : _mm512_set1_epi32(wq[ki]));
            }
            __asm__("" : "+v"(s));
            __m128i b = qdw_rq16(s, &c);
            if (left >= 16) _mm_storeu_si128((__m128i *)(out + oh * ow + o0), b);
            else _mm_mask_storeu_epi8(out + oh * ow + o0, km, b);
        }
    }
}

#ifndef KILN_NO_AVX512 /* size builds: the one-row loop only */
/* One kernel row's 16 windows of input row ih for qdw_planeq_vbmi: the bytes inside [0, w)
 * (mask m) over x_zp, spread into quads; rows outside [0, h) are all x_zp (zpq). The address
 * may lie outside the plane: only masked-in bytes are read. */
KILN_VBMI static inline __attribute__((always_inline)) __m512i planeq_taps(const uint8_t *x, int64_t ih, int64_t h, int64_t w,
                                                                          int64_t c0, __mmask64 m, __m512i idx, __m512i zpv,
                                                                          __m512i zpq) {
    if (ih < 0 || ih >= h) return zpq;
    return _mm512_permutexvar_epi8(idx, _mm512_mask_loadu_epi8(zpv, m, (const void *)((uintptr_t)(x + ih * w) + (uintptr_t)c0)));
}

/* One row step's sums requantized and stored as up to 16 u8 (mask km). */
KILN_VBMI static inline __attribute__((always_inline)) void planeq_out(__m512i s, const qdw_rq *c, uint8_t *out, int64_t left,
                                                                      __mmask16 km) {
    __m128i b = qdw_rq16(s, c);
    if (left >= 16) _mm_storeu_si128((__m128i *)out, b);
    else _mm_mask_storeu_epi8(out, km, b);
}

/* qdw_planeq1_vbmi two output rows per step (two independent sums for the scheduler; an odd
 * last row alone): 10-20% faster on planes of 56 output rows (MobileNetV2's 56x56 and
 * 112x112 stride 2), mixed on 28 or 14 rows, slower on 7 (qdw_planeq_vbmi picks). */
KILN_VBMI __attribute__((noinline)) static void qdw_planeq2_vbmi(const uint8_t *x, const kiln_qdw_geom *g, const int32_t *wq, const kiln_qrequant *r,
                                      uint8_t *out) {
    /* The geometry in locals: stores through out (u8) could alias *g, forcing reloads. */
    const int64_t h = g->h, w = g->w, oh_n = g->oh, ow = g->ow, kh = g->kh, sh = g->sh, sw = g->sw, dh = g->dh, pt = g->pt;
    const int64_t pl = g->pl, nbytes = sw == 1 ? 32 : 34;
    const __m512i idx = _mm512_loadu_si512(sw == 1 ? vbmi_spread[0] : vbmi_spread[1]);
    const __m512i zpv = _mm512_set1_epi8((char)g->x_zp), zpq = _mm512_permutexvar_epi8(idx, zpv);
    qdw_rq c;
    qdw_rq_init(&c, r);
    __m512i wv[8];
    for (int64_t ki = 0; ki < kh && ki < 8; ki++) wv[ki] = _mm512_set1_epi32(wq[ki]);
    for (int64_t o0 = 0; o0 < ow; o0 += 16) {
        int64_t c0 = o0 * sw - pl, lo = c0 < 0 ? -c0 : 0, hi = w - c0;
        if (hi > nbytes) hi = nbytes;
        __mmask64 m = hi <= lo ? 0 : (((__mmask64)1 << hi) - 1) & ~(((__mmask64)1 << lo) - 1);
        int64_t left = ow - o0, oh = 0;
        __mmask16 km = (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1);
        for (; oh + 2 <= oh_n; oh += 2) {
            __m512i s0 = c.vb, s1 = s0;
            for (int64_t ki = 0; ki < kh; ki++) {
                int64_t ih = oh * sh - pt + ki * dh;
                __m512i wk = ki < 8 ? wv[ki] : _mm512_set1_epi32(wq[ki]);
                s0 = _mm512_dpbusd_epi32(s0, planeq_taps(x, ih, h, w, c0, m, idx, zpv, zpq), wk);
                s1 = _mm512_dpbusd_epi32(s1, planeq_taps(x, ih + sh, h, w, c0, m, idx, zpv, zpq), wk);
            }
            __asm__("" : "+v"(s0), "+v"(s1));
            planeq_out(s0, &c, out + oh * ow + o0, left, km);
            planeq_out(s1, &c, out + (oh + 1) * ow + o0, left, km);
        }
        for (; oh < oh_n; oh++) {
            __m512i s = c.vb;
            for (int64_t ki = 0; ki < kh; ki++)
                s = _mm512_dpbusd_epi32(s, planeq_taps(x, oh * sh - pt + ki * dh, h, w, c0, m, idx, zpv, zpq),
                                        ki < 8 ? wv[ki] : _mm512_set1_epi32(wq[ki]));
            __asm__("" : "+v"(s));
            planeq_out(s, &c, out + oh * ow + o0, left, km);
        }
    }
}

#endif

KILN_VBMI static void qdw_planeq_vbmi(const uint8_t *x, const kiln_qdw_geom *g, const int32_t *wq, const kiln_qrequant *r,
                                      uint8_t *out) {
#ifndef KILN_NO_AVX512
    if (g->oh >= 40) { qdw_planeq2_vbmi(x, g, wq, r, out); return; }
#endif
    qdw_planeq1_vbmi(x, g, wq, r, out);
}

static int have_vbmi(void) {
    const char *force = getenv("KILN_QGEMM");
    if (force && (strcmp(force, "portable") == 0 || strcmp(force, "pairs") == 0 || strcmp(force, "novbmi") == 0 ||
                  strcmp(force, "avxvnni") == 0))
        return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vbmi");
}

kiln_qdw_planeq_fn kiln_qdw_planeq_select(void) { return have_vbmi() ? qdw_planeq_vbmi : NULL; }

kiln_qdw_rowq_fn kiln_qdw_rowq_select(void) { return have_vbmi() ? qdw_rowq_vbmi : NULL; }

kiln_qdw_row_fn kiln_qdw_row_vnni512(void) {
    const char *force = getenv("KILN_QGEMM");
    if (force && (strcmp(force, "portable") == 0 || strcmp(force, "pairs") == 0 || strcmp(force, "avxvnni") == 0)) return NULL;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl"))
        return NULL;
    if (force && strcmp(force, "novbmi") == 0) return qdw_row_vnni512;
    return __builtin_cpu_supports("avx512vbmi") ? qdw_row_vbmi : qdw_row_vnni512;
}
#else
kiln_qdw_row_fn kiln_qdw_row_vnni512(void) { return NULL; }
kiln_qdw_rowq_fn kiln_qdw_rowq_select(void) { return NULL; }
kiln_qdw_planeq_fn kiln_qdw_planeq_select(void) { return NULL; }
#endif
