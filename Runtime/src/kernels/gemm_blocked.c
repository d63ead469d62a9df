/* gemm_blocked.c — Kiln's own blocked SGEMM for x86 CPUs with AVX-512 or AVX2+FMA: the
 * path kiln_sgemm (gemm.c) takes there for every GEMM gemm_small.c does not, instead of
 * cblas_sgemm (whose speed depends on OpenBLAS knowing the CPU model: Debian's 0.3.21 runs
 * its SSE3 "Prescott" kernels on newer Xeons, 4-8x slower).
 *
 * Algorithm: C = alpha * op(A) * op(B) + beta * C, row-major, any strides.
 * 1. C is cut into tiles of up to MC x nc (nc = NC; when split over threads, halved down
 *    to 64 while there are fewer than four tiles per thread); tiles are independent tasks over the threads.
 * 2. Per tile: beta is applied first (C *= beta, or nothing to read when beta = 0: the
 *    first K block then stores instead of accumulating). K is cut into blocks of KC; per
 *    block, the MC x KC block of op(A) is packed (times alpha) into 6-row panels, column
 *    by column (the layout of microkernel.h), and the KC x nc block of op(B) into strips
 *    of W columns (W = 32 on AVX-512, 16 on AVX2), row by row, zero-padded to W. Packing
 *    reads either layout of A and B, so transposes and strides cost nothing extra.
 * 3. Each B strip (KC x W, in L1) is multiplied by every A panel of the tile (in L2) with
 *    the AVX-512 6x32 kernel (kiln_gemm_panels_avx512) or the AVX2 6x16 kernel
 *    (kiln_micro_tile), which store the tile or add it to C.
 * Each thread packs into its own part of the session workspace (MC*KC + KC*NC floats,
 * the same amount gemm_portable.c asks for via kiln_sgemm_workspace_floats). */
#include "../internal.h"
#include "microkernel.h"

#define MC 96
#define KC 256
#define NC 256

typedef struct blocked_job {
    int trans_a, trans_b, width;
    kiln_isa isa;
    size_t m, n, k, lda, ldb, ldc, nc, tiles_n;
    float alpha, beta;
    const float *a, *b;
    float *c, *workspace;
    size_t workspace_floats;
} blocked_job;

static const kiln_act identity = {KILN_UNARY_IDENTITY, 0.0f, 0.0f};

/* op(A) rows [i0, i0+mc), cols [p0, p0+kc), times alpha → 6-row panels (kc steps of 6). */
static void pack_a(const blocked_job *j, size_t i0, size_t mc, size_t p0, size_t kc, float *dst) {
    for (size_t is = 0; is < mc; is += KILN_MR, dst += kc * KILN_MR) {
        size_t rows = mc - is < KILN_MR ? mc - is : KILN_MR;
        if (j->trans_a) {
            for (size_t p = 0; p < kc; p++) {
                const float *src = j->a + (p0 + p) * j->lda + i0 + is;
                for (size_t r = 0; r < rows; r++) dst[p * KILN_MR + r] = j->alpha * src[r];
                for (size_t r = rows; r < KILN_MR; r++) dst[p * KILN_MR + r] = 0.0f;
            }
            continue;
        }
        const float *src[KILN_MR];
        for (size_t r = 0; r < KILN_MR; r++) src[r] = r < rows ? j->a + (i0 + is + r) * j->lda + p0 : NULL;
        if (rows == KILN_MR) {
            for (size_t p = 0; p < kc; p++)
                for (size_t r = 0; r < KILN_MR; r++) dst[p * KILN_MR + r] = j->alpha * src[r][p];
            continue;
        }
        for (size_t p = 0; p < kc; p++)
            for (size_t r = 0; r < KILN_MR; r++) dst[p * KILN_MR + r] = r < rows ? j->alpha * src[r][p] : 0.0f;
    }
}

/* op(B) rows [p0, p0+kc), cols [j0, j0+nc) → strips of W columns (kc rows of W floats). */
static void pack_b(const blocked_job *j, size_t p0, size_t kc, size_t j0, size_t nc, float *dst) {
    size_t w = (size_t)j->width;
    for (size_t js = 0; js < nc; js += w, dst += kc * w) {
        size_t cols = nc - js < w ? nc - js : w;
        if (j->trans_b) {
            /* Row p of the strip gathers column p of `cols` rows of B: written in order,
             * the `cols` source lines stay in L1 over 16 consecutive p. */
            const float *src = j->b + (j0 + js) * j->ldb + p0;
            for (size_t p = 0; p < kc; p++) {
                for (size_t c = 0; c < cols; c++) dst[p * w + c] = src[c * j->ldb + p];
                for (size_t c = cols; c < w; c++) dst[p * w + c] = 0.0f;
            }
            continue;
        }
        for (size_t p = 0; p < kc; p++) {
            const float *src = j->b + (p0 + p) * j->ldb + j0 + js;
            memcpy(dst + p * w, src, cols * sizeof(float));
            for (size_t c = cols; c < w; c++) dst[p * w + c] = 0.0f;
        }
    }
}

/* The packed A block (panels of the tile's mc rows, astride apart) times one B strip
 * (kc rows of w floats, cols of them valid) into C columns [0, cols). */
static void multiply_strip(const blocked_job *j, const float *pa, size_t astride, size_t mc, size_t kc,
                           const float *bs, size_t cols, float *c, int accumulate) {
    size_t w = (size_t)j->width, panels = (mc + KILN_MR - 1) / KILN_MR;
#ifdef KILN_HAVE_AVX512
    if (j->isa == KILN_ISA_AVX512) {
        kiln_gemm_panels_avx512(kc, pa, astride, (int64_t)panels, (int64_t)mc, bs, w, (int64_t)cols, c, j->ldc,
                                accumulate, 0, NULL, &identity);
        return;
    }
#endif
    for (size_t q = 0; q < panels; q++) {
        size_t r0 = q * KILN_MR;
        kiln_tile_out o = {c + r0 * j->ldc, j->ldc, (int)(mc - r0 < KILN_MR ? mc - r0 : KILN_MR), (int)cols,
                           accumulate, 0, NULL, &identity};
        kiln_micro_tile(j->isa, kc, pa + q * astride, bs, w, &o);
    }
}

/* The packed A block times the packed B block. */
static void multiply(const blocked_job *j, const float *pa, const float *pb, size_t mc, size_t kc, size_t nc,
                     float *c, int accumulate) {
    size_t w = (size_t)j->width;
    for (size_t js = 0; js < nc; js += w)
        multiply_strip(j, pa, kc * KILN_MR, mc, kc, pb + (js / w) * kc * w, nc - js < w ? nc - js : w, c + js,
                       accumulate);
}

static void scale(float *c, size_t ldc, size_t rows, size_t cols, float beta) {
    if (beta != 0.0f && beta != 1.0f)
        for (size_t r = 0; r < rows; r++)
            for (size_t q = 0; q < cols; q++) c[r * ldc + q] *= beta;
}

static void run_tile(const blocked_job *j, size_t tile, float *ws) {
    size_t i0 = (tile / j->tiles_n) * MC, j0 = (tile % j->tiles_n) * j->nc;
    size_t mc = j->m - i0 < MC ? j->m - i0 : MC, nc = j->n - j0 < j->nc ? j->n - j0 : j->nc;
    float *c = j->c + i0 * j->ldc + j0, *pa = ws, *pb = ws + (size_t)MC * KC;
    scale(c, j->ldc, mc, nc, j->beta);
    for (size_t p0 = 0; p0 < j->k; p0 += KC) {
        size_t kc = j->k - p0 < KC ? j->k - p0 : KC;
        pack_b(j, p0, kc, j0, nc, pb);
        pack_a(j, i0, mc, p0, kc, pa);
        multiply(j, pa, pb, mc, kc, nc, c, p0 > 0 || j->beta != 0.0f);
    }
}

static void run_tiles(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const blocked_job *j = ctx;
    float *ws = j->workspace + (size_t)thread * j->workspace_floats;
    for (size_t t = begin; t < end; t++) run_tile(j, t, ws);
}

int kiln_sgemm_blocked(const kiln_exec *e, kiln_isa isa, int parallel, int trans_a, int trans_b, size_t m, size_t n,
                       size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb, float beta,
                       float *c, size_t ldc) {
    if (!e || !e->workspace || e->workspace_floats < (size_t)MC * KC + (size_t)KC * NC || m == 0 || n == 0 || k == 0)
        return 0;
#ifndef KILN_MK_AVX2
    if (isa == KILN_ISA_AVX2) return 0;
#endif
#ifndef KILN_HAVE_AVX512
    if (isa == KILN_ISA_AVX512) return 0;
#endif
    if (isa == KILN_ISA_PORTABLE) return 0;
    blocked_job j = {trans_a, trans_b, isa == KILN_ISA_AVX512 ? 32 : 16, isa, m, n, k, lda, ldb, ldc, NC, 0,
                     alpha, beta, a, b, c, e->workspace, e->workspace_floats};
    size_t threads = parallel && e->threads > 1 ? e->threads : 1, tiles_m = (m + MC - 1) / MC;
    while (threads > 1 && j.nc > 64 && tiles_m * ((n + j.nc - 1) / j.nc) < 4 * threads) j.nc /= 2;
    j.tiles_n = (n + j.nc - 1) / j.nc;
    size_t tiles = tiles_m * j.tiles_n;
    if (threads > 1) kiln_parallel_for(e, tiles, run_tiles, &j);
    else run_tiles(&j, 0, tiles, 0);
    return 1;
}

/* The prepacked path: B strips [begin, end) over all rows. Per block of MC rows, op(A) is
 * packed for as much of K as the workspace holds (all of it for a recognizer's 32 x 1024),
 * then every strip runs over it in KC steps, its C columns staying in L1/L2. */
typedef struct prepacked_job {
    blocked_job j;
    const kiln_packed_b *b;
} prepacked_job;

static void run_strips(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const prepacked_job *pj = ctx;
    const blocked_job *j = &pj->j;
    const kiln_packed_b *b = pj->b;
    float *pa = j->workspace + (size_t)thread * j->workspace_floats;
    for (size_t i0 = 0; i0 < j->m; i0 += MC) {
        size_t mc = j->m - i0 < MC ? j->m - i0 : MC, rows = (mc + KILN_MR - 1) / KILN_MR * KILN_MR;
        size_t ka = j->workspace_floats / rows;
        for (size_t q0 = 0; q0 < j->k; q0 += ka) {
            size_t kq = j->k - q0 < ka ? j->k - q0 : ka;
            pack_a(j, i0, mc, q0, kq, pa);
            for (size_t s = begin; s < end; s++) {
                const float *bs = s < b->full ? b->strips + s * b->k * b->w : b->tail;
                size_t cols = s < b->full ? b->w : b->n - b->full * b->w;
                float *c = j->c + i0 * j->ldc + s * b->w;
                if (q0 == 0) scale(c, j->ldc, mc, cols, j->beta);
                for (size_t p0 = q0; p0 < q0 + kq; p0 += KC)
                    multiply_strip(j, pa + (p0 - q0) * KILN_MR, kq * KILN_MR, mc, q0 + kq - p0 < KC ? q0 + kq - p0 : KC,
                                   bs + p0 * b->w, cols, c, p0 > 0 || j->beta != 0.0f);
            }
        }
    }
}

void kiln_sgemm_prepacked(const kiln_exec *e, kiln_isa isa, int parallel, int trans_a, size_t m, float alpha,
                          const float *a, size_t lda, const kiln_packed_b *b, float beta, float *c, size_t ldc) {
    prepacked_job pj = {{0, 0, (int)b->w, isa, m, b->n, b->k, lda, 0, ldc, 0, 0, alpha, beta, a, NULL, c,
                         e->workspace, e->workspace_floats}, b};
    pj.j.trans_a = trans_a;
    size_t strips = b->full + (b->n > b->full * b->w);
    if (parallel && e->threads > 1) kiln_parallel_for(e, strips, run_strips, &pj);
    else run_strips(&pj, 0, strips, 0);
}
