/* gemm_portable.c — the portable C GEMM: C = alpha * op(A) * op(B) + beta * C, row-major.
 *
 * Algorithm (the classic Goto/BLIS blocking, in plain C):
 * 1. C is cut into tiles of MC x NC; tiles are independent tasks spread over the threads.
 * 2. For each tile, K is cut into slices of KC. For each slice, the KC x NC block of B is
 *    packed into NR-column strips (row p of a strip is NR consecutive floats) and the
 *    MC x KC block of A into MR-row strips (column p of a strip is MR consecutive floats);
 *    edges are zero-padded, so the micro-kernel never branches.
 * 3. The micro-kernel multiplies one A strip by one B strip into an MR x NR accumulator
 *    held in local variables (the compiler keeps it in vector registers), then adds it
 *    to C: the first K slice applies beta, later slices accumulate.
 * Packing handles transposed A/B, so op(A)/op(B) cost nothing extra. Each thread packs
 * into its own part of the session workspace (kiln_sgemm_workspace_floats floats). */
#include "../internal.h"

/* Micro-kernel shape: 6x16 with 8-float vectors where AVX is available (12 accumulators
 * in 16 ymm registers), 4x8 with 4-float vectors elsewhere (SSE, NEON), plain loops for
 * compilers without GNU vector extensions. */
#if defined(__GNUC__) && defined(__AVX__)
#define MR 6
#define NR 16
#define VLEN 8
#elif defined(__GNUC__)
#define MR 4
#define NR 8
#define VLEN 4
#else
#define MR 4
#define NR 8
#define VLEN 0
#endif
#define KC 256
#define MC 96
#define NC 256

size_t kiln_sgemm_workspace_floats(void) { return (size_t)MC * KC + (size_t)KC * NC; }

typedef struct gemm_job {
    int trans_a, trans_b;
    size_t m, n, k, lda, ldb, ldc, tiles_n;
    float alpha, beta;
    const float *a, *b;
    float *c;
    float *workspace;
    size_t workspace_floats;
} gemm_job;

/* A block rows [i0, i0+mc), cols [p0, p0+kc) → MR-row strips, column-major inside. */
static void pack_a(const gemm_job *j, size_t i0, size_t mc, size_t p0, size_t kc, float *dst) {
    for (size_t is = 0; is < mc; is += MR) {
        size_t rows = mc - is < MR ? mc - is : MR;
        for (size_t p = 0; p < kc; p++) {
            for (size_t r = 0; r < rows; r++) {
                size_t i = i0 + is + r, q = p0 + p;
                dst[p * MR + r] = j->trans_a ? j->a[q * j->lda + i] : j->a[i * j->lda + q];
            }
            for (size_t r = rows; r < MR; r++) dst[p * MR + r] = 0.0f;
        }
        dst += kc * MR;
    }
}

/* B block rows [p0, p0+kc), cols [j0, j0+nc) → NR-column strips, row-major inside. */
static void pack_b(const gemm_job *j, size_t p0, size_t kc, size_t j0, size_t nc, float *dst) {
    for (size_t js = 0; js < nc; js += NR) {
        size_t cols = nc - js < NR ? nc - js : NR;
        for (size_t p = 0; p < kc; p++) {
            size_t q = p0 + p;
            if (!j->trans_b && cols == NR) {
                memcpy(dst + p * NR, j->b + q * j->ldb + j0 + js, NR * sizeof(float));
                continue;
            }
            for (size_t c = 0; c < cols; c++) {
                size_t col = j0 + js + c;
                dst[p * NR + c] = j->trans_b ? j->b[col * j->ldb + q] : j->b[q * j->ldb + col];
            }
            for (size_t c = cols; c < NR; c++) dst[p * NR + c] = 0.0f;
        }
        dst += kc * NR;
    }
}

#if VLEN == 8
typedef float vf __attribute__((vector_size(32)));
#elif VLEN == 4
typedef float vf __attribute__((vector_size(16)));
#endif

#if VLEN
static inline vf vload(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
#if VLEN == 8
#define VSPLAT(x) {x, x, x, x, x, x, x, x}
#else
#define VSPLAT(x) {x, x, x, x}
#endif
/* Two vectors per row (NR = 2 * VLEN), MR rows, fully unrolled by the macros below. */
#define ROW(i) vf c##i##0 = zero, c##i##1 = zero;
#define FMA(i) { float s = ap[i]; vf a = VSPLAT(s); c##i##0 += a * b0; c##i##1 += a * b1; }
#define OUT(i) vstore(out + (i) * NR, c##i##0); vstore(out + (i) * NR + VLEN, c##i##1);

static void micro_kernel(size_t kc, const float *restrict a, const float *restrict b, float *restrict out) {
    const vf zero = VSPLAT(0.0f);
#if MR == 6
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#else
    ROW(0) ROW(1) ROW(2) ROW(3)
#endif
    for (size_t p = 0; p < kc; p++) {
        const float *bp = b + p * NR, *ap = a + p * MR;
        vf b0 = vload(bp), b1 = vload(bp + VLEN);
#if MR == 6
        FMA(0) FMA(1) FMA(2) FMA(3) FMA(4) FMA(5)
#else
        FMA(0) FMA(1) FMA(2) FMA(3)
#endif
    }
#if MR == 6
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5)
#else
    OUT(0) OUT(1) OUT(2) OUT(3)
#endif
}
#else
static void micro_kernel(size_t kc, const float *restrict a, const float *restrict b, float *restrict out) {
    float acc[MR * NR];
    for (int i = 0; i < MR * NR; i++) acc[i] = 0.0f;
    for (size_t p = 0; p < kc; p++)
        for (int i = 0; i < MR; i++)
            for (int c = 0; c < NR; c++) acc[i * NR + c] += a[p * MR + i] * b[p * NR + c];
    for (int i = 0; i < MR * NR; i++) out[i] = acc[i];
}
#endif

static void store(const gemm_job *j, const float *acc, size_t i0, size_t rows, size_t c0, size_t cols, int first) {
    for (size_t r = 0; r < rows; r++) {
        float *crow = j->c + (i0 + r) * j->ldc + c0;
        const float *arow = acc + r * NR;
        if (!first) {
            for (size_t c = 0; c < cols; c++) crow[c] += j->alpha * arow[c];
        } else if (j->beta == 0.0f) {
            for (size_t c = 0; c < cols; c++) crow[c] = j->alpha * arow[c];
        } else {
            for (size_t c = 0; c < cols; c++) crow[c] = j->beta * crow[c] + j->alpha * arow[c];
        }
    }
}

static void run_tile(const gemm_job *j, size_t tile, float *ws) {
    size_t i0 = (tile / j->tiles_n) * MC, j0 = (tile % j->tiles_n) * NC;
    size_t mc = j->m - i0 < MC ? j->m - i0 : MC, nc = j->n - j0 < NC ? j->n - j0 : NC;
    float *pa = ws, *pb = ws + (size_t)MC * KC;
    float acc[MR * NR];
    for (size_t p0 = 0; p0 < j->k; p0 += KC) {
        size_t kc = j->k - p0 < KC ? j->k - p0 : KC;
        pack_b(j, p0, kc, j0, nc, pb);
        pack_a(j, i0, mc, p0, kc, pa);
        for (size_t js = 0; js < nc; js += NR) {
            size_t cols = nc - js < NR ? nc - js : NR;
            for (size_t is = 0; is < mc; is += MR) {
                size_t rows = mc - is < MR ? mc - is : MR;
                micro_kernel(kc, pa + is * kc, pb + js * kc, acc);
                store(j, acc, i0 + is, rows, j0 + js, cols, p0 == 0);
            }
        }
    }
}

static void run_tiles(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const gemm_job *j = ctx;
    float *ws = j->workspace + (size_t)thread * j->workspace_floats;
    for (size_t t = begin; t < end; t++) run_tile(j, t, ws);
}

void kiln_sgemm_portable(const kiln_exec *e, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                         const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == 0.0f) {
        for (size_t i = 0; i < m; i++)
            for (size_t jj = 0; jj < n; jj++) c[i * ldc + jj] = beta == 0.0f ? 0.0f : beta * c[i * ldc + jj];
        return;
    }
    gemm_job j = {trans_a, trans_b, m, n, k, lda, ldb, ldc, (n + NC - 1) / NC, alpha, beta, a, b, c,
                  e->workspace, e->workspace_floats};
    size_t tiles = ((m + MC - 1) / MC) * j.tiles_n;
    kiln_parallel_for(e, tiles, run_tiles, &j);
}
