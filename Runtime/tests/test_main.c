/* test_main.c — runs every C test of the runtime; exit status 1 on any failure. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "../src/internal.h"

int g_failures = 0, g_checks = 0;

float test_rand(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 8388608.0f - 1.0f;
}

void test_fill(float *x, size_t n, uint32_t seed) {
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) x[i] = test_rand(&s);
}

size_t test_compare(const char *what, const float *got, const float *want, size_t n, float rtol, float atol) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float d = got[i] - want[i], tol = atol + rtol * (want[i] < 0 ? -want[i] : want[i]);
        int same_nan = got[i] != got[i] && want[i] != want[i];
        if (!same_nan && got[i] != want[i] && !(d <= tol && -d <= tol)) { /* equal infinities match */
            if (!bad) printf("  %s: element %zu is %.9g, expected %.9g\n", what, i, got[i], want[i]);
            bad++;
        }
    }
    return bad;
}

/* KILN_TEST_DUMP_PLANS=DIR writes every plan the tests run to DIR/test-NNNN.kplan (small
 * plans covering every opcode: seeds for the plan fuzzer, scripts/fuzz). */
static void dump_plan(const uint8_t *plan, size_t size) {
    static unsigned count;
    const char *dir = getenv("KILN_TEST_DUMP_PLANS");
    if (!dir) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/test-%04u.kplan", dir, count++);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(plan, 1, size, f);
        fclose(f);
    }
}

kiln_status test_run(const uint8_t *plan, size_t size, uint32_t threads, const void *const *inputs,
                     void *const *outputs, char *err, size_t err_size) {
    if (threads == 1) dump_plan(plan, size);
    kiln_error e;
    kiln_plan *p = NULL;
    kiln_session *s = NULL;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, &e);
    if (st != KILN_OK) { snprintf(err, err_size, "%s", e.message); return st; }
    st = kiln_session_create(p, threads, &s, &e);
    if (st != KILN_OK) { snprintf(err, err_size, "%s", e.message); kiln_plan_free(p); return st; }
    for (uint32_t i = 0; i < kiln_session_input_count(s) && st == KILN_OK; i++) {
        kiln_tensor_info info;
        kiln_session_input_info(s, i, &info);
        st = kiln_session_set_input(s, i, inputs[i], info.byte_size);
    }
    if (st == KILN_OK) st = kiln_session_run(s);
    for (uint32_t i = 0; i < kiln_session_output_count(s) && st == KILN_OK; i++) {
        kiln_tensor_info info;
        kiln_session_output_info(s, i, &info);
        st = kiln_session_copy_output(s, i, outputs[i], info.byte_size);
    }
    if (st != KILN_OK) snprintf(err, err_size, "%s", kiln_session_error(s));
    kiln_session_free(s);
    kiln_plan_free(p);
    return st;
}

void test_run_f32(pb *b, const char *what, const void *const *inputs, uint32_t nout, float *const *want,
                  const size_t *counts, float rtol, float atol) {
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    for (uint32_t threads = 1; threads <= 2; threads++) {
        void *outs[8] = {0};
        for (uint32_t i = 0; i < nout; i++) outs[i] = calloc(counts[i] ? counts[i] : 1, sizeof(float));
        char err[300] = "";
        kiln_status st = test_run(plan, size, threads, inputs, outs, err, sizeof err);
        CHECK(st == KILN_OK, "%s: run failed: %s", what, err);
        if (st == KILN_OK)
            for (uint32_t i = 0; i < nout; i++) {
                char label[160];
                snprintf(label, sizeof label, "%s (output %u, %u threads)", what, i, threads);
                size_t bad = test_compare(label, outs[i], want[i], counts[i], rtol, atol);
                CHECK(bad == 0, "%s: %zu of %zu elements differ", label, bad, counts[i]);
            }
        for (uint32_t i = 0; i < nout; i++) free(outs[i]);
    }
    free(plan);
}

void test_op(const char *what, uint16_t opcode, const void *attr, uint32_t attr_size, uint32_t nin, const tspec *ins,
             uint32_t nout, const tspec *outs, float rtol, float atol) {
    pb *b = pb_new();
    uint32_t in_ids[16], out_ids[16], nbound = 0;
    const void *bound[16];
    char name[16];
    for (uint32_t i = 0; i < nin; i++) {
        if (ins[i].absent) { in_ids[i] = 0xFFFFFFFFu; continue; }
        if (ins[i].constant) { in_ids[i] = pb_constant(b, ins[i].dtype, ins[i].rank, ins[i].dims, ins[i].data); continue; }
        snprintf(name, sizeof name, "in%u", i);
        in_ids[i] = pb_input(b, name, ins[i].dtype, ins[i].rank, ins[i].dims);
        bound[nbound++] = ins[i].data;
    }
    uint32_t nchecked = 0, map[16];
    for (uint32_t i = 0; i < nout; i++) {
        if (outs[i].absent) { out_ids[i] = 0xFFFFFFFFu; continue; }
        if (!outs[i].data) { out_ids[i] = pb_arena(b, outs[i].dtype, outs[i].rank, outs[i].dims); continue; }
        snprintf(name, sizeof name, "out%u", i);
        out_ids[i] = pb_output(b, name, outs[i].dtype, outs[i].rank, outs[i].dims);
        map[nchecked++] = i;
    }
    pb_instr(b, opcode, attr, attr_size, nin, in_ids, nout, out_ids);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    for (uint32_t threads = 1; threads <= 2; threads++) {
        void *got[16];
        size_t bytes[16];
        for (uint32_t k = 0; k < nchecked; k++) {
            const tspec *o = &outs[map[k]];
            size_t count = 1;
            for (uint32_t d = 0; d < o->rank; d++) count *= (size_t)o->dims[d];
            bytes[k] = count * kiln_dtype_size((kiln_dtype)o->dtype);
            got[k] = calloc(bytes[k] + 1, 1);
        }
        char err[300] = "";
        kiln_status st = test_run(plan, size, threads, bound, got, err, sizeof err);
        CHECK(st == KILN_OK, "%s: run failed: %s", what, err);
        for (uint32_t k = 0; k < nchecked && st == KILN_OK; k++) {
            const tspec *o = &outs[map[k]];
            char label[200];
            snprintf(label, sizeof label, "%s (result %u, %u threads)", what, map[k], threads);
            if (o->dtype == KILN_F32) {
                size_t bad = test_compare(label, got[k], o->data, bytes[k] / 4, rtol, atol);
                CHECK(bad == 0, "%s: %zu of %zu elements differ", label, bad, bytes[k] / 4);
            } else {
                CHECK(memcmp(got[k], o->data, bytes[k]) == 0, "%s: results differ", label);
            }
        }
        for (uint32_t k = 0; k < nchecked; k++) free(got[k]);
    }
    free(plan);
}

static void ab_put(attr_buf *a, const void *p, uint32_t n) {
    const uint8_t *b = p;
    for (uint32_t i = 0; i < n; i++) a->data[a->size++] = b[i]; /* little-endian host */
}
void ab_i32(attr_buf *a, int32_t v) { ab_put(a, &v, 4); }
void ab_f32(attr_buf *a, float v) { ab_put(a, &v, 4); }
void ab_i64(attr_buf *a, int64_t v) { ab_put(a, &v, 8); }
void ab_f64(attr_buf *a, double v) { ab_put(a, &v, 8); }

int write_fixtures(const char *dir);

/* `kiln-test` runs every group; `kiln-test NAME...` only the named ones (scripts/edge-check
 * times them one by one under qemu). */
static const struct { const char *name; void (*run)(void); } groups[] = {
    {"loader", test_loader},     {"gemm", test_gemm},           {"conv", test_conv},
    {"elementwise", test_elementwise}, {"layout", test_layout}, {"nn", test_nn},
    {"misc", test_misc},         {"threads", test_threads},     {"attention", test_attention},
    {"f16", test_f16},           {"quant", test_quant_kernels}, {"concurrency", test_concurrency},
    {"vmath", test_vmath},       {"gemm_small", test_gemm_small}, {"prepack", test_prepack}, {"dynq", test_dynq},
    {"qquad", test_qquad_kernels}, {"sparse", test_sparse},     {"dynq_rnn", test_dynq_rnn},
    {"qadd", test_qadd},         {"qlookup", test_qlookup},
};

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--fixtures") == 0) return write_fixtures(argv[2]);
    const size_t ngroups = sizeof groups / sizeof groups[0];
    /* --int8: the int8 kernels only; --int8-core: their SIMD paths against the portable
     * references only (quick under qemu-aarch64). */
    static char *int8_all[] = {"kiln-test", "qquad", "quant", "qadd", "qlookup", NULL}, *int8_core[] = {"kiln-test", "qquad", NULL};
    if (argc == 2 && strcmp(argv[1], "--int8") == 0) argc = 5, argv = int8_all;
    else if (argc == 2 && strcmp(argv[1], "--int8-core") == 0) argc = 2, argv = int8_core;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int a = 1; a < argc; a++) {
        size_t g = 0;
        while (g < ngroups && strcmp(argv[a], groups[g].name) != 0) g++;
        if (g == ngroups) {
            fprintf(stderr, "kiln-test: unknown test group '%s' (groups:", argv[a]);
            for (g = 0; g < ngroups; g++) fprintf(stderr, " %s", groups[g].name);
            fprintf(stderr, ")\n");
            return 2;
        }
    }
    printf("kiln runtime %s tests (blas %d, zstd %d)\n", kiln_version(), kiln_has_blas(), kiln_has_zstd());
    /* the tests' tensors are small: without this, 2-thread sessions would run them all on
     * the calling thread (session.c's serial policy) and never reach the threaded paths */
    setenv("KILN_SERIAL_ELEMS", "0", 1);
    for (size_t g = 0; g < ngroups; g++) {
        int wanted = argc == 1;
        for (int a = 1; a < argc; a++) wanted |= strcmp(argv[a], groups[g].name) == 0;
        if (wanted) groups[g].run();
    }
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
