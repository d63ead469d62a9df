/* sparse.h — the CSR matrix behind SPARSE_GEMM and its row kernels, exported for the
 * tests (portable vs SIMD) and the benchmark. */
#ifndef KILN_SPARSE_H
#define KILN_SPARSE_H

#include "../internal.h"

/* Bᵀ in compressed sparse rows: row j (output column j) holds the non-zero weights
 * val[rowptr[j] .. rowptr[j+1]) at inner indices col[...] (increasing). */
typedef struct kiln_csr {
    int64_t rows, cols, nnz;
    const int64_t *rowptr;
    const int32_t *col;
    const float *val;
} kiln_csr;

/* Lanes of the transposed input block of the batched path. */
#define KILN_SPARSE_LANES 16

/* y[j] = Σ val·x[col] for rows j in [j0, j1): one input row (batch 1). Portable: four
 * partial sums over consecutive non-zeros, added as (s0 + s1) + (s2 + s3). */
void kiln_csr_rows_portable(const kiln_csr *a, const float *x, float *y, int64_t j0, int64_t j1);
/* The same with AVX-512 gathers (16 non-zeros a step), or AVX2 (8) without AVX-512;
 * returns 0 when the build has neither (then nothing is written). */
int kiln_csr_rows_simd(const kiln_csr *a, const float *x, float *y, int64_t j0, int64_t j1);

/* Batched rows: xt holds up to KILN_SPARSE_LANES input rows transposed ([cols][lanes],
 * zero in unused lanes; lanes is 8 or 16); y[i·ldy + j] = Σ val·xt[col][i] for
 * i < rows_used. */
void kiln_csr_rows_block_portable(const kiln_csr *a, const float *xt, int lanes, int rows_used, float *y, int64_t ldy,
                                  int64_t j0, int64_t j1);
/* The same with AVX-512 (16 lanes) / AVX2 vectors, four accumulators over consecutive
 * non-zeros; returns 0 when the build has no AVX2+FMA (nothing written). */
int kiln_csr_rows_block_simd(const kiln_csr *a, const float *xt, int lanes, int rows_used, float *y, int64_t ldy,
                             int64_t j0, int64_t j1);

#endif
