/* test_f16.c — f16-stored constants (tensor flag KILN_TENSOR_F16_STORAGE, format 1.1):
 * the f16 → f32 widening for all 65536 bit patterns against an ldexp reference, plans that
 * use f16 storage (raw and zstd), and the loader's refusals. */
#include "test.h"

#include "../src/internal.h"

#include <math.h>

static uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* The reference: the f16 value by its definition, (−1)^s · 2^(e−15) · (1 + m/1024) for
 * normals, (−1)^s · 2^−14 · m/1024 for subnormals, built with ldexp in double. */
static void check_widening_exhaustive(void) {
    uint8_t src[2 * 65536];
    for (uint32_t h = 0; h < 65536; h++) { src[2 * h] = (uint8_t)h; src[2 * h + 1] = (uint8_t)(h >> 8); }
    float *got = malloc(sizeof(float) * 65536);
    kiln_widen_f16(src, got, 65536);
    int bad = 0;
    for (uint32_t h = 0; h < 65536 && bad < 5; h++) {
        uint32_t s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        uint32_t g = bits_of(got[h]);
        if (e == 31 && m != 0) {
            /* NaN: still NaN, same sign, payload moved to the top of the f32 mantissa. */
            int ok = isnan(got[h]) && (g >> 31) == s && (g & 0x7FFFFFu) == (m << 13);
            if (!ok) { bad++; CHECK(0, "f16 0x%04x (NaN) widened to bits 0x%08x", h, g); }
            continue;
        }
        double mag = e == 31 ? INFINITY : e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, (int)e - 25);
        float want = (float)(s ? -mag : mag);
        if (g != bits_of(want)) { bad++; CHECK(0, "f16 0x%04x widened to %.9g (0x%08x), expected %.9g", h, got[h], g, want); }
    }
    CHECK(bad == 0, "f16 widening: %d mismatches", bad);
    free(got);
}

/* y = (x + w16) + w32, w16 stored as f16, w32 raw: both constants resolve correctly. */
static const uint16_t kHalves[6] = {0x0001, 0x8000, 0x7BFF, 0x3555, 0xC400, 0x03FF};
static uint8_t *f16_plan(size_t *size, int compress, uint16_t minor, int bad) {
    pb *b = pb_new();
    int64_t dims[1] = {6}, dims11[1] = {11}, dims13[1] = {13};
    float w32[6] = {1, 2, 3, 4, 5, 6};
    uint32_t x = pb_input(b, "x", KILN_F32, 1, dims);
    uint32_t w16 = pb_constant_f16(b, 1, dims, kHalves);
    uint32_t w = pb_constant(b, KILN_F32, 1, dims, w32);
    uint32_t t = pb_arena(b, KILN_F32, 1, dims);
    uint32_t y = pb_output(b, "y", KILN_F32, 1, dims);
    if (bad == 1) pb_set_flags(b, x, 1);                                      /* f16 flag on an input */
    if (bad == 2) { int32_t q[6] = {0}; pb_set_flags(b, pb_constant(b, KILN_I32, 1, dims, q), 1); }
    /* CONSTANTS is 88 bytes (w16 at 0, w32 at 64..88): an unused f16 constant of 11 elements
     * at 66 fits (22 bytes stored, though 44 as f32, and f16 needs only 2-byte alignment),
     * one of 13 at 64 does not, nor one at an odd offset. */
    if (bad == 3) pb_set_flags(b, pb_tensor(b, "wx", KILN_F32, 1, dims13, 1, 0, 64), 1);
    if (bad == 5) pb_set_flags(b, pb_tensor(b, "wx", KILN_F32, 1, dims11, 1, 0, 66), 1);
    if (bad == 6) pb_set_flags(b, pb_tensor(b, "wx", KILN_F32, 1, dims11, 1, 0, 65), 1);
    if (bad == 4) pb_set_flags(b, w16, 3);                                    /* unknown bit 1 */
    attr_buf a = {0};
    ab_i32(&a, KILN_BINARY_ADD);
    uint32_t in1[2] = {x, w16}, in2[2] = {t, w};
    pb_instr(b, KILN_OP_BINARY, a.data, a.size, 2, in1, 1, &t);
    pb_instr(b, KILN_OP_BINARY, a.data, a.size, 2, in2, 1, &y);
    uint8_t *plan = pb_finish(b, size, compress, KILN_FORMAT_MAJOR, minor);
    pb_free(b);
    return plan;
}

static void check_f16_plan_runs(int compress) {
    size_t size;
    uint8_t *plan = f16_plan(&size, compress, KILN_FORMAT_MINOR, 0);
    float x[6] = {0, 0, 0, 0, 0, 0}, y[6];
    /* 2^-24, -0, 65504, 0x3555 = 1365/4096·... (0.333251953125), -4, 1023·2^-24 */
    float want[6] = {1 + 5.9604644775390625e-08f, 2, 3 + 65504.0f, 4 + 0.333251953125f, 5 - 4.0f,
                     6 + 6.097555160522461e-05f};
    const void *in[1] = {x};
    void *out[1] = {y};
    char err[300] = "";
    for (uint32_t threads = 1; threads <= 2; threads++) {
        kiln_status st = test_run(plan, size, threads, in, out, err, sizeof err);
        CHECK(st == KILN_OK, "f16 plan (compress %d): %s", compress, err);
        if (st == KILN_OK)
            for (int i = 0; i < 6; i++)
                CHECK(bits_of(y[i]) == bits_of(want[i]), "f16 plan element %d: %.9g, expected %.9g", i, y[i], want[i]);
    }
    free(plan);
}

static void expect_refusal(int bad, uint16_t minor, kiln_status status, const char *needle) {
    size_t size;
    uint8_t *plan = f16_plan(&size, 0, minor, bad);
    kiln_error e;
    kiln_plan *p = NULL;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, &e);
    CHECK(st == status && strstr(e.message, needle), "f16 defect %d (minor %u): status %d, \"%s\"; expected %d with \"%s\"",
          bad, (unsigned)minor, (int)st, e.message, (int)status, needle);
    kiln_plan_free(p);
    free(plan);
}

void test_f16(void) {
    check_widening_exhaustive();
    check_f16_plan_runs(0);
    if (kiln_has_zstd()) check_f16_plan_runs(1);
    expect_refusal(1, KILN_FORMAT_MINOR, KILN_ERR_MALFORMED, "f16 storage is only for f32 constants (this is f32 non-constant)");
    expect_refusal(2, KILN_FORMAT_MINOR, KILN_ERR_MALFORMED, "f16 storage is only for f32 constants (this is i32 constant)");
    expect_refusal(3, KILN_FORMAT_MINOR, KILN_ERR_MALFORMED, "tensor 5 (wx): constant bytes at 64..90 lie outside the CONSTANTS section");
    size_t size;
    uint8_t *plan = f16_plan(&size, 0, KILN_FORMAT_MINOR, 5);
    kiln_error e;
    kiln_plan *p = NULL;
    CHECK(kiln_plan_load_memory(plan, size, &p, &e) == KILN_OK, "f16 constant sized by its f16 bytes: %s", e.message);
    kiln_plan_free(p);
    free(plan);
    expect_refusal(6, KILN_FORMAT_MINOR, KILN_ERR_MALFORMED, "tensor 5 (wx): constant offset 65 is not 2-byte aligned");
    expect_refusal(4, KILN_FORMAT_MINOR, KILN_ERR_MALFORMED, "unknown tensor flags 0x3 (plan format 1.3, runtime reads 1.3)");
    expect_refusal(4, KILN_FORMAT_MINOR + 1, KILN_ERR_UNSUPPORTED, "unknown tensor flags 0x3");
    expect_refusal(0, 0, KILN_ERR_MALFORMED, "unknown tensor flags 0x1 (plan format 1.0");
}
