/* fuzz_plan.c — libFuzzer target for the plan loader plus one bounded run, through the
 * public API only (kiln.h).
 *
 * Each input is treated as a plan file. Before loading, the harness recomputes the
 * section checksums and the header checksum wherever the header and section table are
 * in bounds (restamp_checksums): otherwise nearly every mutation would stop at "checksum
 * mismatch" and never reach the validation of tensors, instructions and attributes. The
 * runtime itself is unchanged — with the stamped bytes it takes exactly the path a real
 * file with those contents would take, so a crash input replays against the normal build
 * (replay.c). Checksum rejection itself is covered by tests/test_loader.c.
 *
 * If the plan loads, the harness creates a session with 1 thread, binds zero-filled inputs
 * of the byte sizes the plan reports, runs once, reads every output and frees everything.
 * Bounds: plans whose arena or any input exceeds KILN_FUZZ_MAX_BYTES are loaded but not
 * run (a mutated shape may ask for gigabytes; that is a valid plan, not a bug). */
#include "kiln.h"

#include <stdlib.h>
#include <string.h>

#ifndef KILN_FUZZ_MAX_BYTES
#define KILN_FUZZ_MAX_BYTES (16u << 20)
#endif

/* The runtime's CRC-32 (src/crc32.c); not part of kiln.h. */
uint32_t kiln_crc32(const uint8_t *data, size_t size);

enum { HEADER = 24, ENTRY = 40, MAX_SECTIONS = 4096 };

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

/* Layout (PLAN_FORMAT.md): header checksum at byte 20 covers the header and section table
 * with that field zeroed; each 40-byte entry holds offset (+8), size (+16), CRC (+32). */
static void restamp_checksums(uint8_t *b, size_t size) {
    if (size < HEADER) return;
    uint32_t count = rd32(b + 16);
    if (count > MAX_SECTIONS) return;
    uint64_t table_end = HEADER + (uint64_t)count * ENTRY;
    if (table_end > size) return;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *e = b + HEADER + (size_t)i * ENTRY;
        uint64_t off = rd64(e + 8), n = rd64(e + 16);
        if (off >= table_end && off <= size && n <= size - off) wr32(e + 32, kiln_crc32(b + off, (size_t)n));
    }
    wr32(b + 20, 0);
    wr32(b + 20, kiln_crc32(b, (size_t)table_end));
}

static void run_once(const kiln_plan *plan) {
    static uint8_t *zeros;
    if (!zeros && !(zeros = calloc(1, KILN_FUZZ_MAX_BYTES))) return;
    if (kiln_plan_arena_size(plan) > KILN_FUZZ_MAX_BYTES) return;
    uint32_t n_in = kiln_plan_input_count(plan);
    for (uint32_t i = 0; i < n_in; i++) {
        kiln_tensor_info info;
        if (kiln_plan_input_info(plan, i, &info) != KILN_OK || info.byte_size > KILN_FUZZ_MAX_BYTES) return;
    }
    kiln_session *s = NULL;
    if (kiln_session_create(plan, 1, &s, NULL) != KILN_OK) return;
    int ok = 1;
    for (uint32_t i = 0; i < n_in && ok; i++) {
        kiln_tensor_info info;
        ok = kiln_session_input_info(s, i, &info) == KILN_OK &&
             kiln_session_set_input(s, i, zeros, info.byte_size) == KILN_OK;
    }
    if (ok && kiln_session_run(s) == KILN_OK) {
        volatile uint8_t sink = 0;
        for (uint32_t i = 0; i < kiln_session_output_count(s); i++) {
            const void *data; uint64_t bytes;
            if (kiln_session_output(s, i, &data, &bytes) == KILN_OK && bytes) sink ^= ((const uint8_t *)data)[bytes - 1];
        }
        (void)sink;
    }
    kiln_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    restamp_checksums(copy, size);
    kiln_plan *plan = NULL;
    kiln_error err;
    if (kiln_plan_load_memory(copy, size, &plan, &err) == KILN_OK) {
        for (uint32_t i = 0; i < kiln_plan_metadata_count(plan); i++) {
            const char *k, *v;
            kiln_plan_metadata_entry(plan, i, &k, &v);
        }
        run_once(plan);
        kiln_plan_free(plan);
    }
    free(copy);
    return 0;
}
