/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial value and final xor
 * 0xFFFFFFFF): the checksum zlib's crc32() and PNG use; crc32("123456789") = 0xCBF43926.
 *
 * Algorithm: byte-at-a-time table lookup; the 256-entry table is built on first use
 * (building it twice from two threads writes identical values, so the race is benign
 * in practice; kiln_crc32 is called only while loading). */
#include "internal.h"

static uint32_t crc_table[256];
static volatile int crc_ready = 0;

static void crc_build(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint32_t kiln_crc32(const uint8_t *data, size_t size) {
    if (!crc_ready) crc_build();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) c = crc_table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}
