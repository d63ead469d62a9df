/* conv_transpose_direct.c — CONV_TRANSPOSE2D as sh*sw small ordinary convolutions, one per
 * output phase, instead of GEMM + col2im (which writes kh*kw partial planes and adds them
 * back: most of the time on the small decoders of autoencoders and GANs).
 *
 * Algorithm, per image and group:
 * 1. Output row oh = fh + sh*t (phase fh) receives kernel row ki exactly when
 *    n = fh + pt - ki*dh is a multiple of sh, from input row t + n/sh: per phase a fixed
 *    set of kernel rows, each a fixed row offset a. Likewise columns (phase fw, offset b).
 * 2. The input is copied once into a zero-padded buffer (hp x wp per channel) wide enough
 *    that every offset of every phase lands inside it. Then, with the phase's outputs laid
 *    out flat at the buffer's row pitch (lane i = t*wp + u), the input a tap reads for lane
 *    i is lane i + (a + padt)*wp + (b + padl): every tap is one contiguous run, whatever
 *    the plane's width (lanes with u >= the phase's width are computed and dropped).
 * 3. Work items are (phase, block of 8 output channels); per chunk of up to 64 lanes the
 *    channels accumulate from the bias over taps x input channels in registers (AVX-512:
 *    up to 16 zmm, each input vector loaded once for 4 or 8 channels), then each output
 *    row's lanes go to pixels (fh + sh*t, fw + sw*u). The caller applies the activation.
 * 4. On AVX-512 (conv_transpose_direct512.c), columns a tap reads outside the row can be
 *    masked per tap instead of padded when that saves vectors, and tiny phases with
 *    channels in 32s put the output channels on the lanes instead (weights repacked at
 *    load to [C, kh*kw, M/g], so a block's channels are adjacent).
 * The portable loop is the same with float arrays the compiler vectorizes. */
#include "conv_transpose_direct.h"

/* Kernel rows of phase f (output index f + s*t): kernel index k[], input offset o[] (the
 * input index is t + o); returns how many. */
static int phase_taps(int64_t f, int64_t pad, int64_t kn, int64_t d, int64_t s, int64_t *k, int64_t *o) {
    int n = 0;
    for (int64_t ki = 0; ki < kn; ki++) {
        int64_t q = f + pad - ki * d;
        if (q - kiln_floor_div(q, s) * s != 0) continue;
        k[n] = ki;
        o[n++] = kiln_floor_div(q, s);
    }
    return n;
}

/* The padding before and after one axis so every phase's offsets stay inside. */
KILN_SMALL_CODE static void axis_pads(int64_t in, int64_t out, int64_t kn, int64_t d, int64_t s, int64_t pad,
                                      int64_t *before, int64_t *after) {
    int64_t k[CTD_TAPS_MAX], o[CTD_TAPS_MAX], lo = 0, hi = in - 1;
    for (int64_t f = 0; f < s && f < out; f++) {
        int64_t t_n = (out - f + s - 1) / s;
        int n = phase_taps(f, pad, kn, d, s, k, o);
        for (int i = 0; i < n; i++) {
            if (o[i] < lo) lo = o[i];
            if (t_n - 1 + o[i] > hi) hi = t_n - 1 + o[i];
        }
    }
    *before = -lo;
    *after = hi - (in - 1);
}

/* 16-lane vectors x taps over every phase's t x wp lane grid, at row pitch wp. */
KILN_SMALL_CODE static double phase_vectors(const kiln_conv_attrs *a, int64_t oh, int64_t ow, int64_t wp) {
    double work = 0;
    int64_t k[CTD_TAPS_MAX], o[CTD_TAPS_MAX];
    for (int64_t fh = 0; fh < a->sh && fh < oh; fh++) {
        int64_t tn = (oh - fh + a->sh - 1) / a->sh, vectors = (tn * wp + 15) / 16;
        int nr = phase_taps(fh, a->pt, a->kh, a->dh, a->sh, k, o);
        for (int64_t fw = 0; fw < a->sw && fw < ow; fw++)
            work += (double)nr * (double)phase_taps(fw, a->pl, a->kw, a->dw, a->sw, k, o) * (double)vectors;
    }
    return work;
}

KILN_SMALL_CODE int kiln_ctd_setup(const kiln_conv_attrs *a, int64_t cg, int64_t mg, int64_t h, int64_t w, int64_t oh,
                                   int64_t ow, ctd_geom *g) {
    /* Work items are phases x channel blocks: strides bounded like kernels keep them few. */
    if (a->kh > CTD_TAPS_MAX || a->kw > CTD_TAPS_MAX || a->sh > CTD_TAPS_MAX || a->sw > CTD_TAPS_MAX) return 0;
    /* Offsets are bounded by (out + pad + k*d) / s; keep every size far from overflow. */
    const int64_t lim = (int64_t)1 << 24;
    if (h > lim || w > lim || oh > lim || ow > lim || a->pt > lim || a->pl > lim || a->kh * a->dh > lim ||
        a->kw * a->dw > lim)
        return 0;
    axis_pads(h, oh, a->kh, a->dh, a->sh, a->pt, &g->padt, &g->hp);
    axis_pads(w, ow, a->kw, a->dw, a->sw, a->pl, &g->padl, &g->wp);
    g->hp += h + g->padt;
    g->wp += w + g->padl;
    g->isa = kiln_isa_detect();
    /* AVX-512 can mask the columns a tap reads outside the row instead of padding them:
     * the pitch is then the input width (no lanes spent on the border; the buffer has padl
     * floats and a vector of slack in front for the first row's negative offsets). Chosen
     * when that saves at least 15% of the vectors (GAN's 4x4 -> 8x8: half), and only when
     * every phase's output columns fit in the input width (a lane past the pitch would be
     * the next row's). */
    g->front = g->padl + 16;
    g->colmask = g->isa == KILN_ISA_AVX512 && (ow + a->sw - 1) / a->sw <= w &&
                 phase_vectors(a, oh, ow, w) <= 0.85 * phase_vectors(a, oh, ow, g->wp);
    if (g->colmask) {
        g->wp = w;
        g->padl = 0;
    }
    /* Tiny phases (at most 32 lanes, e.g. 4x4 -> 7x7) with output channels in 32s put the
     * channels on the lanes instead (item_cl512): weights are vector loads there, and only
     * the input is broadcast. */
    g->cl = g->isa == KILN_ISA_AVX512 && !g->colmask && mg % CTD_CL == 0 && (oh + a->sh - 1) / a->sh * g->wp <= 32;
    /* At most 4x the input (plus a border) and 2^26 floats: larger copies go by GEMM. */
    double floats = (double)cg * (double)g->hp * (double)g->wp;
    if (floats > 4.0 * (double)cg * (double)h * (double)w + 65536.0 || floats > (double)((int64_t)1 << 26)) return 0;
    /* Lanes computed (16-lane vectors over each phase's t x wp grid, per tap) against
     * the multiply-adds that count (kh*kw per input pixel): over 3x (a 1x1 input, whose
     * taps each hit one output) goes by GEMM. */
    if (16.0 * phase_vectors(a, oh, ow, g->wp) > 3.0 * (double)(a->kh * a->kw) * (double)(h * w)) return 0;
    g->ws_floats = (size_t)g->front + (size_t)floats + 2 * (size_t)g->wp + 2 * CTD_LANES + (size_t)(a->kw * a->dw);
    return 1;
}

/* The chunk's first n lanes. */
static void chunk_portable(const ctd_chunk *k, int64_t cg, int64_t n, float acc[CTD_MB][CTD_LANES]) {
    for (int m = 0; m < CTD_MB; m++)
        for (int i = 0; i < CTD_LANES; i++) acc[m][i] = k->b[m];
    for (int64_t c = 0; c < cg; c++)
        for (int t = 0; t < k->ntaps; t++) {
            const float *restrict xs = k->x + c * k->cstride + k->off[t];
            for (int m = 0; m < CTD_MB; m++) {
                float wv = k->w[c * k->wstride + k->widx[t] + m];
                float *restrict am = acc[m];
                for (int64_t i = 0; i < n; i++) am[i] += wv * xs[i];
            }
        }
}


/* Bits [lo, hi) of a 64-bit mask, clamped to [0, 64). */
static uint64_t bits64(int64_t lo, int64_t hi) {
    if (lo < 0) lo = 0;
    if (hi > 64) hi = 64;
    if (hi <= lo) return 0;
    return (hi == 64 ? ~(uint64_t)0 : ((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1);
}


/* One (phase, channel block) item. */
static void ctd_item(const ctd_job *j, int64_t item) {
    const kiln_conv_attrs *a = j->a;
    const ctd_geom *g = j->g;
    int64_t phase = item / j->blocks, m0 = (item % j->blocks) * (g->cl ? CTD_CL : CTD_MB);
    int64_t fh = phase / a->sw, fw = phase % a->sw;
    if (fh >= j->oh || fw >= j->ow) return;
    int64_t tn = (j->oh - fh + a->sh - 1) / a->sh, un = (j->ow - fw + a->sw - 1) / a->sw;
    int64_t ki[CTD_TAPS_MAX], ro[CTD_TAPS_MAX], kj[CTD_TAPS_MAX], co[CTD_TAPS_MAX];
    int nr = phase_taps(fh, a->pt, a->kh, a->dh, a->sh, ki, ro), nc = phase_taps(fw, a->pl, a->kw, a->dw, a->sw, kj, co);
    int64_t off[CTD_TAPS_MAX * CTD_TAPS_MAX], widx[CTD_TAPS_MAX * CTD_TAPS_MAX];
    for (int r = 0; r < nr; r++)
        for (int q = 0; q < nc; q++) {
            off[r * nc + q] = (ro[r] + g->padt) * g->wp + co[q] + g->padl;
            widx[r * nc + q] = (ki[r] * a->kw + kj[q]) * j->mg;
        }
    int64_t nm = j->mg - m0 < CTD_MB ? j->mg - m0 : CTD_MB, khw = a->kh * a->kw;
    uint64_t mask[CTD_TAPS_MAX * CTD_TAPS_MAX], cm[CTD_TAPS_MAX];
    /* Channels past the block's nm compute on the neighbouring weights (the packed array
     * has CTD_MB floats of slack) and are never stored. */
    ctd_chunk k = {NULL, j->wt + m0, {0}, off, widx, mask, nr * nc, g->hp * g->wp, j->mg * khw};
#if defined(KILN_HAVE_AVX512)
    if (g->cl) {
        kiln_ctd_item_cl512(j, &k, m0, fh, fw, tn, un);
        return;
    }
#endif
    for (int m = 0; m < CTD_MB; m++) k.b[m] = j->bias && m < nm ? j->bias[m0 + m] : 0.0f;
    float acc[CTD_MB][CTD_LANES];
    const int64_t lanes = tn * g->wp, plane = j->oh * j->ow;
    for (int64_t i0 = 0; i0 < lanes; i0 += CTD_LANES) {
        k.x = j->xp + i0;
        int64_t end = lanes - i0 < CTD_LANES ? lanes - i0 : CTD_LANES;
        /* Column masks of this chunk's lanes (lane i is column (i0 + i) mod wp). */
        for (int q = 0; q < nc; q++) {
            cm[q] = ~(uint64_t)0;
            if (!g->colmask) continue;
            int64_t ulo = -co[q] > 0 ? -co[q] : 0, uhi = j->w - co[q] < g->wp ? j->w - co[q] : g->wp;
            cm[q] = 0;
            for (int64_t base = i0 / g->wp * g->wp - i0; base < CTD_LANES; base += g->wp)
                cm[q] |= bits64(base + ulo, base + uhi);
        }
        for (int r = 0; r < nr; r++)
            for (int q = 0; q < nc; q++) mask[r * nc + q] = cm[q];
#if defined(KILN_HAVE_AVX512)
        if (g->isa == KILN_ISA_AVX512) kiln_ctd_chunk_avx512(&k, j->cg, (int)((end + 15) / 16), nm, acc);
        else
#endif
            chunk_portable(&k, j->cg, end, acc);
        /* Output rows t of this chunk: lanes t*wp + u, u < un, to (fh + sh*t, fw + sw*u). */
        for (int64_t t = i0 / g->wp; t * g->wp < i0 + end; t++) {
            int64_t u0 = i0 > t * g->wp ? i0 - t * g->wp : 0, u1 = i0 + end - t * g->wp;
            if (u1 > un) u1 = un;
            float *dst = j->y + (m0 * j->oh + fh + a->sh * t) * j->ow + fw;
            const int64_t at = t * g->wp - i0, sw = a->sw;
            for (int64_t m = 0; m < nm; m++, dst += plane)
                for (int64_t u = u0; u < u1; u++) dst[sw * u] = acc[m][at + u];
        }
    }
}

static void ctd_items(void *ctx, size_t begin, size_t end, uint32_t thread) {
    (void)thread;
    for (size_t i = begin; i < end; i++) ctd_item(ctx, (int64_t)i);
}

void kiln_ctd_run(const kiln_exec *e, const kiln_conv_attrs *a, const ctd_geom *g, int64_t cg, int64_t mg, int64_t h,
                  int64_t w, int64_t oh, int64_t ow, const float *x, const float *wt, const float *bias, float *y,
                  float *xp) {
    /* The padded copy; the slack after it is zeroed too (chunks read past the last lane). */
    memset(xp, 0, sizeof(float) * g->ws_floats);
    xp += g->front;
    /* Rows of 4..16 floats: an inline loop (or one masked load/store), not a memcpy call. */
#if defined(KILN_HAVE_AVX512)
    if (g->isa == KILN_ISA_AVX512 && w <= 16)
        kiln_ctd_copy_rows512(xp, x, cg, h, w, g);
    else
#endif
    for (int64_t c = 0; c < cg; c++)
        for (int64_t r = 0; r < h; r++) {
            float *restrict d = xp + (c * g->hp + r + g->padt) * g->wp + g->padl;
            const float *restrict src = x + (c * h + r) * w;
            for (int64_t i = 0; i < w; i++) d[i] = src[i];
        }
    ctd_job j = {a, g, cg, mg, w, oh, ow, g->cl ? mg / CTD_CL : (mg + CTD_MB - 1) / CTD_MB, xp, wt, bias, y};
    size_t items = (size_t)(a->sh * a->sw * j.blocks);
    /* The work estimate in double: the product of six sizes could pass int64 in a hostile plan. */
    if (e->threads > 1 && (double)cg * (double)mg * (double)oh * (double)ow * (double)(a->kh * a->kw) / (double)(a->sh * a->sw) >=
                              2.0 * KILN_PARALLEL_GRAIN)
        kiln_parallel_for(e, items, ctd_items, &j);
    else ctd_items(&j, 0, items, 0);
}

size_t kiln_ctd_packed_floats(uint64_t weights) { return (size_t)weights + CTD_MB; }

KILN_SMALL_CODE void kiln_ctd_pack(const uint8_t *w, int64_t c, int64_t mg, int64_t khw, float *wr) {
    for (int64_t ci = 0; ci < c; ci++)
        for (int64_t m = 0; m < mg; m++)
            for (int64_t k = 0; k < khw; k++)
                wr[(ci * khw + k) * mg + m] = kiln_rdf32(w + 4 * (size_t)((ci * mg + m) * khw + k));
}
