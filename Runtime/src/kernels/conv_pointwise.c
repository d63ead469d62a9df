/* conv_pointwise.c — CONV2D_PACKED's pointwise convs (1x1, stride 1, no padding) on AVX-512
 * CPUs: y[M, HW] = W[M, C] x[C, HW] read straight from the input, in 6 x 64 tiles.
 *
 * MobileNet's expand / project convs have few input channels (16..160) per pixel, so the
 * packed GEMM's 6 x 32 tiles spend a large share of each tile on its epilogue and C
 * traffic, and walk every panel over one 256-column block before the next. Here:
 * 1. Work items are blocks of 64 output pixels (and, with few blocks per thread, ranges
 *    of 6-row weight panels), so the block's input columns (C x 64 floats) stay in L1
 *    while every panel passes over them.
 * 2. Per panel the 6 x 4 zmm accumulators start at the bias and run over all C input
 *    channels in registers (per channel: 4 input loads, 6 weight broadcasts from the
 *    panel's contiguous 6 floats, 24 FMAs); no K slicing, no reload of C.
 * 3. relu / clip in registers, then a masked store of the valid rows and columns; other
 *    activations run on the stored rows.
 * The weights are the plan's packed panels [ceil(M/6), C, 6] as they are (rows past M are
 * zero). Portable and AVX2 builds, and convs over 1024 input channels, keep the packed
 * GEMM (conv_packed.c). */
#include "conv_pointwise.h"

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>

#define PW_COLS 64
#define PW_MAX_C 1024

typedef struct pw_job {
    const cp_params *p;
    const float *x, *w, *bias;
    float *y;
    int64_t blocks, parts, per_part;
} pw_job;

/* One 6-row panel x nv vectors (nv literal at every call, so the loops unroll and the
 * 6 x nv accumulators stay in registers); `last` masks the final vector's columns. */
static inline __attribute__((always_inline)) KILN_AVX512 void pw_tile(int64_t k, const float *w, const float *x,
                                                                      size_t ldx, float *y, size_t ldy,
                                                                      const float *bias, int rows, const int nv,
                                                                      __mmask16 last, const kiln_act *act) {
    __m512 s[KILN_MR][4];
    _Pragma("GCC unroll 8") for (int r = 0; r < KILN_MR; r++) {
        __m512 b = _mm512_set1_ps(bias && r < rows ? bias[r] : 0.0f);
        _Pragma("GCC unroll 8") for (int v = 0; v < nv; v++) s[r][v] = b;
    }
    for (int64_t c = 0; c < k; c++) {
        const float *xr = x + (size_t)c * ldx, *wr = w + c * KILN_MR;
        __m512 xv[4];
        _Pragma("GCC unroll 8") for (int v = 0; v < nv; v++)
            xv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(last, xr + 16 * v) : _mm512_loadu_ps(xr + 16 * v);
        _Pragma("GCC unroll 8") for (int r = 0; r < KILN_MR; r++) {
            __m512 a = _mm512_set1_ps(wr[r]);
            _Pragma("GCC unroll 8") for (int v = 0; v < nv; v++) s[r][v] = _mm512_fmadd_ps(a, xv[v], s[r][v]);
        }
    }
    const int func = act->func;
    const __m512 lo = _mm512_set1_ps(func == KILN_UNARY_CLIP ? act->alpha : 0.0f);
    const __m512 hi = _mm512_set1_ps(func == KILN_UNARY_CLIP ? act->beta : 0.0f);
    _Pragma("GCC unroll 8") for (int r = 0; r < KILN_MR; r++) {
        if (r >= rows) break;
        float *yr = y + (size_t)r * ldy;
        _Pragma("GCC unroll 8") for (int v = 0; v < nv; v++) {
            __m512 o = s[r][v];
            /* max/min return their second operand on NaN: a NaN passes through. */
            if (func == KILN_UNARY_RELU) o = _mm512_max_ps(_mm512_setzero_ps(), o);
            else if (func == KILN_UNARY_CLIP) o = _mm512_min_ps(hi, _mm512_max_ps(lo, o));
            if (v == nv - 1) _mm512_mask_storeu_ps(yr + 16 * v, last, o);
            else _mm512_storeu_ps(yr + 16 * v, o);
        }
    }
}

static KILN_AVX512 void pw_block(const cp_params *p, const float *w, const float *x, float *y, const float *bias,
                                 int64_t c0, int64_t pa, int64_t pb) {
    const int64_t n = p->ohw - c0 < PW_COLS ? p->ohw - c0 : PW_COLS, nv = (n + 15) / 16, tail = n - 16 * (nv - 1);
    const __mmask16 last = (__mmask16)(tail >= 16 ? 0xFFFFu : (1u << tail) - 1u);
    const kiln_act *act = &p->a.act;
    const size_t ld = (size_t)p->ohw;
    for (int64_t q = pa; q < pb; q++) {
        const int64_t r0 = q * KILN_MR;
        const int rows = (int)(p->m - r0 < KILN_MR ? p->m - r0 : KILN_MR);
        const float *wq = w + q * p->c * KILN_MR, *bq = bias ? bias + r0 : NULL;
        float *yq = y + (size_t)r0 * ld + c0;
        switch (nv) {
        case 1: pw_tile(p->c, wq, x + c0, ld, yq, ld, bq, rows, 1, last, act); break;
        case 2: pw_tile(p->c, wq, x + c0, ld, yq, ld, bq, rows, 2, last, act); break;
        case 3: pw_tile(p->c, wq, x + c0, ld, yq, ld, bq, rows, 3, last, act); break;
        default: pw_tile(p->c, wq, x + c0, ld, yq, ld, bq, rows, 4, last, act); break;
        }
        if (act->func != KILN_UNARY_IDENTITY && act->func != KILN_UNARY_RELU && act->func != KILN_UNARY_CLIP)
            for (int r = 0; r < rows; r++) kiln_apply_act(act, yq + (size_t)r * ld, (size_t)n);
    }
}

static void pw_items(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const pw_job *j = ctx;
    const cp_params *p = j->p;
    (void)thread;
    for (size_t item = begin; item < end; item++) {
        int64_t part = (int64_t)item % j->parts, blk = ((int64_t)item / j->parts) % j->blocks;
        int64_t n = (int64_t)item / (j->parts * j->blocks);
        int64_t pa = part * j->per_part, pb = pa + j->per_part < p->panels ? pa + j->per_part : p->panels;
        pw_block(p, j->w, j->x + n * p->c * p->ohw, j->y + n * p->m * p->ohw, j->bias, blk * PW_COLS, pa, pb);
    }
}

int kiln_pw_run(const kiln_exec *e, const cp_params *p, const float *x, const float *w, const float *bias, float *y) {
    /* Over PW_MAX_C input channels a block's columns no longer sit in L1/L2 for the whole
     * panel pass: the packed GEMM's K slices do better. */
    if (p->c > PW_MAX_C) return 0;
    pw_job j = {p, x, w, bias, y, (p->ohw + PW_COLS - 1) / PW_COLS, 1, p->panels};
    /* Too few pixel blocks to keep every thread busy: split the panels as well. */
    if (e->threads > 1 && j.blocks * p->n < 2 * (int64_t)e->threads) {
        int64_t want = (2 * (int64_t)e->threads + j.blocks * p->n - 1) / (j.blocks * p->n);
        j.per_part = (p->panels + want - 1) / want;
        j.parts = (p->panels + j.per_part - 1) / j.per_part;
    }
    size_t items = (size_t)(p->n * j.blocks * j.parts);
    if (e->threads > 1 && p->m * p->c * p->ohw * p->n >= 4 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, items, pw_items, &j);
    else pw_items(&j, 0, items, 0);
    return 1;
}
#endif
