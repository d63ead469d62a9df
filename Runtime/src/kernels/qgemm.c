/* qgemm.c — QGEMM: y = x · w on u8 activations and constant i8 weights, int32
 * accumulation, requantized to u8 (QLinearMatMul semantics with compile-time multipliers).
 *
 * Operands: x u8 [..., K] (rows = all leading dims); w i8 [K, N] (constant); requant i32
 * [2, N] (constant: per output column multiplier, then shift); optional bias i32 [N]
 * (constant). Result: y u8 [..., N]. Attributes (16 bytes): i32 x_zp, y_zp, y_min, y_max.
 * y = clamp(y_zp + requant(sum_k (x - x_zp) * w[k][n] + bias[n]), y_min, y_max).
 * Algorithm: the weights are packed at load into the GEMM core's B layout (pairs of rows
 * k, k+1 interleaved per column, as i16), with bias - x_zp * sum_k w folded in. Per block
 * of up to 64 rows (split over threads), x's rows are packed as A pairs in the workspace,
 * the core computes the [rows, N] int32 block, then each element is requantized. With AVX-512
 * VNNI the weights are packed as i8 quads of consecutive k per column instead, x's rows are
 * copied with K padded to a multiple of 4, and kiln_qgemv4 runs vectors along N. */
#include "qgemm.h"

#include <string.h>

#define QGEMM_ROWS 64

typedef struct qgemm_params {
    kiln_qparams q;
    int64_t rows, k, kk, n;
    kiln_qgemm_fn gemm;
    kiln_qgemv4_fn gemv4;        /* non-NULL: the quad layout, bpack holds [kq][N] i32 quads */
    int64_t kq;
    int32_t *mult, *shift, *bias;
    int16_t *bpack;              /* [kk][N][2] */
} qgemm_params;

KILN_SMALL_CODE static kiln_status check_qgemm(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *w = kiln_operand(c, 1), *rq = kiln_operand(c, 2), *b = kiln_operand(c, 3);
    const kiln_tdesc *y = kiln_result(c, 0);
    kiln_qparams q;
    kiln_status st = kiln_qparams_read(c, c->attr, &q);
    if (st != KILN_OK) return st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_U8)) || (st = kiln_require_dtype(c, w, "weight", KILN_I8)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_U8)))
        return st;
    if (x->rank < 1 || w->rank != 2 || y->rank != x->rank) return kiln_check_fail(c, "weight must be rank 2 and the result x's rank");
    int64_t k = w->dims[0], n = w->dims[1];
    if (x->dims[x->rank - 1] != k || y->dims[y->rank - 1] != n) return kiln_check_fail(c, "inner dimensions do not match");
    for (uint32_t i = 0; i + 1 < x->rank; i++)
        if (x->dims[i] != y->dims[i]) return kiln_check_fail(c, "leading dimensions of input and result differ");
    if (k >= 65536) return kiln_check_fail(c, "K must be below 65536");
    if (b && (b->dtype != KILN_I32 || b->count != (uint64_t)n)) return kiln_check_fail(c, "bias must be i32 [N]");
    int64_t kk = (k + 1) / 2, kq = (k + 3) / 4;
    kiln_qgemv4_fn gemv4 = kiln_qgemv4_vnni512();
    qgemm_params *p = kiln_params_alloc(c, sizeof(qgemm_params) + sizeof(int32_t) * (size_t)(3 * n + (gemv4 ? kq : kk) * n));
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    *p = (qgemm_params){q, k ? (int64_t)(x->count / (uint64_t)k) : 0, k, kk, n, kiln_qgemm_select(), gemv4, kq, NULL, NULL, NULL, NULL};
    p->mult = (int32_t *)(p + 1);
    p->shift = p->mult + n;
    p->bias = p->shift + n;
    p->bpack = (int16_t *)(p->bias + n);
    if ((st = kiln_qrequant_read(c, rq, n, p->mult, p->shift))) return st;
    const int8_t *wd = kiln_qconstant(c, w, "weight");
    const uint8_t *bd = b ? kiln_qconstant(c, b, "bias") : NULL;
    if (!wd || (b && !bd)) return KILN_ERR_MALFORMED;
    for (int64_t j = 0; j < n; j++) {
        int32_t sum = 0;
        for (int64_t i = 0; i < k; i++) sum += wd[i * n + j];
        int32_t raw = bd ? kiln_rdi32(bd + 4 * j) : 0;
        p->bias[j] = (int32_t)((uint32_t)raw - (uint32_t)(q.x_zp * sum));
    }
    for (int64_t t = 0; gemv4 && t < kq; t++)
        for (int64_t j = 0; j < n; j++) {
            int32_t v[4];
            for (int u = 0; u < 4; u++) v[u] = 4 * t + u < k ? wd[(4 * t + u) * n + j] : 0;
            ((int32_t *)p->bpack)[t * n + j] = kiln_qquad(v[0], v[1], v[2], v[3]);
        }
    for (int64_t t = 0; !gemv4 && t < kk; t++)
        for (int64_t j = 0; j < n; j++) {
            p->bpack[(t * n + j) * 2] = wd[2 * t * n + j];
            p->bpack[(t * n + j) * 2 + 1] = 2 * t + 1 < k ? wd[(2 * t + 1) * n + j] : 0;
        }
    kiln_need_workspace(c, (size_t)(QGEMM_ROWS * kk + QGEMM_ROWS * n));
    return KILN_OK;
}

typedef struct qgemm_job { const qgemm_params *p; const uint8_t *x; uint8_t *y; float *ws; size_t ws_floats; } qgemm_job;

static void qgemm_blocks(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qgemm_job *j = ctx;
    const qgemm_params *p = j->p;
    int32_t *apack = (int32_t *)(j->ws + thread * j->ws_floats), *cblock = apack + QGEMM_ROWS * p->kk;
    uint8_t *xpad = (uint8_t *)apack; /* quad layout: rows of 4 kq bytes (kq <= kk) */
    for (size_t blk = begin; blk < end; blk++) {
        int64_t r0 = (int64_t)blk * QGEMM_ROWS, cnt = p->rows - r0 < QGEMM_ROWS ? p->rows - r0 : QGEMM_ROWS;
        if (p->gemv4) {
            for (int64_t r = 0; r < cnt; r++) {
                memcpy(xpad + r * p->kq * 4, j->x + (r0 + r) * p->k, (size_t)p->k);
                memset(xpad + r * p->kq * 4 + p->k, 0, (size_t)(p->kq * 4 - p->k));
            }
            p->gemv4(cnt, p->n, p->kq, xpad, (const int32_t *)p->bpack, cblock);
        } else {
            for (int64_t r = 0; r < cnt; r++) {
                const uint8_t *xr = j->x + (r0 + r) * p->k;
                for (int64_t t = 0; t < p->kk; t++)
                    apack[r * p->kk + t] = kiln_qpair(xr[2 * t], 2 * t + 1 < p->k ? xr[2 * t + 1] : 0);
            }
            p->gemm(cnt, p->n, p->kk, apack, p->bpack, cblock);
        }
        for (int64_t r = 0; r < cnt; r++) {
            uint8_t *out = j->y + (r0 + r) * p->n;
            const int32_t *cr = cblock + r * p->n;
            for (int64_t i = 0; i < p->n; i++)
                out[i] = kiln_requant((int32_t)((uint32_t)cr[i] + (uint32_t)p->bias[i]), p->mult[i], p->shift[i], p->q.y_zp,
                                      p->q.y_min, p->q.y_max);
        }
    }
}

static void run_qgemm(const kiln_exec *e, const kiln_instr *ins) {
    const qgemm_params *p = ins->params;
    qgemm_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0), e->workspace, e->workspace_floats};
    size_t blocks = (size_t)((p->rows + QGEMM_ROWS - 1) / QGEMM_ROWS);
    if (e->threads > 1 && blocks > 1) kiln_parallel_for(e, blocks, qgemm_blocks, &j);
    else qgemm_blocks(&j, 0, blocks, 0);
}

const kiln_kernel kiln_k_qgemm = {KILN_OP_QGEMM, "qgemm", 16, 3, 4, 1, 1, 0, check_qgemm, run_qgemm, 0};
