/* test_qlookup.c — QLOOKUP (int8 activation by table): the portable kernel against the
 * definition, the AVX-512 VBMI kernel against it bit for bit on every byte value, odd
 * lengths, unaligned pointers, in place and with guard bytes around the row; whole plans at
 * 1 and 2 threads (large enough to split) and through KILN_QGEMM=portable; the load-time refusals. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test.h"

#include "../src/kernels/qlookup.h"

static uint32_t g_state = 8675309;
static int32_t rnd(int32_t lo, int32_t hi) {
    g_state = g_state * 1664525u + 1013904223u;
    return lo + (int32_t)((g_state >> 8) % (uint32_t)(hi - lo + 1));
}

/* A table with no structure (every entry random) or, every other trial, a permutation-like
 * one whose upper and lower halves differ in every entry (a wrong half shows). */
static void random_table(uint8_t *t, int trial) {
    for (int i = 0; i < 256; i++) t[i] = (uint8_t)(trial % 2 ? (i * 167 + 13 + trial) & 255 : rnd(0, 255));
}

static void test_paths(void) {
    kiln_qlookup_fn vbmi = kiln_qlookup_vbmi();
    if (!vbmi) printf("  (no AVX-512 VBMI on this CPU/build: the QLOOKUP VBMI path is not exercised)\n");
    enum { MAX = 700, GUARD = 70 };
    uint8_t x[MAX + GUARD], y0[MAX + 2 * GUARD], y1[MAX + 2 * GUARD], table[256];
    for (int trial = 0; trial < 300; trial++) {
        random_table(table, trial);
        int64_t n = trial < 140 ? trial : rnd(1, MAX), ox = rnd(0, 63), oy = rnd(0, 63);
        /* every byte value once, then random bytes */
        for (int64_t i = 0; i < n; i++) x[ox + i] = (uint8_t)(i < 256 ? (i * 7 + trial) & 255 : rnd(0, 255));
        memset(y0, 0xA5, sizeof y0);
        kiln_qlookup_portable(x + ox, y0 + oy, n, table);
        int bad = 0;
        for (int64_t i = 0; i < n; i++) bad += y0[oy + i] != table[x[ox + i]];
        CHECK(bad == 0, "qlookup portable: %d of %lld elements differ from the table (trial %d)", bad, (long long)n, trial);
        if (!vbmi) continue;
        memset(y1, 0xA5, sizeof y1);
        vbmi(x + ox, y1 + oy, n, table);
        CHECK(memcmp(y0, y1, sizeof y0) == 0, "qlookup vbmi: differs from the portable path or writes outside the row (n=%lld trial %d)",
              (long long)n, trial);
        /* in place */
        memcpy(y1 + oy, x + ox, (size_t)n);
        vbmi(y1 + oy, y1 + oy, n, table);
        CHECK(memcmp(y0 + oy, y1 + oy, (size_t)n) == 0, "qlookup vbmi in place differs (n=%lld trial %d)", (long long)n, trial);
    }
}

/* One QLOOKUP plan on [n, c, h, w] against the definition (1 and 2 threads). */
static void qlookup_plan_case(int64_t n, int64_t c, int64_t h, int64_t w, int trial) {
    int64_t dims[4] = {n, c, h, w}, count = n * c * h * w, tdims[1] = {256};
    uint8_t *x = malloc((size_t)count), *y = malloc((size_t)count), table[256];
    random_table(table, trial);
    for (int64_t i = 0; i < count; i++) { x[i] = (uint8_t)rnd(0, 255); y[i] = table[x[i]]; }
    tspec ins[2] = {{KILN_U8, 4, dims, x, 0, 0}, {KILN_U8, 1, tdims, table, 1, 0}};
    tspec outs[1] = {{KILN_U8, 4, dims, y, 0, 0}};
    char what[80];
    snprintf(what, sizeof what, "qlookup [%lld,%lld,%lld,%lld] trial %d", (long long)n, (long long)c, (long long)h, (long long)w, trial);
    test_op(what, KILN_OP_QLOOKUP, NULL, 0, 2, ins, 1, outs, 0, 0);
    free(x); free(y);
}

/* A plan with one QLOOKUP whose load must fail with MALFORMED and `needle` in the message. */
static void expect_refused(const char *what, uint8_t xdtype, int64_t tcount, uint8_t tdtype, int tconstant, int64_t ylast,
                           const char *needle) {
    int64_t dims[2] = {3, 17}, ydims[2] = {3, ylast}, tdims[1] = {tcount};
    uint8_t zeros[1024] = {0};
    pb *b = pb_new();
    uint32_t ins[2] = {pb_input(b, "x", xdtype, 2, dims),
                       tconstant ? pb_constant(b, tdtype, 1, tdims, zeros) : pb_input(b, "table", tdtype, 1, tdims)};
    uint32_t out = pb_output(b, "y", KILN_U8, 2, ydims);
    pb_instr(b, KILN_OP_QLOOKUP, NULL, 0, 2, ins, 1, &out);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    kiln_error e;
    kiln_plan *p = NULL;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, &e);
    CHECK(st == KILN_ERR_MALFORMED && strstr(e.message, needle), "qlookup refusal (%s): status %d, message '%s'", what, (int)st,
          st == KILN_OK ? "" : e.message);
    if (st == KILN_OK) kiln_plan_free(p);
    free(plan);
}

static void test_refusals(void) {
    expect_refused("x i8", KILN_I8, 256, KILN_U8, 1, 17, "x");
    expect_refused("x f32", KILN_F32, 256, KILN_U8, 1, 17, "x");
    expect_refused("table of 255", KILN_U8, 255, KILN_U8, 1, 17, "256");
    expect_refused("table of 257", KILN_U8, 257, KILN_U8, 1, 17, "256");
    expect_refused("table i8", KILN_U8, 256, KILN_I8, 1, 17, "table");
    expect_refused("table not constant", KILN_U8, 256, KILN_U8, 0, 17, "constant");
    expect_refused("result of another shape", KILN_U8, 256, KILN_U8, 1, 16, "same shape");
}

void test_qlookup(void) {
    test_paths();
    test_refusals();
    qlookup_plan_case(1, 3, 5, 7, 0);       /* 105: less than one vector step plus a tail */
    qlookup_plan_case(2, 5, 9, 13, 1);      /* odd sizes */
    qlookup_plan_case(1, 7, 151, 131, 2);   /* 138467: split over two threads, odd halves */
    qlookup_plan_case(1, 16, 160, 160, 3);  /* 409600: two threads, even */
    for (int trial = 0; trial < 6; trial++) qlookup_plan_case(rnd(1, 2), rnd(1, 9), rnd(1, 20), rnd(1, 40), trial);
    setenv("KILN_QGEMM", "portable", 1);
    qlookup_plan_case(1, 7, 11, 19, 4);
    unsetenv("KILN_QGEMM");
}
