/* test_elementwise.c — UNARY against ONNX Runtime values (expected.h), BINARY with
 * broadcasting against a naive loop, integer edge cases, WHERE and CAST. */
#include "test.h"
#include "expected.h"

#include <math.h>

typedef struct unary_case { const char *name; int32_t func; float alpha, beta; const float *in, *out; size_t n; } unary_case;

#define UC(NAME, FUNC, A, B) {#NAME, FUNC, A, B, u_##NAME##_in0, u_##NAME##_out0, sizeof u_##NAME##_out0 / sizeof(float)}

static void test_unary(void) {
    unary_case cases[] = {
        UC(relu, KILN_UNARY_RELU, 0, 0), UC(leaky, KILN_UNARY_LEAKY_RELU, 0.1f, 0), UC(sigmoid, KILN_UNARY_SIGMOID, 0, 0),
        UC(tanh, KILN_UNARY_TANH, 0, 0), UC(gelu, KILN_UNARY_GELU_ERF, 0, 0), UC(gelu_tanh, KILN_UNARY_GELU_TANH, 0, 0),
        UC(hard_swish, KILN_UNARY_HARD_SWISH, 0, 0), UC(hard_sigmoid, KILN_UNARY_HARD_SIGMOID, 0.2f, 0.5f),
        UC(elu, KILN_UNARY_ELU, 1.5f, 0), UC(selu, KILN_UNARY_SELU, 1.67326319217681884765625f, 1.05070102214813232421875f),
        UC(celu, KILN_UNARY_CELU, 0.7f, 0), UC(softplus, KILN_UNARY_SOFTPLUS, 0, 0), UC(softsign, KILN_UNARY_SOFTSIGN, 0, 0),
        UC(mish, KILN_UNARY_MISH, 0, 0), UC(thresholded_relu, KILN_UNARY_THRESHOLDED_RELU, 0.3f, 0),
        UC(exp, KILN_UNARY_EXP, 0, 0), UC(abs, KILN_UNARY_ABS, 0, 0), UC(neg, KILN_UNARY_NEG, 0, 0),
        UC(reciprocal, KILN_UNARY_RECIPROCAL, 0, 0), UC(floor, KILN_UNARY_FLOOR, 0, 0), UC(ceil, KILN_UNARY_CEIL, 0, 0),
        UC(round, KILN_UNARY_ROUND, 0, 0), UC(sign, KILN_UNARY_SIGN, 0, 0), UC(erf, KILN_UNARY_ERF, 0, 0),
        UC(sin, KILN_UNARY_SIN, 0, 0), UC(cos, KILN_UNARY_COS, 0, 0), UC(tan, KILN_UNARY_TAN, 0, 0),
        UC(atan, KILN_UNARY_ATAN, 0, 0), UC(sinh, KILN_UNARY_SINH, 0, 0), UC(cosh, KILN_UNARY_COSH, 0, 0),
        UC(asinh, KILN_UNARY_ASINH, 0, 0), UC(log, KILN_UNARY_LOG, 0, 0), UC(sqrt, KILN_UNARY_SQRT, 0, 0),
        UC(acosh, KILN_UNARY_ACOSH, 0, 0), UC(asin, KILN_UNARY_ASIN, 0, 0), UC(acos, KILN_UNARY_ACOS, 0, 0),
        UC(atanh, KILN_UNARY_ATANH, 0, 0), UC(clip, KILN_UNARY_CLIP, -0.5f, 0.7f),
        {"round half even", KILN_UNARY_ROUND, 0, 0, u_round_in, u_round_out, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const unary_case *u = &cases[i];
        int64_t dims[1] = {(int64_t)u->n};
        attr_buf a = {0};
        ab_i32(&a, u->func); ab_f32(&a, u->alpha); ab_f32(&a, u->beta);
        tspec in[1] = {{KILN_F32, 1, dims, u->in, 0, 0}}, out[1] = {{KILN_F32, 1, dims, u->out, 0, 0}};
        char what[64];
        snprintf(what, sizeof what, "unary %s", u->name);
        test_op(what, KILN_OP_UNARY, a.data, a.size, 1, in, 1, out, 2e-6f, 1e-6f);
    }
    /* silu, affine, scaled_tanh (not ONNX ops): closed forms */
    float x[5] = {-2, -0.5f, 0, 0.5f, 3}, silu[5], aff[5], st[5];
    for (int i = 0; i < 5; i++) {
        silu[i] = (float)(x[i] / (1.0 + exp(-(double)x[i])));
        aff[i] = 2.0f * x[i] + 0.5f;
        st[i] = (float)(1.5 * tanh(0.5 * x[i]));
    }
    int64_t d5[1] = {5};
    struct { int32_t f; float a, b; const float *want; } extra[3] = {{KILN_UNARY_SILU, 0, 0, silu}, {KILN_UNARY_AFFINE, 2, 0.5f, aff},
                                                                     {KILN_UNARY_SCALED_TANH, 1.5f, 0.5f, st}};
    for (int k = 0; k < 3; k++) {
        attr_buf a = {0};
        ab_i32(&a, extra[k].f); ab_f32(&a, extra[k].a); ab_f32(&a, extra[k].b);
        tspec in[1] = {{KILN_F32, 1, d5, x, 0, 0}}, out[1] = {{KILN_F32, 1, d5, extra[k].want, 0, 0}};
        test_op("unary silu/affine/scaled_tanh", KILN_OP_UNARY, a.data, a.size, 1, in, 1, out, 1e-6f, 1e-6f);
    }
    /* integer and bool unary */
    int64_t xi[5] = {-7, 0, 3, INT64_MIN, 9}, absi[5] = {7, 0, 3, INT64_MIN, 9}, clipi[5] = {-2, 0, 3, -2, 5};
    attr_buf a = {0};
    ab_i32(&a, KILN_UNARY_ABS); ab_f32(&a, 0); ab_f32(&a, 0);
    tspec in[1] = {{KILN_I64, 1, d5, xi, 0, 0}}, out[1] = {{KILN_I64, 1, d5, absi, 0, 0}};
    test_op("unary abs i64", KILN_OP_UNARY, a.data, a.size, 1, in, 1, out, 0, 0);
    attr_buf c = {0};
    ab_i32(&c, KILN_UNARY_CLIP); ab_f32(&c, -2.5f); ab_f32(&c, 5.0f);
    tspec outc[1] = {{KILN_I64, 1, d5, clipi, 0, 0}};
    test_op("unary clip i64", KILN_OP_UNARY, c.data, c.size, 1, in, 1, outc, 0, 0);
    uint8_t b[5] = {0, 1, 1, 0, 1}, nb[5] = {1, 0, 0, 1, 0};
    attr_buf n = {0};
    ab_i32(&n, KILN_UNARY_NOT); ab_f32(&n, 0); ab_f32(&n, 0);
    tspec inb[1] = {{KILN_BOOL, 1, d5, b, 0, 0}}, outb[1] = {{KILN_BOOL, 1, d5, nb, 0, 0}};
    test_op("unary not", KILN_OP_UNARY, n.data, n.size, 1, inb, 1, outb, 0, 0);
    float xf[5] = {1, NAN, INFINITY, -INFINITY, 0};
    uint8_t isnan_w[5] = {0, 1, 0, 0, 0}, isinf_w[5] = {0, 0, 1, 1, 0};
    attr_buf q = {0};
    ab_i32(&q, KILN_UNARY_IS_NAN); ab_f32(&q, 0); ab_f32(&q, 0);
    tspec inf[1] = {{KILN_F32, 1, d5, xf, 0, 0}}, outn[1] = {{KILN_BOOL, 1, d5, isnan_w, 0, 0}}, outi[1] = {{KILN_BOOL, 1, d5, isinf_w, 0, 0}};
    test_op("unary is_nan", KILN_OP_UNARY, q.data, q.size, 1, inf, 1, outn, 0, 0);
    attr_buf r = {0};
    ab_i32(&r, KILN_UNARY_IS_INF); ab_f32(&r, 0); ab_f32(&r, 0);
    test_op("unary is_inf", KILN_OP_UNARY, r.data, r.size, 1, inf, 1, outi, 0, 0);
}

/* Naive broadcast reference for f32 binaries. */
static float ref_bin(int32_t f, float a, float b) {
    switch (f) {
    case KILN_BINARY_ADD: return a + b;
    case KILN_BINARY_SUB: return a - b;
    case KILN_BINARY_MUL: return a * b;
    case KILN_BINARY_DIV: return a / b;
    case KILN_BINARY_POW: return powf(a, b);
    case KILN_BINARY_MIN: return a < b ? a : b;
    case KILN_BINARY_MAX: return a > b ? a : b;
    case KILN_BINARY_FMOD: return fmodf(a, b);
    default: return a < 0 ? a * b : a; /* prelu */
    }
}

static void bcast_case(const int64_t *ad, uint32_t ar, const int64_t *bd, uint32_t br, const int64_t *od, uint32_t orank,
                       int32_t f) {
    size_t an = 1, bn = 1, on = 1;
    for (uint32_t i = 0; i < ar; i++) an *= (size_t)ad[i];
    for (uint32_t i = 0; i < br; i++) bn *= (size_t)bd[i];
    for (uint32_t i = 0; i < orank; i++) on *= (size_t)od[i];
    float *a = malloc(an * 4), *b = malloc(bn * 4), *want = malloc(on * 4);
    test_fill(a, an, 51);
    test_fill(b, bn, 52);
    if (f == KILN_BINARY_POW) for (size_t i = 0; i < an; i++) a[i] = fabsf(a[i]) + 0.1f;
    for (size_t o = 0; o < on; o++) {
        size_t rem = o, ai = 0, bi = 0, as = 1, bs = 1;
        for (int d = (int)orank - 1; d >= 0; d--) {
            size_t idx = rem % (size_t)od[d];
            rem /= (size_t)od[d];
            int da = d - (int)(orank - ar), db = d - (int)(orank - br);
            if (da >= 0) { if (ad[da] != 1) ai += idx * as; as *= (size_t)ad[da]; }
            if (db >= 0) { if (bd[db] != 1) bi += idx * bs; bs *= (size_t)bd[db]; }
        }
        want[o] = ref_bin(f, a[ai], b[bi]);
    }
    attr_buf at = {0};
    ab_i32(&at, f);
    tspec in[2] = {{KILN_F32, ar, ad, a, 0, 0}, {KILN_F32, br, bd, b, 1, 0}}, out[1] = {{KILN_F32, orank, od, want, 0, 0}};
    char what[64];
    snprintf(what, sizeof what, "binary %d broadcast rank %u,%u", f, ar, br);
    test_op(what, KILN_OP_BINARY, at.data, at.size, 2, in, 1, out, 1e-6f, 1e-6f);
    free(a); free(b); free(want);
}

static void test_binary(void) {
    int64_t s234[3] = {2, 3, 4}, s31[2] = {3, 1}, s1[1] = {1}, s215[3] = {2, 1, 5}, s4[1] = {4}, s3x[3] = {1, 3, 1};
    int64_t big[2] = {300, 257}, big1[2] = {1, 257};
    for (int32_t f = KILN_BINARY_ADD; f <= KILN_BINARY_MAX; f++) bcast_case(s234, 3, s31, 2, s234, 3, f);
    bcast_case(s1, 1, s215, 3, s215, 3, KILN_BINARY_SUB);
    bcast_case(s234, 3, s4, 1, s234, 3, KILN_BINARY_FMOD);
    bcast_case(s234, 3, s3x, 3, s234, 3, KILN_BINARY_PRELU);
    bcast_case(s234, 3, s234, 3, s234, 3, KILN_BINARY_MUL);
    bcast_case(big, 2, big1, 2, big, 2, KILN_BINARY_ADD);   /* large enough to split over threads */
    bcast_case(big, 2, big, 2, big, 2, KILN_BINARY_MAX);

    /* integer semantics: division/modulo by zero give 0, mod follows the divisor's sign */
    int64_t d6[1] = {6};
    int64_t a[6] = {7, -7, 7, -7, 5, INT64_MIN}, b[6] = {2, 2, -2, -2, 0, -1};
    int64_t wdiv[6] = {3, -3, -3, 3, 0, INT64_MIN}, wmod[6] = {1, 1, -1, -1, 0, 0}, wfmod[6] = {1, -1, 1, -1, 0, 0};
    int64_t *wants[3] = {wdiv, wmod, wfmod};
    int32_t funcs[3] = {KILN_BINARY_DIV, KILN_BINARY_MOD, KILN_BINARY_FMOD};
    for (int k = 0; k < 3; k++) {
        attr_buf at = {0};
        ab_i32(&at, funcs[k]);
        tspec in[2] = {{KILN_I64, 1, d6, a, 0, 0}, {KILN_I64, 1, d6, b, 0, 0}}, out[1] = {{KILN_I64, 1, d6, wants[k], 0, 0}};
        test_op("binary i64 div/mod/fmod", KILN_OP_BINARY, at.data, at.size, 2, in, 1, out, 0, 0);
    }
    int32_t a32[6] = {2, -3, 5, 0, 1, 7}, b32[6] = {10, 3, 0, 4, -1, 3}, wpow[6] = {1024, -27, 1, 0, 1, 343};
    attr_buf at = {0};
    ab_i32(&at, KILN_BINARY_POW);
    tspec in32[2] = {{KILN_I32, 1, d6, a32, 0, 0}, {KILN_I32, 1, d6, b32, 0, 0}}, out32[1] = {{KILN_I32, 1, d6, wpow, 0, 0}};
    test_op("binary i32 pow", KILN_OP_BINARY, at.data, at.size, 2, in32, 1, out32, 0, 0);
    /* comparisons → bool, with a broadcast scalar */
    float fa[6] = {1, 2, 3, NAN, -1, 2}, fb[1] = {2};
    uint8_t wlt[6] = {1, 0, 0, 0, 1, 0}, wge[6] = {0, 1, 1, 0, 0, 1}, weq[6] = {0, 1, 0, 0, 0, 1};
    int32_t cmps[3] = {KILN_BINARY_LESS, KILN_BINARY_GREATER_OR_EQUAL, KILN_BINARY_EQUAL};
    uint8_t *cw[3] = {wlt, wge, weq};
    int64_t d1[1] = {1};
    for (int k = 0; k < 3; k++) {
        attr_buf c = {0};
        ab_i32(&c, cmps[k]);
        tspec in[2] = {{KILN_F32, 1, d6, fa, 0, 0}, {KILN_F32, 1, d1, fb, 1, 0}}, out[1] = {{KILN_BOOL, 1, d6, cw[k], 0, 0}};
        test_op("binary comparison", KILN_OP_BINARY, c.data, c.size, 2, in, 1, out, 0, 0);
    }
    uint8_t ba[4] = {0, 0, 1, 1}, bb[4] = {0, 1, 0, 1}, wand[4] = {0, 0, 0, 1}, wor[4] = {0, 1, 1, 1}, wxor[4] = {0, 1, 1, 0};
    int64_t d4[1] = {4};
    uint8_t *lw[3] = {wand, wor, wxor};
    for (int k = 0; k < 3; k++) {
        attr_buf c = {0};
        ab_i32(&c, KILN_BINARY_AND + k);
        tspec in[2] = {{KILN_BOOL, 1, d4, ba, 0, 0}, {KILN_BOOL, 1, d4, bb, 0, 0}}, out[1] = {{KILN_BOOL, 1, d4, lw[k], 0, 0}};
        test_op("binary logic", KILN_OP_BINARY, c.data, c.size, 2, in, 1, out, 0, 0);
    }
}

/* BINARY with the optional fused activation (16-byte block): add + relu with broadcast,
 * sub + clip over several threads; the 4-byte form is unchanged (above). */
static void test_binary_act(void) {
    int64_t s23[2] = {2, 3}, s13[2] = {1, 3};
    float a[6] = {1, -2, 3, -4, 5, -6}, b[3] = {0.5f, 1, -1}, relu[6] = {1.5f, 0, 2, 0, 6, 0};
    attr_buf at = {0};
    ab_i32(&at, KILN_BINARY_ADD); ab_i32(&at, KILN_UNARY_RELU); ab_f32(&at, 0); ab_f32(&at, 0);
    tspec in[2] = {{KILN_F32, 2, s23, a, 0, 0}, {KILN_F32, 2, s13, b, 1, 0}}, out[1] = {{KILN_F32, 2, s23, relu, 0, 0}};
    test_op("binary add + relu", KILN_OP_BINARY, at.data, at.size, 2, in, 1, out, 0, 0);

    int64_t big[2] = {300, 257};
    size_t n = 300 * 257;
    float *x = malloc(n * 4), *y = malloc(n * 4), *want = malloc(n * 4);
    test_fill(x, n, 61);
    test_fill(y, n, 62);
    for (size_t i = 0; i < n; i++) {
        float d = x[i] - y[i];
        want[i] = d < -0.25f ? -0.25f : (d > 0.5f ? 0.5f : d);
    }
    attr_buf ac = {0};
    ab_i32(&ac, KILN_BINARY_SUB); ab_i32(&ac, KILN_UNARY_CLIP); ab_f32(&ac, -0.25f); ab_f32(&ac, 0.5f);
    tspec bin[2] = {{KILN_F32, 2, big, x, 0, 0}, {KILN_F32, 2, big, y, 0, 0}}, bout[1] = {{KILN_F32, 2, big, want, 0, 0}};
    test_op("binary sub + clip (threads)", KILN_OP_BINARY, ac.data, ac.size, 2, bin, 1, bout, 0, 0);
    free(x); free(y); free(want);

    /* The loader rejects an activation on a non-f32 result, an unknown activation and a
     * block of another size. */
    struct { int32_t func, act; uint8_t dtype; uint32_t size; const char *msg; } bad[] = {
        {KILN_BINARY_ADD, KILN_UNARY_RELU, KILN_I64, 16, "fused activation needs an f32 result"},
        {KILN_BINARY_ADD, 999, KILN_F32, 16, "unknown fused activation 999"},
        {KILN_BINARY_ADD, KILN_UNARY_RELU, KILN_F32, 8, "attribute block is 8 bytes, expected 4 or 16"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        pb *pl = pb_new();
        uint32_t ids[3] = {pb_input(pl, "a", bad[k].dtype, 2, s23), pb_input(pl, "b", bad[k].dtype, 2, s23),
                           pb_output(pl, "y", bad[k].dtype, 2, s23)};
        attr_buf ab = {0};
        ab_i32(&ab, bad[k].func); ab_i32(&ab, bad[k].act); ab_f32(&ab, 0); ab_f32(&ab, 0);
        pb_instr(pl, KILN_OP_BINARY, ab.data, bad[k].size, 2, ids, 1, ids + 2);
        size_t size;
        uint8_t *plan = pb_finish(pl, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        pb_free(pl);
        kiln_plan *p = NULL;
        kiln_error e;
        kiln_status st = kiln_plan_load_memory(plan, size, &p, &e);
        CHECK(st == KILN_ERR_MALFORMED && strstr(e.message, bad[k].msg), "binary act case %zu: %d \"%s\"", k, st,
              st == KILN_OK ? "" : e.message);
        kiln_plan_free(p);
        free(plan);
    }
}

static void test_where_cast(void) {
    int64_t d23[2] = {2, 3}, d13[2] = {1, 3}, d21[2] = {2, 1};
    uint8_t cond[3] = {1, 0, 1};
    int64_t x[2] = {10, 20}, y[6] = {1, 2, 3, 4, 5, 6}, want[6] = {10, 2, 10, 20, 5, 20};
    tspec in[3] = {{KILN_BOOL, 2, d13, cond, 0, 0}, {KILN_I64, 2, d21, x, 0, 0}, {KILN_I64, 2, d23, y, 0, 0}};
    tspec out[1] = {{KILN_I64, 2, d23, want, 0, 0}};
    test_op("where broadcast i64", KILN_OP_WHERE, NULL, 0, 3, in, 1, out, 0, 0);

    int64_t d7[1] = {7};
    float f[7] = {1.7f, -1.7f, 300.0f, -300.0f, NAN, 0.0f, 3e10f};
    int32_t wi32[7] = {1, -1, 300, -300, 0, 0, INT32_MAX};
    uint8_t wu8[7] = {1, 0, 255, 0, 0, 0, 255}, wb[7] = {1, 1, 1, 1, 1, 0, 1};
    int8_t wi8[7] = {1, -1, 127, -128, 0, 0, 127};
    tspec fin[1] = {{KILN_F32, 1, d7, f, 0, 0}};
    tspec o1[1] = {{KILN_I32, 1, d7, wi32, 0, 0}}, o2[1] = {{KILN_U8, 1, d7, wu8, 0, 0}}, o3[1] = {{KILN_BOOL, 1, d7, wb, 0, 0}};
    tspec o4[1] = {{KILN_I8, 1, d7, wi8, 0, 0}};
    test_op("cast f32->i32 (truncate, saturate)", KILN_OP_CAST, NULL, 0, 1, fin, 1, o1, 0, 0);
    test_op("cast f32->u8 (saturate)", KILN_OP_CAST, NULL, 0, 1, fin, 1, o2, 0, 0);
    test_op("cast f32->bool", KILN_OP_CAST, NULL, 0, 1, fin, 1, o3, 0, 0);
    test_op("cast f32->i8", KILN_OP_CAST, NULL, 0, 1, fin, 1, o4, 0, 0);
    int64_t i64[4] = {-1, 300, 1LL << 40, 7};
    int32_t w32[4] = {-1, 300, 0, 7};
    float wf[4] = {-1, 300, 1099511627776.0f, 7};
    uint8_t wu[4] = {255, 44, 0, 7};
    int64_t d4[1] = {4};
    tspec iin[1] = {{KILN_I64, 1, d4, i64, 0, 0}};
    tspec io1[1] = {{KILN_I32, 1, d4, w32, 0, 0}}, io2[1] = {{KILN_F32, 1, d4, wf, 0, 0}}, io3[1] = {{KILN_U8, 1, d4, wu, 0, 0}};
    test_op("cast i64->i32 (wrap)", KILN_OP_CAST, NULL, 0, 1, iin, 1, io1, 0, 0);
    test_op("cast i64->f32", KILN_OP_CAST, NULL, 0, 1, iin, 1, io2, 0, 0);
    test_op("cast i64->u8 (wrap)", KILN_OP_CAST, NULL, 0, 1, iin, 1, io3, 0, 0);
    uint16_t half[4] = {0x3C00, 0xC000, 0x7BFF, 0x0001};   /* 1, -2, 65504, smallest subnormal */
    float whalf[4] = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-08f};
    tspec hin[1] = {{KILN_F16, 1, d4, half, 0, 0}}, hout[1] = {{KILN_F32, 1, d4, whalf, 0, 0}};
    test_op("cast f16->f32", KILN_OP_CAST, NULL, 0, 1, hin, 1, hout, 0, 0);
    tspec fin2[1] = {{KILN_F32, 1, d4, whalf, 0, 0}}, fout2[1] = {{KILN_F16, 1, d4, half, 0, 0}};
    test_op("cast f32->f16", KILN_OP_CAST, NULL, 0, 1, fin2, 1, fout2, 0, 0);
}

void test_elementwise(void) {
    test_unary();
    test_binary();
    test_binary_act();
    test_where_cast();
}
