/* plan_builder.h — a small plan writer used by the tests. It follows PLAN_FORMAT.md
 * independently of the loader, so the loader is tested against the spec. */
#ifndef KILN_TEST_PLAN_BUILDER_H
#define KILN_TEST_PLAN_BUILDER_H

#include <stddef.h>
#include <stdint.h>

typedef struct pb pb;

pb *pb_new(void);
void pb_free(pb *b);
/* Adds a tensor with explicit storage and offset; returns its id. */
uint32_t pb_tensor(pb *b, const char *name, uint8_t dtype, uint32_t rank, const int64_t *dims, uint8_t storage,
                   uint32_t io_index, uint64_t offset);
/* Convenience: a 64-byte aligned arena tensor / next input / next output / constant. */
uint32_t pb_arena(pb *b, uint8_t dtype, uint32_t rank, const int64_t *dims);
uint32_t pb_input(pb *b, const char *name, uint8_t dtype, uint32_t rank, const int64_t *dims);
uint32_t pb_output(pb *b, const char *name, uint8_t dtype, uint32_t rank, const int64_t *dims);
uint32_t pb_constant(pb *b, uint8_t dtype, uint32_t rank, const int64_t *dims, const void *data);
/* An f32 constant stored as f16 (tensor flag bit 0): `halves` are its f16 bit patterns. */
uint32_t pb_constant_f16(pb *b, uint32_t rank, const int64_t *dims, const uint16_t *halves);
/* Sets a tensor entry's flags byte (byte 11). */
void pb_set_flags(pb *b, uint32_t id, uint8_t flags);
/* Quantization parameters for tensor `id` (axis -1 = per tensor). */
void pb_quant(pb *b, uint32_t id, uint32_t count, int32_t axis, const float *scales, const int64_t *zero_points);
void pb_instr(pb *b, uint16_t opcode, const void *attr, uint32_t attr_size, uint32_t nin, const uint32_t *ins,
              uint32_t nout, const uint32_t *outs);
void pb_meta(pb *b, const char *key, const char *value);
/* Overrides the arena size (default: the bump allocator's high-water mark). */
void pb_set_arena(pb *b, uint64_t size);
/* Serializes; compress = 1 stores CONSTANTS as one zstd frame (needs zstd), compress = 2
 * every section (format 1.2 section flag KILN_SECTION_ZSTD on the table sections). The caller
 * frees the result with free(). */
uint8_t *pb_finish(pb *b, size_t *size, int compress, uint16_t major, uint16_t minor);

/* Helpers for corrupting plans in tests. */
int pb_find_section(const uint8_t *plan, size_t size, uint32_t kind, uint64_t *offset, uint64_t *length);
void pb_fix_header_crc(uint8_t *plan);
void pb_fix_section_crc(uint8_t *plan, uint32_t kind);
uint32_t pb_crc32(const uint8_t *data, size_t n);

#endif
