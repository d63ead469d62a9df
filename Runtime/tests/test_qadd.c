/* test_qadd.c — QADD (int8 residual add): the portable row kernel against the definition
 * in int64, every SIMD path (AVX2, AVX-512) against the portable one bit for bit on random
 * odd lengths, unaligned pointers and extreme multipliers, shifts, zero points and clamps;
 * whole plans at 1 and 2 threads; the load-time refusals. QCONCAT (int8 concat, QADD's
 * requantization per input) against the definition on every axis, copy and requantized
 * inputs mixed. QGLOBAL_AVG_POOL against the definition in int64, saturating and threaded. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test.h"

#include "../src/kernels/qadd.h"

static uint32_t g_state = 424242;
static int32_t rnd(int32_t lo, int32_t hi) {
    g_state = g_state * 1664525u + 1013904223u;
    return lo + (int32_t)((g_state >> 8) % (uint32_t)(hi - lo + 1));
}

typedef struct qadd_attrs { int32_t azp, bzp, yzp, ymin, ymax, am, bm, shift; } qadd_attrs;

/* The definition, in int64 with floor division (no shifts of negative numbers). */
static uint8_t qadd_def(const qadd_attrs *q, int32_t a, int32_t b) {
    int64_t t = (int64_t)q->am * (a - q->azp) + (int64_t)q->bm * (b - q->bzp) + ((int64_t)1 << (q->shift - 1));
    int64_t d = (int64_t)1 << q->shift, f = t >= 0 ? t / d : -((-t + d - 1) / d);
    int64_t v = f + q->yzp;
    return (uint8_t)(v < q->ymin ? q->ymin : v > q->ymax ? q->ymax : v);
}

static kiln_qadd_params fold(const qadd_attrs *q) {
    return (kiln_qadd_params){q->am, q->bm, (1 << (q->shift - 1)) - q->am * q->azp - q->bm * q->bzp, q->shift, q->yzp, q->ymin, q->ymax};
}

/* Random attributes; every few trials an extreme: multipliers 0 or 2^21, shift 1 or 30,
 * zero points 0 or 255, a narrow clamp. */
static qadd_attrs random_attrs(int trial) {
    qadd_attrs q = {rnd(0, 255), rnd(0, 255), rnd(0, 255), 0, 255, rnd(1 << 18, 1 << 21), rnd(0, 1 << 21), rnd(14, 24)};
    switch (trial % 8) {
    case 1: q.am = q.bm = 1 << 21; q.shift = 1; break;              /* saturates almost everywhere */
    case 2: q.am = 1 << 21; q.bm = 0; q.shift = 30; break;          /* everything rounds to y_zp */
    case 3: q.azp = 0; q.bzp = 255; q.yzp = 255; q.shift = rnd(20, 22); break;
    case 4: q.azp = 255; q.bzp = 0; q.yzp = 0; q.ymin = rnd(0, 100); q.ymax = rnd(q.ymin, 255); break;
    case 5: q.am = 1 << 20; q.bm = 1 << 20; q.shift = 21; break;    /* (a + b) / 2: exact ties */
    case 6: q.ymin = q.ymax = rnd(0, 255); break;
    default: break;
    }
    return q;
}

static void test_row_paths(void) {
    kiln_qadd_fn paths[2] = {kiln_qadd_avx2(), kiln_qadd_avx512()};
    static const char *const names[2] = {"avx2", "avx512"};
    if (!paths[0]) printf("  (no AVX2 on this CPU/build: the QADD AVX2 path is not exercised)\n");
    if (!paths[1]) printf("  (no AVX-512 BW on this CPU/build: the QADD AVX-512 path is not exercised)\n");
    enum { MAX = 300 };
    uint8_t a[MAX + 8], b[MAX + 8], want[MAX], y0[MAX + 8], y1[MAX + 8];
    for (int trial = 0; trial < 400; trial++) {
        qadd_attrs q = random_attrs(trial);
        kiln_qadd_params p = fold(&q);
        int64_t n = trial < 40 ? trial : rnd(1, MAX), oa = rnd(0, 7), ob = rnd(0, 7), oy = rnd(0, 7);
        for (int64_t i = 0; i < n; i++) { a[oa + i] = (uint8_t)rnd(0, 255); b[ob + i] = (uint8_t)rnd(0, 255); }
        if (trial % 8 == 3) for (int64_t i = 0; i < n; i += 2) { a[oa + i] = 255; b[ob + i] = 0; } /* the extremes */
        int bad = 0;
        for (int64_t i = 0; i < n; i++) want[i] = qadd_def(&q, a[oa + i], b[ob + i]);
        memset(y0, 0xA5, sizeof y0);
        kiln_qadd_portable(a + oa, b + ob, y0 + oy, n, &p);
        for (int64_t i = 0; i < n; i++) bad += y0[oy + i] != want[i];
        CHECK(bad == 0, "qadd portable: %d of %lld elements differ from the definition (trial %d)", bad, (long long)n, trial);
        for (int k = 0; k < 2; k++) {
            if (!paths[k]) continue;
            memset(y1, 0xA5, sizeof y1);
            paths[k](a + oa, b + ob, y1 + oy, n, &p);
            CHECK(memcmp(y0, y1, sizeof y0) == 0, "qadd %s: differs from the portable path or writes outside the row (n=%lld trial %d)",
                  names[k], (long long)n, trial);
        }
    }
}

static void ab_qadd(attr_buf *ab, const qadd_attrs *q) {
    ab_i32(ab, q->azp); ab_i32(ab, q->bzp); ab_i32(ab, q->yzp); ab_i32(ab, q->ymin); ab_i32(ab, q->ymax);
    ab_i32(ab, q->am); ab_i32(ab, q->bm); ab_i32(ab, q->shift);
}

/* One QADD plan on [n, c, h, w] against the definition (1 and 2 threads). */
static void qadd_plan_case(int64_t n, int64_t c, int64_t h, int64_t w, int trial) {
    int64_t dims[4] = {n, c, h, w}, count = n * c * h * w;
    uint8_t *a = malloc((size_t)count), *b = malloc((size_t)count), *y = malloc((size_t)count);
    qadd_attrs q = random_attrs(trial);
    for (int64_t i = 0; i < count; i++) { a[i] = (uint8_t)rnd(0, 255); b[i] = (uint8_t)rnd(0, 255); y[i] = qadd_def(&q, a[i], b[i]); }
    attr_buf ab = {{0}, 0};
    ab_qadd(&ab, &q);
    tspec ins[2] = {{KILN_U8, 4, dims, a, 0, 0}, {KILN_U8, 4, dims, b, 0, 0}};
    tspec outs[1] = {{KILN_U8, 4, dims, y, 0, 0}};
    char what[80];
    snprintf(what, sizeof what, "qadd [%lld,%lld,%lld,%lld] trial %d", (long long)n, (long long)c, (long long)h, (long long)w, trial);
    test_op(what, KILN_OP_QADD, ab.data, ab.size, 2, ins, 1, outs, 0, 0);
    free(a); free(b); free(y);
}

/* A plan with one QADD whose load must fail with MALFORMED and a message containing `needle`. */
static void expect_refused(const char *what, const qadd_attrs *q, uint8_t bdtype, const int64_t *bdims, const char *needle) {
    int64_t dims[2] = {3, 17};
    pb *b = pb_new();
    uint32_t ins[2] = {pb_input(b, "a", KILN_U8, 2, dims), pb_input(b, "b", bdtype, 2, bdims)};
    uint32_t out = pb_output(b, "y", KILN_U8, 2, dims);
    attr_buf ab = {{0}, 0};
    ab_qadd(&ab, q);
    pb_instr(b, KILN_OP_QADD, ab.data, ab.size, 2, ins, 1, &out);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    kiln_error e;
    kiln_plan *p = NULL;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, &e);
    CHECK(st == KILN_ERR_MALFORMED && strstr(e.message, needle), "qadd refusal (%s): status %d, message '%s'", what, (int)st,
          st == KILN_OK ? "" : e.message);
    if (st == KILN_OK) kiln_plan_free(p);
    free(plan);
}

static void test_refusals(void) {
    const qadd_attrs ok = {10, 20, 30, 0, 255, 1 << 20, 1 << 19, 20};
    int64_t dims[2] = {3, 17}, other[2] = {3, 16};
    qadd_attrs q = ok;
    expect_refused("b of another shape", &ok, KILN_U8, other, "same shape");
    expect_refused("b f32", &ok, KILN_F32, dims, "b");
    q.am = (1 << 21) + 1;
    expect_refused("a_mult > 2^21", &q, KILN_U8, dims, "multipliers");
    q = ok; q.bm = -1;
    expect_refused("b_mult < 0", &q, KILN_U8, dims, "multipliers");
    q = ok; q.shift = 0;
    expect_refused("shift 0", &q, KILN_U8, dims, "shift");
    q = ok; q.shift = 31;
    expect_refused("shift 31", &q, KILN_U8, dims, "shift");
    q = ok; q.azp = 256;
    expect_refused("a_zero_point 256", &q, KILN_U8, dims, "zero points");
    q = ok; q.ymin = 200; q.ymax = 100;
    expect_refused("y_min > y_max", &q, KILN_U8, dims, "y_min");
}

/* QCONCAT of `n` inputs [d0, d1, d2, d3] with input i's `axis` dim `sizes[i]`; input 0 is at
 * the result's parameters (the copy path) when `copy0` is 1, has only its zero point when 2, only its scale when 3. */
static void qconcat_case(const int64_t *base, int axis, int n, const int64_t *sizes, int copy0, int trial) {
    int64_t ydims[4], xdims[4][4], counts[4], outer = 1, inner = 1, total = 0;
    memcpy(ydims, base, sizeof ydims);
    ydims[axis] = 0;
    for (int i = 0; i < n; i++) ydims[axis] += sizes[i];
    for (int d = 0; d < 4; d++) { if (d < axis) outer *= ydims[d]; if (d > axis) inner *= ydims[d]; }
    uint8_t *xs[4];
    int32_t params[4 * 3];
    int32_t yzp = rnd(0, 255);
    for (int i = 0; i < n; i++) {
        memcpy(xdims[i], ydims, sizeof ydims);
        xdims[i][axis] = sizes[i];
        counts[i] = outer * sizes[i] * inner;
        xs[i] = malloc((size_t)counts[i] + 1);
        for (int64_t k = 0; k < counts[i]; k++) xs[i][k] = (uint8_t)rnd(0, 255);
        qadd_attrs q = random_attrs(trial + i);
        int32_t shift = q.shift, mult = q.am, zp = q.azp;
        if (i == 0 && copy0 == 1) { shift = 20; mult = 1 << 20; zp = yzp; }
        if (i == 0 && copy0 == 2) zp = yzp; /* the result's zero point, another scale: no copy */
        if (i == 0 && copy0 == 3) { shift = 20; mult = 1 << 20; zp = (yzp + 1) % 256; } /* the scale only: a shift by 1 */
        params[3 * i] = zp; params[3 * i + 1] = mult; params[3 * i + 2] = shift;
        total += counts[i];
    }
    uint8_t *y = malloc((size_t)total + 1), *w = y;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            qadd_attrs q = {params[3 * i], 0, yzp, 0, 255, params[3 * i + 1], 0, params[3 * i + 2]};
            for (int64_t k = 0; k < sizes[i] * inner; k++) *w++ = qadd_def(&q, xs[i][o * sizes[i] * inner + k], 0);
        }
    attr_buf ab = {{0}, 0};
    ab_i32(&ab, axis); ab_i32(&ab, yzp);
    int64_t pdims[2] = {n, 3};
    tspec ins[5];
    for (int i = 0; i < n; i++) ins[i] = (tspec){KILN_U8, 4, xdims[i], xs[i], 0, 0};
    ins[n] = (tspec){KILN_I32, 2, pdims, params, 1, 0};
    tspec outs[1] = {{KILN_U8, 4, ydims, y, 0, 0}};
    char what[100];
    snprintf(what, sizeof what, "qconcat axis %d of %d [%lld,%lld,%lld,%lld] trial %d", axis, n, (long long)ydims[0], (long long)ydims[1],
             (long long)ydims[2], (long long)ydims[3], trial);
    test_op(what, KILN_OP_QCONCAT, ab.data, ab.size, (uint32_t)n + 1, ins, 1, outs, 0, 0);
    for (int i = 0; i < n; i++) free(xs[i]);
    free(y);
}

/* A QCONCAT plan whose load must fail with MALFORMED and `needle` in the message: two [1,3,4,5]
 * inputs, the second `bad_dims` on axis 2 when set, params as given (constant unless not). */
static void qconcat_refused(const char *what, const int32_t *params, int64_t prows, int params_constant, int64_t bad_dim, int32_t axis,
                            const char *needle) {
    int64_t d0[4] = {1, 3, 4, 5}, d1[4] = {1, 2, 4, 5}, yd[4] = {1, 5, 4, 5}, pd[2] = {prows, 3};
    if (bad_dim) d1[2] = bad_dim;
    pb *b = pb_new();
    uint32_t ins[3] = {pb_input(b, "x0", KILN_U8, 4, d0), pb_input(b, "x1", KILN_U8, 4, d1),
                       params_constant ? pb_constant(b, KILN_I32, 2, pd, params) : pb_input(b, "p", KILN_I32, 2, pd)};
    uint32_t out = pb_output(b, "y", KILN_U8, 4, yd);
    attr_buf ab = {{0}, 0};
    ab_i32(&ab, axis); ab_i32(&ab, 7);
    pb_instr(b, KILN_OP_QCONCAT, ab.data, ab.size, 3, ins, 1, &out);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    kiln_error e;
    kiln_plan *p = NULL;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, &e);
    CHECK(st == KILN_ERR_MALFORMED && strstr(e.message, needle), "qconcat refusal (%s): status %d, message '%s'", what, (int)st,
          st == KILN_OK ? "" : e.message);
    if (st == KILN_OK) kiln_plan_free(p);
    free(plan);
}

static void test_qconcat(void) {
    static const int64_t base[4] = {2, 3, 5, 7}, s2[2] = {3, 4}, s3[3] = {1, 6, 2}, s4[4] = {5, 1, 3, 2};
    for (int axis = 0; axis < 4; axis++) {
        qconcat_case(base, axis, 2, s2, 1, axis);
        qconcat_case(base, axis, 3, s3, 0, 10 + axis);
        qconcat_case(base, axis, 4, s4, axis % 2, 20 + axis);
        qconcat_case(base, axis, 2, s2, 2, 30 + axis);
        qconcat_case(base, axis, 3, s3, 3, 40 + axis);
    }
    static const int64_t wide[4] = {1, 1, 41, 53}, sw[2] = {24, 40};
    qconcat_case(wide, 1, 2, sw, 0, 5); /* Inception-like: channel axis, long rows through the SIMD paths */
    static const int64_t s1[1] = {9};
    qconcat_case(base, 1, 1, s1, 0, 6); /* one input: a requantizing copy */
    const int32_t ok[6] = {10, 1 << 20, 20, 7, 1 << 19, 21};
    int32_t bad[6];
    memcpy(bad, ok, sizeof bad); bad[1] = (1 << 21) + 1;
    qconcat_refused("mult > 2^21", bad, 2, 1, 0, 1, "params of input 0");
    memcpy(bad, ok, sizeof bad); bad[5] = 31;
    qconcat_refused("shift 31", bad, 2, 1, 0, 1, "params of input 1");
    qconcat_refused("params not constant", ok, 2, 0, 0, 1, "constant i32 [2, 3]");
    qconcat_refused("params [1, 3]", ok, 1, 1, 0, 1, "constant i32 [2, 3]");
    qconcat_refused("other dim off the axis", ok, 2, 1, 3, 1, "differs from the result on axis 2");
    qconcat_refused("axis sums differ", ok, 2, 1, 0, 0, "differs from the result on axis 1");
}

/* QGLOBAL_AVG_POOL on [n, c, h, w] (every pixel `fill` when fill >= 0) against the definition. */
static void qgap_case(int64_t n, int64_t c, int64_t h, int64_t w, int32_t xzp, int32_t yzp, int32_t mult, int32_t shift, int fill) {
    int64_t xd[4] = {n, c, h, w}, yd[4] = {n, c, 1, 1}, hw = h * w;
    uint8_t *x = malloc((size_t)(n * c * hw)), *y = malloc((size_t)(n * c));
    for (int64_t i = 0; i < n * c * hw; i++) x[i] = (uint8_t)(fill >= 0 ? fill : rnd(0, 255));
    for (int64_t pl = 0; pl < n * c; pl++) {
        int64_t s = 0;
        for (int64_t i = 0; i < hw; i++) s += x[pl * hw + i];
        int64_t t = (int64_t)mult * (s - hw * xzp) + ((int64_t)1 << (shift - 1)), d = (int64_t)1 << shift;
        int64_t v = (t >= 0 ? t / d : -((-t + d - 1) / d)) + yzp;
        y[pl] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    attr_buf ab = {{0}, 0};
    ab_i32(&ab, xzp); ab_i32(&ab, yzp); ab_i32(&ab, mult); ab_i32(&ab, shift);
    tspec ins[1] = {{KILN_U8, 4, xd, x, 0, 0}};
    tspec outs[1] = {{KILN_U8, 4, yd, y, 0, 0}};
    char what[100];
    snprintf(what, sizeof what, "qglobal_avg_pool [%lld,%lld,%lld,%lld] zp %d/%d mult %d shift %d", (long long)n, (long long)c, (long long)h,
             (long long)w, xzp, yzp, mult, shift);
    test_op(what, KILN_OP_QGLOBAL_AVG_POOL, ab.data, ab.size, 1, ins, 1, outs, 0, 0);
    free(x); free(y);
}

static void qgap_refused(const char *what, const int64_t *xd, const int64_t *yd, int32_t shift, const char *needle) {
    pb *b = pb_new();
    uint32_t in = pb_input(b, "x", KILN_U8, 4, xd), out = pb_output(b, "y", KILN_U8, 4, yd);
    attr_buf ab = {{0}, 0};
    ab_i32(&ab, 3); ab_i32(&ab, 4); ab_i32(&ab, 1 << 20); ab_i32(&ab, shift);
    pb_instr(b, KILN_OP_QGLOBAL_AVG_POOL, ab.data, ab.size, 1, &in, 1, &out);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    kiln_error e;
    kiln_plan *p = NULL;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, &e);
    CHECK(st == KILN_ERR_MALFORMED && strstr(e.message, needle), "qglobal_avg_pool refusal (%s): status %d, message '%s'", what, (int)st,
          st == KILN_OK ? "" : e.message);
    if (st == KILN_OK) kiln_plan_free(p);
    free(plan);
}

static void test_qgap(void) {
    qgap_case(1, 5, 7, 7, 0, 0, 1 << 20, 26, -1);          /* ResNet's 7x7 head, ratio ~1/49 */
    qgap_case(2, 3, 1, 1, 255, 128, 1 << 21, 21, -1);      /* one pixel: a requantizing copy */
    qgap_case(1, 4, 13, 11, 17, 250, 1 << 21, 1, -1);      /* saturates */
    qgap_case(1, 3, 9, 9, 0, 0, 1 << 20, 20, 255);         /* every pixel 255 */
    qgap_case(1, 2, 8, 8, 128, 7, (1 << 20) + 12345, 26, 128); /* every pixel at the zero point */
    qgap_case(1, 8, 100, 90, 100, 30, 1234567, 30, -1);    /* 72000 elements: two threads */
    for (int trial = 0; trial < 10; trial++)
        qgap_case(rnd(1, 2), rnd(1, 9), rnd(1, 15), rnd(1, 15), rnd(0, 255), rnd(0, 255), rnd(0, 1 << 21), rnd(1, 30), -1);
    int64_t xd[4] = {1, 3, 5, 5}, y1[4] = {1, 3, 1, 1}, y2[4] = {1, 2, 1, 1}, huge[4] = {0, 1, 1 << 25, 1}, y0[4] = {0, 1, 1, 1};
    qgap_refused("shift 0", xd, y1, 0, "shift");
    qgap_refused("channels differ", xd, y2, 20, "[N,C,1,1]");
    qgap_refused("H*W > 2^24 (empty batch)", huge, y0, 20, "H*W");
}

void test_qadd(void) {
    test_qconcat();
    test_qgap();
    test_row_paths();
    test_refusals();
    qadd_plan_case(1, 3, 5, 7, 0);       /* 105: less than one vector step plus a tail */
    qadd_plan_case(2, 5, 9, 13, 1);      /* odd sizes, saturating attributes */
    qadd_plan_case(1, 64, 30, 35, 5);    /* 67200: split over two threads, exact ties */
    qadd_plan_case(1, 17, 61, 67, 3);    /* 69479: threads, odd length */
    for (int trial = 0; trial < 8; trial++) qadd_plan_case(rnd(1, 2), rnd(1, 9), rnd(1, 20), rnd(1, 40), trial);
    /* The same through the portable path (KILN_QGEMM=portable selects it at load). */
    setenv("KILN_QGEMM", "portable", 1);
    qadd_plan_case(1, 7, 11, 19, 4);
    unsetenv("KILN_QGEMM");
}
