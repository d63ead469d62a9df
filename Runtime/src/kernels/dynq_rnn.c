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

#include <math.h>

#define DQRNN_ROWS 64

typedef struct dqrnn_params {
    int32_t kind, dir, layout, lbr, input_forget, has_clip, nact;
    float clip;
    int64_t hidden, seq, batch, input, gates, dirs, kqx, kqh;
    kiln_act act[6];
    kiln_qgemv4_fn gemv;
    kiln_quantize_u8_fn quantize;
    const float *wscale, *rscale;        /* [dirs*G*H], constant data */
    int32_t *wsum, *rsum;                /* row sums [dirs*G*H] */
    int32_t *wpack, *rpack, *rhpack;     /* per direction [kqx][G*H], [kqh][G*H], [kqh][H] */
} dqrnn_params;

enum { OP_X, OP_W, OP_R, OP_B, OP_LENS, OP_H0, OP_C0, OP_P };

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
    const uint8_t *a = c->attr;
    int32_t kind = kiln_rdi32(a), dir = kiln_rdi32(a + 4), hidden = kiln_rdi32(a + 8), layout = kiln_rdi32(a + 12);
    if (kind < 0 || kind > 2 || dir < 0 || dir > 2 || hidden < 1 || hidden >= 65536 || (layout != 0 && layout != 1))
        return kiln_check_fail(c, "invalid kind, direction, hidden size or layout");
    int lstm = kind == KILN_LSTM, nin = lstm ? 10 : 8;
    if (c->ins->nin != (uint32_t)nin || c->ins->nout != (uint32_t)(lstm ? 4 : 3))
        return kiln_check_fail(c, "needs %d operands and %d results", nin, lstm ? 4 : 3);
    const kiln_tdesc *x = kiln_operand(c, OP_X), *w = kiln_operand(c, OP_W), *r = kiln_operand(c, OP_R);
    const kiln_tdesc *ws = kiln_operand(c, nin - 2), *rs = kiln_operand(c, nin - 1);
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "X", KILN_F32)) || (st = kiln_require_dtype(c, w, "W", KILN_I8)) ||
        (st = kiln_require_dtype(c, r, "R", KILN_I8)) || (st = kiln_require_dtype(c, ws, "w_scales", KILN_F32)) ||
        (st = kiln_require_dtype(c, rs, "r_scales", KILN_F32)))
        return st;
    if (x->rank != 3 || w->rank != 3 || r->rank != 3) return kiln_check_fail(c, "X, W and R must be rank 3");
    int64_t G = kind == KILN_RNN ? 1 : (kind == KILN_GRU ? 3 : 4), D = dir == KILN_BIDIRECTIONAL ? 2 : 1, H = hidden;
    int64_t I = x->dims[2], gh = G * H, Bt = x->dims[layout ? 0 : 1], S = x->dims[layout ? 1 : 0];
    if (I >= 65536) return kiln_check_fail(c, "input size must be below 65536");
    if (!kiln_rnn_sizes_ok(S, D, Bt, H, gh)) return kiln_check_fail(c, "sequence, batch and hidden sizes are too large");
    if (w->dims[0] != D || w->dims[1] != gh || w->dims[2] != I) return kiln_check_fail(c, "W must be [dirs, G*H, input]");
    if (r->dims[0] != D || r->dims[1] != gh || r->dims[2] != H) return kiln_check_fail(c, "R must be [dirs, G*H, H]");
    if (ws->count != (uint64_t)(D * gh) || rs->count != (uint64_t)(D * gh))
        return kiln_check_fail(c, "w_scales and r_scales must be f32 [dirs*G*H]");
    if (kiln_rdi32(a + 24) != 0 && !(kiln_rdf32(a + 28) >= 0.0f)) return kiln_check_fail(c, "clip must be >= 0");
    for (int k = 0; k < (kind == KILN_RNN ? 1 : (kind == KILN_GRU ? 2 : 3)) * D; k++)
        if (!kiln_unary_valid_on_f32(kiln_rdi32(a + 32 + 4 * k))) return kiln_check_fail(c, "activation slot %d has an invalid function", k);
    const kiln_tdesc *b = kiln_operand(c, OP_B), *lens = kiln_operand(c, OP_LENS), *h0 = kiln_operand(c, OP_H0);
    if (b && (b->dtype != KILN_F32 || b->count != (uint64_t)(D * 2 * gh))) return kiln_check_fail(c, "B must be f32 [dirs, 2*G*H]");
    if (lens && (lens->dtype != KILN_I32 || lens->count != (uint64_t)Bt)) return kiln_check_fail(c, "sequence_lens must be i32 [batch]");
    uint64_t state = (uint64_t)(D * Bt * H);
    if (h0 && (h0->dtype != KILN_F32 || h0->count != state)) return kiln_check_fail(c, "initial_h has the wrong size");
    if (lstm) {
        const kiln_tdesc *c0 = kiln_operand(c, OP_C0), *pp = kiln_operand(c, OP_P);
        if (c0 && (c0->dtype != KILN_F32 || c0->count != state)) return kiln_check_fail(c, "initial_c has the wrong size");
        if (pp && (pp->dtype != KILN_F32 || pp->count != (uint64_t)(D * 3 * H))) return kiln_check_fail(c, "P must be f32 [dirs, 3H]");
    }
    const kiln_tdesc *y = kiln_result(c, 0), *yh = kiln_result(c, 1), *yc = lstm ? kiln_result(c, 2) : NULL;
    const kiln_tdesc *scratch = kiln_result(c, lstm ? 3 : 2);
    if (y && (y->dtype != KILN_F32 || y->count != (uint64_t)(S * D * Bt * H))) return kiln_check_fail(c, "Y has the wrong size");
    if (yh && (yh->dtype != KILN_F32 || yh->count != state)) return kiln_check_fail(c, "Y_h has the wrong size");
    if (yc && (yc->dtype != KILN_F32 || yc->count != state)) return kiln_check_fail(c, "Y_c has the wrong size");
    if ((st = kiln_require_dtype(c, scratch, "scratch", KILN_F32))) return st;
    if (scratch->count < (uint64_t)(S * Bt * gh + Bt * gh + 4 * Bt * H))
        return kiln_check_fail(c, "scratch needs %llu f32 elements", (unsigned long long)(S * Bt * gh + Bt * gh + 4 * Bt * H));
    int64_t kqx = (I + 3) / 4, kqh = (H + 3) / 4;
    size_t ints = (size_t)(2 * D * gh + D * kqx * gh + D * kqh * gh + D * kqh * H);
    dqrnn_params *p = kiln_params_alloc(c, sizeof *p + sizeof(int32_t) * ints);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->kind = kind; p->dir = dir; p->layout = layout; p->hidden = H; p->seq = S; p->batch = Bt; p->input = I;
    p->lbr = kiln_rdi32(a + 16) != 0; p->input_forget = kiln_rdi32(a + 20) != 0; p->has_clip = kiln_rdi32(a + 24) != 0;
    p->clip = kiln_rdf32(a + 28);
    p->nact = kind == KILN_RNN ? 1 : (kind == KILN_GRU ? 2 : 3);
    p->gates = G; p->dirs = D; p->kqx = kqx; p->kqh = kqh;
    for (int k = 0; k < 6; k++) {
        p->act[k].func = kiln_rdi32(a + 32 + 4 * k);
        p->act[k].alpha = kiln_rdf32(a + 56 + 4 * k);
        p->act[k].beta = kiln_rdf32(a + 80 + 4 * k);
    }
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
        pack_rows(rd, H, d * gh + 2 * H, kind == KILN_GRU ? H : 0, kqh, p->rhpack + d * kqh * H);
    }
    /* Per block of up to 64 rows: the ranges, the int32 products and the u8 rows (4*kq bytes). */
    kiln_need_workspace(c, (size_t)(3 * DQRNN_ROWS + DQRNN_ROWS * gh + DQRNN_ROWS * (kqx > kqh ? kqx : kqh)));
    return KILN_OK;
}

static const float *opt_in(const kiln_exec *e, const kiln_instr *ins, int k) {
    return ins->ids[k] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, k);
}
static float *opt_out(const kiln_exec *e, const kiln_instr *ins, int k) {
    return ins->ids[ins->nin + k] == KILN_NO_TENSOR ? NULL : KILN_OUT(e, ins, k);
}
static void clip_vec(const dqrnn_params *p, float *v, int64_t n) {
    if (!p->has_clip) return;
    for (int64_t i = 0; i < n; i++) v[i] = v[i] < -p->clip ? -p->clip : (v[i] > p->clip ? p->clip : v[i]);
}
static void act_vec(const kiln_act *a, float *v, int64_t n) { kiln_unary_f32(a->func, a->alpha, a->beta, v, v, (size_t)n); }

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

static int64_t state_at(const dqrnn_params *p, int64_t d, int64_t b) {
    return (p->layout ? b * p->dirs + d : d * p->batch + b) * p->hidden;
}
static int64_t y_at(const dqrnn_params *p, int64_t t, int64_t d, int64_t b) {
    return (p->layout ? (b * p->seq + t) * p->dirs + d : (t * p->dirs + d) * p->batch + b) * p->hidden;
}
static int64_t x_row(const dqrnn_params *p, int64_t t, int64_t b) { return p->layout ? b * p->seq + t : t * p->batch + b; }

/* The cell update of batch row b from gate = gh + gx (RECURRENT's equations). */
static void cell(const dqrnn_params *p, int64_t d, float *gate, const float *xr, const float *hrh, const float *peep, float *h,
                 float *cst) {
    int64_t H = p->hidden, gh = p->gates * H;
    const kiln_act *f = &p->act[d * p->nact], *g = f + 1, *hact = f + 2;
    if (p->kind == KILN_RNN) {
        for (int64_t k = 0; k < H; k++) gate[k] += xr[k];
        clip_vec(p, gate, H);
        act_vec(f, gate, H);
        memcpy(h, gate, sizeof(float) * (size_t)H);
    } else if (p->kind == KILN_GRU) {
        float *z = gate, *hh = gate + 2 * H;
        for (int64_t k = 0; k < 2 * H; k++) gate[k] += xr[k];
        clip_vec(p, z, 2 * H);
        act_vec(f, z, 2 * H);
        for (int64_t k = 0; k < H; k++) hh[k] = xr[2 * H + k] + (p->lbr ? gate[H + k] * hh[k] : hrh[k]);
        clip_vec(p, hh, H);
        act_vec(g, hh, H);
        for (int64_t k = 0; k < H; k++) h[k] = (1.0f - z[k]) * hh[k] + z[k] * h[k];
    } else {
        float *gi = gate, *go = gate + H, *gf = gate + 2 * H, *gc = gate + 3 * H;
        for (int64_t k = 0; k < gh; k++) gate[k] += xr[k];
        if (peep)
            for (int64_t k = 0; k < H; k++) { gi[k] += peep[k] * cst[k]; gf[k] += peep[2 * H + k] * cst[k]; }
        clip_vec(p, gi, H);
        clip_vec(p, gf, 2 * H);
        act_vec(f, gi, H);
        if (p->input_forget) for (int64_t k = 0; k < H; k++) gf[k] = 1.0f - gi[k];
        else act_vec(f, gf, H);
        act_vec(g, gc, H);
        for (int64_t k = 0; k < H; k++) cst[k] = gf[k] * cst[k] + gi[k] * gc[k];
        if (peep) for (int64_t k = 0; k < H; k++) go[k] += peep[H + k] * cst[k];
        clip_vec(p, go, H);
        act_vec(f, go, H);
        memcpy(h, cst, sizeof(float) * (size_t)H);
        act_vec(hact, h, H);
        for (int64_t k = 0; k < H; k++) h[k] *= go[k];
    }
}

static int64_t length_of(const dqrnn_params *p, const int32_t *lens, int64_t b) {
    int64_t len = lens ? (lens[b] < 0 ? 0 : lens[b]) : p->seq;
    return len > p->seq ? p->seq : len;
}

static void run_direction(const kiln_exec *e, const kiln_instr *ins, const dqrnn_params *p, int64_t d, float *scratch) {
    int64_t H = p->hidden, gh = p->gates * H, Bt = p->batch, S = p->seq;
    int lstm = p->kind == KILN_LSTM, reverse = p->dir == KILN_REVERSE || d == 1;
    const float *x = KILN_IN(e, ins, OP_X), *bias = opt_in(e, ins, OP_B), *h0 = opt_in(e, ins, OP_H0);
    const int32_t *lens = (const int32_t *)opt_in(e, ins, OP_LENS);
    const float *c0 = lstm ? opt_in(e, ins, OP_C0) : NULL, *peep = lstm ? opt_in(e, ins, OP_P) : NULL;
    float *y = opt_out(e, ins, 0), *yh = opt_out(e, ins, 1), *yc = lstm ? opt_out(e, ins, 2) : NULL;
    float *xw = scratch, *hr = xw + S * Bt * gh, *hs = hr + Bt * gh, *cs = hs + Bt * H, *rh = cs + Bt * H, *hrh = rh + Bt * H;
    const float *wb = bias ? bias + d * 2 * gh : NULL, *rb = bias ? bias + d * 2 * gh + gh : NULL;
    const float *ws = p->wscale + d * gh, *rs = p->rscale + d * gh;
    const int32_t *wsum = p->wsum + d * gh, *rsum = p->rsum + d * gh;
    const int32_t *rpack = p->rpack + d * p->kqh * gh, *rhpack = p->rhpack + d * p->kqh * H;
    if (peep) peep += d * 3 * H;
    /* 1. input gates of every step */
    qproduct(p, S * Bt, x, p->input, p->kqx, p->wpack + d * p->kqx * gh, wsum, ws, wb, gh, xw, gh, e->workspace);
    /* 2. initial state, zeros past each length */
    for (int64_t b = 0; b < Bt; b++)
        for (int64_t k = 0; k < H; k++) {
            hs[b * H + k] = h0 ? h0[state_at(p, d, b) + k] : 0.0f;
            cs[b * H + k] = c0 ? c0[state_at(p, d, b) + k] : 0.0f;
        }
    if (y)
        for (int64_t b = 0; b < Bt; b++)
            for (int64_t t = length_of(p, lens, b); t < S; t++) memset(y + y_at(p, t, d, b), 0, sizeof(float) * (size_t)H);
    /* 3. the steps (rows past their length are computed and ignored) */
    for (int64_t s = 0; s < S; s++) {
        qproduct(p, Bt, hs, H, p->kqh, rpack, rsum, rs, rb, gh, hr, gh, e->workspace);
        if (p->kind == KILN_GRU && !p->lbr) {
            for (int64_t b = 0; b < Bt; b++) {
                int64_t len = length_of(p, lens, b), t = reverse ? len - 1 - s : s;
                if (s >= len) { memset(rh + b * H, 0, sizeof(float) * (size_t)H); continue; }
                const float *xr = xw + x_row(p, t, b) * gh;
                for (int64_t k = 0; k < H; k++) rh[b * H + k] = xr[H + k] + hr[b * gh + H + k];
                clip_vec(p, rh + b * H, H);
                act_vec(&p->act[d * p->nact], rh + b * H, H);
                for (int64_t k = 0; k < H; k++) rh[b * H + k] *= hs[b * H + k];
            }
            qproduct(p, Bt, rh, H, p->kqh, rhpack, rsum + 2 * H, rs + 2 * H, rb ? rb + 2 * H : NULL, H, hrh, H, e->workspace);
        }
        for (int64_t b = 0; b < Bt; b++) {
            int64_t len = length_of(p, lens, b), t = reverse ? len - 1 - s : s;
            if (s >= len) continue;
            cell(p, d, hr + b * gh, xw + x_row(p, t, b) * gh, hrh + b * H, peep, hs + b * H, cs + b * H);
            if (y) memcpy(y + y_at(p, t, d, b), hs + b * H, sizeof(float) * (size_t)H);
        }
    }
    for (int64_t b = 0; b < Bt; b++) {
        if (yh) memcpy(yh + state_at(p, d, b), hs + b * H, sizeof(float) * (size_t)H);
        if (yc) memcpy(yc + state_at(p, d, b), cs + b * H, sizeof(float) * (size_t)H);
    }
}

static void run_dqrnn(const kiln_exec *e, const kiln_instr *ins) {
    const dqrnn_params *p = ins->params;
    float *scratch = KILN_OUT(e, ins, ins->nout - 1);
    for (int64_t d = 0; d < p->dirs; d++) run_direction(e, ins, p, d, scratch);
}

const kiln_kernel kiln_k_dyn_qrecurrent = {KILN_OP_DYN_QRECURRENT, "dyn_qrecurrent", 104, 8, 10, 3, 4, 0,
                                           check_dqrnn, run_dqrnn, 0};
