/* plan_tensors.c — validating the tensor table: names, dtypes, shapes, byte sizes,
 * storage places (arena / constants / inputs / outputs) and quantization parameters. */
#include "loader.h"

#include <stdlib.h>

#include <stdio.h>

static kiln_status tensor_fail(kiln_loader *l, uint32_t i, const kiln_tdesc *t, const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: tensor %u (%s): %s", i, t->name ? t->name : "", msg);
}

static kiln_status load_quant(kiln_loader *l, uint32_t i, kiln_tdesc *t, const uint8_t *e) {
    t->quant_count = kiln_rd32(e + 96);
    t->quant_axis = kiln_rdi32(e + 100);
    uint64_t off = kiln_rd64(e + 104);
    if (t->quant_count == 0) return KILN_OK;
    if (t->quant_axis < -1 || t->quant_axis >= (int32_t)t->rank)
        return tensor_fail(l, i, t, "quantization axis %d is out of range for rank %u", (int)t->quant_axis,
                           (unsigned)t->rank);
    uint64_t want = t->quant_axis < 0 ? 1 : (uint64_t)t->dims[t->quant_axis];
    if (t->quant_count != want)
        return tensor_fail(l, i, t, "%u quantization parameters, expected %llu", (unsigned)t->quant_count,
                           (unsigned long long)want);
    const kiln_section *q = &l->sec[KILN_SECTION_QPARAMS];
    uint64_t need = (uint64_t)t->quant_count * 12;
    if (!q->present || off > q->size || need > q->size - off)
        return tensor_fail(l, i, t, "quantization parameters at offset %llu (%llu bytes) are outside QPARAMS",
                           (unsigned long long)off, (unsigned long long)need);
    t->scales = malloc(sizeof(float) * t->quant_count);
    t->zero_points = malloc(sizeof(int64_t) * t->quant_count);
    if (!t->scales || !t->zero_points) return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    const uint8_t *s = q->data + off, *z = s + 4 * (size_t)t->quant_count;
    for (uint32_t k = 0; k < t->quant_count; k++) {
        t->scales[k] = kiln_rdf32(s + 4 * k);
        t->zero_points[k] = kiln_rdi64(z + 8 * k);
    }
    return KILN_OK;
}

static kiln_status load_entry(kiln_loader *l, uint32_t i, const uint8_t *e) {
    kiln_plan *p = l->plan;
    kiln_tdesc *t = &p->tensors[i];
    t->producer = -1;
    kiln_status st = kiln_load_string(l, kiln_rd32(e), kiln_rd32(e + 4), "tensor name", &t->name);
    if (st != KILN_OK) return st;
    t->dtype = e[8];
    t->rank = e[9];
    t->storage = e[10];
    t->io_index = kiln_rd32(e + 12);
    t->offset = kiln_rd64(e + 16);
    t->bytes = kiln_rd64(e + 24);
    uint32_t esize = kiln_dtype_bytes(t->dtype);
    if (esize == 0) return tensor_fail(l, i, t, "unknown dtype code %u", (unsigned)t->dtype);
    t->flags = e[11];
    if (t->flags & ~KILN_TENSOR_F16_STORAGE || (t->flags && p->minor < 1))
        return kiln_fail(l->error, p->minor > KILN_FORMAT_MINOR ? KILN_ERR_UNSUPPORTED : KILN_ERR_MALFORMED,
                         "plan: tensor %u (%s): unknown tensor flags 0x%x (plan format %u.%u, runtime reads %u.%u)", i,
                         t->name, (unsigned)t->flags, p->major, p->minor, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    if (t->rank > KILN_MAX_RANK)
        return tensor_fail(l, i, t, "rank %u exceeds the maximum %d", (unsigned)t->rank, KILN_MAX_RANK);
    uint64_t count = 1;
    for (unsigned d = 0; d < KILN_MAX_RANK; d++) {
        uint64_t dim = kiln_rd64(e + 32 + 8 * d);
        if (d >= t->rank) {
            if (dim != 0) return tensor_fail(l, i, t, "unused dim %u is %llu, expected 0", d, (unsigned long long)dim);
            continue;
        }
        if (dim > ((uint64_t)1 << 48) || !kiln_mul_ok(count, dim, &count))
            return tensor_fail(l, i, t, "dim %u (%llu) is too large", d, (unsigned long long)dim);
        t->dims[d] = (int64_t)dim;
    }
    uint64_t bytes;
    if (!kiln_mul_ok(count, esize, &bytes) || bytes > ((uint64_t)1 << 56))
        return tensor_fail(l, i, t, "element count %llu is too large", (unsigned long long)count);
    if (bytes != t->bytes)
        return tensor_fail(l, i, t, "byte size %llu does not match its dtype and shape (%llu)",
                           (unsigned long long)t->bytes, (unsigned long long)bytes);
    t->count = count;
    uint64_t align = esize;
    switch (t->storage) {
    case KILN_STORAGE_CONSTANT: {
        /* f16 storage: count × 2 bytes at a 2-byte aligned offset (only the widening reads
         * them); t->bytes stays the f32 size. */
        uint64_t stored = t->flags & KILN_TENSOR_F16_STORAGE ? 2 * count : t->bytes;
        uint32_t calign = t->flags & KILN_TENSOR_F16_STORAGE ? 2 : KILN_CONSTANT_ALIGN;
        if (t->offset % calign)
            return tensor_fail(l, i, t, "constant offset %llu is not %u-byte aligned", (unsigned long long)t->offset,
                               calign);
        if (t->offset > p->constants_size || stored > p->constants_size - t->offset)
            return tensor_fail(l, i, t, "constant bytes at %llu..%llu lie outside the CONSTANTS section",
                               (unsigned long long)t->offset, (unsigned long long)(t->offset + stored));
        break;
    }
    case KILN_STORAGE_ARENA:
    case KILN_STORAGE_INPUT:
    case KILN_STORAGE_OUTPUT:
        if (t->offset % align)
            return tensor_fail(l, i, t, "arena offset %llu is not aligned to its element size %u",
                               (unsigned long long)t->offset, (unsigned)align);
        if (t->offset > p->arena_size || t->bytes > p->arena_size - t->offset)
            return tensor_fail(l, i, t, "arena bytes %llu..%llu lie outside the arena", (unsigned long long)t->offset,
                               (unsigned long long)(t->offset + t->bytes));
        break;
    default:
        return tensor_fail(l, i, t, "unknown storage kind %u", (unsigned)t->storage);
    }
    if ((t->flags & KILN_TENSOR_F16_STORAGE) && (t->storage != KILN_STORAGE_CONSTANT || t->dtype != KILN_F32))
        return tensor_fail(l, i, t, "f16 storage is only for f32 constants (this is %s %s)", kiln_dtype_name((kiln_dtype)t->dtype),
                           t->storage == KILN_STORAGE_CONSTANT ? "constant" : "non-constant");
    if (t->storage == KILN_STORAGE_INPUT || t->storage == KILN_STORAGE_OUTPUT) {
        if (t->name[0] == 0) return tensor_fail(l, i, t, "inputs and outputs need a name");
    } else if (t->io_index != 0) {
        return tensor_fail(l, i, t, "io index %u set on a tensor that is neither input nor output",
                           (unsigned)t->io_index);
    }
    return load_quant(l, i, t, e);
}

/* Builds the input/output index lists: indices must be 0..n-1, each once, names unique. */
static kiln_status link_io(kiln_loader *l, uint8_t storage, uint32_t **list, uint32_t *count) {
    kiln_plan *p = l->plan;
    const char *what = storage == KILN_STORAGE_INPUT ? "input" : "output";
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->tensor_count; i++) n += p->tensors[i].storage == storage;
    *list = malloc(sizeof(uint32_t) * (n ? n : 1));
    if (!*list) return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    for (uint32_t k = 0; k < n; k++) (*list)[k] = KILN_NO_TENSOR;
    *count = n;
    for (uint32_t i = 0; i < p->tensor_count; i++) {
        const kiln_tdesc *t = &p->tensors[i];
        if (t->storage != storage) continue;
        if (t->io_index >= n || (*list)[t->io_index] != KILN_NO_TENSOR)
            return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: tensor %u (%s): %s index %u is out of range or repeated",
                             i, t->name, what, t->io_index);
        for (uint32_t k = 0; k < n; k++)
            if ((*list)[k] != KILN_NO_TENSOR && strcmp(p->tensors[(*list)[k]].name, t->name) == 0)
                return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: two %ss are named \"%s\"", what, t->name);
        (*list)[t->io_index] = i;
    }
    return KILN_OK;
}

kiln_status kiln_load_tensors(kiln_loader *l) {
    kiln_plan *p = l->plan;
    const kiln_section *prog = &l->sec[KILN_SECTION_PROGRAM];
    if (prog->size < KILN_PROGRAM_HEADER_SIZE)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: PROGRAM section shorter than its header");
    p->arena_size = kiln_rd64(prog->data + 8);
    if (p->arena_size > ((uint64_t)1 << 48))
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: implausible arena size %llu", (unsigned long long)p->arena_size);

    const kiln_section *s = &l->sec[KILN_SECTION_TENSORS];
    if (s->size < 8) return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: TENSORS section shorter than its header");
    uint32_t count = kiln_rd32(s->data), esize = kiln_rd32(s->data + 4);
    if (esize < KILN_TENSOR_ENTRY_SIZE || esize % 8)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: tensor entry size %u (expected at least %u, a multiple of 8)",
                         esize, KILN_TENSOR_ENTRY_SIZE);
    if ((uint64_t)count * esize != s->size - 8)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: TENSORS holds %u entries of %u bytes but is %llu bytes",
                         count, esize, (unsigned long long)s->size);
    if (count >= KILN_NO_TENSOR) return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: too many tensors");
    p->tensors = calloc(count ? count : 1, sizeof(kiln_tdesc));
    if (!p->tensors) return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    for (uint32_t i = 0; i < count; i++) {
        p->tensor_count = i + 1;
        kiln_status st = load_entry(l, i, s->data + 8 + (size_t)i * esize);
        if (st != KILN_OK) return st;
    }
    kiln_status st = link_io(l, KILN_STORAGE_INPUT, &p->inputs, &p->input_count);
    if (st == KILN_OK) st = link_io(l, KILN_STORAGE_OUTPUT, &p->outputs, &p->output_count);
    return st;
}

/* Algorithm: constants stored raw point into the CONSTANTS bytes. f16-stored ones get f32
 * copies in one 64-byte aligned block, each at a 64-byte aligned offset, widened exactly
 * (every f16 value, subnormals, infinities and NaN payloads included, is an f32 value). */
kiln_status kiln_place_constants(kiln_loader *l) {
    kiln_plan *p = l->plan;
    uint64_t total = 0;
    for (uint32_t i = 0; i < p->tensor_count; i++) {
        const kiln_tdesc *t = &p->tensors[i];
        if (t->storage != KILN_STORAGE_CONSTANT || !(t->flags & KILN_TENSOR_F16_STORAGE)) continue;
        uint64_t padded = (t->bytes + KILN_CONSTANT_ALIGN - 1) / KILN_CONSTANT_ALIGN * KILN_CONSTANT_ALIGN;
        if (padded > ((uint64_t)1 << 56) - total)
            return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: f16 constants widen to too many bytes");
        total += padded;
    }
    if (total) {
        if (total > (uint64_t)SIZE_MAX / 2)
            return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory for widened f16 constants");
        p->widened_owned = kiln_aligned_alloc((size_t)total);
        if (!p->widened_owned)
            return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory for %llu bytes of widened f16 constants",
                             (unsigned long long)total);
    }
    uint64_t at = 0;
    for (uint32_t i = 0; i < p->tensor_count; i++) {
        kiln_tdesc *t = &p->tensors[i];
        if (t->storage != KILN_STORAGE_CONSTANT) continue;
        if (!(t->flags & KILN_TENSOR_F16_STORAGE)) {
            t->data = p->constants ? p->constants + t->offset : NULL;
            continue;
        }
        uint8_t *out = p->widened_owned + at;
        if (t->count) kiln_widen_f16(p->constants + t->offset, (float *)out, (size_t)t->count);
        t->data = out;
        at += (t->bytes + KILN_CONSTANT_ALIGN - 1) / KILN_CONSTANT_ALIGN * KILN_CONSTANT_ALIGN;
    }
    return KILN_OK;
}
