/* test_vmath.c — the vectorized exp / sigmoid / tanh (src/kernels/vmath.c), both the SIMD
 * path and the portable one, against double-precision libm over a dense sweep, plus
 * saturation, NaN, odd lengths (the SIMD tail) and in-place use. */
#include "test.h"

#include "../src/kernels/common.h"
#include "../src/kernels/vmath.h"

#include <math.h>

typedef void (*vfn)(const float *, float *, size_t);

static double ref_exp(double x) { return exp(x); }
static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_tanh(double x) { return tanh(x); }

/* Max relative error of f over x in [lo, hi] with step `step` (relative to the exact value,
 * with a floor of `abs_floor` for values near 0). */
static double sweep(vfn f, double (*ref)(double), double lo, double hi, double step, double abs_floor) {
    enum { CHUNK = 1001 }; /* odd: exercises the tail */
    float x[CHUNK], y[CHUNK];
    double worst = 0;
    double v = lo;
    while (v <= hi) {
        size_t n = 0;
        for (; n < CHUNK && v <= hi; n++, v += step) x[n] = (float)v;
        f(x, y, n);
        for (size_t i = 0; i < n; i++) {
            double want = ref((double)x[i]), d = fabs((double)y[i] - want), m = fabs(want);
            double err = d / (m > abs_floor ? m : abs_floor);
            if (err > worst || err != err) worst = err != err ? INFINITY : err;
        }
    }
    return worst;
}

static void check_fn(const char *name, vfn f, double (*ref)(double), double lo, double hi, double floor_, double bound) {
    double worst = sweep(f, ref, lo, hi, 0.000731, floor_);
    CHECK(worst <= bound, "%s: max relative error %.3g over [%g, %g] exceeds %.3g", name, worst, lo, hi, bound);
    /* the tiny range where the polynomial / series branch matters most */
    worst = sweep(f, ref, -0.6, 0.6, 1.7e-6, floor_);
    CHECK(worst <= bound, "%s: max relative error %.3g over [-0.6, 0.6] exceeds %.3g", name, worst, bound);
}

static void check_edges(const char *name, vfn f, int kind) {
    float x[11] = {-1000.0f, -100.0f, -88.0f, 88.0f, 100.0f, 1000.0f, NAN, -INFINITY, INFINITY, 0.0f, -0.0f}, y[11];
    f(x, y, 11);
    CHECK(y[6] != y[6], "%s(NaN) is %g, not NaN", name, y[6]);
    for (int i = 0; i < 11; i++)
        if (i != 6) CHECK(y[i] == y[i], "%s(%g) is NaN", name, x[i]);
    if (kind == 0) { /* exp */
        CHECK(y[0] >= 0.0f && y[0] < 1.2e-38f && y[7] >= 0.0f && y[7] < 1.2e-38f, "exp(-large) is %g / %g", y[0], y[7]);
        CHECK(y[4] > 3.0e38f && y[8] > 3.0e38f, "exp(+large) is %g / %g", y[4], y[8]);
        CHECK(y[9] == 1.0f && y[10] == 1.0f, "exp(0) is %g", y[9]);
    } else if (kind == 1) { /* sigmoid */
        CHECK(y[0] >= 0.0f && y[0] < 1e-37f && y[1] < 1e-37f, "sigmoid(-large) is %g", y[0]);
        CHECK(y[4] == 1.0f && y[5] == 1.0f && y[8] == 1.0f, "sigmoid(+large) is %g", y[4]);
        CHECK(y[9] == 0.5f, "sigmoid(0) is %g", y[9]);
    } else { /* tanh */
        CHECK(y[0] == -1.0f && y[1] == -1.0f && y[7] == -1.0f, "tanh(-large) is %g", y[0]);
        CHECK(y[4] == 1.0f && y[5] == 1.0f && y[8] == 1.0f, "tanh(+large) is %g", y[4]);
        CHECK(y[9] == 0.0f && y[10] == 0.0f, "tanh(0) is %g", y[9]);
    }
    /* in place, every length 0..19 (the SIMD tail), same values as out of place */
    for (size_t n = 0; n < 20; n++) {
        float a[20], b[20], c[20];
        test_fill(a, 20, 77 + (uint32_t)n);
        for (size_t i = 0; i < 20; i++) a[i] *= 6.0f;
        memcpy(b, a, sizeof a);
        f(a, c, n);
        f(b, b, n);
        CHECK(memcmp(b, c, n * sizeof(float)) == 0, "%s in place differs at length %zu", name, n);
        CHECK(memcmp(b + n, a + n, (20 - n) * sizeof(float)) == 0, "%s wrote past length %zu", name, n);
    }
}

#ifdef KILN_HAVE_AVX512
/* kiln_vsilu_avx512 is x times kiln_vsigmoid's AVX2 lanes bit for bit: a sweep over
 * [-100, 100] in chunks of every length 0..40 (masked tails), the edges (NaN, infinities,
 * zeros, saturation), and in place. */
static void check_silu512(void) {
    if (kiln_isa_detect() != KILN_ISA_AVX512 || !kiln_vmath_simd()) return;
    float x[1024], want[1024], got[1024];
    size_t bad = 0, checked = 0;
    for (int rep = 0; rep < 200; rep++) {
        size_t n = (size_t)(rep % 41);
        for (size_t i = 0; i < n; i++) x[i] = -100.0f + 200.0f * (float)(rep * 41 + (int)i) / (200.0f * 41.0f);
        if (rep == 7) {
            const float e[11] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 88.8f, -88.8f, 1e-30f, -1e-30f, 1000.0f, -1000.0f};
            for (size_t i = 0; i < 11; i++) x[i] = e[i];
        }
        kiln_vsigmoid(x, want, n);
        for (size_t i = 0; i < n; i++) want[i] *= x[i];
        for (size_t i = 0; i < n + 1; i++) got[i] = 12345.0f;
        kiln_vsilu_avx512(x, got, n);
        for (size_t i = 0; i < n; i++, checked++)
            if (memcmp(&got[i], &want[i], sizeof(float)) != 0 && !(got[i] != got[i] && want[i] != want[i])) {
                if (!bad) printf("silu avx512(%g) = %.9g, expected %.9g\n", x[i], got[i], want[i]);
                bad++;
            }
        CHECK(got[n] == 12345.0f, "silu avx512 wrote past length %zu", n);
        kiln_vsilu_avx512(x, x, n);
        CHECK(memcmp(x, got, n * sizeof(float)) == 0, "silu avx512 in place differs at length %zu", n);
    }
    CHECK(bad == 0, "silu avx512: %zu of %zu values differ from x * sigmoid (AVX2)", bad, checked);
}
#endif

void test_vmath(void) {
#ifdef KILN_HAVE_AVX512
    check_silu512();
#endif
    /* ~3 float ulps; the end-to-end tolerance is 1e-4 */
    const double bound = 4e-7;
    vfn exps[2] = {kiln_vexp, kiln_vexp_portable}, sigs[2] = {kiln_vsigmoid, kiln_vsigmoid_portable};
    vfn tanhs[2] = {kiln_vtanh, kiln_vtanh_portable};
    const char *path[2] = {"simd", "portable"};
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "exp (%s)", path[k]);
        check_fn(name, exps[k], ref_exp, -87.0, 88.0, 0.0, bound);
        check_edges(name, exps[k], 0);
        snprintf(name, sizeof name, "sigmoid (%s)", path[k]);
        check_fn(name, sigs[k], ref_sigmoid, -87.0, 30.0, 0.0, bound);
        check_edges(name, sigs[k], 1);
        snprintf(name, sizeof name, "tanh (%s)", path[k]);
        check_fn(name, tanhs[k], ref_tanh, -20.0, 20.0, 1e-30, bound);
        check_edges(name, tanhs[k], 2);
    }
    /* gelu_erf: |error| <= 1.5e-7 |x| (A&S 7.1.26) plus float rounding */
    vfn gelus[2] = {kiln_vgelu_erf, kiln_vgelu_erf_portable};
    for (int k = 0; k < 2; k++) {
        float x[1001], y[1001];
        double worst = 0;
        for (int rep = 0; rep < 40; rep++) {
            for (int i = 0; i < 1001; i++) x[i] = -10.0f + 20.0f * (float)(rep * 1001 + i) / 40040.0f;
            gelus[k](x, y, 1001);
            for (int i = 0; i < 1001; i++) {
                double xv = x[i], want = 0.5 * xv * (1.0 + erf(xv / sqrt(2.0)));
                double err = fabs(y[i] - want) / (fabs(xv) > 1e-3 ? fabs(xv) : 1e-3);
                if (err > worst) worst = err;
            }
        }
        CHECK(worst <= 3e-7, "gelu_erf (%s): error %.3g x |x| exceeds 3e-7", path[k], worst);
        float nan_in = NAN, out;
        gelus[k](&nan_in, &out, 1);
        CHECK(out != out, "gelu_erf (%s) of NaN is %g", path[k], out);
    }
    printf("vmath: simd path %s\n", kiln_vmath_simd() ? "on" : "off (portable only)");
}
