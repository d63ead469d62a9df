/* test_conv.c — CONV2D (im2col + GEMM and pointwise), CONV2D_PACKED, DEPTHWISE_CONV2D
 * and CONV_TRANSPOSE2D against naive loops: odd sizes, size-1 dims, strides, dilations,
 * asymmetric pads, groups, channel multipliers, with and without bias and activation
 * (relu field: 1 relu, 2 clip [-0.25, 0.3], 3 sigmoid, 4 silu). The packed, Winograd and
 * depthwise cases run once per float-kernel path (KILN_FKERNELS: portable, AVX2, and the
 * best this CPU has, AVX-512 here), each at 1 and 2 threads. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "../src/internal.h"
#include "../src/kernels/common.h"

#include <math.h>

typedef struct conv_case {
    int64_t n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group;
    int bias, relu, op; /* op: KILN_OP_CONV2D / DEPTHWISE_CONV2D / CONV_TRANSPOSE2D */
    int64_t out_pad_h, out_pad_w;
} conv_case;

static void conv_attrs(attr_buf *a, const conv_case *k) {
    int64_t v[11] = {k->kh, k->kw, k->sh, k->sw, k->pt, k->pl, k->pb, k->pr, k->dh, k->dw, k->group};
    for (int i = 0; i < 11; i++) ab_i32(a, (int32_t)v[i]);
    int32_t act[5] = {0, KILN_UNARY_RELU, KILN_UNARY_CLIP, KILN_UNARY_SIGMOID, KILN_UNARY_SILU};
    ab_i32(a, act[k->relu]);
    ab_f32(a, k->relu == 2 ? -0.25f : 0);
    ab_f32(a, k->relu == 2 ? 0.3f : 0);
}

static double ref_act(int relu, double s) {
    if (relu == 1) return s < 0 ? 0 : s;
    if (relu == 2) return s < -0.25 ? -0.25 : (s > 0.3 ? 0.3 : s);
    if (relu == 3) return 1.0 / (1.0 + exp(-s));
    if (relu == 4) return s / (1.0 + exp(-s));
    return s;
}

/* OIHW [M, K] → CONV2D_PACKED panels [ceil(M/6), K, 6], zero past M. */
static float *pack_panels(const float *w, int64_t m, int64_t kdim, int64_t *panels) {
    *panels = (m + 5) / 6;
    float *out = calloc((size_t)(*panels * kdim * 6), sizeof(float));
    for (int64_t r = 0; r < m; r++)
        for (int64_t k = 0; k < kdim; k++) out[((r / 6) * kdim + k) * 6 + r % 6] = w[r * kdim + k];
    return out;
}

static const char *g_isa = "best";   /* the KILN_FKERNELS cap of the current pass */

static void run_conv_case(const conv_case *k) {
    int64_t oh = (k->h + k->pt + k->pb - ((k->kh - 1) * k->dh + 1)) / k->sh + 1;
    int64_t ow = (k->w + k->pl + k->pr - ((k->kw - 1) * k->dw + 1)) / k->sw + 1;
    int64_t cg = k->c / k->group, mg = k->m / k->group;
    size_t xn = (size_t)(k->n * k->c * k->h * k->w), wn = (size_t)(k->m * cg * k->kh * k->kw), yn = (size_t)(k->n * k->m * oh * ow);
    float *x = malloc(xn * 4), *w = malloc(wn * 4), *b = malloc((size_t)k->m * 4), *want = malloc(yn * 4);
    test_fill(x, xn, 101); test_fill(w, wn, 102); test_fill(b, (size_t)k->m, 103);
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t m = 0; m < k->m; m++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double s = k->bias ? b[m] : 0;
                    int64_t g = m / mg;
                    for (int64_t ci = 0; ci < cg; ci++)
                        for (int64_t ki = 0; ki < k->kh; ki++)
                            for (int64_t kj = 0; kj < k->kw; kj++) {
                                int64_t ih = i * k->sh - k->pt + ki * k->dh, iw = j * k->sw - k->pl + kj * k->dw;
                                if (ih < 0 || ih >= k->h || iw < 0 || iw >= k->w) continue;
                                s += (double)x[((n * k->c + g * cg + ci) * k->h + ih) * k->w + iw] *
                                     w[((m * cg + ci) * k->kh + ki) * k->kw + kj];
                            }
                    want[((n * k->m + m) * oh + i) * ow + j] = (float)ref_act(k->relu, s);
                }
    pb *p = pb_new();
    int64_t xd[4] = {k->n, k->c, k->h, k->w}, wd[4] = {k->m, cg, k->kh, k->kw}, bd[1] = {k->m}, yd[4] = {k->n, k->m, oh, ow};
    int64_t cd[2] = {cg * k->kh * k->kw, oh * ow};
    uint32_t tx = pb_input(p, "x", KILN_F32, 4, xd), tw;
    if (k->op == KILN_OP_CONV2D_PACKED) {
        int64_t pd[3] = {0, cg * k->kh * k->kw, 6};
        float *packed = pack_panels(w, k->m, pd[1], &pd[0]);
        tw = pb_constant(p, KILN_F32, 3, pd, packed);
        free(packed);
    } else {   /* CONV2D_WINOGRAD too: the plain OIHW weights, transformed at load */
        tw = pb_constant(p, KILN_F32, 4, wd, w);
    }
    uint32_t tb = k->bias ? pb_constant(p, KILN_F32, 1, bd, b) : 0xFFFFFFFFu;
    uint32_t ty = pb_output(p, "y", KILN_F32, 4, yd);
    int pointwise = k->kh == 1 && k->kw == 1 && k->sh == 1 && k->sw == 1 && !k->pt && !k->pl && !k->pb && !k->pr;
    uint32_t outs[2] = {ty, 0};
    uint32_t nout = 1;
    if (k->op == KILN_OP_CONV2D && !pointwise) { outs[1] = pb_arena(p, KILN_F32, 2, cd); nout = 2; }
    attr_buf a = {0};
    conv_attrs(&a, k);
    uint32_t ins[3] = {tx, tw, tb};
    pb_instr(p, (uint16_t)k->op, a.data, a.size, 3, ins, nout, outs);
    char what[200];
    snprintf(what, sizeof what, "[%s] %s n%lld c%lld %lldx%lld m%lld k%lldx%lld s%lld,%lld p%lld,%lld,%lld,%lld d%lld,%lld g%lld",
             g_isa, k->op == KILN_OP_CONV2D ? "conv2d" : k->op == KILN_OP_DEPTHWISE_CONV2D ? "depthwise" : k->op == KILN_OP_CONV2D_PACKED ? "packed" : "winograd", (long long)k->n, (long long)k->c, (long long)k->h,
             (long long)k->w, (long long)k->m, (long long)k->kh, (long long)k->kw, (long long)k->sh, (long long)k->sw,
             (long long)k->pt, (long long)k->pl, (long long)k->pb, (long long)k->pr, (long long)k->dh, (long long)k->dw,
             (long long)k->group);
    const void *inputs[1] = {x};
    float *wants[1] = {want};
    size_t counts[1] = {yn};
    /* Winograd's transforms round differently from a direct sum: it must agree to 1e-4 of
     * the output's largest magnitude, not of each (possibly cancelling) element. */
    float atol = 1e-4f;
    if (k->op == KILN_OP_CONV2D_WINOGRAD)
        for (size_t i = 0; i < yn; i++) atol = fabsf(want[i]) * 1e-4f > atol ? fabsf(want[i]) * 1e-4f : atol;
    test_run_f32(p, what, inputs, 1, wants, counts, 1e-4f, atol);
    free(x); free(w); free(b); free(want);
}

static void run_ct_case(const conv_case *k) {
    int64_t oh = k->sh * (k->h - 1) + k->out_pad_h + (k->kh - 1) * k->dh + 1 - k->pt - k->pb;
    int64_t ow = k->sw * (k->w - 1) + k->out_pad_w + (k->kw - 1) * k->dw + 1 - k->pl - k->pr;
    int64_t cg = k->c / k->group, mg = k->m / k->group;
    size_t xn = (size_t)(k->n * k->c * k->h * k->w), wn = (size_t)(k->c * mg * k->kh * k->kw), yn = (size_t)(k->n * k->m * oh * ow);
    float *x = malloc(xn * 4), *w = malloc(wn * 4), *b = malloc((size_t)k->m * 4);
    double *acc = calloc(yn, sizeof(double));
    float *want = malloc(yn * 4);
    test_fill(x, xn, 201); test_fill(w, wn, 202); test_fill(b, (size_t)k->m, 203);
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t ci = 0; ci < k->c; ci++)
            for (int64_t i = 0; i < k->h; i++)
                for (int64_t j = 0; j < k->w; j++)
                    for (int64_t mo = 0; mo < mg; mo++)
                        for (int64_t ki = 0; ki < k->kh; ki++)
                            for (int64_t kj = 0; kj < k->kw; kj++) {
                                int64_t g = ci / cg, m = g * mg + mo;
                                int64_t y0 = i * k->sh - k->pt + ki * k->dh, x0 = j * k->sw - k->pl + kj * k->dw;
                                if (y0 < 0 || y0 >= oh || x0 < 0 || x0 >= ow) continue;
                                acc[((n * k->m + m) * oh + y0) * ow + x0] +=
                                    (double)x[((n * k->c + ci) * k->h + i) * k->w + j] * w[((ci * mg + mo) * k->kh + ki) * k->kw + kj];
                            }
    for (size_t i = 0; i < yn; i++) {
        double v = acc[i] + (k->bias ? b[(i / (size_t)(oh * ow)) % (size_t)k->m] : 0);
        want[i] = (float)(k->relu && v < 0 ? 0 : v);
    }
    pb *p = pb_new();
    int64_t xd[4] = {k->n, k->c, k->h, k->w}, wd[4] = {k->c, mg, k->kh, k->kw}, bd[1] = {k->m}, yd[4] = {k->n, k->m, oh, ow};
    int64_t cd[2] = {mg * k->kh * k->kw, k->h * k->w};
    uint32_t tx = pb_input(p, "x", KILN_F32, 4, xd), tw = pb_constant(p, KILN_F32, 4, wd, w);
    uint32_t tb = k->bias ? pb_constant(p, KILN_F32, 1, bd, b) : 0xFFFFFFFFu;
    uint32_t ty = pb_output(p, "y", KILN_F32, 4, yd), tc = pb_arena(p, KILN_F32, 2, cd);
    attr_buf a = {0};
    conv_attrs(&a, k);
    uint32_t ins[3] = {tx, tw, tb}, outs[2] = {ty, tc};
    pb_instr(p, KILN_OP_CONV_TRANSPOSE2D, a.data, a.size, 3, ins, 2, outs);
    char what[160];
    snprintf(what, sizeof what, "[%s] conv_transpose c%lld %lldx%lld m%lld k%lld s%lld p%lld op%lld g%lld", g_isa, (long long)k->c,
             (long long)k->h, (long long)k->w, (long long)k->m, (long long)k->kh, (long long)k->sh, (long long)k->pt,
             (long long)k->out_pad_h, (long long)k->group);
    const void *inputs[1] = {x};
    float *wants[1] = {want};
    size_t counts[1] = {yn};
    test_run_f32(p, what, inputs, 1, wants, counts, 1e-4f, 1e-4f);
    free(x); free(w); free(b); free(want); free(acc);
}

/* CONV2D_PACKED with a dilation of 30000 on a 2x2 input (one output pixel): the direct
 * kernels' zero-padded input copy would be 30001^2 floats in every thread's workspace
 * (3.6 GB); the plan must ask for a small workspace and still compute the right pixel. */
static void packed_huge_dilation_case(void) {
    enum { M = 4, D = 30000 };
    float x[4], w[M * 4], want[M];
    test_fill(x, 4, 301); test_fill(w, M * 4, 302);
    for (int m = 0; m < M; m++) want[m] = x[0] * w[m * 4];   /* every other tap lands in the padding */
    int64_t panels, xd[4] = {1, 1, 2, 2}, yd[4] = {1, M, 1, 1};
    float *packed = pack_panels(w, M, 4, &panels);
    int64_t pd[3] = {panels, 4, 6};
    pb *p = pb_new();
    uint32_t tx = pb_input(p, "x", KILN_F32, 4, xd), tw = pb_constant(p, KILN_F32, 3, pd, packed);
    uint32_t ty = pb_output(p, "y", KILN_F32, 4, yd), ins[3] = {tx, tw, 0xFFFFFFFFu};
    free(packed);
    conv_case k = {1, 1, 2, 2, M, 2, 2, 1, 1, 0, 0, D - 1, D - 1, D, D, 1, 0, 0, KILN_OP_CONV2D_PACKED, 0, 0};
    attr_buf a = {0};
    conv_attrs(&a, &k);
    pb_instr(p, KILN_OP_CONV2D_PACKED, a.data, a.size, 3, ins, 1, &ty);
    size_t size;
    uint8_t *bytes = pb_finish(p, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(p);
    kiln_plan *plan = NULL;
    kiln_error e;
    kiln_status st = kiln_plan_load_memory(bytes, size, &plan, &e);
    CHECK(st == KILN_OK, "packed dilation %d: load failed: %s", D, e.message);
    if (st == KILN_OK) {
        CHECK(plan->workspace_floats < ((size_t)1 << 22), "packed dilation %d: workspace of %zu floats per thread", D,
              plan->workspace_floats);
        if (plan->workspace_floats < ((size_t)1 << 22)) {
            const void *inputs[1] = {x};
            float out[M];
            void *outs[1] = {out};
            char err[300] = "";
            for (uint32_t threads = 1; threads <= 2; threads++) {
                st = test_run(bytes, size, threads, inputs, outs, err, sizeof err);
                CHECK(st == KILN_OK, "packed dilation %d: run failed: %s", D, err);
                if (st == KILN_OK) CHECK(test_compare("packed dilation", out, want, M, 1e-5f, 1e-6f) == 0, "packed dilation %d", D);
            }
        }
        kiln_plan_free(plan);
    }
    free(bytes);
}

/* CONV2D_WINOGRAD's load: weights stored as f16 are widened, then transformed (vs the
 * direct conv on the same rounded weights); weights that are a plan input, or in the old
 * transformed layout [36, P, C, 6], are refused with a clear message. */
static void winograd_load_cases(void) {
    enum { C = 3, H = 6, W = 5, M = 7 };
    float x[C * H * W], w[M * C * 9], want[M * H * W];
    uint16_t halves[M * C * 9];
    static const float old_layout[36 * 2 * C * 6];
    test_fill(x, C * H * W, 201); test_fill(w, M * C * 9, 202);
    for (int i = 0; i < M * C * 9; i++) {          /* multiples of 1/64 in [-1, 1): exact in f16 */
        w[i] = (float)(int)(w[i] * 64.0f) / 64.0f;
        int q = (int)(w[i] * 64.0f), mag = q < 0 ? -q : q, shift = 0;
        if (q == 0) { halves[i] = 0; continue; }
        while ((mag << shift) < 1024) shift++;       /* mag / 64 = 1.f * 2^(4 - shift) */
        halves[i] = (uint16_t)((q < 0 ? 0x8000 : 0) | ((19 - shift) << 10) | ((mag << shift) - 1024));
    }
    for (int m = 0; m < M; m++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double s = 0;
                for (int c = 0; c < C; c++)
                    for (int ki = 0; ki < 3; ki++)
                        for (int kj = 0; kj < 3; kj++) {
                            int ih = i - 1 + ki, iw = j - 1 + kj;
                            if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                s += (double)x[(c * H + ih) * W + iw] * w[((m * C + c) * 3 + ki) * 3 + kj];
                        }
                want[(m * H + i) * W + j] = (float)s;
            }
    conv_case k = {1, C, H, W, M, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, KILN_OP_CONV2D_WINOGRAD, 0, 0};
    int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, 3, 3}, ud[4] = {36, 2, C, 6}, yd[4] = {1, M, H, W};
    for (int variant = 0; variant < 3; variant++) {
        pb *p = pb_new();
        uint32_t tx = pb_input(p, "x", KILN_F32, 4, xd), tw;
        if (variant == 0) tw = pb_constant_f16(p, 4, wd, halves);
        else if (variant == 1) tw = pb_input(p, "w", KILN_F32, 4, wd);
        else tw = pb_constant(p, KILN_F32, 4, ud, old_layout);
        uint32_t ty = pb_output(p, "y", KILN_F32, 4, yd), ins[3] = {tx, tw, 0xFFFFFFFFu};
        attr_buf a = {0};
        conv_attrs(&a, &k);
        pb_instr(p, KILN_OP_CONV2D_WINOGRAD, a.data, a.size, 3, ins, 1, &ty);
        if (variant == 0) {
            const void *inputs[1] = {x};
            float *wants[1] = {want};
            size_t counts[1] = {M * H * W};
            test_run_f32(p, "winograd f16-stored weights", inputs, 1, wants, counts, 1e-4f, 1e-4f);
            continue;
        }
        size_t size;
        uint8_t *plan = pb_finish(p, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        kiln_plan *pl = NULL;
        kiln_error e;
        kiln_status st = kiln_plan_load_memory(plan, size, &pl, &e);
        const char *msg = variant == 1 ? "weight must be a constant" : "weight shape must be [7, 3, 3, 3]";
        CHECK(st == KILN_ERR_MALFORMED && strstr(e.message, msg), "winograd load variant %d: status %d, '%s'", variant,
              (int)st, st == KILN_OK ? "" : e.message);
        kiln_plan_free(pl);
        free(plan);
        pb_free(p);
    }
}

/* The path chosen at load: AVX-512 exactly when the CPU reports F, BW, DQ and VL (GCC's
 * and clang's own cpuid checks, which include the OS's ZMM state); caps lower it. */
static void isa_cases(void) {
    unsetenv("KILN_FKERNELS");
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
#ifdef KILN_HAVE_AVX512
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    int avx512 = 0; /* a KILN_NO_AVX512 build (x86-64 size builds) never picks it */
#endif
#if defined(__AVX2__) && defined(__FMA__)
    const kiln_isa base = KILN_ISA_AVX2;     /* compiled in by -march */
#else
    const kiln_isa base = KILN_ISA_PORTABLE;
#endif
    CHECK(kiln_isa_detect() == (avx512 ? KILN_ISA_AVX512 : base), "isa %d, cpu avx512 %d", (int)kiln_isa_detect(),
          avx512);
    setenv("KILN_FKERNELS", "avx2", 1);
    CHECK(kiln_isa_detect() == base, "avx2 cap: %d", (int)kiln_isa_detect());
#endif
    setenv("KILN_FKERNELS", "portable", 1);
    CHECK(kiln_isa_detect() == KILN_ISA_PORTABLE, "portable cap: %d", (int)kiln_isa_detect());
    unsetenv("KILN_FKERNELS");
}

void test_conv(void) {
    isa_cases();
    winograd_load_cases();
    packed_huge_dilation_case();
    const int C = KILN_OP_CONV2D, D = KILN_OP_DEPTHWISE_CONV2D, P = KILN_OP_CONV2D_PACKED, W = KILN_OP_CONV2D_WINOGRAD;
    conv_case cases[] = {
        /* n  c  h  w   m kh kw sh sw pt pl pb pr dh dw g  bias relu op */
        {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, C, 0, 0},
        {2, 4, 8, 6, 6, 3, 3, 2, 2, 1, 0, 1, 1, 1, 1, 2, 1, 0, C, 0, 0},
        {1, 2, 9, 9, 3, 3, 2, 1, 2, 2, 1, 0, 2, 2, 1, 1, 0, 1, C, 0, 0},
        {1, 5, 4, 5, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, C, 0, 0},  /* pointwise: no scratch */
        {2, 6, 5, 7, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 0, C, 0, 0},  /* strided 1x1 */
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, C, 0, 0},  /* all ones */
        {1, 3, 1, 11, 2, 1, 3, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, C, 0, 0}, /* conv1d as H=1 */
        {1, 16, 13, 13, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, C, 0, 0},
        {1, 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, 1, 1, D, 0, 0},
        {2, 4, 9, 8, 8, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, 4, 1, 0, D, 0, 0},  /* multiplier 2, asymmetric pads */
        {1, 3, 10, 10, 3, 5, 5, 1, 2, 2, 2, 2, 2, 2, 1, 3, 0, 1, D, 0, 0},
        {1, 5, 1, 1, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, 1, 0, D, 0, 0},
        {1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 0, C, 0, 0},  /* grouped conv2d with g == C */
        /* depthwise 3x3 fast path (stride 1 / 2 in W): vector bodies, remainders, borders */
        {1, 3, 17, 37, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1, D, 0, 0},
        {1, 2, 18, 36, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 0, D, 0, 0},
        {1, 2, 19, 35, 2, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 2, 0, 1, D, 0, 0},
        {1, 2, 7, 40, 2, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 2, 1, 0, D, 0, 0},
        {1, 2, 9, 33, 4, 3, 3, 1, 2, 2, 0, 0, 2, 1, 1, 2, 1, 1, D, 0, 0},  /* multiplier 2, pads 2 */
        {1, 2, 5, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 0, D, 0, 0},   /* width 1 */
        {1, 2, 3, 2, 2, 3, 3, 1, 2, 0, 1, 0, 1, 1, 1, 2, 1, 0, D, 0, 0},   /* width 2, one row */
        {1, 2, 4, 3, 2, 3, 3, 2, 1, 0, 0, 0, 0, 1, 1, 2, 1, 1, D, 0, 0},   /* no padding, 3 wide */
        /* MobileNet's narrow planes (7, 14 wide; stride 2 from 15, 29), 16-column chunks */
        {1, 3, 7, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 2, D, 0, 0},
        {1, 2, 14, 14, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, D, 0, 0},
        {1, 2, 15, 15, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 2, D, 0, 0},
        {1, 2, 29, 29, 4, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 2, 1, 3, D, 0, 0},
        {1, 2, 6, 33, 2, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 2, 0, 1, D, 0, 0},
        {1, 2, 5, 70, 2, 3, 3, 2, 1, 1, 0, 1, 2, 1, 1, 2, 1, 0, D, 0, 0},
        /* AVX-512 rolling rows (stride 1) and shared rows (stride 2): pads 0 and 2 on top /
         * bottom, one- and two-row inputs, output rows that see only padding */
        {1, 2, 9, 21, 2, 3, 3, 1, 1, 2, 1, 0, 1, 1, 1, 2, 1, 2, D, 0, 0},
        {1, 2, 6, 17, 2, 3, 3, 1, 1, 0, 0, 2, 2, 1, 1, 2, 0, 1, D, 0, 0},
        {1, 3, 1, 18, 3, 3, 3, 1, 1, 2, 1, 2, 1, 1, 1, 3, 1, 0, D, 0, 0},
        {1, 2, 2, 5, 2, 3, 3, 2, 2, 0, 1, 2, 1, 1, 1, 2, 1, 2, D, 0, 0},
        {1, 2, 11, 34, 2, 3, 3, 2, 2, 2, 0, 2, 2, 1, 1, 2, 0, 3, D, 0, 0},
        {1, 2, 1, 9, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, D, 0, 0},
        /* other kernels up to 16 taps wide at stride 1 / 2 in W (AVX-512: four rows per
         * step): PP-OCR's 5x5 on 20- and 10-wide planes, dilation, multiplier 2, asymmetric
         * pads, three 16-column chunks, a one-row input, 16 taps; 17 taps and stride 3 fall
         * back to the generic loops */
        {1, 3, 20, 20, 3, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 3, 1, 2, D, 0, 0},
        {1, 2, 20, 20, 2, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 2, 1, 0, D, 0, 0},
        {1, 2, 10, 10, 2, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 2, 0, 3, D, 0, 0},
        {1, 2, 9, 37, 4, 7, 7, 1, 1, 3, 5, 2, 4, 2, 2, 2, 1, 1, D, 0, 0},
        {1, 2, 6, 35, 2, 2, 4, 1, 2, 0, 1, 1, 2, 1, 1, 2, 1, 1, D, 0, 0},
        {1, 2, 1, 5, 2, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 2, 1, 0, D, 0, 0},
        {1, 1, 3, 40, 1, 1, 16, 1, 1, 0, 7, 0, 8, 1, 1, 1, 1, 0, D, 0, 0},
        {1, 1, 2, 40, 1, 1, 17, 1, 1, 0, 8, 0, 8, 1, 1, 1, 1, 0, D, 0, 0},
        {1, 2, 8, 20, 2, 5, 5, 3, 3, 2, 2, 2, 2, 1, 1, 2, 1, 0, D, 0, 0},
        /* packed: M around the 6-row panels, columns around the 16-wide strips and 256-column
         * blocks, K over one 256-tap slice, every activation path */
        {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, P, 0, 0},
        {2, 4, 8, 6, 6, 3, 3, 2, 2, 1, 0, 1, 1, 1, 1, 1, 1, 2, P, 0, 0},
        {1, 2, 9, 9, 13, 3, 2, 1, 2, 2, 1, 0, 2, 2, 1, 1, 0, 3, P, 0, 0},
        {1, 5, 4, 4, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, P, 0, 0},   /* pointwise, one full strip */
        {2, 6, 5, 7, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 0, P, 0, 0},   /* strided 1x1 */
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, P, 0, 0},
        {1, 3, 1, 11, 2, 1, 3, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 2, P, 0, 0},
        {1, 30, 17, 19, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, P, 0, 0}, /* K 270, 323 columns */
        {2, 300, 5, 7, 12, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, P, 0, 0},  /* pointwise K 300 */
        {1, 16, 33, 32, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, P, 0, 0}, /* 1056 columns, 5 blocks */
        {1, 7, 20, 21, 6, 3, 3, 2, 2, 0, 1, 1, 0, 2, 2, 1, 1, 0, P, 0, 0},  /* dilated, stride 2 */
        /* around the AVX-512 32-column tiles: 49 (32 + masked 17), 31, 33, 16 columns, more
         * than 32 panels (two panel chunks), K 290 with a partial tile (masked accumulate) */
        {1, 20, 7, 7, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, P, 0, 0},
        {1, 9, 1, 31, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 3, P, 0, 0},
        {2, 5, 3, 11, 200, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 2, P, 0, 0},
        {1, 290, 4, 4, 11, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, P, 0, 0},
        {1, 29, 8, 9, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, P, 0, 0},
        /* pointwise on AVX-512 (conv_pointwise.c): 64-column blocks with 1..4 vectors and
         * masked tails (63, 64, 65, 130, 7 columns), rows past M in the last panel, every
         * activation, batch 2, no bias */
        {1, 16, 7, 9, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 2, P, 0, 0},
        {2, 5, 8, 8, 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, P, 0, 0},
        {1, 24, 5, 13, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 3, P, 0, 0},
        {1, 3, 10, 13, 20, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, P, 0, 0},
        {1, 96, 1, 7, 25, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 2, P, 0, 0},
        {1, 1030, 3, 5, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, P, 0, 0}, /* over 1024 channels: packed GEMM */
        /* narrow outputs (under 32 wide: AVX-512 im2col by gathers): blocks starting mid-row,
         * pads 2, stride 2 with dilation, 5x5, 1-wide */
        {1, 5, 40, 30, 7, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, P, 0, 0},
        {2, 3, 23, 19, 8, 3, 3, 2, 2, 1, 0, 2, 1, 2, 2, 1, 1, 2, P, 0, 0},
        {1, 6, 12, 12, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 3, P, 0, 0},
        {1, 4, 9, 1, 5, 3, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, P, 0, 0},
        {1, 3, 11, 13, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 1, P, 0, 0}, /* stride 1 dilated, 13 wide */
        {1, 4, 5, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, P, 0, 0},    /* 25 columns: partial chunk */
        {1, 2, 8, 4, 3, 3, 3, 1, 1, 0, 1, 2, 1, 1, 1, 1, 1, 0, P, 0, 0},    /* 4 wide: 4 rows per chunk */
        {1, 3, 9, 70, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, P, 0, 0},   /* stride 1, 70 wide */
        {2, 4, 6, 37, 9, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 2, P, 0, 0},   /* 5x5, 37 wide */
        /* stride 2, 32+ wide (AVX-512 stride-2 runs with masked tails): a 7x7/2 stem, 3x3/2 */
        {1, 3, 41, 75, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 1, P, 0, 0},
        {1, 2, 9, 70, 5, 3, 3, 2, 2, 1, 0, 1, 2, 1, 1, 1, 1, 2, P, 0, 0},
        /* Winograd F(4x4, 3x3) (uncapped on AVX-512, outputs up to 24x24, or 32x32 with C*M <= 1024,
         * run the packed direct kernels instead): partial tiles, asymmetric / no / large pads, M around the
         * panels, C over one 256-channel slice, batch 2, tile blocks, every activation */
        {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, W, 0, 0},
        {2, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, W, 0, 0},
        {1, 2, 9, 10, 13, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 1, 0, 3, W, 0, 0},
        {1, 5, 3, 3, 7, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, W, 0, 0},  /* one output pixel */
        {1, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, W, 0, 0},
        {1, 260, 6, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, W, 0, 0}, /* C 260: two K slices */
        {1, 16, 33, 30, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, W, 0, 0}, /* 9x8 tiles */
        {1, 64, 56, 56, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, W, 0, 0}, /* several tile-row blocks */
        {2, 9, 35, 34, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, W, 0, 0}, /* vector steps + partial tiles */
        {1, 300, 7, 7, 200, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, W, 0, 0}, /* 34 panels, 2 K slices */
        {1, 40, 14, 14, 36, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, W, 0, 0}, /* direct kernel: 14 wide */
        /* Winograd on AVX-512 too (C*M over 32*32, over 24x24 outputs): partial tiles, vector
         * steps, several tile-row blocks; and the direct kernel for small C*M at 80x80 */
        {1, 40, 30, 29, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, W, 0, 0},
        {1, 48, 62, 57, 25, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, W, 0, 0},
        {1, 16, 80, 80, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, W, 0, 0},
        /* SiLU (YOLOv8's) through the direct kernels' row flush, packed and Winograd */
        {1, 16, 19, 21, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 4, P, 0, 0},
        {1, 24, 9, 10, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 4, P, 0, 0},
        {1, 8, 30, 31, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 4, W, 0, 0},
        /* AVX-512 direct kernel (conv_direct512.c): channel blocks of 16 / 32 with partial
         * last blocks, 8-pixel tiles (register transpose) with masked channels, tails, stride
         * 2 with asymmetric pads, dilation, batch 2, pointwise with few pixels */
        {1, 40, 9, 9, 50, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, P, 0, 0},
        {1, 24, 16, 16, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, P, 0, 0},
        {2, 12, 23, 33, 16, 3, 3, 2, 2, 1, 0, 2, 1, 1, 1, 1, 0, 2, P, 0, 0},
        {1, 8, 13, 29, 33, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 1, P, 0, 0},
        {1, 3, 30, 37, 70, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 1, P, 0, 0},
        {2, 96, 7, 7, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, P, 0, 0},
        {1, 64, 13, 13, 24, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 1, P, 0, 0},
        /* many taps (K 2340, 2160), 40 rows of 1 tile, 32- and 16-channel blocks */
        {1, 260, 40, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, P, 0, 0},
        {1, 240, 9, 9, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, P, 0, 0},
    };
    /* Each kernel path on this machine: capped at portable, at AVX2, then uncapped. */
    static const char *const isas[] = {"portable", "avx2", NULL};
    for (int v = 0; v < 3; v++) {
        if (isas[v]) setenv("KILN_FKERNELS", isas[v], 1);
        else unsetenv("KILN_FKERNELS");
        g_isa = isas[v] ? isas[v] : "best";
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            if (!isas[v] || cases[i].op != C) run_conv_case(&cases[i]);
    }
    /* The AVX-512 GEMM path the direct kernel replaces, and every tile width of it. */
    setenv("KILN_CONV_DIRECT", "0", 1);
    g_isa = "best, no direct";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].op == P || cases[i].op == W) run_conv_case(&cases[i]);
    unsetenv("KILN_CONV_DIRECT");
    conv_case widths[] = {
        {1, 5, 6, 37, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, P, 0, 0},   /* 16 channels */
        {1, 5, 6, 37, 45, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, P, 0, 0},   /* 32-channel blocks */
        {1, 4, 7, 75, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, P, 0, 0},   /* stride 2 */
        {1, 4, 7, 75, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 1, P, 0, 0},
    };
    for (int r = 1; r <= 16; r++) {
        static char label[32];
        char rs[8];
        snprintf(rs, sizeof rs, "%d", r);
        snprintf(label, sizeof label, "best, direct R %d", r);
        setenv("KILN_CONV_DIRECT_R", rs, 1);
        g_isa = label;
        for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) run_conv_case(&widths[i]);
    }
    unsetenv("KILN_CONV_DIRECT_R");
    /* Pixel lanes (16-pixel strips) at stride 1: every M up to 20 (channel blocks of 8
     * and a remainder; partial strips, tiles across rows and past the last strip, row
     * stride 2, dilation, batch 2), then every packed case with pixel lanes forced. */
    g_isa = "best";
    for (int64_t m = 1; m <= 20; m++) {
        conv_case pv[] = {
            {1, 5, 9, 21, m, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, (int)(m % 4), P, 0, 0},
            {2, 3, 11, 40, m, 5, 3, 2, 1, 2, 0, 1, 2, 1, 2, 1, (int)(m % 2), 1, P, 0, 0},
            {1, 2, 5, 16, m, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, P, 0, 0},
        };
        for (size_t i = 0; i < sizeof pv / sizeof pv[0]; i++) run_conv_case(&pv[i]);
    }
    setenv("KILN_CONV_DIRECT_PV", "1000", 1);
    g_isa = "best, pixel lanes forced";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].op == P || cases[i].op == W) run_conv_case(&cases[i]);
    unsetenv("KILN_CONV_DIRECT_PV");
    g_isa = "best";
    conv_case ct[] = {
        {1, 3, 4, 5, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},
        {2, 4, 3, 3, 6, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 2, 1, 1, 0, 0, 0},
        {1, 2, 5, 4, 3, 3, 2, 1, 3, 0, 1, 2, 0, 2, 1, 1, 0, 0, 0, 0, 2},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0},
        /* the direct per-phase path: channel blocks of 4 with 1, 3 and 5 channels (short
         * blocks), several 64-lane chunks, kernel 4 stride 2 (GAN), kernel 3 stride 2 with
         * output padding (autoencoder), stride 3 with dilation, big pads, groups */
        {1, 9, 4, 4, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},
        {1, 7, 11, 13, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
        {2, 6, 5, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0},
        {1, 5, 9, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},
        {1, 4, 6, 5, 4, 5, 3, 3, 2, 2, 0, 1, 2, 2, 1, 1, 1, 0, 0, 2, 1},
        {1, 6, 3, 4, 6, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1, 2, 1, 1, 0, 0, 0},
        {1, 3, 17, 19, 2, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0},
        {1, 10, 4, 4, 9, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},  /* GAN 4x4 -> 8x8: masked columns */
        {1, 7, 4, 4, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},  /* 4x4 -> 7x7, 32 channels on lanes */
        {1, 6, 3, 5, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 0, 0, 0, 0, 0}, /* channels on lanes, 2 groups x 2 blocks */
        {1, 3, 8, 5, 2, 4, 4, 2, 2, 2, 1, 1, 2, 1, 1, 1, 1, 1, 0, 0, 0},
        {1, 8, 1, 1, 6, 4, 4, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0},   /* 1x1 input: GEMM + col2im_single */
        {1, 8, 1, 1, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},   /* 1x1 input with padding */
        {1, 2, 3, 4, 2, 1, 17, 1, 2, 0, 3, 0, 3, 1, 1, 1, 1, 0, 0, 0, 1},   /* kernel over 16 taps: GEMM */
        {1, 2, 2, 3, 3, 2, 2, 20, 17, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0},  /* stride over 16: GEMM */
        /* phases wider than the input (kernel 4 stride 2 unpadded: 9 columns from 8; kernel
         * 3 stride 1: 8 from 6): no masked columns, whose pitch is the input width */
        {1, 4, 8, 8, 8, 4, 4, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0},
        {1, 2, 6, 6, 8, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0},
        {1, 3, 8, 5, 5, 4, 4, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1},
    };
    /* The direct path capped at portable, then uncapped (AVX-512 here). */
    static const char *const ct_isas[] = {"portable", NULL};
    for (int v = 0; v < 2; v++) {
        if (ct_isas[v]) setenv("KILN_FKERNELS", ct_isas[v], 1);
        else unsetenv("KILN_FKERNELS");
        g_isa = ct_isas[v] ? ct_isas[v] : "best";
        for (size_t i = 0; i < sizeof ct / sizeof ct[0]; i++) run_ct_case(&ct[i]);
    }
    g_isa = "best";
}
