/* test_prepack.c — GEMM and MATMUL whose B is a constant, packed once at plan load
 * (gemm_prepack.c, kiln_sgemm_prepacked), against a double-precision loop: widths off the
 * 16/32-column strips (tails) and multiples of them, two row blocks, K beyond one packed A
 * block, alpha / beta / C, both transposes, each float-kernel path, 1 and 2 threads; the
 * plan loaded from memory with raw and zstd constants (packed in place: no new block but
 * the tail) and mapped from a file (packed into a copy), and B shared by two GEMMs (a copy
 * each, the plan's bytes left alone). Size builds (KILN_NO_PREPACK) pack nothing at load and
 * must give the same results. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "../src/internal.h"
#include "../src/kernels/microkernel.h"

#include <unistd.h>

typedef struct pcase {
    int64_t m, n, k;
    int ta, tb, with_c, matmul;
} pcase;

/* y = relu?(alpha op(A) op(B) + beta C) in double; A stored [m, k] ([k, m] when ta). */
static void reference(const pcase *c, const float *a, const float *b, const float *cv, float alpha, float beta,
                      float *y) {
    for (int64_t i = 0; i < c->m; i++)
        for (int64_t j = 0; j < c->n; j++) {
            double s = 0;
            for (int64_t p = 0; p < c->k; p++)
                s += (double)(c->ta ? a[p * c->m + i] : a[i * c->k + p]) * (c->tb ? b[j * c->k + p] : b[p * c->n + j]);
            double v = alpha * s + (c->with_c ? beta * cv[j] : 0.0);
            y[i * c->n + j] = c->matmul || v > 0 ? (float)v : 0.0f;
        }
}

/* One GEMM (or MATMUL with A [2, m/2, k] folded) per B reader; `shared` adds a second GEMM
 * on the same B writing y2. */
static uint8_t *build(const pcase *c, const float *b, const float *cv, float alpha, float beta, int shared,
                      int compress, size_t *size, uint32_t *tb_id) {
    int64_t ad[3] = {2, c->m / 2, c->k}, a2[2] = {c->ta ? c->k : c->m, c->ta ? c->m : c->k};
    int64_t bd[2] = {c->tb ? c->n : c->k, c->tb ? c->k : c->n}, cd[1] = {c->n};
    int64_t yd[3] = {2, c->m / 2, c->n}, y2d[2] = {c->m, c->n};
    pb *pl = pb_new();
    uint32_t ta = c->matmul ? pb_input(pl, "a", KILN_F32, 3, ad) : pb_input(pl, "a", KILN_F32, 2, a2);
    uint32_t tb = pb_constant(pl, KILN_F32, 2, bd, b);
    uint32_t tc = c->with_c ? pb_constant(pl, KILN_F32, 1, cd, cv) : 0xFFFFFFFFu;
    uint32_t ty = c->matmul ? pb_output(pl, "y", KILN_F32, 3, yd) : pb_output(pl, "y", KILN_F32, 2, y2d);
    attr_buf at = {0};
    ab_i32(&at, c->ta); ab_i32(&at, c->tb);
    if (!c->matmul) { ab_f32(&at, alpha); ab_f32(&at, beta); }
    ab_i32(&at, c->matmul ? KILN_UNARY_IDENTITY : KILN_UNARY_RELU); ab_f32(&at, 0); ab_f32(&at, 0);
    uint32_t ins[3] = {ta, tb, tc};
    pb_instr(pl, c->matmul ? KILN_OP_MATMUL : KILN_OP_GEMM, at.data, at.size, c->matmul ? 2 : 2 + (uint32_t)c->with_c,
             ins, 1, &ty);
    if (shared) {
        uint32_t ty2 = pb_output(pl, "y2", KILN_F32, 2, y2d);
        pb_instr(pl, KILN_OP_GEMM, at.data, at.size, 2 + (uint32_t)c->with_c, ins, 1, &ty2);
    }
    *tb_id = tb;
    uint8_t *bytes = pb_finish(pl, size, compress, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(pl);
    return bytes;
}

/* Loads (0: memory, 1: mapped file), checks where B went, runs at `threads`, compares. */
static void run_case(const pcase *c, const char *isa, int how, int compress, int shared, uint32_t threads) {
    size_t na = (size_t)(c->m * c->k), nb = (size_t)(c->n * c->k), ny = (size_t)(c->m * c->n);
    float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb), *cv = malloc(sizeof(float) * (size_t)c->n);
    float *want = malloc(sizeof(float) * ny), *got = malloc(sizeof(float) * ny), *got2 = malloc(sizeof(float) * ny);
    float alpha = c->matmul ? 1.0f : 0.75f, beta = c->with_c ? 1.5f : 0.0f;
    test_fill(a, na, 51); test_fill(b, nb, 52); test_fill(cv, (size_t)c->n, 53);
    reference(c, a, b, cv, alpha, beta, want);
    size_t size;
    uint32_t tb;
    uint8_t *bytes = build(c, b, cv, alpha, beta, shared, compress, &size, &tb);
    char what[200], path[64];
    snprintf(what, sizeof what, "[%s] %s m%lld n%lld k%lld ta=%d tb=%d c=%d load=%s%s%s threads=%u", isa,
             c->matmul ? "matmul" : "gemm", (long long)c->m, (long long)c->n, (long long)c->k, c->ta, c->tb, c->with_c,
             how ? "mmap" : "memory", compress ? " zstd" : "", shared ? " shared" : "", threads);
    kiln_error e;
    kiln_plan *p = NULL;
    kiln_session *s = NULL;
    kiln_status st;
    if (how) {
        snprintf(path, sizeof path, "/tmp/kiln-test-prepack-%ld.kplan", (long)getpid());
        FILE *f = fopen(path, "wb");
        if (f) { fwrite(bytes, 1, size, f); fclose(f); }
        st = kiln_plan_load_mmap(path, &p, &e);
        remove(path);
    } else {
        st = kiln_plan_load_memory(bytes, size, &p, &e);
    }
    CHECK(st == KILN_OK, "%s: load: %s", what, e.message);
    if (st == KILN_OK) {
        /* Packed for the blocked GEMM's isa: in place (only the tail gets a block) when the
         * plan's copy is its own and B has one reader, else a block of strips per reader. */
#ifdef KILN_NO_PREPACK
        size_t w = 0;            /* size builds: packed per run as before */
#else
        size_t w = kiln_packed_width(kiln_isa_detect());
#endif
        size_t tail = w && c->n % (int64_t)w ? 1 : 0;
        uint32_t readers = shared ? 2 : 1;
        uint32_t blocks = !w ? 0 : how || shared ? readers * (1 + (uint32_t)tail) : (uint32_t)tail;
        CHECK(p->block_count == blocks, "%s: %u load-time blocks, expected %u", what, p->block_count, blocks);
        int moved = memcmp(p->tensors[tb].data, b, sizeof(float) * nb) != 0;
        CHECK(moved == (w && !how && !shared && c->n >= (int64_t)w), "%s: B rewritten in place: %d", what, moved);
        st = kiln_session_create(p, threads, &s, &e);
        CHECK(st == KILN_OK, "%s: session: %s", what, e.message);
    }
    if (st == KILN_OK) {
        st = kiln_session_set_input(s, 0, a, sizeof(float) * na);
        if (st == KILN_OK) st = kiln_session_run(s);
        if (st == KILN_OK) st = kiln_session_copy_output(s, 0, got, sizeof(float) * ny);
        if (st == KILN_OK && shared) st = kiln_session_copy_output(s, 1, got2, sizeof(float) * ny);
        CHECK(st == KILN_OK, "%s: run: %s", what, kiln_session_error(s));
        if (st == KILN_OK) {
            CHECK(test_compare(what, got, want, ny, 1e-4f, 1e-4f) == 0, "%s", what);
            if (shared) CHECK(test_compare(what, got2, want, ny, 1e-4f, 1e-4f) == 0, "%s (second reader)", what);
        }
    }
    kiln_session_free(s);
    kiln_plan_free(p);
    free(bytes); free(a); free(b); free(cv); free(want); free(got); free(got2);
}

void test_prepack(void) {
    /* Every shape is past gemm_small.c (over 1M multiply-adds or K over 1024, M > 4). */
    static const pcase cases[] = {
        {7, 70, 2100, 0, 1, 1, 0},      /* 2 strips of 32 + 6, 4 of 16 + 6 */
        {13, 97, 1030, 1, 1, 0, 0},     /* trans_a */
        {6, 64, 3000, 0, 0, 1, 0},      /* no tail */
        {100, 65, 300, 0, 0, 1, 0},     /* two row blocks (MC = 96) */
        {100, 33, 1500, 1, 1, 1, 0},    /* K over the workspace's A block at 96 rows */
        {9, 20, 1300, 0, 0, 0, 0},      /* narrower than a strip: tail only */
        {10, 45, 2400, 0, 0, 0, 1},     /* MATMUL [2, 5, K] x [K, 45], folded */
        {10, 45, 2400, 0, 1, 0, 1},
    };
    static const char *const isas[] = {"portable", "avx2", NULL};
    size_t ncases = sizeof cases / sizeof cases[0];
    for (int v = 0; v < 3; v++) {
        if (isas[v]) setenv("KILN_FKERNELS", isas[v], 1);
        else unsetenv("KILN_FKERNELS");
        const char *name = isas[v] ? isas[v] : "best";
        for (size_t i = 0; i < ncases; i++) run_case(&cases[i], name, 0, 0, 0, (uint32_t)(1 + i % 2));
        run_case(&cases[0], name, 1, 0, 0, 1);
        run_case(&cases[4], name, 1, 0, 0, 2);
        run_case(&cases[3], name, 0, 0, 1, 2);
        if (kiln_has_zstd()) run_case(&cases[1], name, 0, 1, 0, 1);
    }
    unsetenv("KILN_FKERNELS");
}
