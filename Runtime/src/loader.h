/* loader.h — state shared by the loader's stages (plan_load.c, plan_tensors.c,
 * plan_program.c). */
#ifndef KILN_LOADER_H
#define KILN_LOADER_H

#include "internal.h"

typedef struct kiln_section {
    int present;
    uint32_t index;              /* position in the section table, for messages */
    const uint8_t *data;         /* stored bytes inside the file; a compressed table section
                                  * points to its decompressed copy after kiln_plan_parse's
                                  * first stage (size = uncompressed_size then) */
    uint64_t size, uncompressed_size;
    int compressed;
} kiln_section;

typedef struct kiln_loader {
    kiln_plan *plan;
    kiln_error *error;
    kiln_section sec[KILN_SECTION_KIND_COUNT];
} kiln_loader;

const char *kiln_section_name(uint32_t kind);
/* Validates a (offset, len) reference into STRINGS and returns a NUL-terminated copy. */
kiln_status kiln_load_string(kiln_loader *l, uint32_t off, uint32_t len, const char *what, char **out);
kiln_status kiln_load_tensors(kiln_loader *l);
/* Sets every constant's data pointer, widening f16-stored constants into one block. */
kiln_status kiln_place_constants(kiln_loader *l);
/* Parses and validates p->buffer (p->size bytes) into p. */
kiln_status kiln_plan_parse(kiln_plan *p, kiln_error *error);
kiln_status kiln_load_program(kiln_loader *l);
/* Runs the kernels' prepare functions (plan_prepare.c). */
kiln_status kiln_prepare_program(kiln_loader *l);
/* Frees the blocks they allocated (kiln_plan_alloc). */
void kiln_plan_free_blocks(kiln_plan *p);

#endif
