/* conv_gather512.c — CONV2D_PACKED's im2col block on AVX-512 CPUs (stride 1 with outputs
 * 4+ wide, or any output under 32 wide): per tap and 16 columns, one masked load per
 * output row the chunk covers, or one masked gather, instead of one copy per tap and
 * output row.
 *
 * With rows of 4..31 outputs, pack_block's runs are a few floats each and their loop
 * control costs more than the copy (half of the VAE decoder's time). Here, per block, the
 * columns' input offsets (oh*sh - pt)*W + ow*sw - pl and their row / column validity per
 * kernel row ki and column kj are computed once; every tap row is then, per 16 columns,
 * a gather from the tap's plane with the lanes whose input pixel exists (the rest zero,
 * which is the padding). At stride 1 with rows of 4+ outputs, a chunk's lanes of one
 * output row are instead one masked load each (gathers cost ~16 loads; resnet_tiny spent
 * a fifth of its time in them; at 32 wide this beats pack_block by 1.3-1.4x). Same layout as pack_block: row stride ld, zeros past nb.
 * kiln_copy_stride2_avx512: pack_block's stride-2 runs on AVX-512 CPUs. */
#include "common.h"

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>

#define GMAX_CHUNKS 16          /* blocks of at most 256 columns */
#define GMAX_TAPS 8             /* kh, kw at most 8 */
#define GMAX_RUNS 5             /* output rows in 16 columns, rows of 4+ */

KILN_AVX512 void kiln_conv_gather_block512(const float *x, int64_t h, int64_t w, int64_t ow_n,
                                           const kiln_conv_attrs *a, int64_t k0, size_t kc, int64_t c0, int64_t nb,
                                           float *ws, size_t ld) {
    const int64_t chunks = (nb + 15) / 16;
    __m512i base[GMAX_CHUNKS];
    __mmask16 rowok[GMAX_TAPS][GMAX_CHUNKS], colok[GMAX_TAPS][GMAX_CHUNKS];
    for (int64_t q = 0; q < chunks; q++) {
        int32_t b[16];
        int64_t ohs[16], ows[16];
        for (int l = 0; l < 16; l++) {
            int64_t col = c0 + q * 16 + l;
            ohs[l] = col / ow_n;
            ows[l] = col % ow_n;
            b[l] = (int32_t)((ohs[l] * a->sh - a->pt) * w + ows[l] * a->sw - a->pl);
        }
        base[q] = _mm512_loadu_si512(b);
        __mmask16 live = (__mmask16)(nb - q * 16 >= 16 ? 0xFFFF : (1u << (nb - q * 16)) - 1);
        for (int64_t ki = 0; ki < a->kh; ki++) {
            __mmask16 m = 0;
            for (int l = 0; l < 16; l++) {
                int64_t ih = ohs[l] * a->sh - a->pt + ki * a->dh;
                if (ih >= 0 && ih < h) m |= (__mmask16)(1u << l);
            }
            rowok[ki][q] = m & live;
        }
        for (int64_t kj = 0; kj < a->kw; kj++) {
            __mmask16 m = 0;
            for (int l = 0; l < 16; l++) {
                int64_t iw = ows[l] * a->sw - a->pl + kj * a->dw;
                if (iw >= 0 && iw < w) m |= (__mmask16)(1u << l);
            }
            colok[kj][q] = m;
        }
    }
    /* Stride 1, rows of 4+: a chunk's lanes in one output row read consecutive inputs, so
     * each such run is one masked load (at most 5 per chunk) instead of a 16-lane gather. */
    const int runs = a->sw == 1 && ow_n >= 4;
    int nrun[GMAX_CHUNKS];
    int64_t run_off[GMAX_CHUNKS][GMAX_RUNS];
    __mmask16 run_ok[GMAX_TAPS][GMAX_CHUNKS][GMAX_RUNS];
    for (int64_t q = 0; runs && q < chunks; q++) {
        nrun[q] = 0;
        for (int64_t l = 0; l < 16 && q * 16 + l < nb;) {
            int64_t col = c0 + q * 16 + l, oh = col / ow_n, ow = col % ow_n;
            int64_t e = l + (ow_n - ow < 16 - l ? ow_n - ow : 16 - l);
            if (q * 16 + e > nb) e = nb - q * 16;
            int r = nrun[q]++;
            run_off[q][r] = (oh * a->sh - a->pt) * w + ow - a->pl - l;   /* + lane: the input */
            __mmask16 lanes = (__mmask16)(((1u << e) - 1) & ~((1u << l) - 1));
            for (int64_t k = 0; k < a->kh; k++) {
                int64_t ih = oh * a->sh - a->pt + k * a->dh;
                run_ok[k][q][r] = ih >= 0 && ih < h ? lanes : 0;
            }
            l = e;
        }
    }
    const __m512 zero = _mm512_setzero_ps();
    int64_t kj = k0 % a->kw, ki = (k0 / a->kw) % a->kh, ci = k0 / (a->kw * a->kh);
    for (size_t kk = 0; kk < kc; kk++) {
        const float *tap = x + ci * h * w + ki * a->dh * w + kj * a->dw;
        float *d = ws + kk * ld;
        for (int64_t q = 0; q < chunks; q++) {
            if (runs) {
                __m512 v = zero;
                for (int r = 0; r < nrun[q]; r++)
                    v = _mm512_mask_loadu_ps(v, run_ok[ki][q][r] & colok[kj][q], tap + run_off[q][r]);
                _mm512_storeu_ps(d + q * 16, v);
                continue;
            }
            __mmask16 m = rowok[ki][q] & colok[kj][q];
            _mm512_storeu_ps(d + q * 16, _mm512_mask_i32gather_ps(zero, m, base[q], tap, 4));
        }
        for (size_t i = (size_t)chunks * 16; i < ld; i += 16) _mm512_storeu_ps(d + i, zero);
        if (++kj == a->kw) {
            kj = 0;
            if (++ki == a->kh) { ki = 0; ci++; }
        }
    }
}

/* dst[i] = src[2 i] for i < n (stride-2 im2col runs, e.g. the 7x7/2 stem): 32 inputs per
 * 16 outputs, even lanes by one two-source permute; the tail with lane masks (masked-off
 * lanes are not read). */
KILN_AVX512 void kiln_copy_stride2_avx512(float *dst, const float *src, int64_t n) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 a = _mm512_loadu_ps(src + 2 * i), b = _mm512_maskz_loadu_ps(0x7FFF, src + 2 * i + 16);
        _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(a, even, b));
    }
    if (i < n) {
        int64_t len = 2 * (n - i) - 1;           /* inputs read: src[2i .. 2n-2] */
        __mmask16 ma = (__mmask16)(len >= 16 ? 0xFFFF : (1u << len) - 1);
        __mmask16 mb = (__mmask16)(len <= 16 ? 0 : (1u << (len - 16)) - 1);
        __m512 a = _mm512_maskz_loadu_ps(ma, src + 2 * i), b = _mm512_maskz_loadu_ps(mb, src + 2 * i + 16);
        _mm512_mask_storeu_ps(dst + i, (__mmask16)((1u << (n - i)) - 1), _mm512_permutex2var_ps(a, even, b));
    }
}
#endif
