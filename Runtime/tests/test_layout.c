/* test_layout.c — data movement: transpose, slice (negative steps), expand, tile, concat,
 * split, copy, depth_to_space / space_to_depth and pad (ONNX Runtime values), gather,
 * gather_elements. Naive index loops are the reference where no expected.h entry exists. */
#include "test.h"
#include "expected.h"

static void test_transpose_slice(void) {
    int64_t xd[4] = {2, 3, 4, 5}, yd[4] = {5, 2, 4, 3};
    float x[120], want[120];
    test_fill(x, 120, 61);
    int perm[4] = {3, 0, 2, 1};
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 3; d++) want[((a * 2 + b) * 4 + c) * 3 + d] = x[((b * 3 + d) * 4 + c) * 5 + a];
    attr_buf at = {0};
    for (int i = 0; i < 8; i++) ab_i32(&at, i < 4 ? perm[i] : 0);
    tspec in[1] = {{KILN_F32, 4, xd, x, 0, 0}}, out[1] = {{KILN_F32, 4, yd, want, 0, 0}};
    test_op("transpose 4-d", KILN_OP_TRANSPOSE, at.data, at.size, 1, in, 1, out, 0, 0);

    /* slice x[1:2, ::-2, 1:4, 4:0:-3] → [1, 2, 3, 2] */
    int64_t sd[4] = {1, 2, 3, 2};
    float sw[12];
    int k = 0;
    for (int b = 2; b >= 0; b -= 2)
        for (int c = 1; c < 4; c++)
            for (int d = 4; d > 0; d -= 3) sw[k++] = x[((1 * 3 + b) * 4 + c) * 5 + d];
    attr_buf sa = {0};
    int64_t starts[8] = {1, 2, 1, 4}, steps[8] = {1, -2, 1, -3, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++) ab_i64(&sa, starts[i]);
    for (int i = 0; i < 8; i++) ab_i64(&sa, i < 4 ? steps[i] : 1);
    tspec sout[1] = {{KILN_F32, 4, sd, sw, 0, 0}};
    test_op("slice with negative steps", KILN_OP_SLICE, sa.data, sa.size, 1, in, 1, sout, 0, 0);

    /* expand [3,1] → [2,3,4] on i64, tile [2,3] x (2,2) on u8 */
    int64_t ed[2] = {3, 1}, eo[3] = {2, 3, 4};
    int64_t ev[3] = {7, -8, 9}, ew[24];
    for (int i = 0; i < 24; i++) ew[i] = ev[(i / 4) % 3];
    tspec ein[1] = {{KILN_I64, 2, ed, ev, 0, 0}}, eout[1] = {{KILN_I64, 3, eo, ew, 0, 0}};
    test_op("expand i64", KILN_OP_EXPAND, NULL, 0, 1, ein, 1, eout, 0, 0);
    int64_t td[2] = {2, 3}, to[2] = {4, 6};
    uint8_t tv[6] = {1, 2, 3, 4, 5, 6}, tw[24];
    for (int i = 0; i < 4; i++) for (int j = 0; j < 6; j++) tw[i * 6 + j] = tv[(i % 2) * 3 + j % 3];
    tspec tin[1] = {{KILN_U8, 2, td, tv, 0, 0}}, tout[1] = {{KILN_U8, 2, to, tw, 0, 0}};
    test_op("tile u8", KILN_OP_TILE, NULL, 0, 1, tin, 1, tout, 0, 0);
    /* copy = reshape */
    int64_t cd[2] = {6, 20};
    tspec cout_[1] = {{KILN_F32, 2, cd, x, 0, 0}};
    test_op("copy (reshape)", KILN_OP_COPY, NULL, 0, 1, in, 1, cout_, 0, 0);
}

static void test_concat_split(void) {
    int64_t ad[3] = {2, 1, 3}, bd[3] = {2, 2, 3}, cd[3] = {2, 3, 3};
    float a[6], b[12], want[18];
    test_fill(a, 6, 71);
    test_fill(b, 12, 72);
    for (int n = 0; n < 2; n++) {
        memcpy(want + n * 9, a + n * 3, 12);
        memcpy(want + n * 9 + 3, b + n * 6, 24);
    }
    attr_buf at = {0};
    ab_i32(&at, 1);
    tspec in[2] = {{KILN_F32, 3, ad, a, 0, 0}, {KILN_F32, 3, bd, b, 1, 0}}, out[1] = {{KILN_F32, 3, cd, want, 0, 0}};
    test_op("concat axis 1", KILN_OP_CONCAT, at.data, at.size, 2, in, 1, out, 0, 0);
    tspec sin_[1] = {{KILN_F32, 3, cd, want, 0, 0}}, sout[2] = {{KILN_F32, 3, ad, a, 0, 0}, {KILN_F32, 3, bd, b, 0, 0}};
    test_op("split axis 1", KILN_OP_SPLIT, at.data, at.size, 1, sin_, 2, sout, 0, 0);
}

static void test_space_pad(void) {
    attr_buf a = {0};
    ab_i32(&a, 2); ab_i32(&a, 0);
    tspec in[1] = {F32(d2s_dcr_in0)}, out[1] = {F32(d2s_dcr_out0)};
    test_op("depth_to_space DCR", KILN_OP_DEPTH_TO_SPACE, a.data, a.size, 1, in, 1, out, 0, 0);
    attr_buf c = {0};
    ab_i32(&c, 2); ab_i32(&c, 1);
    tspec in2[1] = {F32(d2s_crd_in0)}, out2[1] = {F32(d2s_crd_out0)};
    test_op("depth_to_space CRD", KILN_OP_DEPTH_TO_SPACE, c.data, c.size, 1, in2, 1, out2, 0, 0);
    attr_buf s = {0};
    ab_i32(&s, 2);
    tspec in3[1] = {F32(s2d_in0)}, out3[1] = {F32(s2d_out0)};
    test_op("space_to_depth", KILN_OP_SPACE_TO_DEPTH, s.data, s.size, 1, in3, 1, out3, 0, 0);

    struct { const char *name; int32_t mode; const int64_t *pads; const float *in, *out; const int64_t *od; double value; } pads[4] = {
        {"pad constant (with crops)", KILN_PAD_CONSTANT, pad_constant_in1, pad_constant_in0, pad_constant_out0, pad_constant_out0_dims, 0.25},
        {"pad reflect", KILN_PAD_REFLECT, pad_reflect_in1, pad_reflect_in0, pad_reflect_out0, pad_reflect_out0_dims, 0},
        {"pad edge", KILN_PAD_EDGE, pad_edge_in1, pad_edge_in0, pad_edge_out0, pad_edge_out0_dims, 0},
        {"pad wrap", KILN_PAD_WRAP, pad_wrap_in1, pad_wrap_in0, pad_wrap_out0, pad_wrap_out0_dims, 0},
    };
    for (int k = 0; k < 4; k++) {
        attr_buf p = {0};
        ab_i32(&p, pads[k].mode); ab_i32(&p, 0); ab_f64(&p, pads[k].value);
        for (int d = 0; d < 8; d++) ab_i64(&p, d < 3 ? pads[k].pads[d] : 0);
        tspec pin[1] = {{KILN_F32, 3, pad_constant_in0_dims, pads[k].in, 0, 0}}, pout[1] = {{KILN_F32, 3, pads[k].od, pads[k].out, 0, 0}};
        test_op(pads[k].name, KILN_OP_PAD, p.data, p.size, 1, pin, 1, pout, 0, 0);
    }
}

static void test_gather(void) {
    /* gather axis 1 of [2,4,3] with indices [[3,-1],[0,9]] (9 is out of range → zeros) */
    int64_t xd[3] = {2, 4, 3}, id[2] = {2, 2}, yd[4] = {2, 2, 2, 3};
    float x[24], want[24];
    test_fill(x, 24, 81);
    int64_t idx[4] = {3, -1, 0, 9};
    for (int o = 0; o < 2; o++)
        for (int t = 0; t < 4; t++)
            for (int i = 0; i < 3; i++) {
                int64_t j = idx[t] < 0 ? idx[t] + 4 : idx[t];
                want[(o * 4 + t) * 3 + i] = (j >= 0 && j < 4) ? x[(o * 4 + j) * 3 + i] : 0.0f;
            }
    attr_buf a = {0};
    ab_i32(&a, 1);
    tspec in[2] = {{KILN_F32, 3, xd, x, 1, 0}, {KILN_I64, 2, id, idx, 0, 0}}, out[1] = {{KILN_F32, 4, yd, want, 0, 0}};
    test_op("gather (embedding-style, constant table)", KILN_OP_GATHER, a.data, a.size, 2, in, 1, out, 0, 0);
    int32_t idx32[4] = {0, 1, 2, 3};
    int64_t d4[1] = {4}, yd2[2] = {4, 3};
    float w2[12];
    for (int t = 0; t < 4; t++) for (int i = 0; i < 3; i++) w2[t * 3 + i] = x[idx32[t] * 3 + i];
    attr_buf a0 = {0};
    ab_i32(&a0, 0);
    int64_t xd2[2] = {8, 3};
    tspec in2[2] = {{KILN_F32, 2, xd2, x, 0, 0}, {KILN_I32, 1, d4, idx32, 0, 0}}, out2[1] = {{KILN_F32, 2, yd2, w2, 0, 0}};
    test_op("gather axis 0, i32 indices", KILN_OP_GATHER, a0.data, a0.size, 2, in2, 1, out2, 0, 0);
    attr_buf ge = {0};
    ab_i32(&ge, 1);
    tspec gin[2] = {F32(gather_elements_in0), {KILN_I64, gather_elements_in1_rank, gather_elements_in1_dims, gather_elements_in1, 0, 0}};
    tspec gout[1] = {F32(gather_elements_out0)};
    test_op("gather_elements", KILN_OP_GATHER_ELEMENTS, ge.data, ge.size, 2, gin, 1, gout, 0, 0);
}

void test_layout(void) {
    test_transpose_slice();
    test_concat_split();
    test_space_pad();
    test_gather();
}
