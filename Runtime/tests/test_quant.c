/* test_quant.c — the int8 kernels: the GEMM core's optimized path against the portable
 * reference (bit for bit, random shapes with odd sizes), and QCONV2D (im2col + GEMM,
 * grouped, depthwise) and QGEMM against a direct loop over the definition. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test.h"

#include "../src/kernels/qgemm.h"

#include <math.h>

static uint32_t g_state = 12345;
static int32_t rnd(int32_t lo, int32_t hi) {
    g_state = g_state * 1664525u + 1013904223u;
    return lo + (int32_t)((g_state >> 8) % (uint32_t)(hi - lo + 1));
}

static void test_core_paths(void) {
    kiln_qgemm_fn fast = kiln_qgemm_avx2();
    if (!fast) { printf("  (no AVX2 on this CPU/build: only the portable int8 core is exercised)\n"); fast = kiln_qgemm_select(); }
    for (int trial = 0; trial < 60; trial++) {
        int64_t m = rnd(1, 13), n = rnd(1, 53), kk = rnd(1, 37);
        if (trial % 10 == 0) { m = 4; n = 16; }
        int32_t *a = malloc(sizeof(int32_t) * (size_t)(m * kk));
        int16_t *b = malloc(sizeof(int16_t) * (size_t)(kk * n * 2));
        int32_t *c0 = malloc(sizeof(int32_t) * (size_t)(m * n)), *c1 = malloc(sizeof(int32_t) * (size_t)(m * n));
        for (int64_t i = 0; i < m * kk; i++) a[i] = kiln_qpair(rnd(-128, 127), rnd(-128, 127));
        for (int64_t i = 0; i < kk * n * 2; i++) b[i] = (int16_t)rnd(0, 255);
        kiln_qgemm_portable(m, n, kk, a, b, c0);
        fast(m, n, kk, a, b, c1);
        CHECK(memcmp(c0, c1, sizeof(int32_t) * (size_t)(m * n)) == 0, "int8 core: optimized path differs (m=%lld n=%lld kk=%lld)",
              (long long)m, (long long)n, (long long)kk);
        /* The reference itself against the plain definition. */
        int bad = 0;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                int32_t s = 0;
                for (int64_t t = 0; t < kk; t++)
                    s += (int16_t)(a[i * kk + t] & 0xFFFF) * b[(t * n + j) * 2] + (int16_t)((uint32_t)a[i * kk + t] >> 16) * b[(t * n + j) * 2 + 1];
                bad += s != c0[i * n + j];
            }
        CHECK(bad == 0, "int8 core: portable path differs from the definition");
        free(a); free(b); free(c0); free(c1);
    }
}

/* The row helpers (activation packing, requantization, depthwise tap): the selected
 * (AVX2) paths against the portable references, random lengths incl. odd ones. */
static void test_row_paths(void) {
    kiln_qpack_fn pack = kiln_qpack_select();
    kiln_qrequant_row_fn rq = kiln_qrequant_row_select();
    kiln_qdw_tap_fn tap = kiln_qdw_tap_select();
    for (int trial = 0; trial < 200; trial++) {
        int64_t n = rnd(1, 150);
        uint8_t r0[160], r1[160], o0[160], o1[160], row[2 * 160 + 8];
        int16_t d0[320], d1[320];
        int32_t acc[160], a0[160], a1[160];
        for (int64_t i = 0; i < n; i++) { r0[i] = (uint8_t)rnd(0, 255); r1[i] = (uint8_t)rnd(0, 255); }
        kiln_qpack_portable(r0, r1, n, d0);
        pack(r0, r1, n, d1);
        CHECK(memcmp(d0, d1, sizeof(int16_t) * (size_t)(2 * n)) == 0, "qpack: optimized path differs (n=%lld)", (long long)n);
        /* Requant: accumulators up to the full i32 range, any shift the format allows. */
        for (int64_t i = 0; i < n; i++) acc[i] = trial % 3 ? rnd(-3000000, 3000000) : (int32_t)(g_state = g_state * 1664525u + 1013904223u);
        kiln_qparams q = {0, rnd(0, 255), rnd(0, 60), rnd(190, 255)};
        int32_t mult = trial % 7 ? rnd(1 << 30, 0x7FFFFFFF) : 0, shift = trial % 5 ? rnd(20, 45) : rnd(1, 62);
        int32_t bias = rnd(-100000, 100000);
        kiln_qrequant_row_portable(acc, n, bias, mult, shift, &q, o0);
        rq(acc, n, bias, mult, shift, &q, o1);
        CHECK(memcmp(o0, o1, (size_t)n) == 0, "qrequant row: optimized path differs (n=%lld shift=%d)", (long long)n, shift);
        /* Depthwise tap, stride 1 and 2, with the row exactly as long as the reads need. */
        int64_t sw = rnd(1, 2), off = rnd(0, 3), lo = rnd(0, (int32_t)n - 1);
        int64_t wlen = (n - 1) * sw + off + 1;
        for (int64_t i = 0; i < wlen; i++) row[i] = (uint8_t)rnd(0, 255);
        for (int64_t i = 0; i < n; i++) a0[i] = a1[i] = rnd(-100000, 100000);
        int32_t wv = rnd(-128, 127), zp = rnd(0, 255);
        kiln_qdw_tap_portable(a0, row, lo, n, sw, off, wv, zp);
        tap(a1, row, lo, n, sw, off, wv, zp);
        CHECK(memcmp(a0, a1, sizeof(int32_t) * (size_t)n) == 0, "qdw tap: optimized path differs (n=%lld sw=%lld)", (long long)n,
              (long long)sw);
    }
}

/* Per-tensor u8 QuantizeLinear (selected path and portable) and DequantizeLinear (through
 * the kernels) against the ONNX definition evaluated in double: ties, NaN, infinities,
 * huge values, odd lengths. */
static void test_quantize_rows(void) {
    kiln_quantize_u8_fn fast = kiln_quantize_u8_select();
    for (int trial = 0; trial < 40; trial++) {
        int64_t n = rnd(1, 67);
        float x[67], scale = (float)rnd(1, 1000) / 4096.0f;
        uint8_t y0[67], y1[67], want[67];
        int32_t zp = rnd(0, 255);
        for (int64_t i = 0; i < n; i++) {
            int32_t kind = rnd(0, 9);
            x[i] = kind == 0 ? ((float)rnd(-300, 300) + 0.5f) * scale : kind == 1 ? (float)rnd(-5, 5) * 1e30f
                 : (float)rnd(-400000, 400000) * scale / 1000.0f;
        }
        if (trial == 0) { x[0] = NAN; if (n > 1) x[1] = INFINITY; if (n > 2) x[2] = -INFINITY; }
        for (int64_t i = 0; i < n; i++) {
            double v = nearbyint((double)(x[i] / scale)) + zp;
            want[i] = (uint8_t)(v != v ? 0 : v < 0 ? 0 : v > 255 ? 255 : v);
        }
        kiln_quantize_u8_portable(x, n, scale, zp, y0);
        fast(x, n, scale, zp, y1);
        CHECK(memcmp(y0, want, (size_t)n) == 0, "quantize u8 row: portable path differs from the definition");
        CHECK(memcmp(y1, want, (size_t)n) == 0, "quantize u8 row: optimized path differs from the definition (n=%lld)", (long long)n);
    }
    int64_t n = 37, d1[1] = {1}, dn[1] = {37};
    uint8_t xq[37], zp[1] = {(uint8_t)rnd(0, 255)};
    float s1[1] = {0.0371f}, want[37];
    for (int64_t i = 0; i < n; i++) {
        xq[i] = (uint8_t)rnd(0, 255);
        want[i] = (float)((double)(xq[i] - zp[0]) * (double)s1[0]);
    }
    attr_buf a = {{0}, 0};
    ab_i32(&a, -1); ab_i32(&a, 0);
    tspec in[3] = {{KILN_U8, 1, dn, xq, 0, 0}, {KILN_F32, 0, d1, s1, 1, 0}, {KILN_U8, 0, d1, zp, 1, 0}};
    tspec out[1] = {{KILN_F32, 1, dn, want, 0, 0}};
    test_op("dequantize_linear per tensor u8", KILN_OP_DEQUANTIZE_LINEAR, a.data, a.size, 3, in, 1, out, 0, 0);
}

/* y = clamp(zp + round_half_up(acc * mult / 2^shift)) written out with a division. */
static uint8_t requant_def(int64_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi) {
    int64_t num = acc * mult + ((int64_t)1 << (shift - 1)), den = (int64_t)1 << shift;
    int64_t q = num / den;
    if (num % den != 0 && num < 0) q -= 1; /* floor */
    q += zp;
    return (uint8_t)(q < lo ? lo : q > hi ? hi : q);
}

/* The general window: strides, dilations and the four pads each on their own. */
typedef struct qwin { int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw; } qwin;

static void qconv_case_win(int64_t n, int64_t c, int64_t h, int64_t w, int64_t m, int64_t group, qwin q, int bias) {
    int64_t kh = q.kh, kw = q.kw;
    int64_t cg = c / group, mg = m / group;
    int64_t oh = (h + q.pt + q.pb - ((kh - 1) * q.dh + 1)) / q.sh + 1, ow = (w + q.pl + q.pr - ((kw - 1) * q.dw + 1)) / q.sw + 1;
    int64_t xd[4] = {n, c, h, w}, wd[4] = {m, cg, kh, kw}, rd[2] = {2, m}, bd[1] = {m}, yd[4] = {n, m, oh, ow};
    uint8_t *x = malloc((size_t)(n * c * h * w)), *y = malloc((size_t)(n * m * oh * ow));
    int8_t *wt = malloc((size_t)(m * cg * kh * kw));
    int32_t *rq = malloc(sizeof(int32_t) * (size_t)(2 * m)), *b = malloc(sizeof(int32_t) * (size_t)m);
    int32_t xzp = rnd(0, 255), yzp = rnd(0, 255), ymin = rnd(0, 40), ymax = rnd(200, 255);
    for (int64_t i = 0; i < n * c * h * w; i++) x[i] = (uint8_t)rnd(0, 255);
    for (int64_t i = 0; i < m * cg * kh * kw; i++) wt[i] = (int8_t)rnd(-127, 127);
    for (int64_t i = 0; i < m; i++) { rq[i] = rnd(1 << 30, 0x7FFFFFFF); rq[m + i] = rnd(36, 44); b[i] = rnd(-50000, 50000); }
    for (int64_t in = 0; in < n; in++)
        for (int64_t o = 0; o < m; o++)
            for (int64_t yy = 0; yy < oh; yy++)
                for (int64_t xx = 0; xx < ow; xx++) {
                    int64_t acc = bias ? b[o] : 0, g = o / mg;
                    for (int64_t ci = 0; ci < cg; ci++)
                        for (int64_t i = 0; i < kh; i++)
                            for (int64_t j = 0; j < kw; j++) {
                                int64_t iy = yy * q.sh - q.pt + i * q.dh, ix = xx * q.sw - q.pl + j * q.dw;
                                int32_t xv = iy < 0 || iy >= h || ix < 0 || ix >= w ? xzp : x[((in * c + g * cg + ci) * h + iy) * w + ix];
                                acc += (int64_t)(xv - xzp) * wt[((o * cg + ci) * kh + i) * kw + j];
                            }
                    y[((in * m + o) * oh + yy) * ow + xx] = requant_def(acc, rq[o], rq[m + o], yzp, ymin, ymax);
                }
    attr_buf a = {{0}, 0};
    int32_t conv[11] = {(int32_t)kh, (int32_t)kw, (int32_t)q.sh, (int32_t)q.sw, (int32_t)q.pt, (int32_t)q.pl, (int32_t)q.pb,
                        (int32_t)q.pr, (int32_t)q.dh, (int32_t)q.dw, (int32_t)group};
    for (int i = 0; i < 11; i++) ab_i32(&a, conv[i]);
    ab_i32(&a, 0); ab_f32(&a, 0); ab_f32(&a, 0);
    ab_i32(&a, xzp); ab_i32(&a, yzp); ab_i32(&a, ymin); ab_i32(&a, ymax);
    tspec ins[4] = {{KILN_U8, 4, xd, x, 0, 0}, {KILN_I8, 4, wd, wt, 1, 0}, {KILN_I32, 2, rd, rq, 1, 0}, {KILN_I32, 1, bd, b, 1, !bias}};
    tspec outs[1] = {{KILN_U8, 4, yd, y, 0, 0}};
    char what[120];
    snprintf(what, sizeof what, "qconv2d n=%lld c=%lld %lldx%lld m=%lld g=%lld k=%lldx%lld s=%lldx%lld p=%lld,%lld,%lld,%lld d=%lldx%lld",
             (long long)n, (long long)c, (long long)h, (long long)w, (long long)m, (long long)group, (long long)kh, (long long)kw,
             (long long)q.sh, (long long)q.sw, (long long)q.pt, (long long)q.pl, (long long)q.pb, (long long)q.pr, (long long)q.dh,
             (long long)q.dw);
    test_op(what, KILN_OP_QCONV2D, a.data, a.size, 4, ins, 1, outs, 0, 0);
    free(x); free(y); free(wt); free(rq); free(b);
}

static void qconv_case(int64_t n, int64_t c, int64_t h, int64_t w, int64_t m, int64_t group, int64_t kh, int64_t kw,
                       int64_t s, int64_t pad, int64_t dil, int bias) {
    qconv_case_win(n, c, h, w, m, group, (qwin){kh, kw, s, s, pad, pad, pad, pad, dil, dil}, bias);
}

/* Random windows against the definition: tiny inputs (1x1, 2x2), one channel, batches,
 * groups, depthwise, strides 1-3 and dilations 1-2 on each axis apart, asymmetric pads. */
static void qconv_random_cases(int trials) {
    for (int trial = 0; trial < trials; trial++) {
        qwin q = {rnd(1, 5), rnd(1, 5), rnd(1, 3), rnd(1, 3), 0, 0, 0, 0, rnd(1, 4) == 1 ? 2 : 1, rnd(1, 4) == 1 ? 2 : 1};
        if (trial % 3 == 0) q.sw = q.sh = 2;
        q.pt = rnd(0, (int32_t)q.kh - 1); q.pb = rnd(0, (int32_t)q.kh - 1);
        q.pl = rnd(0, (int32_t)q.kw - 1); q.pr = rnd(0, (int32_t)q.kw - 1);
        int64_t ekh = (q.kh - 1) * q.dh + 1, ekw = (q.kw - 1) * q.dw + 1;
        int64_t h = rnd(1, trial % 4 == 0 ? 3 : 24), w = rnd(1, trial % 4 == 0 ? 3 : 70);
        if (h + q.pt + q.pb < ekh) q.pb += ekh - (h + q.pt + q.pb);
        if (w + q.pl + q.pr < ekw) q.pr += ekw - (w + q.pl + q.pr);
        int64_t n = rnd(1, 3), kind = trial % 3, c, m, group;
        if (kind == 0) { group = 1; c = rnd(1, 9); m = rnd(1, 20); }
        else if (kind == 1) { c = rnd(1, 12); group = c; m = c * rnd(1, 2); } /* depthwise */
        else { group = rnd(1, 3); c = group * rnd(1, 4); m = group * rnd(1, 5); }
        qconv_case_win(n, c, h, w, m, group, q, trial % 5 != 0);
    }
}

static void qgemm_case(int64_t rows, int64_t k, int64_t n, int bias) {
    int64_t xd[2] = {rows, k}, wd[2] = {k, n}, rd[2] = {2, n}, bd[1] = {n}, yd[2] = {rows, n};
    uint8_t *x = malloc((size_t)(rows * k)), *y = malloc((size_t)(rows * n));
    int8_t *wt = malloc((size_t)(k * n));
    int32_t *rq = malloc(sizeof(int32_t) * (size_t)(2 * n)), *b = malloc(sizeof(int32_t) * (size_t)n);
    int32_t xzp = rnd(0, 255), yzp = rnd(0, 255);
    for (int64_t i = 0; i < rows * k; i++) x[i] = (uint8_t)rnd(0, 255);
    for (int64_t i = 0; i < k * n; i++) wt[i] = (int8_t)rnd(-128, 127);
    for (int64_t i = 0; i < n; i++) { rq[i] = rnd(1 << 30, 0x7FFFFFFF); rq[n + i] = rnd(36, 44); b[i] = rnd(-50000, 50000); }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) {
            int64_t acc = bias ? b[j] : 0;
            for (int64_t i = 0; i < k; i++) acc += (int64_t)(x[r * k + i] - xzp) * wt[i * n + j];
            y[r * n + j] = requant_def(acc, rq[j], rq[n + j], yzp, 0, 255);
        }
    attr_buf a = {{0}, 0};
    ab_i32(&a, xzp); ab_i32(&a, yzp); ab_i32(&a, 0); ab_i32(&a, 255);
    tspec ins[4] = {{KILN_U8, 2, xd, x, 0, 0}, {KILN_I8, 2, wd, wt, 1, 0}, {KILN_I32, 2, rd, rq, 1, 0}, {KILN_I32, 1, bd, b, 1, !bias}};
    tspec outs[1] = {{KILN_U8, 2, yd, y, 0, 0}};
    char what[80];
    snprintf(what, sizeof what, "qgemm %lldx%lldx%lld", (long long)rows, (long long)k, (long long)n);
    test_op(what, KILN_OP_QGEMM, a.data, a.size, 4, ins, 1, outs, 0, 0);
    free(x); free(y); free(wt); free(rq); free(b);
}

/* QMAXPOOL against the definition: the max over the window's taps inside the input, 0 for a
 * window entirely in the padding; ceil selects the ceil form of OH/OW. */
static void qmaxpool_case(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt,
                          int64_t pl, int64_t pb, int64_t pr, int64_t dil, int ceil) {
    int64_t rh = h + pt + pb - ((kh - 1) * dil + 1), rw = w + pl + pr - ((kw - 1) * dil + 1);
    int64_t oh = (ceil ? (rh + sh - 1) / sh : rh / sh) + 1, ow = (ceil ? (rw + sw - 1) / sw : rw / sw) + 1;
    int64_t xd[4] = {n, c, h, w}, yd[4] = {n, c, oh, ow};
    uint8_t *x = malloc((size_t)(n * c * h * w)), *y = malloc((size_t)(n * c * oh * ow));
    for (int64_t i = 0; i < n * c * h * w; i++) x[i] = (uint8_t)rnd(0, 255);
    for (int64_t pl_i = 0; pl_i < n * c; pl_i++)
        for (int64_t yy = 0; yy < oh; yy++)
            for (int64_t xx = 0; xx < ow; xx++) {
                uint8_t best = 0;
                for (int64_t i = 0; i < kh; i++)
                    for (int64_t j = 0; j < kw; j++) {
                        int64_t iy = yy * sh - pt + i * dil, ix = xx * sw - pl + j * dil;
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w && x[(pl_i * h + iy) * w + ix] > best) best = x[(pl_i * h + iy) * w + ix];
                    }
                y[(pl_i * oh + yy) * ow + xx] = best;
            }
    attr_buf a = {{0}, 0};
    int32_t v[10] = {(int32_t)kh, (int32_t)kw, (int32_t)sh, (int32_t)sw, (int32_t)pt, (int32_t)pl, (int32_t)pb, (int32_t)pr,
                     (int32_t)dil, (int32_t)dil};
    for (int i = 0; i < 10; i++) ab_i32(&a, v[i]);
    tspec ins[1] = {{KILN_U8, 4, xd, x, 0, 0}};
    tspec outs[1] = {{KILN_U8, 4, yd, y, 0, 0}};
    char what[120];
    snprintf(what, sizeof what, "qmaxpool c=%lld %lldx%lld k=%lldx%lld s=%lldx%lld p=%lld,%lld,%lld,%lld d=%lld ceil=%d", (long long)c,
             (long long)h, (long long)w, (long long)kh, (long long)kw, (long long)sh, (long long)sw, (long long)pt, (long long)pl,
             (long long)pb, (long long)pr, (long long)dil, ceil);
    test_op(what, KILN_OP_QMAXPOOL, a.data, a.size, 1, ins, 1, outs, 0, 0);
    free(x); free(y);
}

static void qmaxpool_cases(void) {
    qmaxpool_case(1, 3, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0); /* ResNet's stem pool: the SSE2 stride-2 path */
    qmaxpool_case(2, 5, 9, 37, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0);    /* stride 1, odd width */
    qmaxpool_case(1, 4, 11, 45, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1);   /* 2x2 stride 2, ceil mode */
    qmaxpool_case(1, 2, 13, 50, 3, 3, 2, 2, 1, 1, 1, 1, 2, 0);   /* dilated */
    qmaxpool_case(1, 3, 7, 33, 3, 5, 3, 3, 2, 2, 2, 2, 1, 1);    /* stride 3, windows in the padding (0) */
    qmaxpool_case(1, 1, 1, 70, 1, 4, 1, 2, 0, 1, 0, 1, 1, 0);    /* one row, 1-D-like */
    for (int trial = 0; trial < 10; trial++) {
        int64_t k = rnd(1, 4), s = rnd(1, 3), p = rnd(0, k - 1), h = rnd(k, 20), w = rnd(k, 70);
        qmaxpool_case(1, rnd(1, 4), h, w, k, k, s, s, p, p, rnd(0, p), rnd(0, p), 1, trial % 2);
    }
    for (int trial = 0; trial < 40; trial++) { /* tiny inputs, kernels and strides apart per axis, asymmetric pads */
        int64_t kh = rnd(1, 4), kw = rnd(1, 5), dil = rnd(1, 3) == 1 ? 2 : 1;
        int64_t pt = rnd(0, (int32_t)kh - 1), pb = rnd(0, (int32_t)kh - 1), pl = rnd(0, (int32_t)kw - 1), pr = rnd(0, (int32_t)kw - 1);
        int64_t h = rnd(1, trial % 3 ? 20 : 3), w = rnd(1, trial % 3 ? 70 : 3);
        if (h + pt + pb < (kh - 1) * dil + 1) h = (kh - 1) * dil + 1;
        if (w + pl + pr < (kw - 1) * dil + 1) w = (kw - 1) * dil + 1;
        qmaxpool_case(rnd(1, 2), rnd(1, 3), h, w, kh, kw, rnd(1, 3), rnd(1, 3), pt, pl, pb, pr, dil, trial % 2);
    }
}

static void qconv_cases(void) {
    qconv_case(1, 3, 9, 11, 8, 1, 3, 3, 1, 1, 1, 1);      /* odd K = 27 */
    qconv_case(2, 5, 7, 6, 19, 1, 3, 3, 2, 1, 1, 1);      /* stride 2, odd M */
    qconv_case(1, 16, 5, 5, 33, 1, 1, 1, 1, 0, 1, 0);     /* pointwise, no bias */
    qconv_case(1, 6, 8, 9, 4, 2, 3, 2, 1, 2, 2, 1);       /* grouped, dilated, padded */
    qconv_case(1, 40, 23, 21, 24, 1, 3, 3, 1, 1, 1, 1);   /* several pixel blocks */
    qconv_case(1, 7, 10, 9, 7, 7, 3, 3, 1, 1, 1, 1);      /* depthwise */
    qconv_case(2, 5, 9, 8, 10, 5, 3, 3, 2, 1, 1, 0);      /* depthwise, multiplier 2, stride 2 */
    qconv_case(1, 9, 13, 37, 5, 1, 1, 1, 1, 0, 1, 1);     /* pointwise direct, odd C, pixels not a multiple of 16 */
    qconv_case(1, 24, 30, 41, 24, 24, 3, 3, 1, 1, 1, 1);  /* depthwise, rows wide enough for the vector path */
    qconv_case(1, 16, 31, 45, 16, 16, 3, 3, 2, 1, 1, 0);  /* depthwise stride 2, vector path */
    qconv_case(1, 64, 9, 11, 44, 1, 3, 3, 1, 1, 1, 1);    /* K = 576: 8-row tiles, rows and columns left over */
    qconv_case(1, 30, 12, 13, 17, 1, 1, 1, 1, 0, 1, 1);   /* direct 1x1, C not a multiple of 4 */
    qconv_case(1, 6, 12, 37, 6, 6, 5, 2, 1, 2, 1, 1);     /* depthwise 5x2, padded */
    qconv_case(1, 5, 19, 40, 5, 5, 3, 4, 2, 1, 1, 1);     /* depthwise 3x4 stride 2 */
    qconv_case(1, 4, 15, 21, 4, 4, 3, 3, 1, 2, 2, 0);     /* depthwise dilated (tap path) */
    qconv_case(1, 3, 23, 21, 8, 1, 7, 7, 2, 3, 1, 1);     /* stem-like 7x7 stride 2: four phase planes, odd sizes */
    qconv_case(1, 6, 11, 13, 10, 2, 3, 3, 2, 2, 2, 1);    /* grouped, stride 2 and dilation 2 */
    qconv_case(2, 5, 9, 10, 12, 1, 2, 2, 3, 1, 1, 0);     /* stride 3, kernel 2 */
    qconv_case(1, 4, 9, 75, 6, 1, 3, 3, 2, 1, 1, 1);      /* stride 2, rows wide enough for the vector gather */
    qconv_case(1, 8, 6, 67, 5, 1, 1, 1, 2, 0, 1, 1);      /* 1x1 stride 2 (downsample), odd width */
    /* Strides far beyond a 1x1 input: the quad path's phase planes would be 2^63 bytes (their
     * size overflowed); the conv runs on the pair path. */
    qconv_case_win(1, 3, 1, 1, 4, 1, (qwin){1, 1, 0x7FFFFFFF, 0x7FFFFFFF, 0, 0, 0, 0, 1, 1}, 1);
    for (int trial = 0; trial < 12; trial++) {           /* random shapes, pointwise and depthwise */
        int64_t c = rnd(1, 12), h = rnd(1, 20), w = rnd(1, 50), s = rnd(1, 2), k = trial % 2 ? 3 : 1;
        int64_t pad = k == 3 ? rnd(0, 1) : 0;
        if (w + 2 * pad < k || h + 2 * pad < k) { w += 3; h += 3; }
        if (trial % 4 < 2) qconv_case(rnd(1, 2), c, h, w, rnd(1, 20), 1, k, k, s, pad, 1, trial % 3 != 0);
        else qconv_case(1, c, h, w, c, c, 3, 3, s, 1, 1, trial % 3 != 0);
    }
}

void test_quant_kernels(void) {
    qmaxpool_cases();                   /* the narrow AVX-512 rows where the CPU has them */
    setenv("KILN_QGEMM", "portable", 1); /* and the row-buffer path everywhere */
    qmaxpool_cases();
    unsetenv("KILN_QGEMM");
    test_core_paths();
    test_row_paths();
    test_quantize_rows();
    /* The conv and gemm cases once with the path chosen at load (the quad layout when the CPU has a
     * dot-product core) and once with the pair layout (KILN_QGEMM=pairs). */
    static const char *const caps[] = {NULL, "pairs", "novbmi", "avxvnni"}; /* avxvnni: as a CPU without AVX-512 */
    for (int layout = 0; layout < 4; layout++) {
        if (caps[layout]) setenv("KILN_QGEMM", caps[layout], 1);
        qconv_cases();
        qconv_random_cases(getenv("KILN_TEST_QCONV_TRIALS") ? atoi(getenv("KILN_TEST_QCONV_TRIALS")) : 60);
        qgemm_case(1, 37, 21, 1);
        qgemm_case(70, 64, 10, 1);
        qgemm_case(3, 5, 33, 0);
        qgemm_case(2, 130, 77, 1); /* K not a multiple of 4, N past one 64-column step */
    }
    unsetenv("KILN_QGEMM");
}
