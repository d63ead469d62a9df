/* fuzz_plan.c — libFuzzer target: the plan loader, then one bounded run of whatever loads.
 *
 * The input's checksums are recomputed before loading (each section whose table entry lies
 * inside the input, then the header), so mutations reach the validation behind the CRCs
 * instead of all failing there; the CRC check itself is covered by the unit tests. A plan
 * that loads is run once on a 1-thread session when its arena is at most 16 MB, with
 * deterministic non-zero input bytes (out-of-range indices included: inputs are user data).
 * Build: make -C Runtime fuzz (clang -fsanitize=fuzzer,address,undefined). */
#include "kiln.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

uint32_t kiln_crc32(const uint8_t *data, size_t n);

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
static void set32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void fix_checksums(uint8_t *d, size_t size) {
    if (size < 24) return;
    uint64_t n = get32(d + 16);
    if (24 + 40 * n > size) return;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *e = d + 24 + 40 * i;
        uint64_t off = get64(e + 8), len = get64(e + 16);
        if (off <= size && len <= size - off) set32(e + 32, kiln_crc32(d + off, (size_t)len));
    }
    set32(d + 20, 0);
    set32(d + 20, kiln_crc32(d, (size_t)(24 + 40 * n)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    fix_checksums(copy, size);
    kiln_plan *plan = NULL;
    kiln_error err;
    kiln_status st = kiln_plan_load_memory(copy, size, &plan, &err);
    free(copy);
    if (st != KILN_OK) return 0;
    kiln_session *s = NULL;
    if (kiln_plan_arena_size(plan) <= (16u << 20) && kiln_session_create(plan, 1, &s, &err) == KILN_OK) {
        for (uint32_t i = 0; i < kiln_session_input_count(s); i++) {
            kiln_tensor_info info;
            if (kiln_session_input_info(s, i, &info) != KILN_OK || info.byte_size > (16u << 20)) continue;
            uint8_t *buf = malloc(info.byte_size ? (size_t)info.byte_size : 1);
            if (!buf) continue;
            for (uint64_t k = 0; k < info.byte_size; k++) buf[k] = (uint8_t)(k * 37 + i * 11 + 5);
            kiln_session_set_input(s, i, buf, info.byte_size);
            free(buf);
        }
        if (kiln_session_run(s) == KILN_OK)
            for (uint32_t i = 0; i < kiln_session_output_count(s); i++) {
                const void *out;
                uint64_t bytes;
                kiln_session_output(s, i, &out, &bytes);
            }
        kiln_session_free(s);
    }
    kiln_plan_free(plan);
    return 0;
}
