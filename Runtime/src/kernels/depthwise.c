/* depthwise.c — DEPTHWISE_CONV2D: group == C convolution computed directly (no GEMM).
 *
 * Operands: x f32 [N,C,H,W]; w f32 [M,1,kh,kw] with M = C * multiplier (output channel m
 * reads input channel m / multiplier); optional bias f32 [M]. Result: y f32 [N,M,OH,OW].
 * Attributes: the conv block (group must equal C).
 * Algorithm, per (image, output channel) plane, planes split over threads:
 * for each output row, start from the bias; for each kernel tap (ki, kj) whose input row
 * exists, add w[ki][kj] * input[ih][ow*sw + kj*dw - pl] over the range of ow where the
 * input column exists (computed once per tap, so the inner loop has no bounds checks and
 * vectorizes for stride 1); then apply the fused activation to the row.
 * Fast path, 3x3 undilated kernels at stride 1 or 2 (MobileNet's): an output row whose
 * three input rows all exist computes its interior columns (all nine taps inside the
 * input) in one pass, nine multiply-adds per pixel from registers, vectorized over ow;
 * the few border columns go tap by tap. The activation runs once per finished plane.
 * With AVX2+FMA the interior goes 8 outputs per step (stride 2 deinterleaves the input
 * with shuffles; the last partial step at stride 1 uses masked loads and stores). On
 * AVX-512 CPUs (isa.c) depthwise_avx512.c computes such planes whole, borders included,
 * 16 columns per step with lane masks standing in for the padding, and so every other
 * kernel up to KILN_DW_TAPS wide at stride 1 or 2 in W (PP-OCR's 5x5). */
#include "common.h"

#if defined(__AVX2__) && defined(__FMA__)
#define KILN_DW_AVX2 1
#endif
#if defined(KILN_DW_AVX2) || defined(KILN_HAVE_AVX512)
#include <immintrin.h>
#endif

/* Kernel widths up to this have their per-tap column ranges computed at load (the
 * divisions cost more than a 10-20 wide row's work when done per row and tap). */
#define KILN_DW_TAPS 16

/* Output columns [lo, hi) where tap kj reads an input column inside the row. */
KILN_SMALL_CODE static void tap_range(const kiln_conv_attrs *a, int64_t w, int64_t ow, int64_t kj, int64_t *lo, int64_t *hi) {
    int64_t off = kj * a->dw - a->pl;
    *lo = kiln_ceil_div(-off, a->sw);
    *hi = kiln_floor_div(w - 1 - off, a->sw) + 1;
    if (*lo < 0) *lo = 0;
    if (*hi > ow) *hi = ow;
}

typedef struct dw_params {
    kiln_conv_attrs a;
    int64_t n, c, h, w, m, oh, ow, mult;
    int fast3x3;                 /* 3x3, dilation 1, stride 1 or 2 in W */
    int64_t lo3, hi3;            /* its interior output columns (all taps inside) */
    kiln_isa isa;                /* chosen at load (isa.c) */
    int64_t tap_lo[KILN_DW_TAPS], tap_hi[KILN_DW_TAPS]; /* output columns where tap kj's input exists */
} dw_params;

KILN_SMALL_CODE static kiln_status check_dw(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *w = kiln_operand(c, 1), *b = kiln_operand(c, 2), *y = kiln_result(c, 0);
    dw_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st = kiln_conv_attrs_read(c, &p->a);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, w, "weight", KILN_F32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    if (x->rank != 4 || w->rank != 4 || y->rank != 4) return kiln_check_fail(c, "input, weight and result must be rank 4");
    const kiln_conv_attrs *a = &p->a;
    p->n = x->dims[0]; p->c = x->dims[1]; p->h = x->dims[2]; p->w = x->dims[3]; p->m = w->dims[0];
    if (a->group != p->c || p->c == 0 || p->m % p->c) return kiln_check_fail(c, "group must equal the input channels and divide M");
    p->mult = p->m / p->c;
    if (w->dims[1] != 1 || w->dims[2] != a->kh || w->dims[3] != a->kw)
        return kiln_check_fail(c, "weight shape does not match [M, 1, kh, kw]");
    int64_t ekh = (a->kh - 1) * a->dh + 1, ekw = (a->kw - 1) * a->dw + 1;
    int64_t hp = p->h + a->pt + a->pb, wp = p->w + a->pl + a->pr;
    if (hp < ekh || wp < ekw) return kiln_check_fail(c, "kernel is larger than the padded input");
    p->oh = (hp - ekh) / a->sh + 1;
    p->ow = (wp - ekw) / a->sw + 1;
    if (y->dims[0] != p->n || y->dims[1] != p->m || y->dims[2] != p->oh || y->dims[3] != p->ow)
        return kiln_check_fail(c, "result shape does not match [N, M, %lld, %lld]", (long long)p->oh, (long long)p->ow);
    if (b && (b->dtype != KILN_F32 || b->count != (uint64_t)p->m)) return kiln_check_fail(c, "bias must be f32 [M]");
    p->fast3x3 = a->kh == 3 && a->kw == 3 && a->dh == 1 && a->dw == 1 && (a->sw == 1 || a->sw == 2);
    /* Computed once here: per row, the divisions cost as much as a narrow row's work. */
    p->lo3 = kiln_ceil_div(a->pl, a->sw);
    p->hi3 = kiln_floor_div(p->w - 3 + a->pl, a->sw) + 1;
    if (p->lo3 > p->ow) p->lo3 = p->ow;
    if (p->hi3 > p->ow) p->hi3 = p->ow;
    if (p->hi3 < p->lo3) p->hi3 = p->lo3;
    p->isa = kiln_isa_detect();
    for (int64_t kj = 0; kj < a->kw && kj < KILN_DW_TAPS; kj++) {
        int64_t lo, hi;
        tap_range(a, p->w, p->ow, kj, &lo, &hi);
        p->tap_lo[kj] = lo;
        p->tap_hi[kj] = hi;
    }
    return KILN_OK;
}

typedef struct dw_job { const dw_params *p; const float *x, *w, *b; float *y; } dw_job;

/* Interior columns [lo, hi) of a 3x3 output row: input column ow*S + off + kj of rows
 * r0..r2 exists for every tap. S is a literal at each call, so the loop vectorizes. */
#define DW3X3_ROW(S)                                                                                  \
    for (int64_t ow = lo; ow < hi; ow++) {                                                            \
        int64_t i = ow * (S) + off;                                                                   \
        out[ow] = bias + w0 * r0[i] + w1 * r0[i + 1] + w2 * r0[i + 2] + w3 * r1[i] + w4 * r1[i + 1] + \
                  w5 * r1[i + 2] + w6 * r2[i] + w7 * r2[i + 1] + w8 * r2[i + 2];                      \
    }

#ifdef KILN_DW_AVX2
/* Taps 0, 1, 2 of 8 outputs at stride 2 from row r at input column i: the even and odd
 * elements of r[i..i+16], deinterleaved with in-lane shuffles plus a lane fix-up. */
static inline void dw_taps_s2(const float *r, __m256 *t0, __m256 *t1, __m256 *t2) {
    __m256 a = _mm256_loadu_ps(r), b = _mm256_loadu_ps(r + 8);
    __m256 a2 = _mm256_loadu_ps(r + 2), b2 = _mm256_loadu_ps(r + 10);
    *t0 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
    *t1 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
    *t2 = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a2, b2, 0x88)), 0xD8));
}

/* 8 interior outputs at a time (the scalar loop finishes the rest); returns the first
 * column not done. Stride 2 reads r[i..i+17], so it stops where that would pass the row. */
static int64_t dw3x3_avx2(const float *r0, const float *r1, const float *r2, const float *wk, float bias, float *out,
                          int64_t lo, int64_t hi, int64_t stride, int64_t off, int64_t width) {
    __m256 w[9], vb = _mm256_set1_ps(bias);
    for (int i = 0; i < 9; i++) w[i] = _mm256_broadcast_ss(wk + i);
    int64_t ow = lo;
    if (stride == 1) {
        for (; ow + 8 <= hi; ow += 8) {
            const int64_t i = ow + off;
            __m256 acc = vb;
            acc = _mm256_fmadd_ps(w[0], _mm256_loadu_ps(r0 + i), acc);
            acc = _mm256_fmadd_ps(w[1], _mm256_loadu_ps(r0 + i + 1), acc);
            acc = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(r0 + i + 2), acc);
            acc = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(r1 + i), acc);
            acc = _mm256_fmadd_ps(w[4], _mm256_loadu_ps(r1 + i + 1), acc);
            acc = _mm256_fmadd_ps(w[5], _mm256_loadu_ps(r1 + i + 2), acc);
            acc = _mm256_fmadd_ps(w[6], _mm256_loadu_ps(r2 + i), acc);
            acc = _mm256_fmadd_ps(w[7], _mm256_loadu_ps(r2 + i + 1), acc);
            acc = _mm256_fmadd_ps(w[8], _mm256_loadu_ps(r2 + i + 2), acc);
            _mm256_storeu_ps(out + ow, acc);
        }
        if (ow < hi) {
            /* The last 1..7 interior outputs with masked loads and stores (masked-off lanes
             * neither read nor write), so narrow rows (7, 14 wide) stay vectorized. */
            const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(hi - ow)), lane);
            const int64_t i = ow + off;
            __m256 acc = vb;
            acc = _mm256_fmadd_ps(w[0], _mm256_maskload_ps(r0 + i, mask), acc);
            acc = _mm256_fmadd_ps(w[1], _mm256_maskload_ps(r0 + i + 1, mask), acc);
            acc = _mm256_fmadd_ps(w[2], _mm256_maskload_ps(r0 + i + 2, mask), acc);
            acc = _mm256_fmadd_ps(w[3], _mm256_maskload_ps(r1 + i, mask), acc);
            acc = _mm256_fmadd_ps(w[4], _mm256_maskload_ps(r1 + i + 1, mask), acc);
            acc = _mm256_fmadd_ps(w[5], _mm256_maskload_ps(r1 + i + 2, mask), acc);
            acc = _mm256_fmadd_ps(w[6], _mm256_maskload_ps(r2 + i, mask), acc);
            acc = _mm256_fmadd_ps(w[7], _mm256_maskload_ps(r2 + i + 1, mask), acc);
            acc = _mm256_fmadd_ps(w[8], _mm256_maskload_ps(r2 + i + 2, mask), acc);
            _mm256_maskstore_ps(out + ow, mask, acc);
            ow = hi;
        }
    } else {
        for (; ow + 8 <= hi && ow * 2 + off + 18 <= width; ow += 8) {
            const int64_t i = ow * 2 + off;
            __m256 t0, t1, t2, acc = vb;
            dw_taps_s2(r0 + i, &t0, &t1, &t2);
            acc = _mm256_fmadd_ps(w[0], t0, acc);
            acc = _mm256_fmadd_ps(w[1], t1, acc);
            acc = _mm256_fmadd_ps(w[2], t2, acc);
            dw_taps_s2(r1 + i, &t0, &t1, &t2);
            acc = _mm256_fmadd_ps(w[3], t0, acc);
            acc = _mm256_fmadd_ps(w[4], t1, acc);
            acc = _mm256_fmadd_ps(w[5], t2, acc);
            dw_taps_s2(r2 + i, &t0, &t1, &t2);
            acc = _mm256_fmadd_ps(w[6], t0, acc);
            acc = _mm256_fmadd_ps(w[7], t1, acc);
            acc = _mm256_fmadd_ps(w[8], t2, acc);
            _mm256_storeu_ps(out + ow, acc);
        }
    }
    return ow;
}
#endif

#ifdef KILN_HAVE_AVX512
/* A whole 3x3 plane, borders included, relu / clip fused (depthwise_avx512.c). */
void kiln_dw3x3_plane_avx512(const float *in, int64_t h, int64_t w, int64_t oh_n, int64_t ow_n, int64_t sh, int64_t sw,
                             int64_t pt, int64_t pl, const float *wk, float bias, const kiln_act *act, float *out);
/* Any other kernel up to KILN_DW_TAPS wide at stride 1 or 2 in W (depthwise_avx512.c). */
void kiln_dw_plane_avx512(const float *in, int64_t h, int64_t w, int64_t oh_n, int64_t ow_n, int64_t kh, int64_t kw,
                          int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl, const float *wk,
                          float bias, const kiln_act *act, float *out);
#endif

static void dw3x3_interior(kiln_isa isa, const float *restrict r0, const float *restrict r1, const float *restrict r2,
                           const float *restrict wk, float bias, float *restrict out, int64_t lo, int64_t hi,
                           int64_t stride, int64_t off, int64_t width) {
    const float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5], w6 = wk[6], w7 = wk[7],
                w8 = wk[8];
#ifdef KILN_DW_AVX2
    if (isa != KILN_ISA_PORTABLE) lo = dw3x3_avx2(r0, r1, r2, wk, bias, out, lo, hi, stride, off, width);
#else
    (void)width;
    (void)isa;
#endif
    if (stride == 1) {
        DW3X3_ROW(1)
    } else {
        DW3X3_ROW(2)
    }
}

/* One output row of a 3x3 kernel at stride 1 or 2 whose three input rows exist. */
static void dw3x3_row(const dw_params *p, const float *in, const float *wk, float bias, int64_t ih0, float *out) {
    const kiln_conv_attrs *a = &p->a;
    const float *r0 = in + ih0 * p->w, *r1 = r0 + p->w, *r2 = r1 + p->w;
    int64_t off = -a->pl, lo = p->lo3, hi = p->hi3;
    dw3x3_interior(p->isa, r0, r1, r2, wk, bias, out, lo, hi, a->sw, off, p->w);
    for (int64_t ow = 0; ow < p->ow; ow++) {
        if (ow == lo) ow = hi;
        if (ow >= p->ow) break;
        float acc = bias;
        for (int64_t kj = 0; kj < 3; kj++) {
            int64_t iw = ow * a->sw + off + kj;
            if (iw < 0 || iw >= p->w) continue;
            acc += wk[kj] * r0[iw] + wk[3 + kj] * r1[iw] + wk[6 + kj] * r2[iw];
        }
        out[ow] = acc;
    }
}

static void dw_planes(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const dw_job *j = ctx;
    const dw_params *p = j->p;
    const kiln_conv_attrs *a = &p->a;
    (void)thread;
    for (size_t plane = begin; plane < end; plane++) {
        int64_t n = (int64_t)plane / p->m, m = (int64_t)plane % p->m, ci = m / p->mult;
        const float *in = j->x + (n * p->c + ci) * p->h * p->w;
        const float *wk = j->w + m * a->kh * a->kw;
        float *out = j->y + (int64_t)plane * p->oh * p->ow;
        float bias = j->b ? j->b[m] : 0.0f;
#ifdef KILN_HAVE_AVX512
        if (p->isa == KILN_ISA_AVX512 && (p->fast3x3 || (a->kw <= KILN_DW_TAPS && a->sw <= 2))) {
            if (p->fast3x3)
                kiln_dw3x3_plane_avx512(in, p->h, p->w, p->oh, p->ow, a->sh, a->sw, a->pt, a->pl, wk, bias, &a->act, out);
            else
                kiln_dw_plane_avx512(in, p->h, p->w, p->oh, p->ow, a->kh, a->kw, a->sh, a->sw, a->dh, a->dw, a->pt, a->pl,
                                     wk, bias, &a->act, out);
            if (a->act.func != KILN_UNARY_RELU && a->act.func != KILN_UNARY_CLIP)
                kiln_apply_act(&a->act, out, (size_t)(p->oh * p->ow));
            continue;
        }
#endif
        for (int64_t oh = 0; oh < p->oh; oh++) {
            float *orow = out + oh * p->ow;
            int64_t ih0 = oh * a->sh - a->pt;
            if (p->fast3x3 && ih0 >= 0 && ih0 + 2 < p->h) {
                dw3x3_row(p, in, wk, bias, ih0, orow);
                continue;
            }
            for (int64_t ow = 0; ow < p->ow; ow++) orow[ow] = bias;
            for (int64_t ki = 0; ki < a->kh; ki++) {
                int64_t ih = oh * a->sh - a->pt + ki * a->dh;
                if (ih < 0 || ih >= p->h) continue;
                const float *irow = in + ih * p->w;
                for (int64_t kj = 0; kj < a->kw; kj++) {
                    float wv = wk[ki * a->kw + kj];
                    int64_t off = kj * a->dw - a->pl, lo, hi;
                    if (kj < KILN_DW_TAPS) lo = p->tap_lo[kj], hi = p->tap_hi[kj];
                    else tap_range(a, p->w, p->ow, kj, &lo, &hi);
                    if (a->sw == 1) {
                        for (int64_t ow = lo; ow < hi; ow++) orow[ow] += wv * irow[ow + off];
                    } else {
                        for (int64_t ow = lo; ow < hi; ow++) orow[ow] += wv * irow[ow * a->sw + off];
                    }
                }
            }
        }
        kiln_apply_act(&a->act, out, (size_t)(p->oh * p->ow));
    }
}

static void run_dw(const kiln_exec *e, const kiln_instr *ins) {
    const dw_params *p = ins->params;
    dw_job j = {p, KILN_IN(e, ins, 0), KILN_IN(e, ins, 1),
                ins->nin < 3 || ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2), KILN_OUT(e, ins, 0)};
    size_t planes = (size_t)(p->n * p->m);
    if (e->threads > 1 && p->n * p->m * p->oh * p->ow >= KILN_PARALLEL_GRAIN) kiln_parallel_for(e, planes, dw_planes, &j);
    else dw_planes(&j, 0, planes, 0);
}

const kiln_kernel kiln_k_depthwise_conv2d = {KILN_OP_DEPTHWISE_CONV2D, "depthwise_conv2d", KILN_CONV_ATTR_SIZE, 2, 3, 1, 1,
                                             0, check_dw, run_dw, 0};
