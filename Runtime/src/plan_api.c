/* plan_api.c — read-only queries on a loaded plan. */
#include "internal.h"

static void fill_info(const kiln_tdesc *t, kiln_tensor_info *info) {
    memset(info, 0, sizeof *info);
    info->name = t->name;
    info->dtype = (kiln_dtype)t->dtype;
    info->rank = t->rank;
    for (unsigned d = 0; d < t->rank; d++) info->dims[d] = t->dims[d];
    info->byte_size = t->bytes;
}

void kiln_plan_format_version(const kiln_plan *p, uint16_t *major, uint16_t *minor) {
    if (major) *major = p ? p->major : 0;
    if (minor) *minor = p ? p->minor : 0;
}

uint64_t kiln_plan_arena_size(const kiln_plan *p) { return p ? p->arena_size : 0; }
uint32_t kiln_plan_instruction_count(const kiln_plan *p) { return p ? p->instr_count : 0; }
uint32_t kiln_plan_input_count(const kiln_plan *p) { return p ? p->input_count : 0; }
uint32_t kiln_plan_output_count(const kiln_plan *p) { return p ? p->output_count : 0; }

kiln_status kiln_plan_input_info(const kiln_plan *p, uint32_t index, kiln_tensor_info *info) {
    if (!p || !info || index >= p->input_count) return KILN_ERR_INVALID_ARGUMENT;
    fill_info(&p->tensors[p->inputs[index]], info);
    return KILN_OK;
}

kiln_status kiln_plan_output_info(const kiln_plan *p, uint32_t index, kiln_tensor_info *info) {
    if (!p || !info || index >= p->output_count) return KILN_ERR_INVALID_ARGUMENT;
    fill_info(&p->tensors[p->outputs[index]], info);
    return KILN_OK;
}

static kiln_status find(const kiln_plan *p, const uint32_t *list, uint32_t n, const char *name, uint32_t *index) {
    if (!p || !name || !index) return KILN_ERR_INVALID_ARGUMENT;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(p->tensors[list[i]].name, name) == 0) { *index = i; return KILN_OK; }
    return KILN_ERR_NOT_FOUND;
}

kiln_status kiln_plan_input_index(const kiln_plan *p, const char *name, uint32_t *index) {
    return find(p, p ? p->inputs : NULL, p ? p->input_count : 0, name, index);
}

kiln_status kiln_plan_output_index(const kiln_plan *p, const char *name, uint32_t *index) {
    return find(p, p ? p->outputs : NULL, p ? p->output_count : 0, name, index);
}

uint32_t kiln_plan_metadata_count(const kiln_plan *p) { return p ? p->meta_count : 0; }

kiln_status kiln_plan_metadata_entry(const kiln_plan *p, uint32_t index, const char **key, const char **value) {
    if (!p || index >= p->meta_count) return KILN_ERR_INVALID_ARGUMENT;
    if (key) *key = p->meta_keys[index];
    if (value) *value = p->meta_values[index];
    return KILN_OK;
}

kiln_status kiln_plan_metadata(const kiln_plan *p, const char *key, const char **value) {
    if (!p || !key || !value) return KILN_ERR_INVALID_ARGUMENT;
    for (uint32_t i = 0; i < p->meta_count; i++)
        if (strcmp(p->meta_keys[i], key) == 0) { *value = p->meta_values[i]; return KILN_OK; }
    return KILN_ERR_NOT_FOUND;
}
