/* test_dynq_rnn.c — DYN_QRECURRENT (int8 W and R, rows quantized while running) against a
 * plain loop over its definition (PLAN_FORMAT.md, DYN_QRECURRENT): per direction, batch
 * entry and step, each product quantizes its row with the DYN_QGEMM recipe and sums
 * (q - zp) * w exactly; the gate math in f32 with libm sigmoid / tanh. LSTM (peepholes,
 * initial states, bidirectional, batch first), GRU (with and without linear_before_reset,
 * clip, reverse), RNN; sequence lengths (0, short, full), an all-zero row, more X rows than
 * one block; the portable product and the CPU's (VNNI when present). Then hostile
 * instructions the loader must refuse. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <math.h>

static uint32_t g_state = 4242;
static float frand(float lo, float hi) {
    g_state = g_state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(g_state >> 8) / 16777216.0f;
}

typedef struct qr_case {
    const char *name;
    int32_t kind, dir, layout, lbr, has_clip;
    float clip;
    int64_t S, B, I, H;
    int peep, bias, lens;
} qr_case;

static float ref_act(int32_t f, float v) {
    if (f == KILN_UNARY_SIGMOID) return 1.0f / (1.0f + expf(-v));
    if (f == KILN_UNARY_TANH) return tanhf(v);
    return v > 0 ? v : 0.0f; /* relu */
}

/* out[j] = fmaf(sum (q - zp) w[j], scale * s[j], bias[j]) for the row x (k values). */
static void ref_product(const float *x, int64_t k, const int8_t *w, const float *s, const float *bias, int64_t n, float *out) {
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < k; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; }
    float scale = (hi - lo) / 255.0f;
    int usable = scale > 0 && isfinite(scale);
    int32_t zp = 0;
    if (usable) { double z = nearbyint((double)(-lo / scale)); zp = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z); }
    for (int64_t j = 0; j < n; j++) {
        int64_t acc = 0;
        for (int64_t i = 0; i < k; i++) {
            double v = usable ? nearbyint((double)(x[i] / scale)) + zp : 0;
            int32_t q = (int32_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            acc += (int64_t)(q - zp) * w[j * k + i];
        }
        out[j] = fmaf((float)acc, usable ? scale * s[j] : 0.0f, bias ? bias[j] : 0.0f);
    }
}

static float ref_clip(const qr_case *c, float v) { return c->has_clip ? (v < -c->clip ? -c->clip : v > c->clip ? c->clip : v) : v; }

/* One step of batch row state h (and c) from the input row x. */
static void ref_step(const qr_case *c, int64_t d, const float *x, const int8_t *w, const int8_t *r, const float *ws,
                     const float *rs, const float *b, const float *p, const int32_t *acts, float *h, float *cs) {
    int64_t H = c->H, G = c->kind == KILN_RNN ? 1 : c->kind == KILN_GRU ? 3 : 4, gh = G * H;
    int32_t f = acts[0], g = acts[1], ha = acts[2];
    float gx[64], gr[64], rh[16], hrh[16];
    w += d * gh * c->I; r += d * gh * H; ws += d * gh; rs += d * gh;
    if (b) b += d * 2 * gh;
    if (p) p += d * 3 * H;
    ref_product(x, c->I, w, ws, b, gh, gx);
    ref_product(h, H, r, rs, b ? b + gh : NULL, gh, gr);
    if (c->kind == KILN_RNN) {
        for (int64_t j = 0; j < H; j++) h[j] = ref_act(f, ref_clip(c, gr[j] + gx[j]));
    } else if (c->kind == KILN_GRU) {
        float z[16], rr[16];
        for (int64_t j = 0; j < H; j++) {
            z[j] = ref_act(f, ref_clip(c, gr[j] + gx[j]));
            rr[j] = ref_act(f, ref_clip(c, gr[H + j] + gx[H + j]));
            rh[j] = rr[j] * h[j];
        }
        if (!c->lbr) ref_product(rh, H, r + 2 * H * H, rs + 2 * H, b ? b + gh + 2 * H : NULL, H, hrh);
        for (int64_t j = 0; j < H; j++) {
            float hh = ref_act(g, ref_clip(c, gx[2 * H + j] + (c->lbr ? rr[j] * gr[2 * H + j] : hrh[j])));
            h[j] = (1.0f - z[j]) * hh + z[j] * h[j];
        }
    } else {
        for (int64_t j = 0; j < H; j++) {
            float i = ref_act(f, ref_clip(c, gr[j] + gx[j] + (p ? p[j] * cs[j] : 0.0f)));
            float fg = ref_act(f, ref_clip(c, gr[2 * H + j] + gx[2 * H + j] + (p ? p[2 * H + j] * cs[j] : 0.0f)));
            float cc = ref_act(g, ref_clip(c, gr[3 * H + j] + gx[3 * H + j]));
            cs[j] = fg * cs[j] + i * cc;
            float o = ref_act(f, ref_clip(c, gr[H + j] + gx[H + j] + (p ? p[H + j] * cs[j] : 0.0f)));
            h[j] = o * ref_act(ha, cs[j]);
        }
    }
}

static void qr_run(const qr_case *c) {
    int lstm = c->kind == KILN_LSTM;
    int64_t S = c->S, B = c->B, I = c->I, H = c->H, G = lstm ? 4 : c->kind == KILN_GRU ? 3 : 1, gh = G * H;
    int64_t D = c->dir == KILN_BIDIRECTIONAL ? 2 : 1;
    int64_t xd[3] = {c->layout ? B : S, c->layout ? S : B, I}, wd[3] = {D, gh, I}, rd[3] = {D, gh, H}, bd[2] = {D, 2 * gh};
    int64_t ld[1] = {B}, hd[3] = {c->layout ? B : D, c->layout ? D : B, H}, pd[2] = {D, 3 * H}, sd[1] = {D * gh};
    int64_t yd[4] = {c->layout ? B : S, c->layout ? S : D, c->layout ? D : B, H};
    int64_t scratch_dims[1] = {S * B * gh + B * gh + 4 * B * H};
    float *x = malloc(sizeof(float) * (size_t)(S * B * I)), *ws = malloc(sizeof(float) * (size_t)(D * gh));
    float *rs = malloc(sizeof(float) * (size_t)(D * gh)), *b = malloc(sizeof(float) * (size_t)(D * 2 * gh));
    float *h0 = malloc(sizeof(float) * (size_t)(D * B * H)), *c0 = malloc(sizeof(float) * (size_t)(D * B * H));
    float *p = malloc(sizeof(float) * (size_t)(D * 3 * H)), *y = calloc((size_t)(S * D * B * H), sizeof(float));
    float *yh = malloc(sizeof(float) * (size_t)(D * B * H)), *yc = malloc(sizeof(float) * (size_t)(D * B * H));
    int8_t *w = malloc((size_t)(D * gh * I)), *r = malloc((size_t)(D * gh * H));
    int32_t lens[8];
    for (int64_t i = 0; i < S * B * I; i++) x[i] = frand(-2.0f, 2.0f);
    for (int64_t i = 0; i < I; i++) x[i] = 0.0f; /* the first X row: an unusable range */
    for (int64_t i = 0; i < D * gh * I; i++) w[i] = (int8_t)(int)frand(-127.0f, 127.99f);
    for (int64_t i = 0; i < D * gh * H; i++) r[i] = (int8_t)(int)frand(-127.0f, 127.99f);
    for (int64_t j = 0; j < D * gh; j++) { ws[j] = frand(0.5f, 2.0f) / 127.0f / (float)I; rs[j] = frand(0.5f, 2.0f) / 127.0f; }
    for (int64_t j = 0; j < D * 2 * gh; j++) b[j] = frand(-0.5f, 0.5f);
    for (int64_t j = 0; j < D * B * H; j++) { h0[j] = frand(-1.0f, 1.0f); c0[j] = frand(-1.0f, 1.0f); }
    for (int64_t j = 0; j < D * 3 * H; j++) p[j] = frand(-0.5f, 0.5f);
    for (int64_t k = 0; k < B; k++) lens[k] = c->lens ? (int32_t)((k * 5 + 3) % (S + 1)) : (int32_t)S;
    int32_t acts[6] = {KILN_UNARY_SIGMOID, KILN_UNARY_TANH, KILN_UNARY_TANH, KILN_UNARY_SIGMOID, KILN_UNARY_TANH, KILN_UNARY_TANH};
    if (c->kind == KILN_GRU) { acts[2] = KILN_UNARY_SIGMOID; acts[3] = KILN_UNARY_TANH; }
    if (c->kind == KILN_RNN) { acts[0] = KILN_UNARY_TANH; acts[1] = KILN_UNARY_RELU; }
    int nact = lstm ? 3 : c->kind == KILN_GRU ? 2 : 1;
    for (int64_t d = 0; d < D; d++)
        for (int64_t bb = 0; bb < B; bb++) {
            int64_t st = c->layout ? (bb * D + d) * H : (d * B + bb) * H;
            float h[16], cs[16];
            memcpy(h, h0 + st, sizeof(float) * (size_t)H);
            memcpy(cs, c0 + st, sizeof(float) * (size_t)H);
            for (int64_t s = 0; s < lens[bb]; s++) {
                int64_t t = (c->dir == KILN_REVERSE || d == 1) ? lens[bb] - 1 - s : s;
                const float *xr = x + (c->layout ? bb * S + t : t * B + bb) * I;
                ref_step(c, d, xr, w, r, ws, rs, c->bias ? b : NULL, c->peep ? p : NULL, acts + d * nact, h, cs);
                memcpy(y + (c->layout ? (bb * S + t) * D + d : (t * D + d) * B + bb) * H, h, sizeof(float) * (size_t)H);
            }
            memcpy(yh + st, h, sizeof(float) * (size_t)H);
            memcpy(yc + st, cs, sizeof(float) * (size_t)H);
        }
    attr_buf a = {{0}, 0};
    ab_i32(&a, c->kind); ab_i32(&a, c->dir); ab_i32(&a, (int32_t)H); ab_i32(&a, c->layout); ab_i32(&a, c->lbr);
    ab_i32(&a, 0); ab_i32(&a, c->has_clip); ab_f32(&a, c->clip);
    for (int i = 0; i < 6; i++) ab_i32(&a, acts[i]);
    for (int i = 0; i < 12; i++) ab_f32(&a, 0);
    tspec in[10] = {
        {KILN_F32, 3, xd, x, 0, 0},  {KILN_I8, 3, wd, w, 1, 0},       {KILN_I8, 3, rd, r, 1, 0},
        {KILN_F32, 2, bd, b, 1, !c->bias}, {KILN_I32, 1, ld, lens, 0, !c->lens}, {KILN_F32, 3, hd, h0, 0, 0},
        {KILN_F32, 3, hd, c0, 0, 0}, {KILN_F32, 2, pd, p, 1, !c->peep}, {KILN_F32, 1, sd, ws, 1, 0},
        {KILN_F32, 1, sd, rs, 1, 0},
    };
    if (!lstm) { in[6] = in[8]; in[7] = in[9]; }
    tspec out[4] = {{KILN_F32, 4, yd, y, 0, 0}, {KILN_F32, 3, hd, yh, 0, 0}, {KILN_F32, 3, hd, yc, 0, 0},
                    {KILN_F32, 1, scratch_dims, NULL, 0, 0}};
    if (!lstm) out[2] = out[3];
    char what[160];
    for (int portable = 0; portable < 2; portable++) {
        if (portable) setenv("KILN_QGEMM", "portable", 1);
        snprintf(what, sizeof what, "dyn_qrecurrent %s%s", c->name, portable ? " (portable)" : "");
        test_op(what, KILN_OP_DYN_QRECURRENT, a.data, a.size, lstm ? 10 : 8, in, lstm ? 4 : 3, out, 1e-5f, 1e-5f);
        if (portable) unsetenv("KILN_QGEMM");
    }
    free(x); free(ws); free(rs); free(b); free(h0); free(c0); free(p); free(y); free(yh); free(yc); free(w); free(r);
}

/* A GRU DYN_QRECURRENT (S 2, B 1, I 3, H 2) with one thing wrong must fail to load. */
static void qr_hostile(const char *what, int r_constant, float scale0, int64_t nscales, uint8_t w_dtype) {
    pb *b = pb_new();
    int64_t xd[3] = {2, 1, 3}, wd[3] = {1, 6, 3}, rd[3] = {1, 6, 2}, sd[1] = {nscales}, hd[3] = {1, 1, 2}, yd[4] = {2, 1, 1, 2};
    int64_t scr[1] = {2 * 6 + 6 + 8};
    int8_t w[18 * 4] = {0}, r[12] = {0}; /* room for the f32 W case */
    float s[8] = {scale0, 1, 1, 1, 1, 1, 1, 1};
    uint32_t ins[8] = {pb_input(b, "x", KILN_F32, 3, xd), pb_constant(b, w_dtype, 3, wd, w),
                       r_constant ? pb_constant(b, KILN_I8, 3, rd, r) : pb_input(b, "r", KILN_I8, 3, rd),
                       0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, pb_constant(b, KILN_F32, 1, sd, s), pb_constant(b, KILN_F32, 1, sd, s)};
    uint32_t outs[3] = {pb_output(b, "y", KILN_F32, 4, yd), pb_output(b, "yh", KILN_F32, 3, hd), pb_arena(b, KILN_F32, 1, scr)};
    attr_buf a = {{0}, 0};
    ab_i32(&a, KILN_GRU); ab_i32(&a, KILN_FORWARD); ab_i32(&a, 2);
    for (int i = 0; i < 5; i++) ab_i32(&a, 0);
    ab_i32(&a, KILN_UNARY_SIGMOID); ab_i32(&a, KILN_UNARY_TANH);
    for (int i = 0; i < 4; i++) ab_i32(&a, 0);
    for (int i = 0; i < 12; i++) ab_f32(&a, 0);
    pb_instr(b, KILN_OP_DYN_QRECURRENT, a.data, a.size, 8, ins, 3, outs);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    kiln_plan *pl = NULL;
    kiln_error e;
    kiln_status st = kiln_plan_load_memory(plan, size, &pl, &e);
    CHECK(st == KILN_ERR_MALFORMED, "dyn_qrecurrent hostile (%s): load returned %d, expected MALFORMED", what, (int)st);
    if (st == KILN_OK) kiln_plan_free(pl);
    free(plan);
}

void test_dynq_rnn(void) {
    const qr_case cases[] = {
        {"lstm forward peepholes", KILN_LSTM, KILN_FORWARD, 0, 0, 0, 0, 6, 3, 7, 5, 1, 1, 1},
        {"lstm bidirectional batch-first", KILN_LSTM, KILN_BIDIRECTIONAL, 1, 0, 0, 0, 5, 2, 9, 8, 0, 1, 0},
        {"lstm 90 rows", KILN_LSTM, KILN_FORWARD, 0, 0, 0, 0, 30, 3, 12, 16, 0, 1, 0},
        {"gru forward", KILN_GRU, KILN_FORWARD, 0, 0, 0, 0, 6, 3, 5, 6, 0, 1, 1},
        {"gru reverse linear_before_reset clip", KILN_GRU, KILN_REVERSE, 0, 1, 1, 0.8f, 5, 2, 4, 7, 0, 1, 1},
        {"gru bidirectional no bias", KILN_GRU, KILN_BIDIRECTIONAL, 0, 0, 0, 0, 4, 2, 6, 5, 0, 0, 0},
        {"rnn forward", KILN_RNN, KILN_FORWARD, 0, 0, 0, 0, 5, 2, 6, 9, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) qr_run(&cases[i]);
    qr_hostile("R not constant", 0, 1.0f, 6, KILN_I8);
    qr_hostile("negative scale", 1, -1.0f, 6, KILN_I8);
    qr_hostile("scale count", 1, 1.0f, 5, KILN_I8);
    qr_hostile("W f32", 1, 1.0f, 6, KILN_F32);
}
