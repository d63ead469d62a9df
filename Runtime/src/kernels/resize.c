/* resize.c — RESIZE of an f32 tensor: nearest, linear or cubic interpolation over any
 * axes, with the ONNX coordinate transformation modes.
 * Attributes (124 bytes): i32 mode, i32 coordinate_transformation, i32 nearest_mode,
 * i32 exclude_outside, i32 antialias (must be 0: not yet supported), f32 cubic_coeff_a,
 * f32 extrapolation_value, f32 scales[8] (per input axis, 1 when untouched), f32 roi[16]
 * (begins then ends, tf_crop_and_resize only). The output shape is the result's.
 * Algorithm: at load time, for every axis and output coordinate, the source coordinate x
 * is computed (in float, with ONNX Runtime's formulas), and turned into up to 4 taps
 * (clamped input index, weight); zero-weight taps are dropped, so untouched axes have one
 * tap. A coordinate outside the input in tf_crop_and_resize marks the output element as
 * the extrapolation value. Running visits, per output element, the product of its axes'
 * taps. When every axis but the last two has a single tap per coordinate (the usual N, C
 * untouched), a 2-D loop does the sums in float (the generic path sums in double; both
 * are within float rounding of each other) without the per-element odometer over all
 * axes: for input rows up to 1024 wide separably (the output row's input rows blended
 * once into a row buffer, then each pixel's column taps; on AVX-512, rows up to 32 wide
 * take the column taps 16 pixels at a time by register permutes), else per pixel. */
#include "common.h"

#include <math.h>

typedef struct tap { int64_t index; float weight; } tap;

typedef struct resize_params {
    uint32_t rank;
    int plane;                   /* the 2-D fast path applies */
    int copy;                    /* ... with every output one input pixel of weight 1 (nearest) */
    kiln_isa isa;                /* chosen at load (isa.c) */
    float extrapolation;
    int64_t out_dims[KILN_MAX_RANK], in_str[KILN_MAX_RANK], axis_off[KILN_MAX_RANK];
    /* per axis and output coordinate: ntaps (0 = outside) and 4 taps */
    uint8_t *ntaps;
    tap *taps;
    uint8_t data[];
} resize_params;

/* Source coordinate of output coordinate x, as ONNX Runtime computes it: its expressions in
 * float (a nearest index can land on the other side of an integer than the same formula in
 * double gives, e.g. half_pixel floor at scale 0.6); align_corners, pytorch_half_pixel and
 * tf_crop_and_resize use the integer output length. */
static double source_coord(int32_t coord, float x, float scale, int64_t in, int64_t out, float r0, float r1) {
    float lin = (float)in, lout = (float)out;
    /* ONNX Runtime maps an axis of scale 1 one to one (tf_half_pixel_for_nn would shift it by
     * half a pixel). It also ignores tf_crop_and_resize's roi there; Kiln follows the ONNX spec. */
    if (scale == 1.0f && in == out && coord != KILN_COORD_TF_CROP_AND_RESIZE) return (double)x;
    switch (coord) {
    case KILN_COORD_ALIGN_CORNERS: return out == 1 ? 0.0 : (double)(x * (lin - 1.0f) / (lout - 1.0f));
    case KILN_COORD_ASYMMETRIC: return (double)(x / scale);
    case KILN_COORD_TF_CROP_AND_RESIZE:
        return out > 1 ? (double)(r0 * (lin - 1.0f) + x * (r1 - r0) * (lin - 1.0f) / (lout - 1.0f))
                       : (double)(float)(0.5 * ((double)r0 + (double)r1) * (double)(lin - 1.0f));
    case KILN_COORD_PYTORCH_HALF_PIXEL: return out > 1 ? (double)((x + 0.5f) / scale - 0.5f) : 0.0;
    case KILN_COORD_TF_HALF_PIXEL_FOR_NN: return (double)((x + 0.5f) / scale);
    case KILN_COORD_HALF_PIXEL_SYMMETRIC: {
        float adjustment = lout / (scale * lin), offset = lin / 2.0f * (1.0f - adjustment);
        return (double)(float)((double)offset + ((double)x + 0.5) / (double)scale - 0.5);
    }
    default: return (double)((x + 0.5f) / scale - 0.5f);
    }
}

static double cubic_weight(double d, double a) {
    d = fabs(d);
    if (d <= 1.0) return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
    if (d < 2.0) return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
    return 0.0;
}

/* Fills the taps of one output coordinate; returns the tap count (0 = extrapolate). */
static int make_taps(int32_t mode, int32_t nearest, int exclude, double a, double x, int64_t in, tap *t) {
    double fl = floor(x);
    double ratio = (x == fl) ? 1.0 : x - fl;        /* in (0, 1]: the left neighbour is x - ratio */
    int64_t left = (int64_t)(x - ratio);
    double w[4];
    int64_t idx[4];
    int n;
    if (mode == KILN_RESIZE_NEAREST) {
        int right;
        if (x == fl) right = 1;
        else if (nearest == KILN_NEAREST_ROUND_PREFER_FLOOR) right = ratio > 0.5;
        else if (nearest == KILN_NEAREST_ROUND_PREFER_CEIL) right = ratio >= 0.5;
        else right = nearest == KILN_NEAREST_CEIL;
        n = 1; idx[0] = left + right; w[0] = 1.0;
    } else if (mode == KILN_RESIZE_LINEAR) {
        n = 2; idx[0] = left; idx[1] = left + 1; w[0] = 1.0 - ratio; w[1] = ratio;
    } else {
        n = 4;
        for (int k = 0; k < 4; k++) { idx[k] = left - 1 + k; w[k] = cubic_weight(ratio + 1.0 - k, a); }
    }
    if (exclude) {
        double s = 0;
        for (int k = 0; k < n; k++) { if (idx[k] < 0 || idx[k] >= in) w[k] = 0; s += w[k]; }
        for (int k = 0; k < n; k++) w[k] = s != 0 ? w[k] / s : 0;
    }
    int m = 0;
    for (int k = 0; k < n; k++) {
        if (w[k] == 0.0 && !(m == 0 && k == n - 1)) continue;
        t[m].index = idx[k] < 0 ? 0 : (idx[k] >= in ? in - 1 : idx[k]);
        t[m].weight = (float)w[k];
        m++;
    }
    return m;
}

KILN_SMALL_CODE static kiln_status check_resize(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, y, "result", KILN_F32))) return st;
    if (x->rank != y->rank || x->rank == 0) return kiln_check_fail(c, "input and result ranks differ");
    const uint8_t *at = c->attr;
    int32_t mode = kiln_rdi32(at), coord = kiln_rdi32(at + 4), nearest = kiln_rdi32(at + 8);
    int exclude = kiln_rdi32(at + 12) != 0;
    if (kiln_rdi32(at + 16) != 0) return kiln_check_fail(c, "antialias is not yet supported");
    if (mode < 0 || mode > 2 || coord < 0 || coord > 6 || nearest < 0 || nearest > 3)
        return kiln_check_fail(c, "unknown mode, coordinate transformation or nearest mode");
    double a = kiln_rdf32(at + 20);
    uint64_t total = 0;
    for (uint32_t d = 0; d < x->rank; d++) {
        total += (uint64_t)y->dims[d];
        if (x->dims[d] == 0 && y->dims[d] != 0) return kiln_check_fail(c, "cannot resize an empty axis");
    }
    /* An empty result computes nothing. Otherwise every dim is at most the result's element
     * count, which the loader has already bounded by the arena, so the tap table is too (an
     * empty result with a huge other dim would otherwise ask for gigabytes of taps). */
    if (y->count == 0) {
        if (!kiln_params_alloc(c, sizeof(resize_params))) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
        return KILN_OK;
    }
    size_t bytes = sizeof(resize_params) + (size_t)total * (4 * sizeof(tap) + 1) + sizeof(tap);
    resize_params *p = kiln_params_alloc(c, bytes);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->taps = (tap *)(void *)(p->data + ((sizeof(tap) - ((uintptr_t)p->data % sizeof(tap))) % sizeof(tap)));
    p->ntaps = (uint8_t *)(p->taps + 4 * total);
    p->rank = x->rank;
    p->extrapolation = kiln_rdf32(at + 24);
    kiln_dense_strides(x, p->in_str);
    int64_t off = 0;
    for (uint32_t d = 0; d < x->rank; d++) {
        float scale = kiln_rdf32(at + 28 + 4 * d);
        float r0 = kiln_rdf32(at + 60 + 4 * d), r1 = kiln_rdf32(at + 60 + 4 * (x->rank + d));
        if (!(scale > 0.0f) || isinf(scale)) return kiln_check_fail(c, "axis %u: scale must be positive", d);
        p->out_dims[d] = y->dims[d];
        p->axis_off[d] = off;
        for (int64_t o = 0; o < y->dims[d]; o++) {
            double xs = source_coord(coord, (float)o, scale, x->dims[d], y->dims[d], r0, r1);
            uint8_t n = 0;
            if (!(xs != xs) && !(coord == KILN_COORD_TF_CROP_AND_RESIZE && (xs < 0 || xs > (double)(x->dims[d] - 1))))
                n = (uint8_t)make_taps(mode, nearest, exclude, a, xs > 1e15 ? 1e15 : (xs < -1e15 ? -1e15 : xs),
                                       x->dims[d], p->taps + 4 * (off + o));
            p->ntaps[off + o] = n;
        }
        off += y->dims[d];
    }
    p->isa = kiln_isa_detect();
    p->plane = x->rank >= 2;
    if (p->plane)
        for (int64_t k = 0; k < p->axis_off[x->rank - 2]; k++) /* the taps of the outer axes */
            if (p->ntaps[k] != 1) p->plane = 0;
    p->copy = p->plane;
    for (int64_t k = 0; k < off && p->copy; k++) p->copy = p->ntaps[k] == 1 && p->taps[4 * k].weight == 1.0f;
    return KILN_OK;
}

/* The copy path: output row by output row, each pixel the input pixel of its one tap (the
 * weights are 1: the same values the blend computes); an output row reading the same
 * input row as the row before (upscaling) is a copy of that row. */
KILN_SMALL_CODE static void run_copy(const resize_params *p, const float *x, float *y) {
    uint32_t r = p->rank, outer_rank = r - 2;
    int64_t outer = 1, oh_n = p->out_dims[r - 2], ow_n = p->out_dims[r - 1], idx[KILN_MAX_RANK] = {0};
    int64_t sh = p->in_str[r - 2], sw = p->in_str[r - 1];
    const tap *th = p->taps + 4 * p->axis_off[r - 2], *tw = p->taps + 4 * p->axis_off[r - 1];
    for (uint32_t d = 0; d < outer_rank; d++) outer *= p->out_dims[d];
    for (int64_t o = 0; o < outer; o++) {
        int64_t off0 = 0;
        for (uint32_t d = 0; d < outer_rank; d++) off0 += p->taps[4 * (p->axis_off[d] + idx[d])].index * p->in_str[d];
        for (int64_t oh = 0; oh < oh_n; oh++, y += ow_n) {
            if (oh > 0 && th[4 * oh].index == th[4 * (oh - 1)].index) {
                memcpy(y, y - ow_n, sizeof(float) * (size_t)ow_n);
                continue;
            }
            const float *xr = x + off0 + th[4 * oh].index * sh;
            for (int64_t ow = 0; ow < ow_n; ow++) y[ow] = xr[tw[4 * ow].index * sw];
        }
        int d = (int)outer_rank - 1;
        while (d >= 0 && ++idx[d] >= p->out_dims[d]) idx[d--] = 0;
    }
}

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>

/* The column pass of the separable path for input rows up to 32 wide, 16 output pixels per
 * step: tap b of every lane as a vector of input columns and weights (lanes with fewer
 * taps masked off), built once per run; the blended row sits in one or two registers and
 * the taps are register permutes instead of loads. Same sums in the same order as the
 * scalar loop. */
#define COL_BLOCKS 16
typedef struct col_table {
    int32_t idx[COL_BLOCKS][4][16];
    float w[COL_BLOCKS][4][16], init[COL_BLOCKS][16];
    uint16_t mask[COL_BLOCKS][4];
    int taps;                    /* the most taps of any output pixel */
} col_table;

static void col_table_build(col_table *c, int64_t ow_n, const uint8_t *nw, const tap *tw, float extrapolation) {
    memset(c, 0, sizeof *c);
    for (int64_t ow = 0; ow < ow_n; ow++) {
        int64_t q = ow / 16, l = ow % 16;
        c->init[q][l] = nw[ow] == 0 ? extrapolation : 0.0f;
        if (nw[ow] > c->taps) c->taps = nw[ow];
        for (int b = 0; b < nw[ow]; b++) {
            c->idx[q][b][l] = (int32_t)tw[4 * ow + b].index;
            c->w[q][b][l] = tw[4 * ow + b].weight;
            c->mask[q][b] |= (uint16_t)(1u << l);
        }
    }
}

KILN_AVX512 static void cols_avx512(const col_table *c, const float *t, int64_t in_w, int64_t ow_n, float *y) {
    const __m512 t0 = _mm512_maskz_loadu_ps((__mmask16)(in_w >= 16 ? 0xFFFFu : (1u << in_w) - 1u), t);
    const __m512 t1 = in_w > 16 ? _mm512_maskz_loadu_ps((__mmask16)(in_w >= 32 ? 0xFFFFu : (1u << (in_w - 16)) - 1u), t + 16)
                                : _mm512_setzero_ps();
    for (int64_t q = 0; q * 16 < ow_n; q++) {
        __m512 acc = _mm512_loadu_ps(c->init[q]);
        for (int b = 0; b < c->taps; b++) {
            __m512i idx = _mm512_loadu_si512(c->idx[q][b]);
            __m512 v = in_w <= 16 ? _mm512_permutexvar_ps(idx, t0) : _mm512_permutex2var_ps(t0, idx, t1);
            acc = _mm512_mask3_fmadd_ps(_mm512_loadu_ps(c->w[q][b]), v, acc, (__mmask16)c->mask[q][b]);
        }
        int64_t n = ow_n - 16 * q;
        _mm512_mask_storeu_ps(y + 16 * q, (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u), acc);
    }
}
#endif

/* The 2-D path: outer axes contribute one tap each (weight and offset hoisted). Rows up
 * to SEP_ROW_MAX wide go separably: sum_a sum_b wa wb x[a][b] = sum_b wb (sum_a wa x[a][b]). */
#define SEP_ROW_MAX 1024
static void run_plane(const resize_params *p, const float *x, float *y) {
    uint32_t r = p->rank, outer_rank = r - 2;
    int64_t outer = 1, oh_n = p->out_dims[r - 2], ow_n = p->out_dims[r - 1], idx[KILN_MAX_RANK] = {0};
    int64_t sh = p->in_str[r - 2], sw = p->in_str[r - 1];
    const uint8_t *nh_all = p->ntaps + p->axis_off[r - 2], *nw_all = p->ntaps + p->axis_off[r - 1];
    const tap *th_all = p->taps + 4 * p->axis_off[r - 2], *tw_all = p->taps + 4 * p->axis_off[r - 1];
    for (uint32_t d = 0; d < outer_rank; d++) outer *= p->out_dims[d];
#ifdef KILN_HAVE_AVX512
    col_table cols;
    const int vec_cols = p->isa == KILN_ISA_AVX512 && sw == 1 && sh <= 32 && ow_n <= 16 * COL_BLOCKS;
    if (vec_cols) col_table_build(&cols, ow_n, nw_all, tw_all, p->extrapolation);
#endif
    for (int64_t o = 0; o < outer; o++) {
        double w0 = 1;
        int64_t off0 = 0;
        for (uint32_t d = 0; d < outer_rank; d++) {
            const tap *t = p->taps + 4 * (p->axis_off[d] + idx[d]);
            w0 *= t->weight;
            off0 += t->index * p->in_str[d];
        }
        float w0f = (float)w0;
        for (int64_t oh = 0; oh < oh_n; oh++) {
            int nh = nh_all[oh];
            const tap *th = th_all + 4 * oh;
            if (nh > 0 && sw == 1 && sh <= SEP_ROW_MAX) {
                /* separable: blend the nh input rows once, then nw taps per output pixel */
                float t[SEP_ROW_MAX];
                const float *x0 = x + off0 + th[0].index * sh;
                float wa = w0f * th[0].weight;
                for (int64_t iw = 0; iw < sh; iw++) t[iw] = wa * x0[iw];
                for (int a = 1; a < nh; a++) {
                    const float *xa = x + off0 + th[a].index * sh;
                    wa = w0f * th[a].weight;
                    for (int64_t iw = 0; iw < sh; iw++) t[iw] += wa * xa[iw];
                }
#ifdef KILN_HAVE_AVX512
                if (vec_cols) {
                    cols_avx512(&cols, t, sh, ow_n, y);
                    y += ow_n;
                    continue;
                }
#endif
                for (int64_t ow = 0; ow < ow_n; ow++) {
                    int nw = nw_all[ow];
                    const tap *tw = tw_all + 4 * ow;
                    float acc = nw == 0 ? p->extrapolation : 0.0f;
                    for (int b = 0; b < nw; b++) acc += tw[b].weight * t[tw[b].index];
                    *y++ = acc;
                }
                continue;
            }
            for (int64_t ow = 0; ow < ow_n; ow++) {
                int nw = nw_all[ow];
                const tap *tw = tw_all + 4 * ow;
                if (nh == 0 || nw == 0) { *y++ = p->extrapolation; continue; }
                if (nh == 1 && nw == 1) { /* nearest, or an exact source pixel */
                    *y++ = w0f * th[0].weight * tw[0].weight * x[off0 + th[0].index * sh + tw[0].index * sw];
                    continue;
                }
                float acc = 0;
                for (int a = 0; a < nh; a++) {
                    float wa = w0f * th[a].weight;
                    const float *xa = x + off0 + th[a].index * sh;
                    for (int b = 0; b < nw; b++) acc += wa * tw[b].weight * xa[tw[b].index * sw];
                }
                *y++ = acc;
            }
        }
        int d = (int)outer_rank - 1;
        while (d >= 0 && ++idx[d] >= p->out_dims[d]) idx[d--] = 0;
    }
}

/* Any other resize: every output element from its taps over all axes (rank > 2 with
 * blended outer axes, rank 1). */
KILN_SMALL_CODE static void run_general(const resize_params *p, const float *x, float *y, uint64_t count) {
    uint32_t r = p->rank;
    int64_t idx[KILN_MAX_RANK] = {0};
    for (uint64_t o = 0; o < count; o++) {
        const tap *taps[KILN_MAX_RANK];
        int n[KILN_MAX_RANK], t[KILN_MAX_RANK] = {0}, outside = 0;
        for (uint32_t d = 0; d < r; d++) {
            int64_t k = p->axis_off[d] + idx[d];
            n[d] = p->ntaps[k];
            taps[d] = p->taps + 4 * k;
            if (n[d] == 0) outside = 1;
        }
        double acc = 0;
        if (!outside) {
            for (;;) {
                double w = 1;
                int64_t off = 0;
                for (uint32_t d = 0; d < r; d++) { w *= taps[d][t[d]].weight; off += taps[d][t[d]].index * p->in_str[d]; }
                acc += w * x[off];
                int d = (int)r - 1;
                while (d >= 0 && ++t[d] >= n[d]) t[d--] = 0;
                if (d < 0) break;
            }
        }
        y[o] = outside ? p->extrapolation : (float)acc;
        int d = (int)r - 1;
        while (d >= 0 && ++idx[d] >= p->out_dims[d]) idx[d--] = 0;
    }
}

static void run_resize(const kiln_exec *e, const kiln_instr *ins) {
    const resize_params *p = ins->params;
    const kiln_tdesc *yt = &e->plan->tensors[ins->ids[1]];
    if (yt->count == 0) return;
    const float *x = KILN_IN(e, ins, 0);
    float *y = KILN_OUT(e, ins, 0);
    if (p->copy) run_copy(p, x, y);
    else if (p->plane) run_plane(p, x, y);
    else run_general(p, x, y, yt->count);
}

const kiln_kernel kiln_k_resize = {KILN_OP_RESIZE, "resize", 124, 1, 1, 1, 1, 0, check_resize, run_resize, 0};
