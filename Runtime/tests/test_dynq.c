/* test_dynq.c — dynamic int8: DYN_QGEMM and DYN_QPARAMS against a plain loop over their
 * definition (PLAN_FORMAT.md §7): the integer part exact, the f32 recipe (range, scale,
 * zero point, quantization, fmaf epilogue) written out independently, compared bit for
 * bit; per tensor and per row, with and without bias and activation, odd sizes, more rows
 * than one block, all-zero rows. Then hostile instructions the loader must refuse. */
#include "test.h"

#include <math.h>

static uint32_t g_state = 777;
static int32_t rnd(int32_t lo, int32_t hi) {
    g_state = g_state * 1664525u + 1013904223u;
    return lo + (int32_t)((g_state >> 8) % (uint32_t)(hi - lo + 1));
}

typedef struct ref_range { float scale; int32_t zp; int usable; } ref_range;

static ref_range ref_range_of(const float *x, int64_t n) {
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < n; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; }
    ref_range r = {(hi - lo) / 255.0f, 0, 0};
    r.usable = r.scale > 0 && isfinite(r.scale);
    if (r.usable) {
        double z = nearbyint((double)(-lo / r.scale));
        r.zp = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z);
    }
    return r;
}

static int32_t ref_quantize(float x, ref_range r) {
    if (!r.usable) return 0;
    double v = nearbyint((double)(x / r.scale)) + r.zp;
    return (int32_t)(v != v ? 0 : v < 0 ? 0 : v > 255 ? 255 : v);
}

/* act: 0 none, 1 relu (func 1). */
static void dyn_case(int64_t rows, int64_t k, int64_t n, int per_row, int bias, int relu, int zero_rows) {
    int64_t xd[2] = {rows, k}, wd[2] = {k, n}, sd[1] = {n}, yd[2] = {rows, n};
    float *x = malloc(sizeof(float) * (size_t)(rows * k)), *s = malloc(sizeof(float) * (size_t)n);
    float *b = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)(rows * n));
    int8_t *w = malloc((size_t)(k * n));
    for (int64_t i = 0; i < rows * k; i++) x[i] = (float)rnd(-100000, 100000) / (float)rnd(1000, 90000);
    if (zero_rows) for (int64_t i = 0; i < k; i++) x[i] = 0.0f;          /* row 0 all zero */
    if (rows > 2) for (int64_t i = 0; i < k; i++) x[2 * k + i] = fabsf(x[2 * k + i]); /* row 2 non-negative */
    for (int64_t i = 0; i < k * n; i++) w[i] = (int8_t)rnd(-128, 127);
    for (int64_t j = 0; j < n; j++) { s[j] = (float)rnd(1, 5000) / 65536.0f; b[j] = (float)rnd(-3000, 3000) / 512.0f; }
    ref_range whole = ref_range_of(x, rows * k);
    for (int64_t r = 0; r < rows; r++) {
        ref_range rg = per_row ? ref_range_of(x + r * k, k) : whole;
        for (int64_t j = 0; j < n; j++) {
            int64_t acc = 0;
            for (int64_t i = 0; i < k; i++) acc += (int64_t)(ref_quantize(x[r * k + i], rg) - (rg.usable ? rg.zp : 0)) * w[i * n + j];
            float m = rg.usable ? rg.scale * s[j] : 0.0f;
            float v = fmaf((float)acc, m, bias ? b[j] : 0.0f);
            y[r * n + j] = relu && v < 0 ? 0.0f : v;
        }
    }
    attr_buf a = {{0}, 0};
    ab_i32(&a, per_row); ab_i32(&a, relu ? 1 : 0); ab_f32(&a, 0); ab_f32(&a, 0);
    tspec ins[4] = {{KILN_F32, 2, xd, x, 0, 0}, {KILN_I8, 2, wd, w, 1, 0}, {KILN_F32, 1, sd, s, 1, 0}, {KILN_F32, 1, sd, b, 0, !bias}};
    tspec outs[1] = {{KILN_F32, 2, yd, y, 0, 0}};
    char what[120];
    snprintf(what, sizeof what, "dyn_qgemm %lldx%lldx%lld per_row=%d bias=%d relu=%d", (long long)rows, (long long)k,
             (long long)n, per_row, bias, relu);
    test_op(what, KILN_OP_DYN_QGEMM, a.data, a.size, 4, ins, 1, outs, 0.0f, 0.0f);

    /* DYN_QPARAMS of the same tensor. */
    int64_t d0[1] = {1};
    uint8_t zp = (uint8_t)whole.zp;
    tspec pin[1] = {{KILN_F32, 2, xd, x, 0, 0}};
    tspec pout[2] = {{KILN_F32, 0, d0, &whole.scale, 0, 0}, {KILN_U8, 0, d0, &zp, 0, 0}};
    test_op("dyn_qparams", KILN_OP_DYN_QPARAMS, NULL, 0, 1, pin, 2, pout, 0.0f, 0.0f);
    free(x); free(s); free(b); free(y); free(w);
}

/* A DYN_QGEMM instruction with one thing wrong must fail to load with MALFORMED. */
static void dyn_hostile(const char *what, int32_t per_row, int w_constant, float scale0, int64_t k_x, int32_t act) {
    pb *b = pb_new();
    int64_t xd[2] = {2, k_x}, wd[2] = {3, 2}, sd[1] = {2}, yd[2] = {2, 2};
    int8_t w[6] = {1, -2, 3, -4, 5, -6};
    float s[2] = {scale0, 0.5f};
    uint32_t ins[3] = {pb_input(b, "x", KILN_F32, 2, xd),
                       w_constant ? pb_constant(b, KILN_I8, 2, wd, w) : pb_input(b, "w", KILN_I8, 2, wd),
                       pb_constant(b, KILN_F32, 1, sd, s)};
    uint32_t out = pb_output(b, "y", KILN_F32, 2, yd);
    attr_buf a = {{0}, 0};
    ab_i32(&a, per_row); ab_i32(&a, act); ab_f32(&a, 0); ab_f32(&a, 0);
    pb_instr(b, KILN_OP_DYN_QGEMM, a.data, a.size, 3, ins, 1, &out);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    kiln_plan *p = NULL;
    kiln_error e;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, &e);
    CHECK(st == KILN_ERR_MALFORMED, "dyn_qgemm hostile (%s): load returned %d, expected MALFORMED", what, (int)st);
    if (st == KILN_OK) kiln_plan_free(p);
    free(plan);
}

void test_dynq(void) {
    dyn_case(1, 37, 21, 0, 1, 0, 0);
    dyn_case(5, 64, 10, 1, 1, 1, 1);
    dyn_case(70, 33, 17, 0, 0, 0, 1);   /* two row blocks, odd K, per tensor */
    dyn_case(130, 48, 24, 1, 1, 0, 1);  /* three row blocks, per row */
    dyn_case(3, 5, 33, 1, 0, 1, 0);
    dyn_hostile("per_row 2", 2, 1, 0.25f, 3, 0);
    dyn_hostile("weight not constant", 0, 0, 0.25f, 3, 0);
    dyn_hostile("negative w_scale", 0, 1, -0.25f, 3, 0);
    dyn_hostile("infinite w_scale", 0, 1, INFINITY, 3, 0);
    dyn_hostile("K mismatch", 0, 1, 0.25f, 4, 0);
    dyn_hostile("unknown activation", 0, 1, 0.25f, 3, 9999);
}
