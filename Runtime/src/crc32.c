/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, initial value and final xor
 * 0xFFFFFFFF): the checksum zlib's crc32() and PNG use; crc32("123456789") = 0xCBF43926.
 *
 * Algorithm: byte-at-a-time table lookup. The 256-entry table is rebuilt on the stack by
 * each call (2K steps, nothing next to checksumming a section), which keeps loading free
 * of shared mutable state. */
#include "internal.h"

uint32_t kiln_crc32(const uint8_t *data, size_t size) {
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) c = table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}
