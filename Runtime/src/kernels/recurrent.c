/* recurrent.c — RECURRENT: ONNX RNN, GRU and LSTM (forward, reverse, bidirectional).
 *
 * Attributes (104 bytes): i32 kind (0 rnn, 1 gru, 2 lstm), i32 direction (0 forward,
 * 1 reverse, 2 bidirectional), i32 hidden_size, i32 layout (0: [seq, batch, ...],
 * 1: batch first), i32 linear_before_reset (GRU), i32 input_forget (LSTM), i32 has_clip,
 * f32 clip, then 6 activation slots {i32 func[6], f32 alpha[6], f32 beta[6]} (unary
 * function codes); direction d uses slots d*n .. d*n+n-1 with n = 1 (RNN), 2 (GRU: f, g)
 * or 3 (LSTM: f, g, h).
 * Operands: X f32, W f32 [dirs, G*H, I], R f32 [dirs, G*H, H], and optional (absent id
 * allowed): B f32 [dirs, 2*G*H], sequence_lens i32 [batch], initial_h f32, then for LSTM
 * initial_c f32 and P f32 [dirs, 3H]. G = 1 / 3 / 4, gate order as ONNX (GRU z r h, LSTM
 * i o f c, peepholes i o f).
 * Results: Y, Y_h, (LSTM) Y_c — each may be absent — and a scratch f32 tensor of at least
 * seq*batch*G*H + batch*G*H + 4*batch*H elements.
 * Algorithm, per direction: one GEMM projects every time step of X (X rows times W^T),
 * with both biases folded in (except GRU's recurrent h bias under linear_before_reset);
 * then each step runs one GEMM of the hidden state times R^T (GRU without
 * linear_before_reset does the h gate as a second GEMM on r*H), the gate math per batch
 * row, and writes Y. Rows past their sequence length keep their state and write zeros. */
#include "recurrent.h"

typedef kiln_rnn rnn_params;

kiln_status kiln_rnn_read_attrs(kiln_check *c, kiln_rnn *p, int64_t max_hidden) {
    const uint8_t *a = c->attr;
    p->kind = kiln_rdi32(a); p->dir = kiln_rdi32(a + 4); p->hidden = kiln_rdi32(a + 8); p->layout = kiln_rdi32(a + 12);
    p->lbr = kiln_rdi32(a + 16) != 0; p->input_forget = kiln_rdi32(a + 20) != 0; p->has_clip = kiln_rdi32(a + 24) != 0;
    p->clip = kiln_rdf32(a + 28);
    if (p->kind < 0 || p->kind > 2 || p->dir < 0 || p->dir > 2 || p->hidden < 1 || p->hidden >= max_hidden ||
        (p->layout != 0 && p->layout != 1))
        return kiln_check_fail(c, "invalid kind, direction, hidden size or layout");
    if (p->has_clip && !(p->clip >= 0.0f)) return kiln_check_fail(c, "clip must be >= 0");
    p->nact = p->kind == KILN_RNN ? 1 : (p->kind == KILN_GRU ? 2 : 3);
    p->gates = p->kind == KILN_RNN ? 1 : (p->kind == KILN_GRU ? 3 : 4);
    p->dirs = p->dir == KILN_BIDIRECTIONAL ? 2 : 1;
    for (int k = 0; k < 6; k++) {
        p->act[k].func = kiln_rdi32(a + 32 + 4 * k);
        p->act[k].alpha = kiln_rdf32(a + 56 + 4 * k);
        p->act[k].beta = kiln_rdf32(a + 80 + 4 * k);
        if (k < p->nact * p->dirs && !kiln_unary_valid_on_f32(p->act[k].func))
            return kiln_check_fail(c, "activation slot %d has an invalid function", k);
    }
    return KILN_OK;
}

kiln_status kiln_rnn_check_io(kiln_check *c, const kiln_rnn *p) {
    int64_t gh = p->gates * p->hidden, H = p->hidden, D = p->dirs, Bt = p->batch, S = p->seq;
    int lstm = p->kind == KILN_LSTM;
    if (!kiln_rnn_sizes_ok(S, D, Bt, H, gh)) return kiln_check_fail(c, "sequence, batch and hidden sizes are too large");
    const kiln_tdesc *b = kiln_operand(c, KILN_RNN_B), *lens = kiln_operand(c, KILN_RNN_LENS);
    const kiln_tdesc *h0 = kiln_operand(c, KILN_RNN_H0);
    if (b && (b->dtype != KILN_F32 || b->count != (uint64_t)(D * 2 * gh))) return kiln_check_fail(c, "B must be f32 [dirs, 2*G*H]");
    if (lens && (lens->dtype != KILN_I32 || lens->count != (uint64_t)Bt)) return kiln_check_fail(c, "sequence_lens must be i32 [batch]");
    uint64_t state = (uint64_t)(D * Bt * H);
    if (h0 && (h0->dtype != KILN_F32 || h0->count != state)) return kiln_check_fail(c, "initial_h has the wrong size");
    if (lstm) {
        const kiln_tdesc *c0 = kiln_operand(c, KILN_RNN_C0), *pp = kiln_operand(c, KILN_RNN_P);
        if (c0 && (c0->dtype != KILN_F32 || c0->count != state)) return kiln_check_fail(c, "initial_c has the wrong size");
        if (pp && (pp->dtype != KILN_F32 || pp->count != (uint64_t)(D * 3 * H))) return kiln_check_fail(c, "P must be f32 [dirs, 3H]");
    }
    const kiln_tdesc *y = kiln_result(c, 0), *yh = kiln_result(c, 1), *yc = lstm ? kiln_result(c, 2) : NULL;
    const kiln_tdesc *scratch = kiln_result(c, lstm ? 3 : 2);
    if (y && (y->dtype != KILN_F32 || y->count != (uint64_t)(S * D * Bt * H))) return kiln_check_fail(c, "Y has the wrong size");
    if (yh && (yh->dtype != KILN_F32 || yh->count != state)) return kiln_check_fail(c, "Y_h has the wrong size");
    if (yc && (yc->dtype != KILN_F32 || yc->count != state)) return kiln_check_fail(c, "Y_c has the wrong size");
    uint64_t need = (uint64_t)(S * Bt * gh + Bt * gh + 4 * Bt * H);
    kiln_status st;
    if ((st = kiln_require_dtype(c, scratch, "scratch", KILN_F32))) return st;
    if (scratch->count < need) return kiln_check_fail(c, "scratch needs %llu f32 elements", (unsigned long long)need);
    return KILN_OK;
}

void kiln_rnn_clip(const kiln_rnn *p, float *v, int64_t n) {
    if (!p->has_clip) return;
    for (int64_t i = 0; i < n; i++) v[i] = v[i] < -p->clip ? -p->clip : (v[i] > p->clip ? p->clip : v[i]);
}

void kiln_rnn_cell(const kiln_rnn *p, int64_t d, float *gate, const float *xr, const float *hrh, const float *rbh,
                   const float *peep, float *h, float *cst) {
    int64_t H = p->hidden, gh = p->gates * H;
    const kiln_act *f = &p->act[d * p->nact], *g = f + 1, *hact = f + 2;
    if (p->kind == KILN_RNN) {
        for (int64_t k = 0; k < H; k++) gate[k] += xr[k];
        kiln_rnn_clip(p, gate, H);
        kiln_rnn_act(f, gate, H);
        memcpy(h, gate, sizeof(float) * (size_t)H);
    } else if (p->kind == KILN_GRU) {
        float *z = gate, *rr = gate + H, *hh = gate + 2 * H;
        for (int64_t k = 0; k < 2 * H; k++) gate[k] += xr[k];
        kiln_rnn_clip(p, z, 2 * H);
        kiln_rnn_act(f, z, 2 * H);
        if (p->lbr) {
            for (int64_t k = 0; k < H; k++) hh[k] = xr[2 * H + k] + rr[k] * (rbh ? hh[k] + rbh[k] : hh[k]);
        } else {
            for (int64_t k = 0; k < H; k++) hh[k] = xr[2 * H + k] + hrh[k];
        }
        kiln_rnn_clip(p, hh, H);
        kiln_rnn_act(g, hh, H);
        for (int64_t k = 0; k < H; k++) h[k] = (1.0f - z[k]) * hh[k] + z[k] * h[k];
    } else {
        float *gi = gate, *go = gate + H, *gf = gate + 2 * H, *gc = gate + 3 * H;
        for (int64_t k = 0; k < gh; k++) gate[k] += xr[k];
        if (peep)
            for (int64_t k = 0; k < H; k++) { gi[k] += peep[k] * cst[k]; gf[k] += peep[2 * H + k] * cst[k]; }
        kiln_rnn_clip(p, gi, H);
        kiln_rnn_clip(p, gf, 2 * H);
        kiln_rnn_act(f, gi, H);
        if (p->input_forget) for (int64_t k = 0; k < H; k++) gf[k] = 1.0f - gi[k];
        else kiln_rnn_act(f, gf, H);
        kiln_rnn_act(g, gc, H);
        for (int64_t k = 0; k < H; k++) cst[k] = gf[k] * cst[k] + gi[k] * gc[k];
        if (peep) for (int64_t k = 0; k < H; k++) go[k] += peep[H + k] * cst[k];
        kiln_rnn_clip(p, go, H);
        kiln_rnn_act(f, go, H);
        memcpy(h, cst, sizeof(float) * (size_t)H);
        kiln_rnn_act(hact, h, H);
        for (int64_t k = 0; k < H; k++) h[k] *= go[k];
    }
}

KILN_SMALL_CODE static kiln_status check_rnn(kiln_check *c) {
    rnn_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st = kiln_rnn_read_attrs(c, p, (int64_t)1 << 31);
    if (st != KILN_OK) return st;
    int lstm = p->kind == KILN_LSTM;
    if (c->ins->nin != (lstm ? 8 : 6) || c->ins->nout != (lstm ? 4 : 3))
        return kiln_check_fail(c, "needs %d operands and %d results", lstm ? 8 : 6, lstm ? 4 : 3);
    const kiln_tdesc *x = kiln_operand(c, KILN_RNN_X), *w = kiln_operand(c, KILN_RNN_W), *r = kiln_operand(c, KILN_RNN_R);
    if ((st = kiln_require_dtype(c, x, "X", KILN_F32)) || (st = kiln_require_dtype(c, w, "W", KILN_F32)) ||
        (st = kiln_require_dtype(c, r, "R", KILN_F32)))
        return st;
    if (x->rank != 3 || w->rank != 3 || r->rank != 3) return kiln_check_fail(c, "X, W and R must be rank 3");
    p->seq = x->dims[p->layout ? 1 : 0];
    p->batch = x->dims[p->layout ? 0 : 1];
    p->input = x->dims[2];
    int64_t gh = p->gates * p->hidden, H = p->hidden, D = p->dirs;
    if (w->dims[0] != D || w->dims[1] != gh || w->dims[2] != p->input) return kiln_check_fail(c, "W must be [dirs, G*H, input]");
    if (r->dims[0] != D || r->dims[1] != gh || r->dims[2] != H) return kiln_check_fail(c, "R must be [dirs, G*H, H]");
    if ((st = kiln_rnn_check_io(c, p))) return st;
    return kiln_check_gemm_dims(c, p->seq * p->batch, gh, p->input > H ? p->input : H);
}

/* hidden-state product C = A * B^T (at small batch kiln_sgemm takes gemm_small.c's
 * path: no repacking of R every step). */
static void state_product(const kiln_exec *e, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                          const float *b, int64_t ldb, float *c, int64_t ldc) {
    kiln_sgemm(e, 0, 1, (size_t)m, (size_t)n, (size_t)k, 1.0f, a, (size_t)lda, b, (size_t)ldb, 0.0f, c, (size_t)ldc);
}

static void run_direction(const kiln_exec *e, const kiln_instr *ins, const rnn_params *p, int64_t d, float *scratch) {
    int64_t H = p->hidden, G = p->gates, gh = G * H, Bt = p->batch, S = p->seq;
    int lstm = p->kind == KILN_LSTM, gru = p->kind == KILN_GRU, reverse = p->dir == KILN_REVERSE || d == 1;
    const float *x = KILN_IN(e, ins, KILN_RNN_X), *w = (const float *)KILN_IN(e, ins, KILN_RNN_W) + d * gh * p->input;
    const float *r = (const float *)KILN_IN(e, ins, KILN_RNN_R) + d * gh * H;
    const float *bias = kiln_rnn_opt_in(e, ins, KILN_RNN_B), *h0 = kiln_rnn_opt_in(e, ins, KILN_RNN_H0);
    const int32_t *lens = (const int32_t *)kiln_rnn_opt_in(e, ins, KILN_RNN_LENS);
    const float *c0 = lstm ? kiln_rnn_opt_in(e, ins, KILN_RNN_C0) : NULL;
    const float *peep = lstm ? kiln_rnn_opt_in(e, ins, KILN_RNN_P) : NULL;
    float *y = kiln_rnn_opt_out(e, ins, 0), *yh = kiln_rnn_opt_out(e, ins, 1), *yc = lstm ? kiln_rnn_opt_out(e, ins, 2) : NULL;
    const kiln_act *f = &p->act[d * p->nact];
    float *xw = scratch, *hr = xw + S * Bt * gh, *hs = hr + Bt * gh, *cs = hs + Bt * H, *rh = cs + Bt * H, *hrh = rh + Bt * H;
    if (bias) bias += d * 2 * gh;
    if (peep) peep += d * 3 * H;
    const float *rbh = bias && gru && p->lbr ? bias + gh + 2 * H : NULL;

    /* 1. input projection for every step, with the biases folded in */
    kiln_sgemm(e, 0, 1, (size_t)(S * Bt), (size_t)gh, (size_t)p->input, 1.0f, x, (size_t)p->input, w, (size_t)p->input, 0.0f,
               xw, (size_t)gh);
    if (bias)
        for (int64_t row = 0; row < S * Bt; row++)
            for (int64_t k = 0; k < gh; k++)
                xw[row * gh + k] += bias[k] + ((gru && p->lbr && k >= 2 * H) ? 0.0f : bias[gh + k]);
    /* 2. initial state, zeros past each length */
    for (int64_t b = 0; b < Bt; b++)
        for (int64_t k = 0; k < H; k++) {
            hs[b * H + k] = h0 ? h0[kiln_rnn_state_at(p, d, b) + k] : 0.0f;
            cs[b * H + k] = c0 ? c0[kiln_rnn_state_at(p, d, b) + k] : 0.0f;
        }
    if (y)
        for (int64_t b = 0; b < Bt; b++)
            for (int64_t t = kiln_rnn_length(p, lens, b); t < S; t++)
                memset(y + kiln_rnn_y_at(p, t, d, b), 0, sizeof(float) * (size_t)H);
    /* 3. the steps */
    for (int64_t s = 0; s < S; s++) {
        int64_t ncols = gru && !p->lbr ? 2 * H : gh;
        state_product(e, Bt, ncols, H, hs, H, r, H, hr, gh);
        if (gru && !p->lbr) {
            for (int64_t b = 0; b < Bt; b++) {
                int64_t len = kiln_rnn_length(p, lens, b), t = reverse ? len - 1 - s : s;
                if (s >= len) { memset(rh + b * H, 0, sizeof(float) * (size_t)H); continue; }
                const float *xr = xw + kiln_rnn_x_row(p, t, b) * gh;
                for (int64_t k = 0; k < H; k++) rh[b * H + k] = xr[H + k] + hr[b * gh + H + k]; /* pre-activation r */
                kiln_rnn_clip(p, rh + b * H, H);
                kiln_rnn_act(f, rh + b * H, H);
                for (int64_t k = 0; k < H; k++) rh[b * H + k] *= hs[b * H + k];
            }
            state_product(e, Bt, H, H, rh, H, r + 2 * H * H, H, hrh, H);
        }
        for (int64_t b = 0; b < Bt; b++) {
            int64_t len = kiln_rnn_length(p, lens, b), t = reverse ? len - 1 - s : s;
            if (s >= len) continue;
            kiln_rnn_cell(p, d, hr + b * gh, xw + kiln_rnn_x_row(p, t, b) * gh, hrh + b * H, rbh, peep, hs + b * H, cs + b * H);
            if (y) memcpy(y + kiln_rnn_y_at(p, t, d, b), hs + b * H, sizeof(float) * (size_t)H);
        }
    }
    for (int64_t b = 0; b < Bt; b++) {
        if (yh) memcpy(yh + kiln_rnn_state_at(p, d, b), hs + b * H, sizeof(float) * (size_t)H);
        if (yc) memcpy(yc + kiln_rnn_state_at(p, d, b), cs + b * H, sizeof(float) * (size_t)H);
    }
}

static void run_rnn(const kiln_exec *e, const kiln_instr *ins) {
    const rnn_params *p = ins->params;
    float *scratch = KILN_OUT(e, ins, ins->nout - 1);
    for (int64_t d = 0; d < p->dirs; d++) run_direction(e, ins, p, d, scratch);
}

const kiln_kernel kiln_k_recurrent = {KILN_OP_RECURRENT, "recurrent", 104, 6, 8, 3, 4, 0, check_rnn, run_rnn, 0};
