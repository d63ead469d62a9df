/* test_misc.c — RNN / GRU / LSTM (every direction, sequence lengths, initial states,
 * peepholes, clip, linear_before_reset, custom activations) and quantize / dequantize,
 * one_hot, trilu against ONNX Runtime values; range against closed forms. */
#include "test.h"
#include "expected.h"

typedef struct rnn_case {
    const char *name;
    int32_t kind, dir, lbr, has_clip;
    float clip;
    int32_t acts[6];
    const float *x, *w, *r, *b, *h0, *c0, *p, *y, *yh, *yc;
    const int64_t *xd, *wd, *rd, *bd, *hd, *pd, *yd;
    const int32_t *lens;
} rnn_case;

#define RNN_CASE(NAME, KIND, DIR, LBR, CLIPF, CLIP, A0, A1, A2, A3, A4, A5)                  \
    {#NAME, KIND, DIR, LBR, CLIPF, CLIP, {A0, A1, A2, A3, A4, A5},                            \
     NAME##_in0, NAME##_in1, NAME##_in2, NAME##_in3, NAME##_in5, NULL, NULL, NAME##_out0, NAME##_out1, NULL, \
     NAME##_in0_dims, NAME##_in1_dims, NAME##_in2_dims, NAME##_in3_dims, NAME##_in5_dims, NULL, NAME##_out0_dims, NAME##_in4}

static void run_rnn_case(rnn_case *k) {
    int lstm = k->kind == KILN_LSTM;
    int64_t S = k->xd[0], B = k->xd[1], H = k->hd[2], G = k->kind == KILN_RNN ? 1 : (k->kind == KILN_GRU ? 3 : 4);
    int64_t scratch_dims[1] = {S * B * G * H + B * G * H + 4 * B * H}, ld[1] = {B};
    attr_buf a = {0};
    ab_i32(&a, k->kind); ab_i32(&a, k->dir); ab_i32(&a, (int32_t)H); ab_i32(&a, 0); ab_i32(&a, k->lbr); ab_i32(&a, 0);
    ab_i32(&a, k->has_clip); ab_f32(&a, k->clip);
    for (int i = 0; i < 6; i++) ab_i32(&a, k->acts[i]);
    for (int i = 0; i < 6; i++) ab_f32(&a, 0);
    for (int i = 0; i < 6; i++) ab_f32(&a, 0);
    tspec in[8] = {
        {KILN_F32, 3, k->xd, k->x, 0, 0}, {KILN_F32, 3, k->wd, k->w, 1, 0}, {KILN_F32, 3, k->rd, k->r, 1, 0},
        {KILN_F32, 2, k->bd, k->b, 1, 0}, {KILN_I32, 1, ld, k->lens, 0, 0}, {KILN_F32, 3, k->hd, k->h0, 0, 0},
        {KILN_F32, 3, k->hd, k->c0, 0, 0}, {KILN_F32, 2, k->pd, k->p, 1, 0},
    };
    tspec out[4] = {{KILN_F32, 4, k->yd, k->y, 0, 0}, {KILN_F32, 3, k->hd, k->yh, 0, 0}, {KILN_F32, 3, k->hd, k->yc, 0, 0},
                    {KILN_F32, 1, scratch_dims, NULL, 0, 0}};
    if (!lstm) out[2] = out[3];
    test_op(k->name, KILN_OP_RECURRENT, a.data, a.size, lstm ? 8 : 6, in, lstm ? 4 : 3, out, 1e-5f, 1e-5f);
}

static void test_recurrent(void) {
    const int32_t T = KILN_UNARY_TANH, S = KILN_UNARY_SIGMOID, R = KILN_UNARY_RELU;
    rnn_case cases[] = {
        RNN_CASE(rnn_forward, KILN_RNN, KILN_FORWARD, 0, 0, 0, T, 0, 0, 0, 0, 0),
        RNN_CASE(rnn_reverse, KILN_RNN, KILN_REVERSE, 0, 0, 0, T, 0, 0, 0, 0, 0),
        RNN_CASE(rnn_bidirectional, KILN_RNN, KILN_BIDIRECTIONAL, 0, 0, 0, R, T, 0, 0, 0, 0),
        RNN_CASE(gru_forward, KILN_GRU, KILN_FORWARD, 0, 0, 0, S, T, 0, 0, 0, 0),
        RNN_CASE(gru_reverse, KILN_GRU, KILN_REVERSE, 1, 0, 0, S, T, 0, 0, 0, 0),
        RNN_CASE(gru_bidirectional, KILN_GRU, KILN_BIDIRECTIONAL, 0, 0, 0, S, T, S, T, 0, 0),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_rnn_case(&cases[i]);
    rnn_case lstm[] = {
        {"lstm_forward (clip 0.9)", KILN_LSTM, KILN_FORWARD, 0, 1, 0.9f, {S, T, T, 0, 0, 0}, lstm_forward_in0, lstm_forward_in1,
         lstm_forward_in2, lstm_forward_in3, lstm_forward_in5, lstm_forward_in6, lstm_forward_in7, lstm_forward_out0,
         lstm_forward_out1, lstm_forward_out2, lstm_forward_in0_dims, lstm_forward_in1_dims, lstm_forward_in2_dims,
         lstm_forward_in3_dims, lstm_forward_in5_dims, lstm_forward_in7_dims, lstm_forward_out0_dims, lstm_forward_in4},
        {"lstm_reverse", KILN_LSTM, KILN_REVERSE, 0, 0, 0, {S, T, T, 0, 0, 0}, lstm_reverse_in0, lstm_reverse_in1,
         lstm_reverse_in2, lstm_reverse_in3, lstm_reverse_in5, lstm_reverse_in6, lstm_reverse_in7, lstm_reverse_out0,
         lstm_reverse_out1, lstm_reverse_out2, lstm_reverse_in0_dims, lstm_reverse_in1_dims, lstm_reverse_in2_dims,
         lstm_reverse_in3_dims, lstm_reverse_in5_dims, lstm_reverse_in7_dims, lstm_reverse_out0_dims, lstm_reverse_in4},
        {"lstm_bidirectional", KILN_LSTM, KILN_BIDIRECTIONAL, 0, 0, 0, {S, T, T, S, T, T}, lstm_bidirectional_in0,
         lstm_bidirectional_in1, lstm_bidirectional_in2, lstm_bidirectional_in3, lstm_bidirectional_in5,
         lstm_bidirectional_in6, lstm_bidirectional_in7, lstm_bidirectional_out0, lstm_bidirectional_out1,
         lstm_bidirectional_out2, lstm_bidirectional_in0_dims, lstm_bidirectional_in1_dims, lstm_bidirectional_in2_dims,
         lstm_bidirectional_in3_dims, lstm_bidirectional_in5_dims, lstm_bidirectional_in7_dims,
         lstm_bidirectional_out0_dims, lstm_bidirectional_in4},
    };
    for (size_t i = 0; i < sizeof lstm / sizeof lstm[0]; i++) run_rnn_case(&lstm[i]);
}

static void test_quant(void) {
    float s1[1] = {0.02f}, s3[3] = {0.02f, 0.05f, 0.1f};
    uint8_t z1[1] = {10};
    int8_t z3[3] = {0, -3, 5};
    int64_t d1[1] = {1}, d3[1] = {3}, d4[1] = {4};
    attr_buf pt = {0};
    ab_i32(&pt, -1); ab_i32(&pt, 0);
    tspec in[3] = {F32(quant_tensor_in0), {KILN_F32, 0, d1, s1, 1, 0}, {KILN_U8, 0, d1, z1, 1, 0}};
    tspec out[1] = {{KILN_U8, quant_tensor_out0_rank, quant_tensor_out0_dims, quant_tensor_out0, 0, 0}};
    test_op("quantize_linear per tensor u8", KILN_OP_QUANTIZE_LINEAR, pt.data, pt.size, 3, in, 1, out, 0, 0);
    attr_buf pa = {0};
    ab_i32(&pa, 1); ab_i32(&pa, 0);
    tspec in2[3] = {F32(quant_axis_in0), {KILN_F32, 1, d3, s3, 1, 0}, {KILN_I8, 1, d3, z3, 1, 0}};
    tspec out2[1] = {{KILN_I8, quant_axis_out0_rank, quant_axis_out0_dims, quant_axis_out0, 0, 0}};
    test_op("quantize_linear per axis i8", KILN_OP_QUANTIZE_LINEAR, pa.data, pa.size, 3, in2, 1, out2, 0, 0);
    attr_buf da = {0};
    ab_i32(&da, 2); ab_i32(&da, 0);
    tspec in3[3] = {{KILN_U8, dequant_axis_in0_rank, dequant_axis_in0_dims, dequant_axis_in0, 0, 0},
                    {KILN_F32, 1, d4, dequant_axis_in1, 1, 0}, {KILN_U8, 1, d4, dequant_axis_in2, 1, 0}};
    tspec out3[1] = {F32(dequant_axis_out0)};
    test_op("dequantize_linear per axis u8", KILN_OP_DEQUANTIZE_LINEAR, da.data, da.size, 3, in3, 1, out3, 0, 0);
}

static void test_generators(void) {
    attr_buf oh = {0};
    ab_i32(&oh, 1);
    tspec oin[2] = {{KILN_I64, one_hot_in0_rank, one_hot_in0_dims, one_hot_in0, 0, 0}, F32C(one_hot_in2)};
    tspec oout[1] = {F32(one_hot_out0)};
    test_op("one_hot axis 1 (negative and out-of-range indices)", KILN_OP_ONE_HOT, oh.data, oh.size, 2, oin, 1, oout, 0, 0);
    attr_buf tu = {0};
    ab_i32(&tu, 1); ab_i32(&tu, 0); ab_i64(&tu, 1);
    tspec tin[1] = {F32(trilu_up_in0)}, tout[1] = {F32(trilu_up_out0)};
    test_op("trilu upper k=1", KILN_OP_TRILU, tu.data, tu.size, 1, tin, 1, tout, 0, 0);
    attr_buf tl = {0};
    ab_i32(&tl, 0); ab_i32(&tl, 0); ab_i64(&tl, -1);
    tspec lin[1] = {F32(trilu_low_in0)}, lout[1] = {F32(trilu_low_out0)};
    test_op("trilu lower k=-1", KILN_OP_TRILU, tl.data, tl.size, 1, lin, 1, lout, 0, 0);
    int64_t start = 10, limit = 0, delta = -3, want[4] = {10, 7, 4, 1}, d0[1] = {1}, d4[1] = {4};
    tspec rin[3] = {{KILN_I64, 0, d0, &start, 0, 0}, {KILN_I64, 0, d0, &limit, 1, 0}, {KILN_I64, 0, d0, &delta, 1, 0}};
    tspec rout[1] = {{KILN_I64, 1, d4, want, 0, 0}};
    test_op("range i64", KILN_OP_RANGE, NULL, 0, 3, rin, 1, rout, 0, 0);
    float fs = 0.5f, fl = 2.0f, fd = 0.25f, fw[6] = {0.5f, 0.75f, 1.0f, 1.25f, 1.5f, 1.75f};
    int64_t d6[1] = {6};
    tspec fin[3] = {{KILN_F32, 0, d0, &fs, 0, 0}, {KILN_F32, 0, d0, &fl, 0, 0}, {KILN_F32, 0, d0, &fd, 0, 0}};
    tspec fout[1] = {{KILN_F32, 1, d6, fw, 0, 0}};
    test_op("range f32", KILN_OP_RANGE, NULL, 0, 3, fin, 1, fout, 0, 0);
}

void test_misc(void) {
    test_recurrent();
    test_quant();
    test_generators();
}
