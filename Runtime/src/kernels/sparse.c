/* sparse.c — SPARSE_GEMM: Y = act(alpha · A · op(B) + beta · C) for a constant B with
 * many zeros (magnitude-pruned layers), through a CSR copy of Bᵀ built at load.
 *
 * Operands: A f32 [..., K] (leading dims fold into M); B f32 constant [K, N] ([N, K]
 * when trans_b); optional C f32 of N or 1 elements (rank <= 2, broadcast over rows).
 * Result Y f32 [..., N] with A's leading dims. Attributes (24 bytes): i32 trans_b,
 * f32 alpha, f32 beta, act. The plan keeps B dense (zeros compress well with zstd, f16
 * storage works); check_sparse builds rowptr/col/val (alpha folded into val) into memory
 * owned by the plan, like CONV2D_WINOGRAD's transform.
 * Algorithm (output-stationary CSR; column j of Y is row j of Bᵀ):
 * - M = 1: y[j] = Σ val[t] · x[col[t]] over row j's non-zeros, a gather per non-zero
 *   (AVX-512 / AVX2 gathers, else four scalar partial sums).
 * - M > 1: blocks of up to 16 rows of A are transposed into the per-thread workspace of
 *   the caller as xt [K][lanes] (lanes 8 or 16, zero padded); then per output column j
 *   and non-zero t, acc[0..lanes) += val[t] · xt[col[t]][·] — one vector FMA per non-zero
 *   for up to 16 rows, which the compiler vectorizes.
 * Output columns are split over the threads when the work (non-zeros × lanes) is large.
 * A zero weight contributes nothing (dense GEMM would give NaN for 0 · inf). */
#include "sparse.h"
#include "common.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

#define SPARSE_GRAIN 32768       /* non-zero × lane products before splitting over threads */

typedef struct sparse_params {
    int64_t m, n, k;
    float beta;
    int has_c;
    int64_t c_stride;            /* 0: one C value, 1: N values */
    kiln_act act;
    kiln_csr csr;                /* arrays in the same allocation */
} sparse_params;

KILN_SMALL_CODE static kiln_status check_sparse(kiln_check *c) {
    const kiln_tdesc *a = kiln_operand(c, 0), *b = kiln_operand(c, 1), *cc = kiln_operand(c, 2), *y = kiln_result(c, 0);
    sparse_params q;
    memset(&q, 0, sizeof q);
    int trans_b = kiln_rdi32(c->attr) != 0;
    float alpha = kiln_rdf32(c->attr + 4);
    q.beta = kiln_rdf32(c->attr + 8);
    kiln_status st = kiln_check_act(c, c->attr + 12, &q.act);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, a, "A", KILN_F32)) || (st = kiln_require_dtype(c, b, "B", KILN_F32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    if (b->rank != 2) return kiln_check_fail(c, "B must be rank 2");
    if (b->storage != KILN_STORAGE_CONSTANT || !b->data) return kiln_check_fail(c, "B must be a constant");
    if (a->rank < 1) return kiln_check_fail(c, "A must have rank >= 1");
    q.k = trans_b ? b->dims[1] : b->dims[0];
    q.n = trans_b ? b->dims[0] : b->dims[1];
    if (a->dims[a->rank - 1] != q.k)
        return kiln_check_fail(c, "inner dimensions differ (%lld vs %lld)", (long long)a->dims[a->rank - 1], (long long)q.k);
    if (y->rank != a->rank) return kiln_check_fail(c, "result rank %u, expected %u", y->rank, a->rank);
    for (uint32_t d = 0; d + 1 < a->rank; d++)
        if (y->dims[d] != a->dims[d]) return kiln_check_fail(c, "result dim %u differs from A's", d);
    if (y->dims[y->rank - 1] != q.n) return kiln_check_fail(c, "result's last dim is not N = %lld", (long long)q.n);
    q.m = q.k > 0 ? (int64_t)(a->count / (uint64_t)q.k) : kiln_dims_product(a, 0, a->rank - 1);
    if (cc) {
        if (cc->dtype != KILN_F32 || cc->rank > 2) return kiln_check_fail(c, "C must be f32 of rank <= 2");
        if (cc->count != 1 && (cc->count != (uint64_t)q.n || (cc->rank >= 1 && cc->dims[cc->rank - 1] != q.n)))
            return kiln_check_fail(c, "C must hold N = %lld values or one", (long long)q.n);
        q.has_c = 1;
        q.c_stride = cc->count == 1 ? 0 : 1;
    }
    if ((st = kiln_check_gemm_dims(c, q.m, q.n, q.k)) != KILN_OK) return st;
    const uint8_t *w = b->data;
    int64_t nnz = 0;
    for (uint64_t i = 0; i < b->count; i++) nnz += kiln_rdf32(w + 4 * i) != 0.0f;
    if (nnz > INT32_MAX) return kiln_check_fail(c, "B has too many non-zeros");
    size_t head = (sizeof q + 63) / 64 * 64, rp = ((size_t)q.n + 1) * sizeof(int64_t);
    size_t total = head + rp + (size_t)nnz * (sizeof(int32_t) + sizeof(float)) + 64;
    uint8_t *mem = kiln_params_alloc(c, total);
    if (!mem) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory for the sparse weights");
    sparse_params *p = (sparse_params *)(void *)mem;
    *p = q;
    int64_t *rowptr = (int64_t *)(void *)(mem + head);
    float *val = (float *)(void *)(mem + head + rp);
    int32_t *col = (int32_t *)(void *)(mem + head + rp + (size_t)nnz * sizeof(float));
    int64_t t = 0;
    for (int64_t j = 0; j < q.n; j++) {
        rowptr[j] = t;
        for (int64_t kk = 0; kk < q.k; kk++) {
            float v = kiln_rdf32(w + 4 * (size_t)(trans_b ? j * q.k + kk : kk * q.n + j));
            if (v != 0.0f) { val[t] = alpha * v; col[t] = (int32_t)kk; t++; }
        }
    }
    rowptr[q.n] = t;
    p->csr = (kiln_csr){q.n, q.k, nnz, rowptr, col, val};
    if (q.m > 1) kiln_need_workspace(c, (size_t)q.k * KILN_SPARSE_LANES);
    return KILN_OK;
}

void kiln_csr_rows_portable(const kiln_csr *a, const float *x, float *y, int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; j++) {
        int64_t t = a->rowptr[j], end = a->rowptr[j + 1];
        float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
        for (; t + 4 <= end; t += 4) {
            s0 += a->val[t] * x[a->col[t]];
            s1 += a->val[t + 1] * x[a->col[t + 1]];
            s2 += a->val[t + 2] * x[a->col[t + 2]];
            s3 += a->val[t + 3] * x[a->col[t + 3]];
        }
        for (; t < end; t++) s0 += a->val[t] * x[a->col[t]];
        y[j] = ((s0 + s1) + (s2 + s3));
    }
}

int kiln_csr_rows_simd(const kiln_csr *a, const float *x, float *y, int64_t j0, int64_t j1) {
#if defined(__AVX512F__)
    for (int64_t j = j0; j < j1; j++) {
        int64_t t = a->rowptr[j], end = a->rowptr[j + 1];
        __m512 acc = _mm512_setzero_ps();
        for (; t + 16 <= end; t += 16) {
            __m512i idx = _mm512_loadu_si512((const void *)(a->col + t));
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(a->val + t), _mm512_i32gather_ps(idx, x, 4), acc);
        }
        if (t < end) {
            __mmask16 mk = (__mmask16)((1u << (end - t)) - 1u);
            __m512i idx = _mm512_maskz_loadu_epi32(mk, a->col + t);
            __m512 g = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, x, 4);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a->val + t), g, acc);
        }
        y[j] = _mm512_reduce_add_ps(acc);
    }
    return 1;
#elif defined(__AVX2__) && defined(__FMA__)
    for (int64_t j = j0; j < j1; j++) {
        int64_t t = a->rowptr[j], end = a->rowptr[j + 1];
        __m256 acc = _mm256_setzero_ps();
        for (; t + 8 <= end; t += 8) {
            __m256i idx = _mm256_loadu_si256((const __m256i *)(const void *)(a->col + t));
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(a->val + t), _mm256_i32gather_ps(x, idx, 4), acc);
        }
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        float s = _mm_cvtss_f32(h);
        for (; t < end; t++) s += a->val[t] * x[a->col[t]];
        y[j] = s;
    }
    return 1;
#else
    (void)a; (void)x; (void)y; (void)j0; (void)j1;
    return 0;
#endif
}

/* One block width as a compile-time constant, so the lane loop vectorizes. */
#define SPARSE_BLOCK_BODY(W)                                                                     \
    for (int64_t j = j0; j < j1; j++) {                                                          \
        float acc[W];                                                                            \
        for (int i = 0; i < W; i++) acc[i] = 0.0f;                                               \
        for (int64_t t = a->rowptr[j]; t < a->rowptr[j + 1]; t++) {                              \
            const float v = a->val[t], *xr = xt + (size_t)a->col[t] * W;                         \
            for (int i = 0; i < W; i++) acc[i] += v * xr[i];                                     \
        }                                                                                        \
        for (int i = 0; i < rows_used; i++) y[i * ldy + j] = acc[i];                             \
    }

void kiln_csr_rows_block_portable(const kiln_csr *a, const float *xt, int lanes, int rows_used, float *y, int64_t ldy,
                                  int64_t j0, int64_t j1) {
    if (lanes == 8) {
        SPARSE_BLOCK_BODY(8)
    } else {
        SPARSE_BLOCK_BODY(KILN_SPARSE_LANES)
    }
}

#if defined(__AVX2__) && defined(__FMA__)
/* Lanes off..off+7 of output column j over xt rows of w lanes. Four accumulators over
 * consecutive non-zeros (t mod 4) hide the FMA latency. */
static inline __m256 block8_row(const kiln_csr *a, const float *xt, int64_t j, size_t w, size_t off) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t t = a->rowptr[j], end = a->rowptr[j + 1];
    const int32_t *col = a->col;
    const float *val = a->val;
    for (; t + 4 <= end; t += 4) {
        s0 = _mm256_fmadd_ps(_mm256_set1_ps(val[t]), _mm256_loadu_ps(xt + (size_t)col[t] * w + off), s0);
        s1 = _mm256_fmadd_ps(_mm256_set1_ps(val[t + 1]), _mm256_loadu_ps(xt + (size_t)col[t + 1] * w + off), s1);
        s2 = _mm256_fmadd_ps(_mm256_set1_ps(val[t + 2]), _mm256_loadu_ps(xt + (size_t)col[t + 2] * w + off), s2);
        s3 = _mm256_fmadd_ps(_mm256_set1_ps(val[t + 3]), _mm256_loadu_ps(xt + (size_t)col[t + 3] * w + off), s3);
    }
    for (; t < end; t++) s0 = _mm256_fmadd_ps(_mm256_set1_ps(val[t]), _mm256_loadu_ps(xt + (size_t)col[t] * w + off), s0);
    return _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
}
#endif

int kiln_csr_rows_block_simd(const kiln_csr *a, const float *xt, int lanes, int rows_used, float *y, int64_t ldy,
                             int64_t j0, int64_t j1) {
#if defined(__AVX2__) && defined(__FMA__)
    float acc[KILN_SPARSE_LANES];
    for (int64_t j = j0; j < j1; j++) {
        if (lanes == 8) {
            _mm256_storeu_ps(acc, block8_row(a, xt, j, 8, 0));
        } else {
#if defined(__AVX512F__)
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            int64_t t = a->rowptr[j], end = a->rowptr[j + 1];
            const int32_t *col = a->col;
            const float *val = a->val;
            for (; t + 4 <= end; t += 4) {
                s0 = _mm512_fmadd_ps(_mm512_set1_ps(val[t]), _mm512_loadu_ps(xt + (size_t)col[t] * 16), s0);
                s1 = _mm512_fmadd_ps(_mm512_set1_ps(val[t + 1]), _mm512_loadu_ps(xt + (size_t)col[t + 1] * 16), s1);
                s2 = _mm512_fmadd_ps(_mm512_set1_ps(val[t + 2]), _mm512_loadu_ps(xt + (size_t)col[t + 2] * 16), s2);
                s3 = _mm512_fmadd_ps(_mm512_set1_ps(val[t + 3]), _mm512_loadu_ps(xt + (size_t)col[t + 3] * 16), s3);
            }
            for (; t < end; t++) s0 = _mm512_fmadd_ps(_mm512_set1_ps(val[t]), _mm512_loadu_ps(xt + (size_t)col[t] * 16), s0);
            _mm512_storeu_ps(acc, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
#else
            _mm256_storeu_ps(acc, block8_row(a, xt, j, KILN_SPARSE_LANES, 0));
            _mm256_storeu_ps(acc + 8, block8_row(a, xt, j, KILN_SPARSE_LANES, 8));
#endif
        }
        for (int i = 0; i < rows_used; i++) y[i * ldy + j] = acc[i];
    }
    return 1;
#else
    (void)a; (void)xt; (void)lanes; (void)rows_used; (void)y; (void)ldy; (void)j0; (void)j1;
    return 0;
#endif
}

typedef struct sparse_job {
    const sparse_params *p;
    const float *x, *xt;
    float *y;
    int lanes, rows;
} sparse_job;

static void sparse_range(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const sparse_job *jb = ctx;
    const sparse_params *p = jb->p;
    (void)thread;
    if (!jb->xt) {
        if (!kiln_csr_rows_simd(&p->csr, jb->x, jb->y, (int64_t)begin, (int64_t)end))
            kiln_csr_rows_portable(&p->csr, jb->x, jb->y, (int64_t)begin, (int64_t)end);
    } else {
        if (!kiln_csr_rows_block_simd(&p->csr, jb->xt, jb->lanes, jb->rows, jb->y, p->n, (int64_t)begin, (int64_t)end))
            kiln_csr_rows_block_portable(&p->csr, jb->xt, jb->lanes, jb->rows, jb->y, p->n, (int64_t)begin,
                                         (int64_t)end);
    }
}

static void sparse_dispatch(const kiln_exec *e, sparse_job *jb, int64_t lanes) {
    if (jb->p->csr.nnz * lanes >= SPARSE_GRAIN && e->threads > 1)
        kiln_parallel_for(e, (size_t)jb->p->n, sparse_range, jb);
    else if (jb->p->n > 0)
        sparse_range(jb, 0, (size_t)jb->p->n, 0);
}

static void run_sparse(const kiln_exec *e, const kiln_instr *ins) {
    const sparse_params *p = ins->params;
    const float *a = KILN_IN(e, ins, 0);
    float *y = KILN_OUT(e, ins, 0);
    sparse_job jb = {p, a, NULL, y, 1, 1};
    if (p->m == 1) {
        sparse_dispatch(e, &jb, 1);
    } else {
        for (int64_t m0 = 0; m0 < p->m; m0 += KILN_SPARSE_LANES) {
            int rows = (int)(p->m - m0 < KILN_SPARSE_LANES ? p->m - m0 : KILN_SPARSE_LANES);
            int lanes = rows <= 8 ? 8 : KILN_SPARSE_LANES;
            float *xt = e->workspace;          /* the caller's; the range function only reads it */
            const float *src = a + m0 * p->k;
            for (int64_t kk = 0; kk < p->k; kk++) {
                float *dst = xt + kk * lanes;
                for (int i = 0; i < rows; i++) dst[i] = src[i * p->k + kk];
                for (int i = rows; i < lanes; i++) dst[i] = 0.0f;
            }
            jb.y = y + m0 * p->n;
            jb.xt = xt;
            jb.lanes = lanes;
            jb.rows = rows;
            sparse_dispatch(e, &jb, lanes);
        }
    }
    if (p->has_c && ins->ids[2] != KILN_NO_TENSOR && p->beta != 0.0f) {
        const float *cc = KILN_IN(e, ins, 2);
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++) y[i * p->n + j] += p->beta * cc[j * p->c_stride];
    }
    kiln_apply_act(&p->act, y, (size_t)(p->m * p->n));
}

const kiln_kernel kiln_k_sparse_gemm = {KILN_OP_SPARSE_GEMM, "sparse_gemm", 24, 2, 3, 1, 1, 0, check_sparse, run_sparse, 0};
