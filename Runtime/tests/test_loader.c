#define _POSIX_C_SOURCE 200809L
/* test_loader.c — the loader against good and bad plans: truncation, magic, versions,
 * checksums of every section, bad ids and offsets, inputs, compression, and a sweep that
 * corrupts every byte (with checksums repaired) to show nothing crashes. */
#include "test.h"

#include <unistd.h>

static const char *kSectionNames[] = {"", "STRINGS", "TENSORS", "CONSTANTS", "ATTRIBUTES", "PROGRAM", "METADATA", "QPARAMS"};

/* y = x + w (x input [2,3], w constant [2,3]); plus a quantized dummy constant so that every
 * section kind is present. `bad` selects a defect: 0 none, 1 tensor id out of range,
 * 2 arena offset out of range, 3 read before write, 4 write into an input, 5 unknown opcode. */
static uint8_t *reference_plan(size_t *size, int bad, int compress, uint16_t major, uint16_t minor) {
    pb *b = pb_new();
    int64_t dims[2] = {2, 3};
    float w[6] = {1, 2, 3, 4, 5, 6};
    uint32_t x = pb_input(b, "x", KILN_F32, 2, dims);
    uint32_t wc = pb_constant(b, KILN_F32, 2, dims, w);
    uint8_t q[3] = {1, 2, 3};
    int64_t qd[1] = {3};
    uint32_t qt = pb_constant(b, KILN_U8, 1, qd, q);
    float scale = 0.5f;
    int64_t zp = 1;
    pb_quant(b, qt, 1, -1, &scale, &zp);
    uint32_t y = pb_output(b, "y", KILN_F32, 2, dims);
    if (bad == 2) pb_tensor(b, "far", KILN_F32, 2, dims, 0, 0, 1u << 20);
    attr_buf a = {0};
    ab_i32(&a, KILN_BINARY_ADD);
    uint32_t ins[2] = {x, wc}, outs[1] = {y};
    if (bad == 1) ins[1] = 99;
    if (bad == 3) { uint32_t t = pb_arena(b, KILN_F32, 2, dims); ins[1] = t; }
    if (bad == 4) outs[0] = x;
    pb_instr(b, bad == 5 ? 200 : KILN_OP_BINARY, a.data, a.size, 2, ins, 1, outs);
    if (bad == 4) pb_instr(b, KILN_OP_COPY, NULL, 0, 1, &x, 1, &y);
    pb_meta(b, "producer", "kiln-tests");
    pb_meta(b, "source_sha256", "00ff");
    uint8_t *plan = pb_finish(b, size, compress, major, minor);
    pb_free(b);
    return plan;
}

static kiln_status load(const uint8_t *plan, size_t size, kiln_error *e) {
    kiln_plan *p = NULL;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, e);
    CHECK((st == KILN_OK) == (p != NULL), "plan pointer must be set exactly on success");
    kiln_plan_free(p);
    return st;
}

static void run_reference(const uint8_t *plan, size_t size, const char *what) {
    float x[6] = {0.5f, -1, 2, 0, 1, 1}, y[6];
    const void *in[1] = {x};
    void *out[1] = {y};
    char err[300];
    kiln_status st = test_run(plan, size, 1, in, out, err, sizeof err);
    CHECK(st == KILN_OK, "%s: %s", what, err);
    float want[6] = {1.5f, 1, 5, 4, 6, 7};
    CHECK(st != KILN_OK || test_compare(what, y, want, 6, 0, 0) == 0, "%s: wrong result", what);
}

static void test_good_plan(void) {
    size_t size;
    uint8_t *plan = reference_plan(&size, 0, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    run_reference(plan, size, "reference plan");
    kiln_error e;
    kiln_plan *p = NULL;
    CHECK(kiln_plan_load_memory(plan, size, &p, &e) == KILN_OK, "load: %s", e.message);
    if (p) {
        const char *v = NULL;
        CHECK(kiln_plan_metadata(p, "producer", &v) == KILN_OK && v && strcmp(v, "kiln-tests") == 0, "metadata");
        CHECK(kiln_plan_metadata(p, "nope", &v) == KILN_ERR_NOT_FOUND, "missing metadata key");
        kiln_tensor_info info;
        CHECK(kiln_plan_input_count(p) == 1 && kiln_plan_output_count(p) == 1, "io counts");
        CHECK(kiln_plan_input_info(p, 0, &info) == KILN_OK && strcmp(info.name, "x") == 0 && info.rank == 2 &&
                  info.dims[0] == 2 && info.dims[1] == 3 && info.dtype == KILN_F32 && info.byte_size == 24,
              "input info");
        CHECK(kiln_plan_input_info(p, 1, &info) == KILN_ERR_INVALID_ARGUMENT, "input index out of range");
        uint32_t idx = 9;
        CHECK(kiln_plan_output_index(p, "y", &idx) == KILN_OK && idx == 0, "output index by name");
        kiln_session *s = NULL;
        CHECK(kiln_session_create(p, 1, &s, &e) == KILN_OK, "session");
        float x[6] = {0};
        CHECK(kiln_session_run(s) == KILN_ERR_INPUT_NOT_SET && strstr(kiln_session_error(s), "\"x\" is not set"),
              "missing input: %s", kiln_session_error(s));
        CHECK(kiln_session_set_input(s, 0, x, 20) == KILN_ERR_SIZE_MISMATCH &&
                  strstr(kiln_session_error(s), "needs 24 bytes, got 20"),
              "wrong input size: %s", kiln_session_error(s));
        CHECK(kiln_session_set_input_by_name(s, "z", x, 24) == KILN_ERR_NOT_FOUND, "unknown input name");
        CHECK(kiln_session_set_input(s, 3, x, 24) == KILN_ERR_INVALID_ARGUMENT, "input index out of range");
        CHECK(kiln_session_set_input_by_name(s, "x", x, 24) == KILN_OK, "set by name");
        CHECK(kiln_session_run(s) == KILN_OK, "run");
        const void *out;
        uint64_t bytes;
        CHECK(kiln_session_output_by_name(s, "y", &out, &bytes) == KILN_OK && bytes == 24 &&
                  ((const float *)out)[5] == 6.0f,
              "output by name");
        float small[2];
        CHECK(kiln_session_copy_output(s, 0, small, sizeof small) == KILN_ERR_SIZE_MISMATCH, "small output buffer");
        kiln_session_free(s);
        kiln_plan_free(p);
    }
    /* Same plan through a file and through mmap. */
    char path[] = "/tmp/kiln-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temp file");
    if (fd >= 0) {
        CHECK(write(fd, plan, size) == (ssize_t)size, "write temp plan");
        close(fd);
        p = NULL;
        CHECK(kiln_plan_load_file(path, &p, &e) == KILN_OK, "load_file: %s", e.message);
        kiln_plan_free(p);
        p = NULL;
        CHECK(kiln_plan_load_mmap(path, &p, &e) == KILN_OK, "load_mmap: %s", e.message);
        kiln_plan_free(p);
        unlink(path);
        CHECK(kiln_plan_load_file(path, &p, &e) == KILN_ERR_IO && strstr(e.message, "cannot open"), "missing file");
    }
    free(plan);
}

static void test_bad_headers(void) {
    size_t size;
    uint8_t *plan = reference_plan(&size, 0, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    kiln_error e;
    /* Every truncation fails cleanly. */
    int all_failed = 1;
    for (size_t n = 0; n < size; n++) {
        kiln_status st = load(plan, n, &e);
        if (st == KILN_OK) all_failed = 0;
        if (n >= 24 && n < size && st != KILN_ERR_TRUNCATED && st != KILN_ERR_CHECKSUM) all_failed = 0;
    }
    CHECK(all_failed, "every truncated plan must be rejected as truncated");
    CHECK(load(plan, size - 1, &e) == KILN_ERR_TRUNCATED && strstr(e.message, "outside the file"), "truncated: %s",
          e.message);
    CHECK(load(plan, 5, &e) == KILN_ERR_BAD_MAGIC, "5-byte file");
    uint8_t *copy = malloc(size);
    memcpy(copy, plan, size);
    copy[0] = 'X';
    CHECK(load(copy, size, &e) == KILN_ERR_BAD_MAGIC && strstr(e.message, "magic"), "bad magic: %s", e.message);
    free(copy);
    free(plan);

    plan = reference_plan(&size, 0, 0, KILN_FORMAT_MAJOR + 1, 0);
    CHECK(load(plan, size, &e) == KILN_ERR_VERSION && strstr(e.message, "format version 2.0 is not supported"),
          "newer major: %s", e.message);
    free(plan);
    plan = reference_plan(&size, 0, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR + 1);
    CHECK(load(plan, size, &e) == KILN_OK, "newer minor with known content loads: %s", e.message);
    free(plan);
    plan = reference_plan(&size, 5, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR + 1);
    CHECK(load(plan, size, &e) == KILN_ERR_UNSUPPORTED && strstr(e.message, "opcode 200, unknown to this runtime"),
          "newer minor with a new opcode: %s", e.message);
    free(plan);
    plan = reference_plan(&size, 5, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    CHECK(load(plan, size, &e) == KILN_ERR_MALFORMED && strstr(e.message, "unknown opcode 200"), "unknown opcode: %s",
          e.message);
    free(plan);

    /* Unknown section kinds: skipped when optional, rejected otherwise. */
    for (int optional = 0; optional <= 1; optional++) {
        plan = reference_plan(&size, 0, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        uint64_t off, len;
        pb_find_section(plan, size, KILN_SECTION_METADATA, &off, &len);
        for (uint32_t i = 0; i < plan[16]; i++) {
            uint8_t *ent = plan + 24 + 40 * i;
            if (ent[0] == KILN_SECTION_METADATA) { ent[0] = 99; ent[4] = (uint8_t)optional; }
        }
        pb_fix_header_crc(plan);
        kiln_status st = load(plan, size, &e);
        if (optional) CHECK(st == KILN_OK, "optional unknown section is skipped: %s", e.message);
        else CHECK(st == KILN_ERR_MALFORMED && strstr(e.message, "unknown kind 99"), "unknown section: %s", e.message);
        free(plan);
    }
}

static void test_checksums(void) {
    for (uint32_t kind = 1; kind <= 7; kind++) {
        size_t size;
        uint8_t *plan = reference_plan(&size, 0, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        uint64_t off, len;
        CHECK(pb_find_section(plan, size, kind, &off, &len) && len > 0, "section %u present", kind);
        plan[off + len / 2] ^= 0x10;
        kiln_error e;
        char want[96];
        snprintf(want, sizeof want, "(%s) checksum mismatch", kSectionNames[kind]);
        CHECK(load(plan, size, &e) == KILN_ERR_CHECKSUM && strstr(e.message, want), "flipped byte in %s: %s",
              kSectionNames[kind], e.message);
        free(plan);
    }
    size_t size;
    uint8_t *plan = reference_plan(&size, 0, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    plan[30] ^= 1; /* inside the section table */
    kiln_error e;
    CHECK(load(plan, size, &e) == KILN_ERR_CHECKSUM && strstr(e.message, "header checksum"), "header flip: %s", e.message);
    free(plan);
}

static void test_bad_contents(void) {
    struct { int bad; kiln_status st; const char *msg; } cases[] = {
        {1, KILN_ERR_MALFORMED, "refers to tensor 99"},
        {2, KILN_ERR_MALFORMED, "lie outside the arena"},
        {3, KILN_ERR_MALFORMED, "read before any instruction writes it"},
        {4, KILN_ERR_MALFORMED, "is an input or a constant"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size;
        uint8_t *plan = reference_plan(&size, cases[i].bad, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        kiln_error e;
        kiln_status st = load(plan, size, &e);
        CHECK(st == cases[i].st && strstr(e.message, cases[i].msg), "defect %d: got %d \"%s\"", cases[i].bad, st,
              e.message);
        free(plan);
    }
}

static void test_compression(void) {
    size_t size;
    uint8_t *plan = reference_plan(&size, 0, 1, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    kiln_error e;
    int compressed = plan[12] & 1;
    if (kiln_has_zstd()) {
        CHECK(compressed, "the builder compresses when zstd is available");
        run_reference(plan, size, "compressed plan");
    }
    /* A compressed plan on a runtime without zstd: forge the flag when the builder could not
     * compress (NO_ZSTD build), since the loader must refuse before decompressing. */
    if (!kiln_has_zstd()) {
        plan[12] |= 1;
        pb_fix_header_crc(plan);
        CHECK(load(plan, size, &e) == KILN_ERR_UNSUPPORTED &&
                  strcmp(e.message, "plan is zstd-compressed but this runtime was built without zstd (NO_ZSTD)") == 0,
              "compressed plan on NO_ZSTD: %s", e.message);
    } else {
        /* Corrupt zstd payload with a valid checksum: a clean error. */
        uint64_t off, len;
        pb_find_section(plan, size, KILN_SECTION_CONSTANTS, &off, &len);
        memset(plan + off, 0xAB, (size_t)len);
        pb_fix_section_crc(plan, KILN_SECTION_CONSTANTS);
        CHECK(load(plan, size, &e) == KILN_ERR_MALFORMED && strstr(e.message, "zstd"), "bad zstd frame: %s", e.message);
    }
    free(plan);
}

/* Section entry flags word of section `kind` (the 40-byte entries follow the 24-byte header). */
static uint8_t *section_flags(uint8_t *plan, uint32_t kind) {
    uint32_t n = (uint32_t)plan[16] | (uint32_t)plan[17] << 8;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = plan + 24 + 40 * (size_t)i;
        if (e[0] == kind) return e + 4;
    }
    return NULL;
}

/* Format 1.2: table sections stored as zstd frames (section flag KILN_SECTION_ZSTD). */
static void test_compressed_tables(void) {
    size_t size;
    kiln_error e;
    uint8_t *plan = reference_plan(&size, 0, 2, KILN_FORMAT_MAJOR, 2);
    if (!kiln_has_zstd()) {
        /* The builder cannot compress: forge the flag; the loader refuses before reading. */
        section_flags(plan, KILN_SECTION_TENSORS)[0] |= KILN_SECTION_ZSTD;
        pb_fix_header_crc(plan);
        CHECK(load(plan, size, &e) == KILN_ERR_UNSUPPORTED && strstr(e.message, "without zstd (NO_ZSTD)"),
              "compressed tables on NO_ZSTD: %s", e.message);
        free(plan);
        return;
    }
    for (uint32_t k = 1; k <= 6; k++)
        if (k != KILN_SECTION_CONSTANTS)
            CHECK(section_flags(plan, k) && section_flags(plan, k)[0] == KILN_SECTION_ZSTD, "section %u compressed", k);
    run_reference(plan, size, "plan with zstd table sections");
    kiln_plan *p = NULL;
    CHECK(kiln_plan_load_memory(plan, size, &p, &e) == KILN_OK, "load: %s", e.message);
    if (p) {
        const char *v = NULL;
        CHECK(kiln_plan_metadata(p, "producer", &v) == KILN_OK && v && strcmp(v, "kiln-tests") == 0,
              "metadata read from the compressed tables");
        kiln_plan_free(p);
    }
    /* The flag in a 1.1 plan, and an unknown section flag, are refused. */
    uint8_t *old = malloc(size);
    memcpy(old, plan, size);
    old[10] = 1;
    pb_fix_header_crc(old);
    CHECK(load(old, size, &e) == KILN_ERR_MALFORMED && strstr(e.message, "(STRINGS) has unknown flags 0x2 (plan format 1.1"),
          "1.2 flag in a 1.1 plan: %s", e.message);
    memcpy(old, plan, size);
    section_flags(old, KILN_SECTION_PROGRAM)[0] |= 0x4;
    pb_fix_header_crc(old);
    CHECK(load(old, size, &e) == KILN_ERR_MALFORMED && strstr(e.message, "(PROGRAM) has unknown flags 0x6"),
          "unknown section flag: %s", e.message);
    /* A damaged frame (checksum repaired), a frame of another size, an implausible size. */
    uint64_t off, len;
    pb_find_section(plan, size, KILN_SECTION_TENSORS, &off, &len);
    memcpy(old, plan, size);
    memset(old + off + 4, 0xAB, (size_t)len - 4);
    pb_fix_section_crc(old, KILN_SECTION_TENSORS);
    CHECK(load(old, size, &e) == KILN_ERR_MALFORMED && strstr(e.message, "TENSORS") && strstr(e.message, "zstd"),
          "bad TENSORS frame: %s", e.message);
    memcpy(old, plan, size);
    uint8_t *entry = section_flags(old, KILN_SECTION_TENSORS) - 4;
    entry[24] ^= 8; /* uncompressed size */
    pb_fix_header_crc(old);
    CHECK(load(old, size, &e) == KILN_ERR_MALFORMED && strstr(e.message, "TENSORS section is not a zstd frame of the stated size"),
          "TENSORS size mismatch: %s", e.message);
    memcpy(old, plan, size);
    entry = section_flags(old, KILN_SECTION_STRINGS) - 4;
    entry[24 + 5] = 0x40; /* 2^46 bytes */
    pb_fix_header_crc(old);
    CHECK(load(old, size, &e) == KILN_ERR_MALFORMED && strstr(e.message, "implausible STRINGS size"),
          "implausible STRINGS size: %s", e.message);
    free(old);
    free(plan);
}

/* Every byte of every section corrupted (checksums repaired): load fails cleanly or, if it
 * still loads, runs without touching memory it should not (meaningful under ASan). */
static void test_corruption_sweep(void) {
    size_t size;
    uint8_t *plan = reference_plan(&size, 0, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    uint8_t *copy = malloc(size);
    int loaded = 0, rejected = 0;
    for (uint32_t kind = 1; kind <= 7; kind++) {
        uint64_t off, len;
        if (!pb_find_section(plan, size, kind, &off, &len)) continue;
        for (uint64_t i = 0; i < len; i++) {
            for (int v = 0; v < 3; v++) {
                static const uint8_t vals[3] = {0xFF, 0x80, 0x01};
                memcpy(copy, plan, size);
                copy[off + i] ^= vals[v];
                pb_fix_section_crc(copy, kind);
                kiln_error e;
                kiln_plan *p = NULL;
                if (kiln_plan_load_memory(copy, size, &p, &e) != KILN_OK) { rejected++; continue; }
                loaded++;
                kiln_session *s = NULL;
                if (kiln_plan_arena_size(p) < (1u << 30) && kiln_session_create(p, 1, &s, &e) == KILN_OK) {
                    static uint8_t zeros[1 << 16];
                    for (uint32_t k = 0; k < kiln_session_input_count(s); k++) {
                        kiln_tensor_info info;
                        kiln_session_input_info(s, k, &info);
                        if (info.byte_size <= sizeof zeros) kiln_session_set_input(s, k, zeros, info.byte_size);
                    }
                    kiln_session_run(s);
                    kiln_session_free(s);
                }
                kiln_plan_free(p);
            }
        }
    }
    CHECK(rejected > 0, "the sweep rejects corrupted plans (%d rejected, %d loaded)", rejected, loaded);
    free(copy);
    free(plan);
}

void test_loader(void) {
    test_good_plan();
    test_bad_headers();
    test_checksums();
    test_bad_contents();
    test_compression();
    test_compressed_tables();
    test_corruption_sweep();
    for (int s = 0; s <= 13; s++) CHECK(strlen(kiln_status_message((kiln_status)s)) > 0, "status message %d", s);
}
