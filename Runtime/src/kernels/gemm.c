/* gemm.c — the GEMM entry point and the GEMM and MATMUL opcodes. kiln_sgemm picks:
 * few rows or multiply-adds: gemm_small.c; x86 with AVX-512 or AVX2+FMA (kiln_isa_detect,
 * capped by KILN_FKERNELS): Kiln's blocked GEMM (gemm_blocked.c); otherwise OpenBLAS
 * cblas_sgemm when built with KILN_USE_BLAS, the portable C GEMM without it. The rule is
 * measured (bench-gemm, one thread, Emerald Rapids Xeon, Debian OpenBLAS 0.3.21, which
 * does not know that CPU and runs its SSE3 "Prescott" kernels): blocked AVX-512 60-115
 * GFLOP/s and blocked AVX2 35-65 vs OpenBLAS 17-30 on 64x256x128 .. 512^3 and 64x3072x768;
 * OpenBLAS with the right kernels (OPENBLAS_CORETYPE=SKYLAKEX, which a library cannot
 * set) reaches 100-150, so on CPUs it knows it is up to ~1.5x faster than this path. */
#include "../internal.h"
#include "microkernel.h"

#ifdef KILN_USE_BLAS
#include <cblas.h>
#endif

/* With more threads a GEMM of at least this many multiply-adds (~0.1 ms on one core) is
 * split over the session's pool (OpenBLAS, single-threaded per session.c: in column blocks
 * of 16, or row blocks of 8 when M > N). Smaller ones stay on the calling thread: waking a
 * worker costs more than it saves there, and far more on a busy machine. */
#define KILN_GEMM_PARALLEL_MACS 4194304.0

/* Packs a constant B [k, n] (stored [n, k] when trans_b) at load when the run would take
 * the blocked GEMM (not gemm_small.c, nor the AVX-512 matrix-vector product at M = 1):
 * runs then multiply pre-packed strips (gemm_prepack.c). Returns 1 when it packed. */
static int prepack(kiln_check *c, kiln_isa isa, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   kiln_packed_b *out, kiln_status *st) {
    const kiln_tdesc *b = kiln_operand(c, 1);
    size_t w = kiln_packed_width(isa), lda = (size_t)(trans_a ? m : k), ldb = (size_t)(trans_b ? k : n);
    *st = KILN_OK;
#ifdef KILN_NO_PREPACK
    w = 0;
#endif
    if (!w || b->storage != KILN_STORAGE_CONSTANT || !b->data || m < 2 || n < 1 || k < 1 ||
        kiln_sgemm_small_takes(trans_a, trans_b, (size_t)m, (size_t)n, (size_t)k, lda, ldb, (size_t)n))
        return 0;
    kiln_need_workspace(c, KILN_BLOCKED_WORKSPACE);
    *st = kiln_prepack_b(c, 1, trans_b, (size_t)k, (size_t)n, w, out);
    return *st == KILN_OK;
}

static int parallel_macs(const kiln_exec *e, double macs) { return e && e->threads > 1 && macs >= KILN_GEMM_PARALLEL_MACS; }

#ifdef KILN_USE_BLAS
typedef struct blas_job {
    int trans_a, trans_b;
    size_t m, n, k;
    float alpha;
    const float *a;
    size_t lda;
    const float *b;
    size_t ldb;
    float beta;
    float *c;
    size_t ldc;
    int split_n;
} blas_job;

static void blas_call(const blas_job *j, size_t m0, size_t m1, size_t n0, size_t n1) {
    if (m1 <= m0 || n1 <= n0) return;
    const float *a = j->a + (j->trans_a ? m0 : m0 * j->lda), *b = j->b + (j->trans_b ? n0 * j->ldb : n0);
    cblas_sgemm(CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans,
                (int)(m1 - m0), (int)(n1 - n0), (int)j->k, j->alpha, a, (int)j->lda, b, (int)j->ldb, j->beta,
                j->c + m0 * j->ldc + n0, (int)j->ldc);
}

static void blas_units(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const blas_job *j = ctx;
    (void)thread;
    if (j->split_n) blas_call(j, 0, j->m, begin * 16, end * 16 < j->n ? end * 16 : j->n);
    else blas_call(j, begin * 8, end * 8 < j->m ? end * 8 : j->m, 0, j->n);
}
#endif

void kiln_sgemm(const kiln_exec *e, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    if (kiln_sgemm_small(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
    int parallel = parallel_macs(e, (double)m * (double)n * (double)k);
    if (kiln_sgemm_blocked(e, kiln_isa_detect(), parallel, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                           ldc))
        return;
#ifdef KILN_USE_BLAS
    blas_job j = {trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0};
    if (!parallel) {
        blas_call(&j, 0, m, 0, n);
    } else {
        j.split_n = n >= m;
        size_t units = j.split_n ? (n + 15) / 16 : (m + 7) / 8;
        kiln_parallel_for(e, units, blas_units, &j);
    }
#else
    kiln_sgemm_portable(e, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

/* GEMM: Y[M,N] = act(alpha * op(A) * op(B) + beta * C). Operands A f32 [M,K] ([K,M] when
 * trans_a), B f32 [K,N] ([N,K] when trans_b), optional C f32 broadcastable to [M,N]
 * (rank <= 2). Attributes (28 bytes): i32 trans_a, i32 trans_b, f32 alpha, f32 beta,
 * fused activation (i32 func, f32 alpha, f32 beta). */
typedef struct gemm_params {
    int trans_a, trans_b, has_c;
    float alpha, beta;
    int64_t m, n, k, c_row_stride, c_col_stride;
    kiln_act act;
    kiln_isa isa;                /* chosen at load (isa.c) */
    int prepacked;               /* B constant, packed at load into packed */
    kiln_packed_b packed;
} gemm_params;

KILN_SMALL_CODE static kiln_status check_gemm(kiln_check *c) {
    const kiln_tdesc *a = kiln_operand(c, 0), *b = kiln_operand(c, 1), *cc = kiln_operand(c, 2), *y = kiln_result(c, 0);
    gemm_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->trans_a = kiln_rdi32(c->attr) != 0;
    p->trans_b = kiln_rdi32(c->attr + 4) != 0;
    p->alpha = kiln_rdf32(c->attr + 8);
    p->beta = kiln_rdf32(c->attr + 12);
    kiln_status st = kiln_check_act(c, c->attr + 16, &p->act);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, a, "A", KILN_F32)) || (st = kiln_require_dtype(c, b, "B", KILN_F32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    if (a->rank != 2 || b->rank != 2 || y->rank != 2) return kiln_check_fail(c, "A, B and the result must be rank 2");
    p->m = p->trans_a ? a->dims[1] : a->dims[0];
    p->k = p->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = p->trans_b ? b->dims[1] : b->dims[0];
    p->n = p->trans_b ? b->dims[0] : b->dims[1];
    if (kb != p->k) return kiln_check_fail(c, "inner dimensions differ (%lld vs %lld)", (long long)p->k, (long long)kb);
    if (y->dims[0] != p->m || y->dims[1] != p->n) return kiln_check_fail(c, "result shape is not [M, N]");
    if (cc) {
        if (cc->dtype != KILN_F32 || cc->rank > 2) return kiln_check_fail(c, "C must be f32 of rank <= 2");
        int64_t cm = cc->rank == 2 ? cc->dims[0] : 1, cn = cc->rank >= 1 ? cc->dims[cc->rank - 1] : 1;
        if ((cm != 1 && cm != p->m) || (cn != 1 && cn != p->n)) return kiln_check_fail(c, "C does not broadcast to [M, N]");
        p->has_c = 1;
        p->c_row_stride = cm == 1 ? 0 : cn;
        p->c_col_stride = cn == 1 ? 0 : 1;
    }
    p->isa = kiln_isa_detect();
    return kiln_check_gemm_dims(c, p->m, p->n, p->k);
}

KILN_SMALL_CODE kiln_status kiln_prepare_gemm(kiln_check *c) {
    gemm_params *p = c->ins->params;
    kiln_status st;
    p->prepacked = prepack(c, p->isa, p->trans_a, p->trans_b, p->m, p->n, p->k, &p->packed, &st);
    return st;
}

static void run_gemm(const kiln_exec *e, const kiln_instr *ins) {
    const gemm_params *p = ins->params;
    const float *a = KILN_IN(e, ins, 0), *b = KILN_IN(e, ins, 1);
    float *y = KILN_OUT(e, ins, 0);
    float beta = 0.0f;
    if (p->has_c && ins->ids[2] != KILN_NO_TENSOR && p->beta != 0.0f) {
        const float *cc = KILN_IN(e, ins, 2);
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++) y[i * p->n + j] = cc[i * p->c_row_stride + j * p->c_col_stride];
        beta = p->beta;
    }
#ifndef KILN_NO_PREPACK
    if (p->prepacked) {
        kiln_sgemm_prepacked(e, p->isa, parallel_macs(e, (double)p->m * (double)p->n * (double)p->k), p->trans_a,
                             (size_t)p->m, p->alpha, a, (size_t)(p->trans_a ? p->m : p->k), &p->packed, beta, y,
                             (size_t)p->n);
        kiln_apply_act(&p->act, y, (size_t)(p->m * p->n));
        return;
    }
#endif
#ifdef KILN_HAVE_AVX512
    /* One row (a classifier's fully connected layer): a matrix-vector product streaming B
     * once (a single A row is contiguous either way). */
    if (p->m == 1 && p->isa == KILN_ISA_AVX512 && p->k > 0) {
        kiln_gemv_avx512(p->trans_b, p->n, p->k, p->alpha, a, b, (size_t)(p->trans_b ? p->k : p->n), beta, y);
        kiln_apply_act(&p->act, y, (size_t)p->n);
        return;
    }
#endif
    kiln_sgemm(e, p->trans_a, p->trans_b, (size_t)p->m, (size_t)p->n, (size_t)p->k, p->alpha, a,
               (size_t)(p->trans_a ? p->m : p->k), b, (size_t)(p->trans_b ? p->k : p->n), beta, y, (size_t)p->n);
    kiln_apply_act(&p->act, y, (size_t)(p->m * p->n));
}

/* MATMUL: numpy matmul with broadcast batch dims. Operands A f32 [..., M, K] and B f32
 * [..., K, N] (last two dims swapped when trans_a / trans_b); a rank-1 A is [1, K] and a
 * rank-1 B is [K, 1], the added dim being absent from the result. Attributes (20 bytes):
 * i32 trans_a, i32 trans_b, fused activation. When B has no batch dims and A's batch is
 * full, the batch folds into M: one sgemm. */
typedef struct matmul_params {
    int trans_a, trans_b, fold;
    int64_t m, n, k, batch, brank;
    int64_t bdims[KILN_MAX_RANK], astr[KILN_MAX_RANK], bstr[KILN_MAX_RANK];
    kiln_act act;
    kiln_isa isa;
    int prepacked;               /* B a rank-2 constant read by one sgemm, packed at load */
    kiln_packed_b packed;
} matmul_params;

KILN_SMALL_CODE static kiln_status check_matmul(kiln_check *c) {
    const kiln_tdesc *a = kiln_operand(c, 0), *b = kiln_operand(c, 1), *y = kiln_result(c, 0);
    matmul_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->trans_a = kiln_rdi32(c->attr) != 0;
    p->trans_b = kiln_rdi32(c->attr + 4) != 0;
    kiln_status st = kiln_check_act(c, c->attr + 8, &p->act);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, a, "A", KILN_F32)) || (st = kiln_require_dtype(c, b, "B", KILN_F32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    if (a->rank < 1 || b->rank < 1) return kiln_check_fail(c, "operands must have rank >= 1");
    if ((a->rank == 1 && p->trans_a) || (b->rank == 1 && p->trans_b))
        return kiln_check_fail(c, "a rank-1 operand cannot be transposed");
    int64_t am = a->rank == 1 ? 1 : a->dims[a->rank - 2], ak = a->dims[a->rank - 1];
    if (p->trans_a) { int64_t t = am; am = ak; ak = t; }
    int64_t bk = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2], bn = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (p->trans_b) { int64_t t = bk; bk = bn; bn = t; }
    if (ak != bk) return kiln_check_fail(c, "inner dimensions differ (%lld vs %lld)", (long long)ak, (long long)bk);
    p->m = am; p->n = bn; p->k = ak;
    uint32_t abr = a->rank >= 2 ? a->rank - 2 : 0, bbr = b->rank >= 2 ? b->rank - 2 : 0;
    uint32_t br = abr > bbr ? abr : bbr;
    int64_t expect[KILN_MAX_RANK + 2];
    uint32_t er = 0;
    int64_t ast = am * ak, bst = bk * bn, a_full = 1, b_none = 1;
    p->batch = 1;
    p->brank = br;
    for (int d = (int)br - 1; d >= 0; d--) {
        int ad = d - (int)(br - abr), bd = d - (int)(br - bbr);
        int64_t da = ad >= 0 ? a->dims[ad] : 1, db = bd >= 0 ? b->dims[bd] : 1;
        if (da != db && da != 1 && db != 1) return kiln_check_fail(c, "batch dims do not broadcast");
        p->bdims[d] = da > db ? da : db;
        p->astr[d] = da == 1 ? 0 : ast;
        p->bstr[d] = db == 1 ? 0 : bst;
        if (da != p->bdims[d]) a_full = 0;
        if (db != 1) b_none = 0;
        ast *= da;
        bst *= db;
        p->batch *= p->bdims[d];
    }
    for (uint32_t d = 0; d < br; d++) expect[er++] = p->bdims[d];
    if (a->rank >= 2) expect[er++] = p->m;
    if (b->rank >= 2) expect[er++] = p->n;
    if (y->rank != er) return kiln_check_fail(c, "result rank %u, expected %u", y->rank, er);
    for (uint32_t d = 0; d < er; d++)
        if (y->dims[d] != expect[d]) return kiln_check_fail(c, "result dim %u is %lld, expected %lld", d,
                                                            (long long)y->dims[d], (long long)expect[d]);
    p->fold = b_none && a_full && !p->trans_a && p->batch > 1;
    if (p->fold) return kiln_check_gemm_dims(c, p->m * p->batch, p->n, p->k);
    return kiln_check_gemm_dims(c, p->m, p->n, p->k);
}

KILN_SMALL_CODE kiln_status kiln_prepare_matmul(kiln_check *c) {
    matmul_params *p = c->ins->params;
    kiln_status st = KILN_OK;
    p->isa = kiln_isa_detect();
    if (kiln_operand(c, 1)->rank == 2 && (p->fold || p->batch == 1))
        p->prepacked = prepack(c, p->isa, p->trans_a, p->trans_b, p->fold ? p->m * p->batch : p->m, p->n, p->k,
                               &p->packed, &st);
    return st;
}

static void run_matmul(const kiln_exec *e, const kiln_instr *ins) {
    const matmul_params *p = ins->params;
    const float *a = KILN_IN(e, ins, 0), *b = KILN_IN(e, ins, 1);
    float *y = KILN_OUT(e, ins, 0);
    size_t lda = (size_t)(p->trans_a ? p->m : p->k), ldb = (size_t)(p->trans_b ? p->k : p->n);
#ifndef KILN_NO_PREPACK
    if (p->prepacked) {
        size_t m = (size_t)(p->fold ? p->m * p->batch : p->m);
        kiln_sgemm_prepacked(e, p->isa, parallel_macs(e, (double)m * (double)p->n * (double)p->k), p->trans_a, m, 1.0f,
                             a, lda, &p->packed, 0.0f, y, (size_t)p->n);
    } else
#endif
    if (p->fold) {
        kiln_sgemm(e, 0, p->trans_b, (size_t)(p->m * p->batch), (size_t)p->n, (size_t)p->k, 1.0f, a, lda, b, ldb,
                   0.0f, y, (size_t)p->n);
    } else {
        int64_t idx[KILN_MAX_RANK] = {0};
        for (int64_t t = 0; t < p->batch; t++) {
            int64_t rem = t, ao = 0, bo = 0;
            for (int d = (int)p->brank - 1; d >= 0; d--) {
                idx[d] = rem % p->bdims[d];
                rem /= p->bdims[d];
                ao += idx[d] * p->astr[d];
                bo += idx[d] * p->bstr[d];
            }
            kiln_sgemm(e, p->trans_a, p->trans_b, (size_t)p->m, (size_t)p->n, (size_t)p->k, 1.0f, a + ao, lda, b + bo,
                       ldb, 0.0f, y + t * p->m * p->n, (size_t)p->n);
        }
    }
    kiln_apply_act(&p->act, y, (size_t)(p->m * p->n * p->batch));
}

const kiln_kernel kiln_k_gemm = {KILN_OP_GEMM, "gemm", 28, 2, 3, 1, 1, 0, check_gemm, run_gemm, 0};
const kiln_kernel kiln_k_matmul = {KILN_OP_MATMUL, "matmul", 20, 2, 2, 1, 1, 0, check_matmul, run_matmul, 0};
