/* conv_direct512.c — CONV2D_PACKED's direct kernels on AVX-512 CPUs (strides 1 and 2;
 * also the small 3x3s CONV2D_WINOGRAD hands over): no im2col, and tiles shaped to the
 * layer instead of 32 output pixels, so ResNet's 7x7 and 14x14 layers, strided 3x3s, the
 * 7x7/2 stem and tiny convs keep their lanes busy.
 *
 * Layout, made at load (kiln_cd_pack): weights w [ceil(M/L), K, L] with L = 16*nv output
 * channels per block (channel lanes) or w [K, M] (pixel lanes), zero past M, K = C*kh*kw
 * in OIHW tap order; a tap table tap[K] of input offsets ci*Hp*Wp + ki*dh*Wp + kj*dw in
 * the zero-padded input (Hp x Wp).
 * Per image the input is copied once into the workspace with its padding made zeros
 * (skipped without padding), so every tap of every output pixel is an in-bounds read.
 * Channel lanes: a tile is R consecutive output pixels of one row times L channels in
 * R*nv zmm accumulators; per tap, nv weight vectors and R broadcast inputs (stride
 * apart) feed R*nv FMAs over the whole K; then bias and relu/clip in registers, and
 * in-register 8x16 transposes store the tile into a per-thread row buffer [L][OW], whose
 * rows are copied to the NCHW output once the output row is done (writing 32 channel
 * rows straight from each tile thrashed L1 sets when a plane is 4 KB). Work items are
 * (channel block, range of output rows): the block's weights stay in L2 for all its
 * tiles. Pixel lanes (few channels, stride 1): see pv_tile. Rounding: one FMA chain per
 * output in tap order k = 0..K-1, as in the packed GEMM. The load-time choice and the
 * weight repacking are in conv_direct_load.c. */
#include "conv_packed.h"
#include "vmath.h"

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>

typedef struct cd_tile_args {
    int64_t k;
    const int32_t *tap;
    const float *x;              /* input of the tile's first pixel, padded coordinates */
    const float *w;              /* the channel block's weights [K][16*nv] */
    const float *bias;           /* the block's bias, zero-padded to whole blocks, or NULL */
    const kiln_act *act;
    float *y;                    /* row buffer at the tile's first pixel and channel 0 */
    size_t ld;                   /* row buffer channel stride */
} cd_tile_args;

/* Stores the 8 x 16 tile a[pixel] (lane = channel) as 16 channel rows of 8 pixels, ld
 * floats apart: lane-wise unpacks and shuffles make 4x4 blocks, a two-source permute
 * joins the halves. */
KILN_AVX512 static inline __attribute__((always_inline)) void cd_store8x16(const __m512 *a, float *y, size_t ld) {
    __m512 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) {                /* pixels 4h..4h+3 */
        u[4 * h] = _mm512_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm512_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
        u[4 * h + 2] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    /* u[j] lane q: channel 4q+j, pixels 0-3; u[4+j] lane q: pixels 4-7. */
    const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int j = 0; j < 4; j++) {
        __m512 z0 = _mm512_permutex2var_ps(u[j], lo, u[4 + j]);    /* channels j, 4+j */
        __m512 z1 = _mm512_permutex2var_ps(u[j], hi, u[4 + j]);    /* channels 8+j, 12+j */
        _mm256_storeu_ps(y + j * ld, _mm512_castps512_ps256(z0));
        _mm256_storeu_ps(y + (4 + j) * ld, _mm512_extractf32x8_ps(z0, 1));
        _mm256_storeu_ps(y + (8 + j) * ld, _mm512_castps512_ps256(z1));
        _mm256_storeu_ps(y + (12 + j) * ld, _mm512_extractf32x8_ps(z1, 1));
    }
}

/* The epilogue of one 16-channel half: bias, relu/clip in registers, transposed stores of
 * 8-pixel groups (lanes past R zero). */
KILN_AVX512 static inline __attribute__((always_inline)) void cd_finish(__m512 *a, const int R, const float *bias,
                                                                         const kiln_act *act, float *y, size_t ld) {
    int func = act->func;
    __m512 lo = _mm512_set1_ps(func == KILN_UNARY_CLIP ? act->alpha : 0.0f);
    __m512 hi = _mm512_set1_ps(func == KILN_UNARY_CLIP ? act->beta : 0.0f);
    __m512 b = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
        __m512 s = _mm512_add_ps(a[r], b);
        /* max/min return their second operand on NaN: NaN passes, as in scalar relu/clip. */
        if (func == KILN_UNARY_RELU) s = _mm512_max_ps(lo, s);
        else if (func == KILN_UNARY_CLIP) s = _mm512_min_ps(hi, _mm512_max_ps(lo, s));
        a[r] = s;
    }
#pragma GCC unroll 2
    for (int q = 0; q < R; q += 8) cd_store8x16(a + q, y + q, ld);
}

/* One tile of R pixels x 16*NV channels, input pixels SW apart, into the row buffer
 * (channel rows ld floats apart; 8-pixel groups are stored whole, the lanes past R as
 * zeros, which the next tile or nobody reads). */
KILN_AVX512 static inline __attribute__((always_inline)) void cd_tile(const cd_tile_args *g, const int R, const int NV,
                                                                       const int SW) {
    __m512 a0[(KILN_CD_RMAX1 + 7) / 8 * 8], a1[(KILN_CD_RMAX1 + 7) / 8 * 8];
#pragma GCC unroll 16
    for (int r = 0; r < (R + 7) / 8 * 8; r++) a0[r] = a1[r] = _mm512_setzero_ps();
    const float *w = g->w, *x = g->x;
    const int32_t *tap = g->tap;
    for (int64_t t = 0; t < g->k; t++, w += 16 * NV) {
        const float *xt = x + tap[t];
        __m512 w0 = _mm512_loadu_ps(w), w1 = NV == 2 ? _mm512_loadu_ps(w + 16) : w0;
#pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_set1_ps(xt[r * SW]);
            a0[r] = _mm512_fmadd_ps(xv, w0, a0[r]);
            if (NV == 2) a1[r] = _mm512_fmadd_ps(xv, w1, a1[r]);
        }
    }
    cd_finish(a0, R, g->bias, g->act, g->y, g->ld);
    if (NV == 2) cd_finish(a1, R, g->bias ? g->bias + 16 : NULL, g->act, g->y + 16 * g->ld, g->ld);
}

#define CD_FN(R, NV, SW) \
    KILN_AVX512 static void cd_##R##_##NV##_##SW(const cd_tile_args *g) { cd_tile(g, R, NV, SW); }
#define CD_FNS(NV, SW)                                                                                              \
    CD_FN(1, NV, SW) CD_FN(2, NV, SW) CD_FN(3, NV, SW) CD_FN(4, NV, SW) CD_FN(5, NV, SW) CD_FN(6, NV, SW)          \
    CD_FN(7, NV, SW) CD_FN(8, NV, SW) CD_FN(9, NV, SW) CD_FN(10, NV, SW) CD_FN(11, NV, SW) CD_FN(12, NV, SW)      \
    CD_FN(13, NV, SW) CD_FN(14, NV, SW)
CD_FNS(1, 1)
CD_FNS(1, 2)
CD_FNS(2, 1)
CD_FNS(2, 2)
CD_FN(15, 1, 1) CD_FN(16, 1, 1) CD_FN(15, 1, 2) CD_FN(16, 1, 2)
#define CD_ROW(NV, SW)                                                                                                \
    {NULL, cd_1_##NV##_##SW, cd_2_##NV##_##SW, cd_3_##NV##_##SW, cd_4_##NV##_##SW, cd_5_##NV##_##SW, cd_6_##NV##_##SW, \
     cd_7_##NV##_##SW, cd_8_##NV##_##SW, cd_9_##NV##_##SW, cd_10_##NV##_##SW, cd_11_##NV##_##SW, cd_12_##NV##_##SW,   \
     cd_13_##NV##_##SW, cd_14_##NV##_##SW
typedef void (*cd_fn)(const cd_tile_args *);
static const cd_fn cd_fns[2][2][KILN_CD_RMAX1 + 1] = {
    {CD_ROW(1, 1), cd_15_1_1, cd_16_1_1}, CD_ROW(1, 2), cd_15_1_2, cd_16_1_2}},
    {CD_ROW(2, 1), NULL, NULL}, CD_ROW(2, 2), NULL, NULL}},
};

typedef struct cd_job {
    const cp_params *p;
    const float *x, *bias;
    float *y, *ws;               /* ws: the workspace; thread t's row buffer at t*ws_floats + pad_floats */
    size_t ws_floats, pad_floats;
    int64_t row_parts, rows_per_part;
} cd_job;

/* Rows [0, rows) of the row buffer (stride ld) -> the output rows at y (stride ohw), n
 * floats each, then the activation when it was not applied in registers (SiLU on the way). */
KILN_AVX512 static void cd_flush(const float *buf, size_t ld, int rows, int64_t n, float *y, int64_t ohw,
                                 const kiln_act *act) {
    for (int l = 0; l < rows; l++) {
        const float *s = buf + (size_t)l * ld;
        float *d = y + l * ohw;
        if (act->func == KILN_UNARY_SILU) {          /* YOLOv8's: copied and applied in one pass */
            kiln_vsilu_avx512(s, d, (size_t)n);
            continue;
        }
        int64_t i = 0;
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(d + i, _mm512_loadu_ps(s + i));
        if (i < n) {
            __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
            _mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));
        }
        if (act->func != KILN_UNARY_IDENTITY && act->func != KILN_UNARY_RELU && act->func != KILN_UNARY_CLIP)
            kiln_apply_act(act, d, (size_t)n);
    }
}

static void cd_items(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const cd_job *j = ctx;
    const cp_params *p = j->p;
    const int64_t lanes = 16 * p->cd_nv, wp = p->cd_wp;
    const size_t ld = kiln_cd_row_ld(p->ow);
    float *buf = j->ws + (size_t)thread * j->ws_floats + j->pad_floats, bias[32];
    for (size_t item = begin; item < end; item++) {
        int64_t mb = (int64_t)item / j->row_parts, part = (int64_t)item % j->row_parts;
        int64_t oh0 = part * j->rows_per_part, oh1 = oh0 + j->rows_per_part < p->oh ? oh0 + j->rows_per_part : p->oh;
        int64_t m0 = mb * lanes;
        int rows = (int)(p->m - m0 < lanes ? p->m - m0 : lanes);
        for (int l = 0; l < lanes; l++) bias[l] = j->bias && l < rows ? j->bias[m0 + l] : 0.0f;
        cd_tile_args g = {p->kdim, p->cd_tap, NULL, p->cd_w + mb * p->kdim * lanes, j->bias ? bias : NULL,
                          &p->a.act, NULL, ld};
        for (int64_t oh = oh0; oh < oh1; oh++) {
            for (int64_t ow = 0; ow < p->ow; ow += p->cd_r) {
                int r = (int)(p->ow - ow < p->cd_r ? p->ow - ow : p->cd_r);
                g.x = j->x + oh * p->a.sh * wp + ow * p->a.sw;
                g.y = buf + ow;
                cd_fns[p->cd_nv - 1][p->a.sw - 1][r](&g);
            }
            cd_flush(buf, ld, rows, p->ow, j->y + m0 * p->ohw + oh * p->ow, p->ohw, &p->a.act);
        }
    }
}

/* x [C, H, W] -> xp [C, Hp, Wp] with zeros in the padding (left/top pads, the rest past
 * the input). */
static void cd_pad(const cp_params *p, const float *x, float *xp) {
    const int64_t hp = p->cd_hp, wp = p->cd_wp;
    for (int64_t c = 0; c < p->c; c++)
        for (int64_t i = 0; i < hp; i++) {
            float *d = xp + (c * hp + i) * wp;
            int64_t ih = i - p->a.pt;
            if (ih < 0 || ih >= p->h) { memset(d, 0, sizeof(float) * (size_t)wp); continue; }
            int64_t right = wp - p->a.pl - p->w;
            memset(d, 0, sizeof(float) * (size_t)p->a.pl);
            memcpy(d + p->a.pl, x + (c * p->h + ih) * p->w, sizeof(float) * (size_t)p->w);
            if (right > 0) memset(d + p->a.pl + p->w, 0, sizeof(float) * (size_t)right);
        }
}

/* Pixel lanes, at stride 1 for few output channels: the lanes run over 16 output pixels
 * of a row instead (a "strip"), S strips per tile; the channels go in blocks of at most
 * 8, each tap one input vector per strip and one broadcast weight per channel (w [K][M])
 * for S*8 FMAs; results go straight to the NCHW rows. Strips past the row's end are
 * masked; a tile's unused strips have empty masks. */
typedef struct pv_args {
    int64_t k, ldw;              /* taps; weight row stride (M) */
    const int32_t *tap;
    const float *w, *bias;       /* the block's first channel; bias NULL or at the block */
    const kiln_act *act;
    const float *x[4];           /* per strip: input of its first pixel, padded coordinates */
    float *y[4];                 /* per strip: output of channel 0 */
    __mmask16 mask[4];
    int64_t ohw;
} pv_args;

KILN_AVX512 static inline __attribute__((always_inline)) void pv_tile(const pv_args *g, const int M, const int S) {
    __m512 acc[4][8];
#pragma GCC unroll 4
    for (int s = 0; s < S; s++)
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) acc[s][m] = _mm512_setzero_ps();
    const float *w = g->w;
    for (int64_t t = 0; t < g->k; t++, w += g->ldw) {
        int32_t off = g->tap[t];
        __m512 xv[4];
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) xv[s] = _mm512_maskz_loadu_ps(g->mask[s], g->x[s] + off);
#pragma GCC unroll 8
        for (int m = 0; m < M; m++) {
            __m512 wv = _mm512_set1_ps(w[m]);
#pragma GCC unroll 4
            for (int s = 0; s < S; s++) acc[s][m] = _mm512_fmadd_ps(xv[s], wv, acc[s][m]);
        }
    }
    int func = g->act->func;
    __m512 lo = _mm512_set1_ps(func == KILN_UNARY_CLIP ? g->act->alpha : 0.0f);
    __m512 hi = _mm512_set1_ps(func == KILN_UNARY_CLIP ? g->act->beta : 0.0f);
#pragma GCC unroll 8
    for (int m = 0; m < M; m++) {
        __m512 b = _mm512_set1_ps(g->bias ? g->bias[m] : 0.0f);
#pragma GCC unroll 4
        for (int s = 0; s < S; s++) {
            __m512 v = _mm512_add_ps(acc[s][m], b);
            if (func == KILN_UNARY_RELU) v = _mm512_max_ps(lo, v);
            else if (func == KILN_UNARY_CLIP) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
            _mm512_mask_storeu_ps(g->y[s] + m * g->ohw, g->mask[s], v);
        }
    }
}

#define PV_FN(M, S) \
    KILN_AVX512 static void pv_##M##_##S(const pv_args *g) { pv_tile(g, M, S); }
PV_FN(1, 3) PV_FN(2, 3) PV_FN(3, 3) PV_FN(4, 3) PV_FN(5, 3) PV_FN(6, 3) PV_FN(7, 3) PV_FN(8, 3)
PV_FN(1, 4) PV_FN(2, 4) PV_FN(3, 4) PV_FN(4, 4) PV_FN(5, 4) PV_FN(6, 4)
static void (*const pv_fns[2][9])(const pv_args *) = {
    {NULL, pv_1_3, pv_2_3, pv_3_3, pv_4_3, pv_5_3, pv_6_3, pv_7_3, pv_8_3},
    {NULL, pv_1_4, pv_2_4, pv_3_4, pv_4_4, pv_5_4, pv_6_4, NULL, NULL}};
/* Strips per tile: 4 for a single block of up to 6 channels, else 3. */
static int pv_strips(int64_t m) { return m <= 6 ? 4 : 3; }

typedef struct pv_job {
    const cp_params *p;
    const float *x, *bias;
    float *y;
    int64_t strips_per_row;
} pv_job;

static void pv_items(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const pv_job *j = ctx;
    const cp_params *p = j->p;
    const int S = pv_strips(p->m), func = p->a.act.func;
    const int64_t strips = p->oh * j->strips_per_row;
    (void)thread;
    pv_args g = {p->kdim, p->m, p->cd_tap, NULL, NULL, &p->a.act, {NULL}, {NULL}, {0}, p->ohw};
    for (size_t item = begin; item < end; item++) {
        float *y0[4] = {j->y, j->y, j->y, j->y};
        for (int s = 0; s < S; s++) {
            int64_t q = (int64_t)item * S + s, oh = q / j->strips_per_row, ow = q % j->strips_per_row * 16;
            if (q >= strips) { g.mask[s] = 0; g.x[s] = g.x[0]; y0[s] = y0[0]; continue; }
            int64_t n = p->ow - ow < 16 ? p->ow - ow : 16;
            g.mask[s] = (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
            g.x[s] = j->x + oh * p->a.sh * p->cd_wp + ow;
            y0[s] = j->y + oh * p->ow + ow;
        }
        for (int64_t m0 = 0; m0 < p->m; m0 += 8) {
            int mb = (int)(p->m - m0 < 8 ? p->m - m0 : 8);
            g.w = p->cd_w + m0;
            g.bias = j->bias ? j->bias + m0 : NULL;
            for (int s = 0; s < S; s++) g.y[s] = y0[s] + m0 * p->ohw;
            pv_fns[S - 3][mb](&g);
        }
        if (func != KILN_UNARY_IDENTITY && func != KILN_UNARY_RELU && func != KILN_UNARY_CLIP)
            for (int s = 0; s < S; s++)
                for (int64_t m = 0; g.mask[s] && m < p->m; m++)
                    kiln_apply_act(&p->a.act, y0[s] + m * p->ohw, (size_t)__builtin_popcount(g.mask[s]));
    }
}

void kiln_cd_run(const kiln_exec *e, const cp_params *p, const float *x, const float *bias, float *y) {
    const int64_t blocks = (p->m + 16 * p->cd_nv - 1) / (16 * p->cd_nv);
    cd_job j = {p, NULL, bias, NULL, e->workspace, e->workspace_floats,
                p->cd_padded ? (size_t)(p->c * p->cd_hp * p->cd_wp) : 0, 1, p->oh};
    /* Enough items for every thread: split the output rows as well. */
    if (e->threads > 1 && blocks < 2 * (int64_t)e->threads) {
        int64_t want = (2 * (int64_t)e->threads + blocks - 1) / blocks;
        j.rows_per_part = (p->oh + want - 1) / want;
        j.row_parts = (p->oh + j.rows_per_part - 1) / j.rows_per_part;
    }
    for (int64_t n = 0; n < p->n; n++) {
        const float *xn = x + n * p->c * p->h * p->w;
        if (p->cd_padded) {
            cd_pad(p, xn, e->workspace);
            xn = e->workspace;
        }
        if (p->cd_pv) {
            pv_job pj = {p, xn, bias, y + n * p->m * p->ohw, (p->ow + 15) / 16};
            int64_t strips = p->oh * pj.strips_per_row, s = pv_strips(p->m);
            kiln_parallel_for(e, (size_t)((strips + s - 1) / s), pv_items, &pj);
            continue;
        }
        j.x = xn;
        j.y = y + n * p->m * p->ohw;
        kiln_parallel_for(e, (size_t)(blocks * j.row_parts), cd_items, &j);
    }
}
#endif
