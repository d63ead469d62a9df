/* dynq_rnn.c — DYN_QRECURRENT: ONNX RNN, GRU and LSTM with int8 W and R (quantize-dynamic).
 *
 * Attributes: RECURRENT's 104 bytes (recurrent.c). Operands: RECURRENT's (X f32, W, R,
 * optional B, sequence_lens, initial_h and for LSTM initial_c and P), except that W
 * [dirs, G*H, I] and R [dirs, G*H, H] are constant i8, then w_scales and r_scales: constant
 * f32 [dirs*G*H], one per weight row. Results: RECURRENT's (Y, Y_h, (LSTM) Y_c — each may
 * be absent — and an f32 scratch of at least seq*batch*G*H + batch*G*H + 4*batch*H).
 * Semantics (the reference is Sources/KilnIR/Ops/Recurrent+DynQuant.swift): every product
 * with W or R quantizes its row (x_t, h_{t-1}, GRU's r*h_{t-1}) to u8 with its own range
 * (dynq.h, DYN_QGEMM's recipe) and computes, per weight row j,
 *   acc = sum_k q[k] * w[j][k] - zp * rowsum[j]          (int32, exact for K < 65536)
 *   out[j] = fmaf((float)acc, usable ? scale * s[j] : 0, bias[j])
 * with bias Wb for the input gates, Rb for the recurrent ones (Rbh for GRU's reset
 * product); the gate math is RECURRENT's on (gh + gx) in f32.
 * Algorithm: at load W, R (and GRU's h-gate rows of R) are packed in the quad layout of
 * kiln_qgemv4 (AVX-512 VNNI when the CPU has it, else portable) with their row sums. Per
 * direction, one pass over blocks of 64 rows of X computes every step's input gates; each
 * step then quantizes the batch's hidden rows, runs one int8 product against R, and the
 * gate math. Single-threaded (the steps are sequential; the products are small). */
#include "dynq.h"
#include "qgemm.h"
#include "recurrent.h"

#include <math.h>

#define DQRNN_ROWS 64

typedef struct dqrnn_params {
    kiln_rnn rnn;                        /* attributes and sizes, as RECURRENT's */
    int64_t kqx, kqh;
    kiln_qgemv4_fn gemv;
    kiln_quantize_u8_fn quantize;
    const float *wscale, *rscale;        /* [dirs*G*H], constant data */
    int32_t *wsum, *rsum;                /* row sums [dirs*G*H] */
    int32_t *wpack, *rpack, *rhpack;     /* per direction [kqx][G*H], [kqh][G*H], [kqh][H] */
} dqrnn_params;

/* Packs rows [row0, row0 + n) of the [*, k] i8 matrix w into d[t*n + j] quads (k padded). */
static void pack_rows(const int8_t *w, int64_t k, int64_t row0, int64_t n, int64_t kq, int32_t *d) {
    for (int64_t t = 0; t < kq; t++)
        for (int64_t j = 0; j < n; j++) {
            const int8_t *wr = w + (row0 + j) * k;
            int32_t v[4];
            for (int u = 0; u < 4; u++) v[u] = 4 * t + u < k ? wr[4 * t + u] : 0;
            d[t * n + j] = kiln_qquad(v[0], v[1], v[2], v[3]);
        }
}

KILN_SMALL_CODE static kiln_status check_dqrnn(kiln_check *c) {
    kiln_rnn q;
    kiln_status st = kiln_rnn_read_attrs(c, &q, 65536);
    if (st != KILN_OK) return st;
    int lstm = q.kind == KILN_LSTM, nin = lstm ? 10 : 8;
    if (c->ins->nin != (uint32_t)nin || c->ins->nout != (uint32_t)(lstm ? 4 : 3))
        return kiln_check_fail(c, "needs %d operands and %d results", nin, lstm ? 4 : 3);
    const kiln_tdesc *x = kiln_operand(c, KILN_RNN_X), *w = kiln_operand(c, KILN_RNN_W), *r = kiln_operand(c, KILN_RNN_R);
    const kiln_tdesc *ws = kiln_operand(c, nin - 2), *rs = kiln_operand(c, nin - 1);
    if ((st = kiln_require_dtype(c, x, "X", KILN_F32)) || (st = kiln_require_dtype(c, w, "W", KILN_I8)) ||
        (st = kiln_require_dtype(c, r, "R", KILN_I8)) || (st = kiln_require_dtype(c, ws, "w_scales", KILN_F32)) ||
        (st = kiln_require_dtype(c, rs, "r_scales", KILN_F32)))
        return st;
    if (x->rank != 3 || w->rank != 3 || r->rank != 3) return kiln_check_fail(c, "X, W and R must be rank 3");
    q.input = x->dims[2];
    q.batch = x->dims[q.layout ? 0 : 1];
    q.seq = x->dims[q.layout ? 1 : 0];
    int64_t G = q.gates, D = q.dirs, H = q.hidden, I = q.input, gh = G * H;
    if (I >= 65536) return kiln_check_fail(c, "input size must be below 65536");
    if (w->dims[0] != D || w->dims[1] != gh || w->dims[2] != I) return kiln_check_fail(c, "W must be [dirs, G*H, input]");
    if (r->dims[0] != D || r->dims[1] != gh || r->dims[2] != H) return kiln_check_fail(c, "R must be [dirs, G*H, H]");
    if (ws->count != (uint64_t)(D * gh) || rs->count != (uint64_t)(D * gh))
        return kiln_check_fail(c, "w_scales and r_scales must be f32 [dirs*G*H]");
    if ((st = kiln_rnn_check_io(c, &q))) return st;
    int64_t kqx = (I + 3) / 4, kqh = (H + 3) / 4;
    size_t ints = (size_t)(2 * D * gh + D * kqx * gh + D * kqh * gh + D * kqh * H);
    dqrnn_params *p = kiln_params_alloc(c, sizeof *p + sizeof(int32_t) * ints);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->rnn = q;
    p->kqx = kqx; p->kqh = kqh;
    p->gemv = kiln_qgemv4_vnni512();
    if (!p->gemv) p->gemv = kiln_qgemv4_portable;
    p->quantize = kiln_quantize_u8_select();
    p->wsum = (int32_t *)(p + 1);
    p->rsum = p->wsum + D * gh;
    p->wpack = p->rsum + D * gh;
    p->rpack = p->wpack + D * kqx * gh;
    p->rhpack = p->rpack + D * kqh * gh;
    const int8_t *wd = kiln_qconstant(c, w, "W"), *rd = kiln_qconstant(c, r, "R");
    p->wscale = kiln_qconstant(c, ws, "w_scales");
    p->rscale = kiln_qconstant(c, rs, "r_scales");
    if (!wd || !rd || !p->wscale || !p->rscale) return KILN_ERR_MALFORMED;
    for (int64_t j = 0; j < D * gh; j++) {
        if (!(p->wscale[j] > 0.0f && p->wscale[j] <= 3.402823466e38f && p->rscale[j] > 0.0f && p->rscale[j] <= 3.402823466e38f))
            return kiln_check_fail(c, "w_scales and r_scales must be positive and finite");
        int32_t sw = 0, sr = 0;
        for (int64_t k = 0; k < I; k++) sw += wd[j * I + k];
        for (int64_t k = 0; k < H; k++) sr += rd[j * H + k];
        p->wsum[j] = sw;
        p->rsum[j] = sr;
    }
    for (int64_t d = 0; d < D; d++) {
        pack_rows(wd, I, d * gh, gh, kqx, p->wpack + d * kqx * gh);
        pack_rows(rd, H, d * gh, gh, kqh, p->rpack + d * kqh * gh);
        pack_rows(rd, H, d * gh + 2 * H, q.kind == KILN_GRU ? H : 0, kqh, p->rhpack + d * kqh * H);
    }
    /* Per block of up to 64 rows: the ranges, the int32 products and the u8 rows (4*kq bytes). */
    kiln_need_workspace(c, (size_t)(3 * DQRNN_ROWS + DQRNN_ROWS * gh + DQRNN_ROWS * (kqx > kqh ? kqx : kqh)));
    return KILN_OK;
}


/* The int8 products of `rows` f32 rows x (k values, stride k) against n packed weight rows:
 * out[r*ldo + j] = fmaf(acc, scale * s[j], bias[j]) (the header's recipe). */
static void qproduct(const dqrnn_params *p, int64_t rows, const float *x, int64_t k, int64_t kq, const int32_t *pack,
                     const int32_t *sum, const float *s, const float *bias, int64_t n, float *out, int64_t ldo, float *ws) {
    dynq_range *rg = (dynq_range *)ws;
    int32_t *acc = (int32_t *)(rg + DQRNN_ROWS);
    uint8_t *q = (uint8_t *)(acc + DQRNN_ROWS * n);
    for (int64_t r0 = 0; r0 < rows; r0 += DQRNN_ROWS) {
        int64_t cnt = rows - r0 < DQRNN_ROWS ? rows - r0 : DQRNN_ROWS;
        for (int64_t r = 0; r < cnt; r++) {
            const float *xr = x + (r0 + r) * k;
            uint8_t *qr = q + r * 4 * kq;
            rg[r] = kiln_dynq_range_of(xr, k);
            if (rg[r].usable) p->quantize(xr, k, rg[r].scale, rg[r].zp, qr);
            else memset(qr, 0, (size_t)k);
            memset(qr + k, 0, (size_t)(4 * kq - k));
        }
        p->gemv(cnt, n, kq, q, pack, acc);
        for (int64_t r = 0; r < cnt; r++)
            for (int64_t j = 0; j < n; j++) {
                int32_t a = (int32_t)((uint32_t)acc[r * n + j] - (uint32_t)rg[r].zp * (uint32_t)sum[j]);
                out[(r0 + r) * ldo + j] = fmaf((float)a, rg[r].usable ? rg[r].scale * s[j] : 0.0f, bias ? bias[j] : 0.0f);
            }
    }
}

static void run_direction(const kiln_exec *e, const kiln_instr *ins, const dqrnn_params *p, int64_t d, float *scratch) {
    const kiln_rnn *q = &p->rnn;
    int64_t H = q->hidden, gh = q->gates * H, Bt = q->batch, S = q->seq;
    int lstm = q->kind == KILN_LSTM, reverse = q->dir == KILN_REVERSE || d == 1;
    const float *x = KILN_IN(e, ins, KILN_RNN_X), *bias = kiln_rnn_opt_in(e, ins, KILN_RNN_B);
    const float *h0 = kiln_rnn_opt_in(e, ins, KILN_RNN_H0);
    const int32_t *lens = (const int32_t *)kiln_rnn_opt_in(e, ins, KILN_RNN_LENS);
    const float *c0 = lstm ? kiln_rnn_opt_in(e, ins, KILN_RNN_C0) : NULL;
    const float *peep = lstm ? kiln_rnn_opt_in(e, ins, KILN_RNN_P) : NULL;
    float *y = kiln_rnn_opt_out(e, ins, 0), *yh = kiln_rnn_opt_out(e, ins, 1), *yc = lstm ? kiln_rnn_opt_out(e, ins, 2) : NULL;
    float *xw = scratch, *hr = xw + S * Bt * gh, *hs = hr + Bt * gh, *cs = hs + Bt * H, *rh = cs + Bt * H, *hrh = rh + Bt * H;
    const float *wb = bias ? bias + d * 2 * gh : NULL, *rb = bias ? bias + d * 2 * gh + gh : NULL;
    const float *ws = p->wscale + d * gh, *rs = p->rscale + d * gh;
    const int32_t *wsum = p->wsum + d * gh, *rsum = p->rsum + d * gh;
    const int32_t *rpack = p->rpack + d * p->kqh * gh, *rhpack = p->rhpack + d * p->kqh * H;
    if (peep) peep += d * 3 * H;
    /* 1. input gates of every step */
    qproduct(p, S * Bt, x, q->input, p->kqx, p->wpack + d * p->kqx * gh, wsum, ws, wb, gh, xw, gh, e->workspace);
    /* 2. initial state, zeros past each length */
    for (int64_t b = 0; b < Bt; b++)
        for (int64_t k = 0; k < H; k++) {
            hs[b * H + k] = h0 ? h0[kiln_rnn_state_at(q, d, b) + k] : 0.0f;
            cs[b * H + k] = c0 ? c0[kiln_rnn_state_at(q, d, b) + k] : 0.0f;
        }
    if (y)
        for (int64_t b = 0; b < Bt; b++)
            for (int64_t t = kiln_rnn_length(q, lens, b); t < S; t++)
                memset(y + kiln_rnn_y_at(q, t, d, b), 0, sizeof(float) * (size_t)H);
    /* 3. the steps (rows past their length are computed and ignored) */
    for (int64_t s = 0; s < S; s++) {
        qproduct(p, Bt, hs, H, p->kqh, rpack, rsum, rs, rb, gh, hr, gh, e->workspace);
        if (q->kind == KILN_GRU && !q->lbr) {
            for (int64_t b = 0; b < Bt; b++) {
                int64_t len = kiln_rnn_length(q, lens, b), t = reverse ? len - 1 - s : s;
                if (s >= len) { memset(rh + b * H, 0, sizeof(float) * (size_t)H); continue; }
                const float *xr = xw + kiln_rnn_x_row(q, t, b) * gh;
                for (int64_t k = 0; k < H; k++) rh[b * H + k] = xr[H + k] + hr[b * gh + H + k];
                kiln_rnn_clip(q, rh + b * H, H);
                kiln_rnn_act(&q->act[d * q->nact], rh + b * H, H);
                for (int64_t k = 0; k < H; k++) rh[b * H + k] *= hs[b * H + k];
            }
            qproduct(p, Bt, rh, H, p->kqh, rhpack, rsum + 2 * H, rs + 2 * H, rb ? rb + 2 * H : NULL, H, hrh, H, e->workspace);
        }
        for (int64_t b = 0; b < Bt; b++) {
            int64_t len = kiln_rnn_length(q, lens, b), t = reverse ? len - 1 - s : s;
            if (s >= len) continue;
            /* the recurrent bias is already in hr (qproduct adds rb), so no separate rbh */
            kiln_rnn_cell(q, d, hr + b * gh, xw + kiln_rnn_x_row(q, t, b) * gh, hrh + b * H, NULL, peep, hs + b * H,
                          cs + b * H);
            if (y) memcpy(y + kiln_rnn_y_at(q, t, d, b), hs + b * H, sizeof(float) * (size_t)H);
        }
    }
    for (int64_t b = 0; b < Bt; b++) {
        if (yh) memcpy(yh + kiln_rnn_state_at(q, d, b), hs + b * H, sizeof(float) * (size_t)H);
        if (yc) memcpy(yc + kiln_rnn_state_at(q, d, b), cs + b * H, sizeof(float) * (size_t)H);
    }
}

static void run_dqrnn(const kiln_exec *e, const kiln_instr *ins) {
    const dqrnn_params *p = ins->params;
    float *scratch = KILN_OUT(e, ins, ins->nout - 1);
    for (int64_t d = 0; d < p->rnn.dirs; d++) run_direction(e, ins, p, d, scratch);
}

const kiln_kernel kiln_k_dyn_qrecurrent = {KILN_OP_DYN_QRECURRENT, "dyn_qrecurrent", 104, 8, 10, 3, 4, 0,
                                           check_dqrnn, run_dqrnn, 0};
