/* test_nn.c — softmax, normalization, pooling, reductions, arg/cumsum/topk and resize
 * against ONNX Runtime values (expected.h); batch_norm against a naive loop. */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include "test.h"
#include "expected.h"

#include <math.h>

static void softmax_case(const char *what, int32_t axis, int32_t log, tspec in, tspec out) {
    attr_buf a = {0};
    ab_i32(&a, axis); ab_i32(&a, log);
    test_op(what, KILN_OP_SOFTMAX, a.data, a.size, 1, &in, 1, &out, 1e-5f, 1e-6f);
}

static void test_softmax_norms(void) {
    softmax_case("softmax last axis", 2, 0, (tspec)F32(softmax_last_in0), (tspec)F32(softmax_last_out0));
    softmax_case("softmax middle axis", 1, 0, (tspec)F32(softmax_mid_in0), (tspec)F32(softmax_mid_out0));
    softmax_case("log_softmax middle axis", 1, 1, (tspec)F32(logsoftmax_mid_in0), (tspec)F32(logsoftmax_mid_out0));
    attr_buf ln = {0};
    ab_i32(&ln, 1); ab_f32(&ln, 1e-5f);
    tspec lin[3] = {F32(layer_norm_in0), F32C(layer_norm_in1), F32C(layer_norm_in2)}, lout[1] = {F32(layer_norm_out0)};
    test_op("layer_norm", KILN_OP_LAYER_NORM, ln.data, ln.size, 3, lin, 1, lout, 1e-5f, 1e-5f);
    attr_buf in_ = {0};
    ab_f32(&in_, 1e-5f);
    tspec iin[3] = {F32(instance_norm_in0), F32C(instance_norm_in1), F32C(instance_norm_in2)}, iout[1] = {F32(instance_norm_out0)};
    test_op("instance_norm", KILN_OP_INSTANCE_NORM, in_.data, in_.size, 3, iin, 1, iout, 1e-5f, 1e-5f);
    attr_buf gn = {0};
    ab_i32(&gn, 3); ab_f32(&gn, 1e-5f);
    tspec gin[3] = {F32(group_norm_in0), F32C(group_norm_in1), F32C(group_norm_in2)}, gout[1] = {F32(group_norm_out0)};
    test_op("group_norm", KILN_OP_GROUP_NORM, gn.data, gn.size, 3, gin, 1, gout, 1e-5f, 1e-5f);
    attr_buf lr = {0};
    ab_i32(&lr, 3); ab_f32(&lr, 0.001f); ab_f32(&lr, 0.75f); ab_f32(&lr, 1.5f);
    tspec rin[1] = {F32(lrn_in0)}, rout[1] = {F32(lrn_out0)};
    test_op("lrn", KILN_OP_LRN, lr.data, lr.size, 1, rin, 1, rout, 1e-5f, 1e-6f);

    /* batch_norm as scale + shift with a fused leaky relu, [2,3,2,2] */
    int64_t xd[4] = {2, 3, 2, 2}, cd[1] = {3};
    float x[24], s[3], b[3], want[24];
    test_fill(x, 24, 91); test_fill(s, 3, 92); test_fill(b, 3, 93);
    for (int i = 0; i < 24; i++) {
        float v = x[i] * s[(i / 4) % 3] + b[(i / 4) % 3];
        want[i] = v < 0 ? 0.2f * v : v;
    }
    attr_buf bn = {0};
    ab_i32(&bn, KILN_UNARY_LEAKY_RELU); ab_f32(&bn, 0.2f); ab_f32(&bn, 0);
    tspec bin[3] = {{KILN_F32, 4, xd, x, 0, 0}, {KILN_F32, 1, cd, s, 1, 0}, {KILN_F32, 1, cd, b, 1, 0}};
    tspec bout[1] = {{KILN_F32, 4, xd, want, 0, 0}};
    test_op("batch_norm + leaky_relu", KILN_OP_BATCH_NORM, bn.data, bn.size, 3, bin, 1, bout, 1e-6f, 1e-6f);
}

static void pool_case(const char *what, int32_t kind, const int32_t *v, tspec in, tspec out) {
    attr_buf a = {0};
    ab_i32(&a, kind);
    for (int i = 0; i < 12; i++) ab_i32(&a, v[i]);
    test_op(what, KILN_OP_POOL2D, a.data, a.size, 1, &in, 1, &out, 1e-5f, 1e-6f);
}

/* Max or average pooling against a naive loop over every window: v = {h, w, kh, kw, sh, sw,
 * pt, pl, pb, pr, dh, dw, ceil}, incl = count_include_pad (average); two planes. For max,
 * element 3 is NaN (it must reach every window that covers it) and plane 1 is all -inf. For average, this covers
 * the constant-count row path (no pads, or counted pads without ceil overhang) and the
 * per-pixel path. */
static void pool_naive_case(const int64_t *v, int32_t kind, int incl) {
    int64_t h = v[0], w = v[1], kh = v[2], kw = v[3], sh = v[4], sw = v[5], pt = v[6], pl = v[7], pb = v[8],
            pr = v[9], dh = v[10], dw = v[11];
    int64_t eh = h + pt + pb - ((kh - 1) * dh + 1), ew = w + pl + pr - ((kw - 1) * dw + 1);
    int64_t oh = (v[12] ? (eh + sh - 1) / sh : eh / sh) + 1, ow = (v[12] ? (ew + sw - 1) / sw : ew / sw) + 1;
    size_t xn = (size_t)(2 * h * w), yn = (size_t)(2 * oh * ow);
    float *x = malloc(xn * 4), *want = malloc(yn * 4);
    int max = kind == KILN_POOL_MAX;
    test_fill(x, xn, max ? 77 : 78);
    if (max && xn > 3) x[3] = NAN;
    if (max) /* plane 1 all -inf: windows inside the input give -inf, windows touching the padding -FLT_MAX */
        for (size_t i = xn / 2; i < xn; i++) x[i] = -INFINITY;
    for (int64_t c = 0; c < 2; c++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                float r = -INFINITY;
                int outside = 0; /* ONNX Runtime's 2-D max pool: a tap left/right of the input counts as -FLT_MAX */
                double sum = 0;
                int64_t count = 0;
                for (int64_t ki = 0; ki < kh; ki++)
                    for (int64_t kj = 0; kj < kw; kj++) {
                        int64_t ih = i * sh - pt + ki * dh, iw = j * sw - pl + kj * dw;
                        int inside = ih >= 0 && ih < h && iw >= 0 && iw < w;
                        int padded = ih >= -pt && ih < h + pb && iw >= -pl && iw < w + pr;
                        count += incl ? padded : inside;
                        if (!inside) {
                            if (iw < 0 || iw >= w) outside = 1;
                            continue;
                        }
                        float e = x[(c * h + ih) * w + iw];
                        sum += e;
                        if (e != e || (r == r && e > r)) r = e;
                    }
                int any = 0; /* a window with no tap inside the input gives -FLT_MAX */
                for (int64_t ki = 0; ki < kh; ki++)
                    for (int64_t kj = 0; kj < kw; kj++) {
                        int64_t ih = i * sh - pt + ki * dh, iw = j * sw - pl + kj * dw;
                        any |= ih >= 0 && ih < h && iw >= 0 && iw < w;
                    }
                if ((outside || !any) && r < -FLT_MAX) r = -FLT_MAX;
                want[(c * oh + i) * ow + j] = max ? r : count ? (float)(sum / (double)count) : 0.0f;
            }
    int32_t a[12] = {(int32_t)kh, (int32_t)kw, (int32_t)sh, (int32_t)sw, (int32_t)pt, (int32_t)pl,
                     (int32_t)pb, (int32_t)pr, (int32_t)dh, (int32_t)dw, incl, 0};
    int64_t xd[4] = {1, 2, h, w}, yd[4] = {1, 2, oh, ow};
    char what[120];
    snprintf(what, sizeof what, "%s naive %lldx%lld k%lldx%lld s%lld,%lld d%lld,%lld p%lld incl%d ceil%lld",
             max ? "max_pool" : "average_pool", (long long)h, (long long)w, (long long)kh, (long long)kw,
             (long long)sh, (long long)sw, (long long)dh, (long long)dw, (long long)pt, incl, (long long)v[12]);
    pool_case(what, kind, a, (tspec){KILN_F32, 4, xd, x, 0, 0}, (tspec){KILN_F32, 4, yd, want, 0, 0});
    free(x);
    free(want);
}

static void test_pools(void) {
    /*                 h   w  kh kw sh sw pt pl pb pr dh dw ceil */
    int64_t naive[][13] = {{7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0},
                           {7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0},
                           {112, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0},
                           {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0},
                           {1, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0},
                           {1, 19, 1, 3, 1, 2, 0, 1, 0, 1, 1, 1, 1},
                           {8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0},
                           {10, 11, 3, 2, 3, 2, 0, 1, 2, 0, 2, 2, 1},
                           {5, 33, 3, 5, 1, 3, 1, 2, 1, 2, 1, 1, 1},
                           {9, 113, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0},
                           {6, 47, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
                           {5, 35, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 0},
                           {4, 40, 2, 3, 1, 2, 0, 0, 0, 1, 1, 2, 0},
                           {1, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 0},  /* every window in the H padding */
                           {2, 37, 3, 3, 2, 1, 2, 1, 3, 1, 3, 2, 0}};
    /* Every row path: the best ISA's (AVX-512 on such CPUs), AVX2's, the portable loop. */
    static const char *const isas[] = {NULL, "avx2", "portable"};
    for (int v = 0; v < 3; v++) {
        if (isas[v]) setenv("KILN_FKERNELS", isas[v], 1);
        else unsetenv("KILN_FKERNELS");
        for (size_t i = 0; i < sizeof naive / sizeof naive[0]; i++) {
            pool_naive_case(naive[i], KILN_POOL_MAX, 0);
            pool_naive_case(naive[i], KILN_POOL_AVERAGE, 0);
            pool_naive_case(naive[i], KILN_POOL_AVERAGE, 1);
        }
    }
    unsetenv("KILN_FKERNELS");
    int64_t lenet_avg[13] = {10, 10, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0}, s1_pad[13] = {16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    pool_naive_case(lenet_avg, KILN_POOL_AVERAGE, 0);
    pool_naive_case(s1_pad, KILN_POOL_AVERAGE, 0);
    pool_naive_case(s1_pad, KILN_POOL_AVERAGE, 1);
    pool_naive_case(s1_pad, KILN_POOL_MAX, 0);
    /*                 kh kw sh sw pt pl pb pr dh dw incl p */
    int32_t mp[12] = {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0};
    int32_t mcd[12] = {2, 3, 2, 2, 0, 0, 0, 0, 2, 1, 0, 0};
    int32_t ap[12] = {3, 3, 2, 2, 1, 0, 1, 2, 1, 1, 0, 0};
    int32_t ai[12] = {3, 2, 2, 3, 1, 1, 0, 1, 1, 1, 1, 0};
    int32_t lp[12] = {2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, 2};
    pool_case("max_pool 3x3 s2 p1", KILN_POOL_MAX, mp, (tspec)F32(maxpool_in0), (tspec)F32(maxpool_out0));
    pool_case("max_pool ceil + dilation", KILN_POOL_MAX, mcd, (tspec)F32(maxpool_ceil_dil_in0), (tspec)F32(maxpool_ceil_dil_out0));
    pool_case("average_pool asymmetric pads", KILN_POOL_AVERAGE, ap, (tspec)F32(avgpool_pad_in0), (tspec)F32(avgpool_pad_out0));
    pool_case("average_pool count_include_pad + ceil", KILN_POOL_AVERAGE, ai, (tspec)F32(avgpool_incl_in0),
              (tspec)F32(avgpool_incl_out0));
    pool_case("lp_pool p=2", KILN_POOL_LP, lp, (tspec)F32(lppool_in0), (tspec)F32(lppool_out0));
}

/* Runs a one-instruction plan (x [4-D] -> y [4-D]) on the portable kernels into y[0] and
 * on the best this CPU has into y[1]. */
static void run_portable_and_best(const char *what, uint16_t op, const attr_buf *a, const int64_t *xd,
                                  const int64_t *yd, const float *x, float *const y[2]) {
    for (int k = 0; k < 2; k++) {
        if (k == 0) setenv("KILN_FKERNELS", "portable", 1);
        else unsetenv("KILN_FKERNELS");
        pb *b = pb_new();
        uint32_t tx = pb_input(b, "x", KILN_F32, 4, xd), ty = pb_output(b, "y", KILN_F32, 4, yd);
        pb_instr(b, op, a->data, a->size, 1, &tx, 1, &ty);
        size_t size;
        uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        const void *ins[1] = {x};
        void *outs[1] = {y[k]};
        char err[256];
        kiln_status st = test_run(plan, size, 1, ins, outs, err, sizeof err);
        CHECK(st == KILN_OK, "%s: %s", what, err);
        free(plan);
        pb_free(b);
    }
}

/* Max pooling's AVX-512 shapes (3x3 stride 1 rolling, 2x2 stride 2) against the scalar
 * loop (KILN_FKERNELS=portable) on the same plan: odd sizes, 16-column chunks and tails,
 * pads 0..2, ceil-mode rows and columns, NaN inputs (NaN wins: same positions). Exact. */
static void pool_paths_case(const char *what, int64_t h, int64_t w, const int32_t *v, int64_t oh, int64_t ow) {
    int64_t xd[4] = {1, 3, h, w}, yd[4] = {1, 3, oh, ow};
    size_t xn = (size_t)(3 * h * w), yn = (size_t)(3 * oh * ow);
    float *x = malloc(xn * sizeof(float)), *y[2] = {malloc(yn * sizeof(float)), malloc(yn * sizeof(float))};
    test_fill(x, xn, 17);
    x[5] = NAN;
    x[xn / 2] = NAN;
    attr_buf a = {0};
    ab_i32(&a, KILN_POOL_MAX);
    for (int i = 0; i < 12; i++) ab_i32(&a, v[i]);
    run_portable_and_best(what, KILN_OP_POOL2D, &a, xd, yd, x, y);
    size_t bad = 0;
    for (size_t i = 0; i < yn; i++)
        if (!(y[0][i] == y[1][i] || (y[0][i] != y[0][i] && y[1][i] != y[1][i]))) bad++;
    CHECK(bad == 0, "%s: %zu of %zu elements differ from the portable path", what, bad, yn);
    free(x); free(y[0]); free(y[1]);
}

static void test_pool_paths(void) {
    /* kh kw sh sw pt pl pb pr dh dw include_pad p */
    static const int32_t p311[12] = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, p310[12] = {3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0};
    static const int32_t p312[12] = {3, 3, 1, 1, 2, 0, 1, 2, 1, 1, 0, 0}, p22[12] = {2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0};
    static const int32_t p22pad[12] = {2, 2, 2, 2, 0, 0, 1, 1, 1, 1, 0, 0};
    pool_paths_case("max 3x3/1 pad 1, 16x16", 16, 16, p311, 16, 16);
    pool_paths_case("max 3x3/1 pad 1, 7x37", 7, 37, p311, 7, 37);
    pool_paths_case("max 3x3/1 no pad, 9x20", 9, 20, p310, 7, 18);
    pool_paths_case("max 3x3/1 pads 2/0/1/2, 5x17", 5, 17, p312, 6, 17);
    pool_paths_case("max 2x2/2, 32x32", 32, 32, p22, 16, 16);
    pool_paths_case("max 2x2/2 ceil, 13x45", 13, 45, p22, 7, 23);
    pool_paths_case("max 2x2/2 bottom/right pad, 9x33", 9, 33, p22pad, 5, 17);
}

static void reduce_case(const char *what, int32_t kind, uint32_t mask, tspec in, tspec out) {
    attr_buf a = {0};
    ab_i32(&a, kind); ab_i32(&a, (int32_t)mask);
    test_op(what, KILN_OP_REDUCE, a.data, a.size, 1, &in, 1, &out, 1e-5f, 1e-5f);
}

/* Sum and mean over a long contiguous run (the eight-partial-sum path, its 8-wide steps and
 * the tail), against a serial double sum; an offset keeps the float rounding visible. */
static void test_reduce_runs(void) {
    static const int64_t lens[3] = {7, 61, 259};
    for (int li = 0; li < 3; li++) {
        int64_t n = lens[li], xd[4] = {1, 3, 1, n}, yd[4] = {1, 3, 1, 1};
        float *x = malloc(sizeof(float) * (size_t)(3 * n)), want[2][3];
        test_fill(x, (size_t)(3 * n), 77u + (uint32_t)li);
        for (int64_t i = 0; i < 3 * n; i++) x[i] += 1000.0f;
        for (int c = 0; c < 3; c++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += x[c * n + i];
            want[0][c] = (float)s;
            want[1][c] = (float)(s / (double)n);
        }
        for (int k = 0; k < 2; k++) {
            char what[64];
            snprintf(what, sizeof what, "reduce_%s over a run of %lld", k ? "mean" : "sum", (long long)n);
            attr_buf a = {0};
            ab_i32(&a, k ? KILN_REDUCE_MEAN : KILN_REDUCE_SUM); ab_i32(&a, 12);
            tspec in = {KILN_F32, 4, xd, x, 0, 0}, out = {KILN_F32, 4, yd, want[k], 0, 0};
            test_op(what, KILN_OP_REDUCE, a.data, a.size, 1, &in, 1, &out, 1e-6f, 0);
        }
        free(x);
    }
}

static void test_reductions(void) {
    test_reduce_runs();
    reduce_case("reduce_sum", KILN_REDUCE_SUM, 5, (tspec)F32(r_ReduceSum_in0), (tspec)F32(r_ReduceSum_out0));
    reduce_case("reduce_mean", KILN_REDUCE_MEAN, 5, (tspec)F32(r_ReduceMean_in0), (tspec)F32(r_ReduceMean_out0));
    reduce_case("reduce_max", KILN_REDUCE_MAX, 5, (tspec)F32(r_ReduceMax_in0), (tspec)F32(r_ReduceMax_out0));
    reduce_case("reduce_min", KILN_REDUCE_MIN, 5, (tspec)F32(r_ReduceMin_in0), (tspec)F32(r_ReduceMin_out0));
    reduce_case("reduce_prod", KILN_REDUCE_PROD, 5, (tspec)F32(r_ReduceProd_in0), (tspec)F32(r_ReduceProd_out0));
    reduce_case("reduce_l1", KILN_REDUCE_L1, 5, (tspec)F32(r_ReduceL1_in0), (tspec)F32(r_ReduceL1_out0));
    reduce_case("reduce_l2", KILN_REDUCE_L2, 5, (tspec)F32(r_ReduceL2_in0), (tspec)F32(r_ReduceL2_out0));
    reduce_case("reduce_sum_square", KILN_REDUCE_SUM_SQUARE, 5, (tspec)F32(r_ReduceSumSquare_in0), (tspec)F32(r_ReduceSumSquare_out0));
    reduce_case("reduce_log_sum_exp", KILN_REDUCE_LOG_SUM_EXP, 5, (tspec)F32(r_ReduceLogSumExp_in0), (tspec)F32(r_ReduceLogSumExp_out0));
    reduce_case("reduce_log_sum (no keepdims)", KILN_REDUCE_LOG_SUM, 2, (tspec)F32(r_logsum_in0), (tspec)F32(r_logsum_out0));
    reduce_case("reduce_mean over H, W (global pool)", KILN_REDUCE_MEAN, 12, (tspec)F32(r_mean_hw_in0), (tspec)F32(r_mean_hw_out0));

    struct { const char *what; int32_t axis, is_max, last; const int64_t *want, *dims; uint32_t rank; } args[3] = {
        {"arg_max keepdims", 1, 1, 0, argmax_out0, argmax_out0_dims, argmax_out0_rank},
        {"arg_max select_last_index", 1, 1, 1, argmax_last_out0, argmax_last_out0_dims, argmax_last_out0_rank},
        {"arg_min axis 0", 0, 0, 0, argmin0_out0, argmin0_out0_dims, argmin0_out0_rank},
    };
    for (int k = 0; k < 3; k++) {
        attr_buf a = {0};
        ab_i32(&a, args[k].axis); ab_i32(&a, args[k].is_max); ab_i32(&a, args[k].last);
        tspec in[1] = {F32(argmax_in0)}, out[1] = {{KILN_I64, args[k].rank, args[k].dims, args[k].want, 0, 0}};
        test_op(args[k].what, KILN_OP_ARG_REDUCE, a.data, a.size, 1, in, 1, out, 0, 0);
    }
    attr_buf cs = {0};
    ab_i32(&cs, 1); ab_i32(&cs, 1); ab_i32(&cs, 1);
    tspec cin[1] = {F32(cumsum_in0)}, cout_[1] = {F32(cumsum_out0)};
    test_op("cumsum exclusive reverse", KILN_OP_CUMSUM, cs.data, cs.size, 1, cin, 1, cout_, 1e-6f, 1e-6f);
    attr_buf tk = {0};
    ab_i32(&tk, 1); ab_i32(&tk, 1);
    tspec tin[1] = {F32(topk_in0)};
    tspec tout[2] = {F32(topk_out0), {KILN_I64, topk_out1_rank, topk_out1_dims, topk_out1, 0, 0}};
    test_op("top_k largest (ties keep the lower index)", KILN_OP_TOPK, tk.data, tk.size, 1, tin, 2, tout, 0, 0);
    attr_buf ts = {0};
    ab_i32(&ts, 0); ab_i32(&ts, 0);
    tspec sin_[1] = {F32(topk_small_in0)};
    tspec sout[2] = {F32(topk_small_out0), {KILN_I64, topk_small_out1_rank, topk_small_out1_dims, topk_small_out1, 0, 0}};
    test_op("top_k smallest along axis 0", KILN_OP_TOPK, ts.data, ts.size, 1, sin_, 2, sout, 0, 0);
}

static void resize_case(const char *what, int32_t mode, int32_t coord, int32_t nearest, int32_t exclude, float a,
                        const float *scales, const float *roi, tspec in, tspec out) {
    attr_buf at = {0};
    ab_i32(&at, mode); ab_i32(&at, coord); ab_i32(&at, nearest); ab_i32(&at, exclude); ab_i32(&at, 0);
    ab_f32(&at, a); ab_f32(&at, 0.5f);
    for (int i = 0; i < 8; i++) ab_f32(&at, i < 4 ? scales[i] : 1.0f);
    for (int i = 0; i < 16; i++) ab_f32(&at, roi && i < 8 ? roi[i] : 0.0f);
    test_op(what, KILN_OP_RESIZE, at.data, at.size, 1, &in, 1, &out, 1e-5f, 1e-6f);
}

/* The AVX-512 column pass (rows up to 32 wide, 16 pixels per step) against the scalar
 * loop (KILN_FKERNELS=portable) on the same plan: one and two source registers, 1..16
 * pixel blocks, 1, 2 and 4 taps, extrapolated lanes. Equal to float rounding. */
static void resize_paths_case(const char *what, int32_t mode, int32_t coord, int64_t h, int64_t w, int64_t oh, int64_t ow,
                              const float *roi) {
    int64_t xd[4] = {1, 2, h, w}, yd[4] = {1, 2, oh, ow};
    size_t xn = (size_t)(2 * h * w), yn = (size_t)(2 * oh * ow);
    float *x = malloc(xn * sizeof(float)), *y[2] = {malloc(yn * sizeof(float)), malloc(yn * sizeof(float))};
    test_fill(x, xn, 91);
    attr_buf at = {0};
    ab_i32(&at, mode); ab_i32(&at, coord); ab_i32(&at, KILN_NEAREST_ROUND_PREFER_FLOOR); ab_i32(&at, 0); ab_i32(&at, 0);
    ab_f32(&at, -0.75f); ab_f32(&at, 0.25f);
    float scales[4] = {1, 1, (float)oh / (float)h, (float)ow / (float)w};
    for (int i = 0; i < 8; i++) ab_f32(&at, i < 4 ? scales[i] : 1.0f);
    for (int i = 0; i < 16; i++) ab_f32(&at, roi && i < 8 ? roi[i] : 0.0f);
    run_portable_and_best(what, KILN_OP_RESIZE, &at, xd, yd, x, y);
    CHECK(test_compare(what, y[1], y[0], yn, 1e-6f, 1e-6f) == 0, "%s: AVX-512 and portable paths differ", what);
    free(x); free(y[0]); free(y[1]);
}

/* Nearest (asymmetric, floor) as row copies (resize.c's copy path) against a plain index
 * loop: 2x and 4x upscaling (PP-OCR's FPN), 1/2 and 1/3 downscaling, an upscaled outer
 * axis. */
static void resize_copy_case(const int64_t *xd, const float *scales) {
    int64_t yd[4], xn = 1, yn = 1;
    for (int d = 0; d < 4; d++) {
        yd[d] = (int64_t)floorf((float)xd[d] * scales[d]);
        xn *= xd[d];
        yn *= yd[d];
    }
    float *x = malloc(sizeof(float) * (size_t)xn), *want = malloc(sizeof(float) * (size_t)yn);
    test_fill(x, (size_t)xn, 93);
    for (int64_t o = 0; o < yn; o++) {
        int64_t rem = o, off = 0, stride = 1;
        for (int d = 3; d >= 0; d--) {
            int64_t i = (int64_t)floorf((float)(rem % yd[d]) / scales[d]);
            off += (i < xd[d] ? i : xd[d] - 1) * stride;
            stride *= xd[d];
            rem /= yd[d];
        }
        want[o] = x[off];
    }
    attr_buf at = {0};
    ab_i32(&at, KILN_RESIZE_NEAREST); ab_i32(&at, KILN_COORD_ASYMMETRIC); ab_i32(&at, KILN_NEAREST_FLOOR); ab_i32(&at, 0);
    ab_i32(&at, 0); ab_f32(&at, -0.75f); ab_f32(&at, 0.0f);
    for (int i = 0; i < 8; i++) ab_f32(&at, i < 4 ? scales[i] : 1.0f);
    for (int i = 0; i < 16; i++) ab_f32(&at, 0.0f);
    tspec in = {KILN_F32, 4, xd, x, 0, 0}, out = {KILN_F32, 4, yd, want, 0, 0};
    char what[96];
    snprintf(what, sizeof what, "resize nearest copy %lldx%lldx%lldx%lld x(%g,%g,%g,%g)", (long long)xd[0], (long long)xd[1],
             (long long)xd[2], (long long)xd[3], scales[0], scales[1], scales[2], scales[3]);
    test_op(what, KILN_OP_RESIZE, at.data, at.size, 1, &in, 1, &out, 0.0f, 0.0f);
    free(x); free(want);
}

static void test_resize(void) {
    static const int64_t c1[4] = {1, 3, 40, 40}, c2[4] = {2, 2, 5, 7}, c3[4] = {1, 2, 9, 12}, c4[4] = {1, 2, 3, 5};
    static const float u2[4] = {1, 1, 2, 2}, u4[4] = {1, 1, 4, 4}, dn[4] = {1, 1, 0.5f, 1.0f / 3.0f}, uo[4] = {1, 2, 2, 3};
    resize_copy_case(c1, u2);
    resize_copy_case(c2, u4);
    resize_copy_case(c3, dn);
    resize_copy_case(c4, uo);
    float crop[8] = {0, 0, 0.1f, -0.2f, 1, 1, 0.9f, 1.3f};
    resize_paths_case("resize paths: linear 13 -> 30 wide", KILN_RESIZE_LINEAR, KILN_COORD_HALF_PIXEL, 5, 13, 9, 30, NULL);
    resize_paths_case("resize paths: cubic 29 -> 61 wide", KILN_RESIZE_CUBIC, KILN_COORD_HALF_PIXEL, 4, 29, 7, 61, NULL);
    resize_paths_case("resize paths: nearest 7 -> 256 wide", KILN_RESIZE_NEAREST, KILN_COORD_ASYMMETRIC, 3, 7, 5, 256, NULL);
    resize_paths_case("resize paths: linear 32 -> 11 wide", KILN_RESIZE_LINEAR, KILN_COORD_ALIGN_CORNERS, 6, 32, 4, 11, NULL);
    resize_paths_case("resize paths: crop 20 -> 40, extrapolated", KILN_RESIZE_LINEAR, KILN_COORD_TF_CROP_AND_RESIZE, 6, 20, 12,
                      40, crop);
    resize_paths_case("resize paths: linear 16 -> 17 wide", KILN_RESIZE_LINEAR, KILN_COORD_HALF_PIXEL, 2, 16, 3, 17, NULL);
    float s1[4] = {1, 1, 2, 1.5f}, s2[4] = {1, 1, 1.7f, 2.3f}, s3[4] = {1, 1, 2, 2}, s4[4] = {1, 1, 1.0f / 3.0f, 0.5f};
    float roi[8] = {0, 0, 0.2f, -0.1f, 1, 1, 0.8f, 1.2f};
    resize_case("resize nearest asymmetric floor", KILN_RESIZE_NEAREST, KILN_COORD_ASYMMETRIC, KILN_NEAREST_FLOOR, 0, -0.75f,
                s1, NULL, (tspec)F32(rs_nearest_asym_in0), (tspec)F32(rs_nearest_asym_out0));
    resize_case("resize nearest half_pixel round_prefer_ceil", KILN_RESIZE_NEAREST, KILN_COORD_HALF_PIXEL,
                KILN_NEAREST_ROUND_PREFER_CEIL, 0, -0.75f, s2, NULL, (tspec)F32(rs_nearest_half_in0), (tspec)F32(rs_nearest_half_out0));
    resize_case("resize linear half_pixel", KILN_RESIZE_LINEAR, KILN_COORD_HALF_PIXEL, 0, 0, -0.75f, s3, NULL,
                (tspec)F32(rs_linear_half_in0), (tspec)F32(rs_linear_half_out0));
    resize_case("resize linear align_corners", KILN_RESIZE_LINEAR, KILN_COORD_ALIGN_CORNERS, 0, 0, -0.75f, s3, NULL,
                (tspec)F32(rs_linear_align_in0), (tspec)F32(rs_linear_align_out0));
    resize_case("resize linear pytorch_half_pixel downscale", KILN_RESIZE_LINEAR, KILN_COORD_PYTORCH_HALF_PIXEL, 0, 0, -0.75f,
                s4, NULL, (tspec)F32(rs_linear_pytorch_down_in0), (tspec)F32(rs_linear_pytorch_down_out0));
    resize_case("resize cubic exclude_outside", KILN_RESIZE_CUBIC, KILN_COORD_HALF_PIXEL, 0, 1, -0.5f, s1, NULL,
                (tspec)F32(rs_cubic_half_in0), (tspec)F32(rs_cubic_half_out0));
    resize_case("resize linear tf_crop_and_resize", KILN_RESIZE_LINEAR, KILN_COORD_TF_CROP_AND_RESIZE, 0, 0, -0.75f, s3, roi,
                (tspec)F32(rs_linear_crop_in0), (tspec)F32(rs_linear_crop_out0));
    /* An empty result with a huge other axis loads and runs without building 2^40 taps
     * (fuzz-plan found the loader asking for gigabytes here). */
    static const int64_t empty_in_dims[4] = {1, 1, 2, 2}, empty_out_dims[4] = {1, 0, (int64_t)1 << 40, 2};
    static const float empty_in[4] = {1, 2, 3, 4}, empty_out[1] = {0};
    float s5[4] = {1, 1, 2, 1};
    resize_case("resize to an empty result with a 2^40 axis", KILN_RESIZE_LINEAR, KILN_COORD_ASYMMETRIC, 0, 0, -0.75f, s5,
                NULL, (tspec){KILN_F32, 4, empty_in_dims, empty_in, 0, 0}, (tspec){KILN_F32, 4, empty_out_dims, empty_out, 0, 0});
}

void test_nn(void) {
    test_softmax_norms();
    test_pools();
    test_pool_paths();
    test_reductions();
    test_resize();
}
