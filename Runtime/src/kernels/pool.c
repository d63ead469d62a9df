/* pool.c — POOL2D: max / average / Lp pooling over H and W of an NCHW f32 tensor.
 *
 * Attributes (52 bytes): i32 kind (0 max, 1 average, 2 lp), kernel_h, kernel_w, stride_h,
 * stride_w, pad_top, pad_left, pad_bottom, pad_right, dilation_h, dilation_w,
 * count_include_pad, p (Lp exponent). ceil_mode is carried by the result shape: OH may be
 * the floor or the ceil of (H + pads - effective_kernel) / stride + 1.
 * Algorithm: per (image, channel) plane, split over threads; for each output pixel the
 * taps inside the input are visited (padding never contributes). Average divides by the
 * taps inside the input, or with count_include_pad by the taps inside the padded input
 * (taps beyond it, possible in ceil mode, never count). Max follows ONNX Runtime's 2-D max
 * pool: a window with a tap left or right of the input (W padding or ceil overhang), or
 * with no tap inside it (dilation), yields at least -FLT_MAX; the others their max (-inf
 * for all -inf inputs); floor_outside_windows applies that after any row path. 1-D pooling is 2-D with H = 1; global pooling is REDUCE.
 * Max pooling, and average pooling whose windows all count kh*kw taps, go row by row
 * instead: the output row starts at -inf (or 0) and each kernel tap (ki, kj) whose input
 * row exists folds in its input columns over the range of ow where they exist (computed
 * once per call for every kj), so the inner loop is a branch-free select or add that
 * vectorizes; a NaN input wins and then stays; the average is the sum times 1/(kh*kw).
 * At stride 1 or 2 in W the rows run in registers, 8 columns at a time with AVX2 or 16 with
 * AVX-512 (pool_avx512.c), as isa.c chooses at load; KILN_FKERNELS=portable: the C loop. */
#include "common.h"

#include <float.h>
#include <math.h>

typedef struct pool_params {
    int32_t kind, include_pad, p;
    int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    int64_t n, c, h, w, oh, ow;
    kiln_isa isa;                /* chosen at load (isa.c) */
} pool_params;

#ifdef KILN_HAVE_AVX512
void kiln_pool_rows_avx512(int64_t oh_n, int64_t ow_n, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh,
                           int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw, const int64_t *lo,
                           const int64_t *hi, const float *in, float *out, int avg);   /* pool_avx512.c */
int kiln_pool_max_fast_avx512(int64_t oh_n, int64_t ow_n, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh,
                              int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw, const int64_t *lo,
                              const int64_t *hi, const float *in, float *out);         /* 3x3/1, 2x2/2 max; 0: not */
#endif

KILN_SMALL_CODE static kiln_status check_pool(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    pool_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    int32_t v[13];
    for (int i = 0; i < 13; i++) v[i] = kiln_rdi32(c->attr + 4 * i);
    p->kind = v[0]; p->kh = v[1]; p->kw = v[2]; p->sh = v[3]; p->sw = v[4]; p->pt = v[5]; p->pl = v[6];
    p->pb = v[7]; p->pr = v[8]; p->dh = v[9]; p->dw = v[10]; p->include_pad = v[11]; p->p = v[12];
    if (p->kind < 0 || p->kind > 2) return kiln_check_fail(c, "unknown pool kind %d", (int)p->kind);
    if (p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1)
        return kiln_check_fail(c, "kernel, strides and dilations must be >= 1");
    if (p->pt < 0 || p->pl < 0 || p->pb < 0 || p->pr < 0) return kiln_check_fail(c, "pads must be >= 0");
    if (p->kind == KILN_POOL_LP && p->p < 1) return kiln_check_fail(c, "Lp pooling needs p >= 1");
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, y, "result", KILN_F32))) return st;
    if (x->rank != 4 || y->rank != 4) return kiln_check_fail(c, "input and result must be rank 4");
    p->n = x->dims[0]; p->c = x->dims[1]; p->h = x->dims[2]; p->w = x->dims[3];
    p->oh = y->dims[2]; p->ow = y->dims[3];
    int64_t ekh = (p->kh - 1) * p->dh + 1, ekw = (p->kw - 1) * p->dw + 1;
    int64_t hp = p->h + p->pt + p->pb - ekh, wp = p->w + p->pl + p->pr - ekw;
    if (hp < 0 || wp < 0) return kiln_check_fail(c, "kernel is larger than the padded input");
    int64_t fh = hp / p->sh + 1, ch = kiln_ceil_div(hp, p->sh) + 1, fw = wp / p->sw + 1, cw = kiln_ceil_div(wp, p->sw) + 1;
    if (y->dims[0] != p->n || y->dims[1] != p->c || p->oh < fh || p->oh > ch || p->ow < fw || p->ow > cw)
        return kiln_check_fail(c, "result shape does not match pooling of the input");
    p->isa = kiln_isa_detect();
    return KILN_OK;
}

typedef struct pool_job { const pool_params *p; const float *x; float *y; } pool_job;

/* Output columns [lo, hi) where kernel column kj reads an input column, for every kj
 * (kw <= TAPS_MAX; computed once per call: the divisions cost more than the pooling). */
#define TAPS_MAX 32
static void tap_ranges(const pool_params *p, int64_t *lo, int64_t *hi) {
    for (int64_t kj = 0; kj < p->kw; kj++) {
        int64_t off = kj * p->dw - p->pl;
        int64_t l = kiln_ceil_div(-off, p->sw), h = kiln_floor_div(p->w - 1 - off, p->sw) + 1;
        lo[kj] = l < 0 ? 0 : l;
        hi[kj] = h > p->ow ? p->ow : h;
    }
}

/* Stride 1 or 2 with AVX2: each output row in chunks of 8 columns held in a register across
 * all kernel taps (a row written and re-read per tap stalls on store forwarding, and these
 * rows are short, 7..32); a tap's lanes outside its [lo, hi) load nothing and count as
 * -inf (max) or 0 (sum); stride 2 loads 16 inputs and keeps the even lanes (shuffle, then
 * a 64-bit lane permute). Max keeps a NaN from either side, like the C loop. */
#if defined(__AVX2__)
#include <immintrin.h>
#define HAVE_ROWS_SIMD 1
static void rows_simd(const pool_params *p, const int64_t *lo, const int64_t *hi, const float *in, float *out, int avg) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 neutral = _mm256_set1_ps(avg ? 0.0f : -INFINITY);
    for (int64_t oh = 0; oh < p->oh; oh++) {
        for (int64_t ow0 = 0; ow0 < p->ow; ow0 += 8) {
            __m256 acc = neutral;
            __m256i col = _mm256_add_epi32(_mm256_set1_epi32((int)ow0), lane);
            for (int64_t ki = 0; ki < p->kh; ki++) {
                int64_t ih = oh * p->sh - p->pt + ki * p->dh;
                if (ih < 0 || ih >= p->h) continue;
                const float *irow = in + ih * p->w;
                for (int64_t kj = 0; kj < p->kw; kj++) {
                    if (hi[kj] <= ow0 || lo[kj] >= ow0 + 8) continue;
                    __m256i m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)lo[kj]), col),
                                                    _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi[kj]), col));
                    int64_t off = kj * p->dw - p->pl;
                    __m256 v;
                    int inside = lo[kj] <= ow0 && hi[kj] >= ow0 + 8;
                    if (p->sw == 1) {
                        v = inside ? _mm256_loadu_ps(irow + ow0 + off) : _mm256_maskload_ps(irow + ow0 + off, m);
                    } else { /* stride 2: the even lanes of 16 loaded inputs */
                        __m256i lo_cols = _mm256_permutevar8x32_epi32(m, _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3));
                        __m256i hi_cols = _mm256_permutevar8x32_epi32(m, _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7));
                        __m256i even = _mm256_setr_epi32(-1, 0, -1, 0, -1, 0, -1, 0);
                        const float *src = irow + 2 * ow0 + off;
                        __m256 va = inside ? _mm256_loadu_ps(src) : _mm256_maskload_ps(src, _mm256_and_si256(lo_cols, even));
                        __m256 vb = _mm256_maskload_ps(src + 8, _mm256_and_si256(hi_cols, even));
                        __m256 sh = _mm256_shuffle_ps(va, vb, _MM_SHUFFLE(2, 0, 2, 0));
                        v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(sh), _MM_SHUFFLE(3, 1, 2, 0)));
                    }
                    if (avg) {
                        acc = _mm256_add_ps(acc, v);
                    } else {
                        if (!inside) v = _mm256_blendv_ps(neutral, v, _mm256_castsi256_ps(m));
                        __m256 y = _mm256_max_ps(acc, v); /* v when either is NaN */
                        acc = _mm256_blendv_ps(y, acc, _mm256_cmp_ps(acc, acc, _CMP_UNORD_Q));
                    }
                }
            }
            int64_t left = p->ow - ow0;
            if (left >= 8) { _mm256_storeu_ps(out + oh * p->ow + ow0, acc); continue; } /* vmaskmovps stores are slow on AMD */
            __m256i sm = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left > 8 ? 8 : left)), lane);
            _mm256_maskstore_ps(out + oh * p->ow + ow0, sm, acc);
        }
    }
}
#endif

/* avg = 1: sum the taps; else max (a NaN input wins and then stays). */
static void tap_rows(const pool_params *p, const int64_t *lo, const int64_t *hi, const float *in, float *out, int avg) {
    for (int64_t oh = 0; oh < p->oh; oh++) {
        float *orow = out + oh * p->ow;
        for (int64_t ow = 0; ow < p->ow; ow++) orow[ow] = avg ? 0.0f : -INFINITY;
        for (int64_t ki = 0; ki < p->kh; ki++) {
            int64_t ih = oh * p->sh - p->pt + ki * p->dh;
            if (ih < 0 || ih >= p->h) continue;
            const float *irow = in + ih * p->w;
            for (int64_t kj = 0; kj < p->kw; kj++) {
                int64_t off = kj * p->dw - p->pl, l = lo[kj], h = hi[kj];
                if (avg && p->sw == 1) {
                    for (int64_t ow = l; ow < h; ow++) orow[ow] += irow[ow + off];
                } else if (avg) {
                    for (int64_t ow = l; ow < h; ow++) orow[ow] += irow[ow * p->sw + off];
                } else if (p->sw == 1) {
                    for (int64_t ow = l; ow < h; ow++) {
                        float v = irow[ow + off], r = orow[ow], m = v > r ? v : r;
                        orow[ow] = v != v ? v : m; /* two selects: vectorizes */
                    }
                } else {
                    for (int64_t ow = l; ow < h; ow++) {
                        float v = irow[ow * p->sw + off], r = orow[ow], m = v > r ? v : r;
                        orow[ow] = v != v ? v : m;
                    }
                }
            }
        }
    }
}

/* Every average window counts kh*kw taps: no padding (or padding that counts) and no
 * window reaching past the padded input (ceil mode). */
static int avg_count_constant(const pool_params *p) {
    int64_t ekh = (p->kh - 1) * p->dh + 1, ekw = (p->kw - 1) * p->dw + 1;
    int padded = p->pt || p->pl || p->pb || p->pr;
    return (!padded || p->include_pad) && (p->oh - 1) * p->sh + ekh <= p->h + p->pt + p->pb &&
           (p->ow - 1) * p->sw + ekw <= p->w + p->pl + p->pr;
}

/* Max, as ONNX Runtime's 2-D max pool behaves: a tap left or right of the input (W padding
 * or ceil overhang) counts as -FLT_MAX, a tap above or below it is skipped, and a window with
 * no tap inside the input gives -FLT_MAX; so those windows yield at least -FLT_MAX, the others
 * their max (-inf for all -inf inputs). A NaN stays. Rows whose window has no input row are
 * clamped whole, the others only in their leading [0, cl) and trailing [ct, ow) columns,
 * whose windows leave the input on W. */
static void floor_outside_windows(const pool_params *p, float *out) {
    int64_t cl = kiln_ceil_div(p->pl, p->sw), ct = kiln_floor_div(p->w - 1 + p->pl - (p->kw - 1) * p->dw, p->sw) + 1;
    if (cl > p->ow) cl = p->ow;
    if (ct < cl) ct = cl;
    if (ct > p->ow) ct = p->ow;
    for (int64_t oh = 0; oh < p->oh; oh++) {
        int64_t h0 = oh * p->sh - p->pt;
        int64_t ki0 = kiln_ceil_div(-h0, p->dh), ki1 = kiln_floor_div(p->h - 1 - h0, p->dh) + 1;
        if (ki0 < 0) ki0 = 0;
        if (ki1 > p->kh) ki1 = p->kh;
        float *row = out + oh * p->ow;
        int whole = ki0 >= ki1;
        for (int64_t ow = 0; ow < p->ow; ow++) {
            if (!whole && ow == cl) ow = ct;
            if (ow >= p->ow) break;
            if (row[ow] < -FLT_MAX) row[ow] = -FLT_MAX;
        }
    }
}

static void pool_planes(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const pool_job *j = ctx;
    const pool_params *p = j->p;
    (void)thread;
    int avg = p->kind == KILN_POOL_AVERAGE && avg_count_constant(p);
    if ((p->kind == KILN_POOL_MAX || avg) && p->kw <= TAPS_MAX) {
        int64_t lo[TAPS_MAX], hi[TAPS_MAX];
        tap_ranges(p, lo, hi);
        float scale = 1.0f / (float)(p->kh * p->kw);
        for (size_t plane = begin; plane < end; plane++) {
            float *out = j->y + (int64_t)plane * p->oh * p->ow;
            const float *in = j->x + (int64_t)plane * p->h * p->w;
#ifdef KILN_HAVE_AVX512
            if (p->isa == KILN_ISA_AVX512 && p->kind == KILN_POOL_MAX && p->w < INT32_MAX / 4 && p->ow < INT32_MAX / 4 &&
                kiln_pool_max_fast_avx512(p->oh, p->ow, p->h, p->w, p->kh, p->kw, p->sh, p->sw, p->pt, p->pl, p->dh,
                                          p->dw, lo, hi, in, out)) {
                floor_outside_windows(p, out);
                continue;
            }
            if (p->isa == KILN_ISA_AVX512 && (p->sw == 1 || p->sw == 2) && p->w < INT32_MAX / 4 && p->ow < INT32_MAX / 4)
                kiln_pool_rows_avx512(p->oh, p->ow, p->h, p->w, p->kh, p->kw, p->sh, p->sw, p->pt, p->pl, p->dh, p->dw,
                                      lo, hi, in, out, avg);
            else
#endif
#ifdef HAVE_ROWS_SIMD
            if (p->isa != KILN_ISA_PORTABLE && (p->sw == 1 || p->sw == 2) && p->w < INT32_MAX / 4 && p->ow < INT32_MAX / 4)
                rows_simd(p, lo, hi, in, out, avg);
            else
#endif
                tap_rows(p, lo, hi, in, out, avg);
            if (avg)
                for (int64_t i = 0; i < p->oh * p->ow; i++) out[i] *= scale;
            else floor_outside_windows(p, out);
        }
        return;
    }
    for (size_t plane = begin; plane < end; plane++) {
        const float *in = j->x + (int64_t)plane * p->h * p->w;
        float *out = j->y + (int64_t)plane * p->oh * p->ow;
        for (int64_t oh = 0; oh < p->oh; oh++) {
            int64_t h0 = oh * p->sh - p->pt;
            int64_t ki0 = kiln_ceil_div(-h0, p->dh), ki1 = kiln_floor_div(p->h - 1 - h0, p->dh) + 1;
            if (ki0 < 0) ki0 = 0;
            if (ki1 > p->kh) ki1 = p->kh;
            int64_t pi0 = kiln_ceil_div(-p->pt - h0, p->dh), pi1 = kiln_floor_div(p->h + p->pb - 1 - h0, p->dh) + 1;
            if (pi0 < 0) pi0 = 0;
            if (pi1 > p->kh) pi1 = p->kh;
            for (int64_t ow = 0; ow < p->ow; ow++) {
                int64_t w0 = ow * p->sw - p->pl;
                int64_t kj0 = kiln_ceil_div(-w0, p->dw), kj1 = kiln_floor_div(p->w - 1 - w0, p->dw) + 1;
                if (kj0 < 0) kj0 = 0;
                if (kj1 > p->kw) kj1 = p->kw;
                float r;
                if (p->kind == KILN_POOL_MAX) {
                    r = -INFINITY;
                    for (int64_t ki = ki0; ki < ki1; ki++) {
                        const float *row = in + (h0 + ki * p->dh) * p->w;
                        for (int64_t kj = kj0; kj < kj1; kj++) {
                            float v = row[w0 + kj * p->dw];
                            if (v > r || v != v) r = v;
                        }
                    }
                } else {
                    double s = 0;
                    for (int64_t ki = ki0; ki < ki1; ki++) {
                        const float *row = in + (h0 + ki * p->dh) * p->w;
                        for (int64_t kj = kj0; kj < kj1; kj++) {
                            double v = row[w0 + kj * p->dw];
                            s += p->kind == KILN_POOL_AVERAGE ? v : (p->p == 1 ? fabs(v) : pow(fabs(v), p->p));
                        }
                    }
                    if (p->kind == KILN_POOL_AVERAGE) {
                        int64_t count;
                        if (p->include_pad) {
                            int64_t pj0 = kiln_ceil_div(-p->pl - w0, p->dw), pj1 = kiln_floor_div(p->w + p->pr - 1 - w0, p->dw) + 1;
                            if (pj0 < 0) pj0 = 0;
                            if (pj1 > p->kw) pj1 = p->kw;
                            count = (pi1 - pi0) * (pj1 - pj0);
                        } else {
                            count = (ki1 - ki0) * (kj1 - kj0);
                        }
                        r = count > 0 ? (float)(s / (double)count) : 0.0f;
                    } else {
                        r = (float)(p->p == 1 ? s : pow(s, 1.0 / p->p));
                    }
                }
                out[oh * p->ow + ow] = r;
            }
        }
        if (p->kind == KILN_POOL_MAX) floor_outside_windows(p, out);
    }
}

static void run_pool(const kiln_exec *e, const kiln_instr *ins) {
    const pool_params *p = ins->params;
    pool_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0)};
    size_t planes = (size_t)(p->n * p->c);
    if (e->threads > 1 && p->n * p->c * p->oh * p->ow >= KILN_PARALLEL_GRAIN) kiln_parallel_for(e, planes, pool_planes, &j);
    else pool_planes(&j, 0, planes, 0);
}

const kiln_kernel kiln_k_pool2d = {KILN_OP_POOL2D, "pool2d", 52, 1, 1, 1, 1, 0, check_pool, run_pool, 0};
