/* test_qquad.c — the quad-layout int8 GEMM core: every dot-product path this build and
 * CPU have (AVX-512 VNNI, AVX-VNNI, aarch64 NEON sdot or widening) against the portable
 * reference bit for bit on random shapes with odd sizes, the reference against the
 * definition, and the quad packing against its portable version. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test.h"

#include "../src/kernels/qgemm.h"

static uint32_t q_state = 777;
static int32_t qrnd(int32_t lo, int32_t hi) {
    q_state = q_state * 1664525u + 1013904223u;
    return lo + (int32_t)((q_state >> 8) % (uint32_t)(hi - lo + 1));
}

static void check_path(const char *name, kiln_qgemm4_fn fast) {
    if (!fast) { printf("  (no %s path on this CPU/build)\n", name); return; }
    printf("  int8 quad core: %s path against the portable reference\n", name);
    for (int trial = 0; trial < 80; trial++) {
        int64_t m = qrnd(1, 19), n = qrnd(1, 77), kq = qrnd(1, 41);
        if (trial % 10 == 0) { m = 8 * qrnd(1, 3); n = 32 * qrnd(1, 3); kq = qrnd(60, 200); }
        int32_t *a = malloc(sizeof(int32_t) * (size_t)(m * kq));
        uint8_t *b = malloc((size_t)(kq * n * 4));
        int32_t *c0 = malloc(sizeof(int32_t) * (size_t)(m * n)), *c1 = malloc(sizeof(int32_t) * (size_t)(m * n));
        int extreme = trial % 4 == 1; /* all products at their extremes: -128 * 255 */
        for (int64_t i = 0; i < m * kq; i++)
            a[i] = extreme ? kiln_qquad(-128, -128, -128, -128) : kiln_qquad(qrnd(-128, 127), qrnd(-128, 127), qrnd(-128, 127), qrnd(-128, 127));
        for (int64_t i = 0; i < kq * n * 4; i++) b[i] = extreme ? 255 : (uint8_t)qrnd(0, 255);
        kiln_qgemm4_portable(m, n, kq, a, b, c0);
        memset(c1, 0xA5, sizeof(int32_t) * (size_t)(m * n));
        fast(m, n, kq, a, b, c1);
        CHECK(memcmp(c0, c1, sizeof(int32_t) * (size_t)(m * n)) == 0, "int8 quad core %s: differs from portable (m=%lld n=%lld kq=%lld)",
              name, (long long)m, (long long)n, (long long)kq);
        int bad = 0;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                int64_t s = 0;
                for (int64_t t = 0; t < kq; t++)
                    for (int u = 0; u < 4; u++) s += (int64_t)(int8_t)(uint8_t)((uint32_t)a[i * kq + t] >> (8 * u)) * b[(t * n + j) * 4 + u];
                bad += s != c0[i * n + j];
            }
        CHECK(bad == 0, "int8 quad core: portable path differs from the definition");
        free(a); free(b); free(c0); free(c1);
    }
}

/* Depthwise rows: the VNNI path against the portable one, and the portable one against
 * the definition, kernel rows 1..5, strides 1 and 2, odd widths. */
static void check_dw_rows(void) {
    kiln_qdw_row_fn fast = kiln_qdw_row_vnni512();
    kiln_qdw_rowq_fn fusedq = kiln_qdw_rowq_select();
    if (!fast) printf("  (no AVX-512 VNNI depthwise path on this CPU/build)\n");
    for (int trial = 0; trial < 120; trial++) {
        int64_t kh = qrnd(1, 5), sw = qrnd(1, 2), ow = qrnd(1, 70), ow16 = (ow + 15) / 16 * 16;
        int64_t rstride = ow16 * sw + 16 + qrnd(0, 9);
        uint8_t *x = malloc((size_t)(kh * rstride));
        int32_t wq[5], c0[80], c1[80];
        for (int64_t i = 0; i < kh * rstride; i++) x[i] = (uint8_t)qrnd(0, 255);
        for (int64_t k = 0; k < kh; k++) wq[k] = kiln_qquad(qrnd(-128, 127), qrnd(-128, 127), qrnd(-128, 127), trial % 2 ? 0 : qrnd(-128, 127));
        kiln_qdw_row_portable(x, rstride, kh, sw, ow, wq, c0);
        int bad = 0;
        for (int64_t o = 0; o < ow; o++) {
            int64_t s = 0;
            for (int64_t k = 0; k < kh; k++)
                for (int u = 0; u < 4; u++) s += (int64_t)(int8_t)(uint8_t)((uint32_t)wq[k] >> (8 * u)) * x[k * rstride + o * sw + u];
            bad += s != c0[o];
        }
        CHECK(bad == 0, "qdw row: portable path differs from the definition");
        kiln_qparams q = {0, qrnd(0, 255), qrnd(0, 60), qrnd(190, 255)};
        kiln_qrequant r = {trial % 4 == 1 ? qrnd(-(1 << 29), 1 << 29) : qrnd(-100000, 100000), qrnd(1 << 30, 0x7FFFFFFF),
                           trial % 4 == 1 ? qrnd(1, 62) : qrnd(20, 45), &q}; /* every fourth: any shift, larger biases */
        uint8_t y0[80], y1[80], want[80];
        kiln_qrequant_row_portable(c0, ow, r.bias, r.mult, r.shift, &q, want);
        kiln_qdw_rowq_portable(x, rstride, kh, sw, ow, wq, &r, y0, 1, 0);
        CHECK(memcmp(y0, want, (size_t)ow) == 0, "qdw row requantized: portable path differs from row + requant");
        if (fusedq) {
            memset(y1, 0xA5, sizeof y1);
            fusedq(x, rstride, kh, sw, ow, wq, &r, y1, 1, 0);
            CHECK(memcmp(y0, y1, (size_t)ow) == 0 && y1[ow] == 0xA5, "qdw row requantized: VBMI path differs (kh=%lld sw=%lld ow=%lld)",
                  (long long)kh, (long long)sw, (long long)ow);
        }
        /* Several output rows per call (a plane): row i reads x + i * xstep, writes y + i * ow. */
        int64_t rows = qrnd(2, 4), xstep = qrnd(1, 2) * rstride, span = (rows - 1) * xstep + kh * rstride;
        uint8_t *xp = malloc((size_t)span), *p0 = malloc((size_t)(rows * ow + 1)), *p1 = malloc((size_t)(rows * ow + 1));
        for (int64_t i = 0; i < span; i++) xp[i] = (uint8_t)qrnd(0, 255);
        kiln_qdw_rowq_portable(xp, rstride, kh, sw, ow, wq, &r, p0, rows, xstep);
        int rbad = 0;
        for (int64_t i = 0; i < rows; i++) {
            kiln_qdw_rowq_portable(xp + i * xstep, rstride, kh, sw, ow, wq, &r, want, 1, 0);
            rbad += memcmp(want, p0 + i * ow, (size_t)ow) != 0;
        }
        CHECK(rbad == 0, "qdw rows requantized: portable plane differs from its rows");
        if (fusedq) {
            memset(p1, 0xA5, (size_t)(rows * ow + 1));
            fusedq(xp, rstride, kh, sw, ow, wq, &r, p1, rows, xstep);
            CHECK(memcmp(p0, p1, (size_t)(rows * ow)) == 0 && p1[rows * ow] == 0xA5,
                  "qdw rows requantized: VBMI plane differs (kh=%lld sw=%lld ow=%lld rows=%lld)", (long long)kh, (long long)sw,
                  (long long)ow, (long long)rows);
        }
        free(xp); free(p0); free(p1);
        if (fast) {
            for (int i = 0; i < 80; i++) c1[i] = 0x5A5A5A5A;
            fast(x, rstride, kh, sw, ow, wq, c1);
            CHECK(memcmp(c0, c1, sizeof(int32_t) * (size_t)ow) == 0 && c1[ow] == 0x5A5A5A5A,
                  "qdw row: VNNI path differs from portable (kh=%lld sw=%lld ow=%lld)", (long long)kh, (long long)sw, (long long)ow);
        }
        free(x);
    }
}

/* Depthwise planes from the unpadded input: the portable one against the padded-plane rows
 * (the definition: a zero-point-padded copy, kiln_qdw_rowq_portable), the VBMI one against
 * the portable one bit for bit; odd sizes, padding up to 3 (wider than the kernel too),
 * strides 1 and 2, dilated rows, bytes past the plane untouched. */
static void check_dw_planes(void) {
    kiln_qdw_planeq_fn fast = kiln_qdw_planeq_select();
    if (!fast) printf("  (no AVX-512 VBMI depthwise plane path on this CPU/build)\n");
    for (int trial = 0; trial < 150; trial++) {
        kiln_qdw_geom g = {qrnd(1, trial % 4 == 0 ? 100 : 40), qrnd(1, 40), 0, 0, qrnd(1, 5), qrnd(1, 2), qrnd(1, 2), qrnd(1, 2), qrnd(0, 3), qrnd(0, 3), qrnd(0, 255)};
        int64_t kw = qrnd(1, 4), pb = qrnd(0, 3), pr = qrnd(0, 3), hp = g.h + g.pt + pb, wp = g.w + g.pl + pr;
        if (hp < (g.kh - 1) * g.dh + 1 || wp < kw) continue;
        g.oh = (hp - (g.kh - 1) * g.dh - 1) / g.sh + 1;
        g.ow = (wp - kw) / g.sw + 1;
        int32_t wq[5];
        for (int64_t k = 0; k < g.kh; k++)
            wq[k] = kiln_qquad(qrnd(-128, 127), kw > 1 ? qrnd(-128, 127) : 0, kw > 2 ? qrnd(-128, 127) : 0, kw > 3 ? qrnd(-128, 127) : 0);
        uint8_t *x = malloc((size_t)(g.h * g.w));
        for (int64_t i = 0; i < g.h * g.w; i++) x[i] = trial % 7 == 3 ? 255 : (uint8_t)qrnd(0, 255);
        kiln_qparams q = {g.x_zp, qrnd(0, 255), qrnd(0, 60), qrnd(190, 255)};
        kiln_qrequant r = {trial % 4 == 1 ? qrnd(-(1 << 29), 1 << 29) : qrnd(-100000, 100000), qrnd(1 << 30, 0x7FFFFFFF),
                           trial % 4 == 1 ? qrnd(1, 62) : qrnd(20, 45), &q}; /* every fourth: any shift, larger biases */
        /* The definition: the padded plane, rows readable to (ow16 * sw + 16) bytes. */
        int64_t pw = (g.ow + 15) / 16 * 16 * g.sw + 16 + wp, ph = hp;
        uint8_t *pad = malloc((size_t)(pw * ph)), *want = malloc((size_t)(g.oh * g.ow));
        uint8_t *y0 = malloc((size_t)(g.oh * g.ow + 1)), *y1 = malloc((size_t)(g.oh * g.ow + 1));
        memset(pad, g.x_zp, (size_t)(pw * ph));
        for (int64_t i = 0; i < g.h; i++) memcpy(pad + (i + g.pt) * pw + g.pl, x + i * g.w, (size_t)g.w);
        kiln_qdw_rowq_portable(pad, g.dh * pw, g.kh, g.sw, g.ow, wq, &r, want, g.oh, g.sh * pw);
        kiln_qdw_planeq_portable(x, &g, wq, &r, y0);
        CHECK(memcmp(y0, want, (size_t)(g.oh * g.ow)) == 0, "qdw plane: portable path differs from the padded plane's rows");
        if (fast) {
            memset(y1, 0xA5, (size_t)(g.oh * g.ow + 1));
            fast(x, &g, wq, &r, y1);
            CHECK(memcmp(y0, y1, (size_t)(g.oh * g.ow)) == 0 && y1[g.oh * g.ow] == 0xA5,
                  "qdw plane: VBMI path differs (h=%lld w=%lld kh=%lld s=%lldx%lld dh=%lld pt=%lld pl=%lld)", (long long)g.h, (long long)g.w,
                  (long long)g.kh, (long long)g.sh, (long long)g.sw, (long long)g.dh, (long long)g.pt, (long long)g.pl);
        }
        free(x); free(pad); free(want); free(y0); free(y1);
    }
}

/* QGEMM rows (vectors along N): the VNNI path against the portable one, the portable one
 * against the definition. */
static void check_gemv(void) {
    kiln_qgemv4_fn fast = kiln_qgemv4_vnni512();
    if (!fast) printf("  (no AVX-512 VNNI QGEMM path on this CPU/build)\n");
    for (int trial = 0; trial < 60; trial++) {
        int64_t rows = qrnd(1, 5), n = qrnd(1, 150), kq = qrnd(1, 40);
        uint8_t *x = malloc((size_t)(rows * kq * 4));
        int32_t *b = malloc(sizeof(int32_t) * (size_t)(kq * n)), *c0 = malloc(sizeof(int32_t) * (size_t)(rows * n));
        int32_t *c1 = malloc(sizeof(int32_t) * (size_t)(rows * n));
        for (int64_t i = 0; i < rows * kq * 4; i++) x[i] = (uint8_t)qrnd(0, 255);
        for (int64_t i = 0; i < kq * n; i++) b[i] = kiln_qquad(qrnd(-128, 127), qrnd(-128, 127), qrnd(-128, 127), qrnd(-128, 127));
        kiln_qgemv4_portable(rows, n, kq, x, b, c0);
        int bad = 0;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < n; j++) {
                int64_t s = 0;
                for (int64_t k = 0; k < kq * 4; k++) s += (int64_t)x[r * kq * 4 + k] * (int8_t)(uint8_t)((uint32_t)b[(k / 4) * n + j] >> (8 * (k % 4)));
                bad += s != c0[r * n + j];
            }
        CHECK(bad == 0, "qgemv4: portable path differs from the definition");
        if (fast) {
            fast(rows, n, kq, x, b, c1);
            CHECK(memcmp(c0, c1, sizeof(int32_t) * (size_t)(rows * n)) == 0, "qgemv4: VNNI path differs (rows=%lld n=%lld kq=%lld)",
                  (long long)rows, (long long)n, (long long)kq);
        }
        free(x); free(b); free(c0); free(c1);
    }
}

/* The quad core with requantization fused: the VNNI path against the portable one, and the
 * portable one against the core's sums requantized row by row; odd shapes, a row stride
 * wider than n, bytes past each row untouched. */
static void check_fused(void) {
    kiln_qgemm4q_fn fast = kiln_qgemm4q_vnni512();
    if (!fast) printf("  (no AVX-512 VNNI fused-requantization core on this CPU/build)\n");
    for (int trial = 0; trial < 60; trial++) {
        int64_t m = qrnd(1, 19), n = qrnd(1, 77), kq = qrnd(1, 41);
        if (trial % 10 == 0) { m = 8 * qrnd(1, 3); n = 32 * qrnd(1, 3); kq = qrnd(60, 200); }
        int64_t ys = n + qrnd(0, 5);
        int32_t *a = malloc(sizeof(int32_t) * (size_t)(m * kq)), *c = malloc(sizeof(int32_t) * (size_t)(m * n));
        int32_t *rq = malloc(sizeof(int32_t) * (size_t)(3 * m));
        uint8_t *b = malloc((size_t)(kq * n * 4)), *y0 = malloc((size_t)(m * ys)), *y1 = malloc((size_t)(m * ys));
        uint8_t *want = malloc((size_t)(m * ys));
        for (int64_t i = 0; i < m * kq; i++) a[i] = kiln_qquad(qrnd(-128, 127), qrnd(-128, 127), qrnd(-128, 127), qrnd(-128, 127));
        for (int64_t i = 0; i < kq * n * 4; i++) b[i] = (uint8_t)qrnd(0, 255);
        /* every fourth trial: any shift (both sides of the 32..54 fast path) and biases near 2^29 */
        for (int64_t i = 0; i < m; i++) {
            rq[i] = trial % 4 == 1 ? qrnd(-(1 << 29), 1 << 29) : qrnd(-100000, 100000);
            rq[m + i] = qrnd(1 << 30, 0x7FFFFFFF);
            rq[2 * m + i] = trial % 4 == 1 ? qrnd(1, 62) : qrnd(20, 45);
        }
        kiln_qparams q = {0, qrnd(0, 255), qrnd(0, 60), qrnd(190, 255)};
        kiln_qrequant_rows r = {rq, rq + m, rq + 2 * m, &q};
        memset(want, 0x5A, (size_t)(m * ys));
        memcpy(y0, want, (size_t)(m * ys));
        memcpy(y1, want, (size_t)(m * ys));
        kiln_qgemm4_portable(m, n, kq, a, b, c);
        for (int64_t i = 0; i < m; i++) kiln_qrequant_row_portable(c + i * n, n, rq[i], rq[m + i], rq[2 * m + i], &q, want + i * ys);
        kiln_qgemm4q_portable(m, n, kq, a, b, &r, y0, ys);
        CHECK(memcmp(y0, want, (size_t)(m * ys)) == 0, "fused quad core: portable path differs from core + requant rows");
        if (fast) {
            fast(m, n, kq, a, b, &r, y1, ys);
            CHECK(memcmp(y0, y1, (size_t)(m * ys)) == 0, "fused quad core: VNNI path differs (m=%lld n=%lld kq=%lld)", (long long)m,
                  (long long)n, (long long)kq);
        }
        free(a); free(c); free(rq); free(b); free(y0); free(y1); free(want);
    }
}

void test_qquad_kernels(void) {
    check_fused();
    check_dw_rows();
    check_dw_planes();
    setenv("KILN_QGEMM", "novbmi", 1); /* the depthwise rows without AVX-512 VBMI too */
    check_dw_rows();
    unsetenv("KILN_QGEMM");
    check_gemv();
    check_path("AVX-512 VNNI", kiln_qgemm4_vnni512());
    check_path("AVX-VNNI", kiln_qgemm4_avxvnni());
    check_path("NEON", kiln_qgemm4_neon());
    kiln_qpack4_fn pack = kiln_qpack4_select();
    for (int trial = 0; trial < 100; trial++) {
        int64_t n = qrnd(1, 100);
        uint8_t r[4][100], d0[400], d1[400];
        for (int u = 0; u < 4; u++)
            for (int64_t i = 0; i < n; i++) r[u][i] = (uint8_t)qrnd(0, 255);
        kiln_qpack4_portable(r[0], r[1], r[2], r[3], n, d0);
        pack(r[0], r[1], r[2], r[3], n, d1);
        CHECK(memcmp(d0, d1, (size_t)(4 * n)) == 0, "qpack4: optimized path differs (n=%lld)", (long long)n);
        int bad = 0;
        for (int64_t i = 0; i < 4 * n; i++) bad += d0[i] != r[i % 4][i / 4];
        CHECK(bad == 0, "qpack4: portable path differs from the definition");
    }
}
