/* conv_transpose_direct512.c — the AVX-512 tiles of the direct transposed conv
 * (conv_transpose_direct.c): spatial lanes with 1..8 output channels in registers, and
 * output channels on the lanes for tiny phases. */
#include "conv_transpose_direct.h"

#if defined(KILN_HAVE_AVX512)
#include <immintrin.h>

/* Channels [m0, m0 + mb) x nv vectors of 16 lanes in registers (literal mb, nv at every
 * call, so the loops unroll and the accumulators stay in zmm registers), started at the
 * bias. Input channels outside, taps inside: one input channel's weights ([kh*kw, mg],
 * the block's channels adjacent) serve every tap while in L1. */
static inline __attribute__((always_inline)) KILN_AVX512 void chunk_tile512(const ctd_chunk *k, int64_t cg, int m0,
                                                                            float acc[CTD_MB][CTD_LANES], const int mb,
                                                                            const int nv) {
    __m512 s[CTD_MB][4];
    _Pragma("GCC unroll 8") for (int m = 0; m < mb; m++) {
        __m512 b = _mm512_set1_ps(k->b[m0 + m]);
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) s[m][v] = b;
    }
    for (int64_t c = 0; c < cg; c++) {
        const float *xc = k->x + c * k->cstride, *wc = k->w + c * k->wstride + m0;
        for (int t = 0; t < k->ntaps; t++) {
            const float *xs = xc + k->off[t], *wt = wc + k->widx[t];
            const uint64_t mt = k->mask[t];
            __m512 xv[4];
            _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++)
                xv[v] = _mm512_maskz_loadu_ps((__mmask16)(mt >> (16 * v)), xs + 16 * v);
            _Pragma("GCC unroll 8") for (int m = 0; m < mb; m++) {
                __m512 b = _mm512_set1_ps(wt[m]);
                _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) s[m][v] = _mm512_fmadd_ps(b, xv[v], s[m][v]);
            }
        }
    }
    _Pragma("GCC unroll 8") for (int m = 0; m < mb; m++)
        _Pragma("GCC unroll 4") for (int v = 0; v < nv; v++) _mm512_storeu_ps(acc[m0 + m] + 16 * v, s[m][v]);
}

/* The chunk's first nv vectors (1..4) for nm channels: one vector or two go as 8 x nv
 * tiles (each input vector feeds eight FMAs), three or four as 4 x nv tiles; a single
 * channel alone (the last layer of an image decoder). */
KILN_AVX512 void kiln_ctd_chunk_avx512(const ctd_chunk *k, int64_t cg, int nv, int64_t nm, float acc[CTD_MB][CTD_LANES]) {
    if (nm == 1) {
        switch (nv) {
        case 1: chunk_tile512(k, cg, 0, acc, 1, 1); break;
        case 2: chunk_tile512(k, cg, 0, acc, 1, 2); break;
        case 3: chunk_tile512(k, cg, 0, acc, 1, 3); break;
        default: chunk_tile512(k, cg, 0, acc, 1, 4); break;
        }
        return;
    }
    if (nv <= 2 && nm > 4) {
        if (nv == 1) chunk_tile512(k, cg, 0, acc, 8, 1);
        else chunk_tile512(k, cg, 0, acc, 8, 2);
        return;
    }
    for (int m0 = 0; m0 < nm; m0 += 4) switch (nv) {
        case 1: chunk_tile512(k, cg, m0, acc, 4, 1); break;
        case 2: chunk_tile512(k, cg, m0, acc, 4, 2); break;
        case 3: chunk_tile512(k, cg, m0, acc, 4, 3); break;
        default: chunk_tile512(k, cg, m0, acc, 4, 4); break;
        }
}

/* A phase with channels on the lanes: 8 flat lanes (output pixels) x 32 channels in 16
 * accumulators from the bias; per input channel and tap two weight vectors (the repacked
 * [kh*kw, mg] row) and eight input broadcasts feed 16 FMAs. Each pixel's 32 results are
 * then stored to their channel planes. Padded geometry only (no column masks). */
KILN_AVX512 void kiln_ctd_item_cl512(const ctd_job *j, const ctd_chunk *k, int64_t m0, int64_t fh, int64_t fw, int64_t tn,
                                     int64_t un) {
    const kiln_conv_attrs *a = j->a;
    const int64_t wp = j->g->wp, lanes = tn * wp, plane = j->oh * j->ow;
    const __m512 b0 = j->bias ? _mm512_loadu_ps(j->bias + m0) : _mm512_setzero_ps();
    const __m512 b1 = j->bias ? _mm512_loadu_ps(j->bias + m0 + 16) : _mm512_setzero_ps();
    for (int64_t i0 = 0; i0 < lanes; i0 += 8) {
        __m512 s[8][2];
        _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) { s[p][0] = b0; s[p][1] = b1; }
        for (int64_t c = 0; c < j->cg; c++) {
            const float *xc = j->xp + c * k->cstride + i0, *wc = j->wt + c * k->wstride + m0;
            for (int t = 0; t < k->ntaps; t++) {
                const float *xs = xc + k->off[t], *wt = wc + k->widx[t];
                const __m512 w0 = _mm512_loadu_ps(wt), w1 = _mm512_loadu_ps(wt + 16);
                _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) {
                    const __m512 xb = _mm512_set1_ps(xs[p]);
                    s[p][0] = _mm512_fmadd_ps(xb, w0, s[p][0]);
                    s[p][1] = _mm512_fmadd_ps(xb, w1, s[p][1]);
                }
            }
        }
        float out[8][CTD_CL];
        _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) {
            _mm512_storeu_ps(out[p], s[p][0]);
            _mm512_storeu_ps(out[p] + 16, s[p][1]);
        }
        for (int64_t p = 0; p < 8 && i0 + p < lanes; p++) {
            int64_t t = (i0 + p) / wp, u = (i0 + p) % wp;
            if (u >= un) continue;
            float *dst = j->y + m0 * plane + (fh + a->sh * t) * j->ow + fw + a->sw * u;
            for (int m = 0; m < CTD_CL; m++) dst[m * plane] = out[p][m];
        }
    }
}

KILN_AVX512 void kiln_ctd_copy_rows512(float *xp, const float *x, int64_t cg, int64_t h, int64_t w, const ctd_geom *g) {
    const __mmask16 m = (__mmask16)(w >= 16 ? 0xFFFFu : (1u << w) - 1u);
    for (int64_t c = 0; c < cg; c++) {
        float *d = xp + (c * g->hp + g->padt) * g->wp + g->padl;
        const float *src = x + c * h * w;
        for (int64_t r = 0; r < h; r++, d += g->wp, src += w) _mm512_mask_storeu_ps(d, m, _mm512_maskz_loadu_ps(m, src));
    }
}
#endif
