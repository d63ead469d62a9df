/* plan_builder.c — see plan_builder.h. Written from PLAN_FORMAT.md. */
#include "plan_builder.h"

#include <stdlib.h>
#include <string.h>

#ifdef KILN_USE_ZSTD
#include <zstd.h>
#endif

typedef struct buf { uint8_t *data; size_t size, cap; } buf;

static void put(buf *b, const void *p, size_t n) {
    if (b->size + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->size + n) cap *= 2;
        b->data = realloc(b->data, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->size, p, n);
    b->size += n;
}
static void put8(buf *b, uint8_t v) { put(b, &v, 1); }
static void put16(buf *b, uint16_t v) { uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; put(b, t, 2); }
static void put32(buf *b, uint32_t v) { put16(b, (uint16_t)v); put16(b, (uint16_t)(v >> 16)); }
static void put64(buf *b, uint64_t v) { put32(b, (uint32_t)v); put32(b, (uint32_t)(v >> 32)); }
static void pad_to(buf *b, size_t align) { while (b->size % align) put8(b, 0); }
static void set32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

typedef struct tensor {
    uint32_t name_off, name_len;
    uint8_t dtype, rank, storage, flags;
    uint32_t io;
    uint64_t offset, bytes, dims[8];
    uint32_t qcount;
    int32_t qaxis;
    uint64_t qoff;
} tensor;

struct pb {
    buf strings, constants, attrs, program, meta, qparams;
    tensor *tensors;
    uint32_t ntensors, ninstr, nmeta, ninputs, noutputs;
    uint64_t arena, arena_override;
    int has_override;
};

uint32_t pb_crc32(const uint8_t *data, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= data[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

pb *pb_new(void) { return calloc(1, sizeof(pb)); }

void pb_free(pb *b) {
    if (!b) return;
    free(b->strings.data); free(b->constants.data); free(b->attrs.data); free(b->program.data);
    free(b->meta.data); free(b->qparams.data); free(b->tensors); free(b);
}

static uint32_t add_string(pb *b, const char *s, uint32_t *len) {
    uint32_t off = (uint32_t)b->strings.size;
    *len = (uint32_t)strlen(s);
    put(&b->strings, s, *len);
    return off;
}

static uint32_t esize(uint8_t dtype) {
    static const uint32_t sizes[] = {0, 4, 2, 2, 8, 1, 1, 2, 2, 4, 4, 8, 8, 1};
    return dtype < 14 ? sizes[dtype] : 4;
}

uint32_t pb_tensor(pb *b, const char *name, uint8_t dtype, uint32_t rank, const int64_t *dims, uint8_t storage,
                   uint32_t io_index, uint64_t offset) {
    b->tensors = realloc(b->tensors, sizeof(tensor) * (b->ntensors + 1));
    tensor *t = &b->tensors[b->ntensors];
    memset(t, 0, sizeof *t);
    t->name_off = add_string(b, name ? name : "", &t->name_len);
    t->dtype = dtype;
    t->rank = (uint8_t)rank;
    t->storage = storage;
    t->io = io_index;
    t->offset = offset;
    uint64_t count = 1;
    for (uint32_t d = 0; d < rank && d < 8; d++) { t->dims[d] = (uint64_t)dims[d]; count *= (uint64_t)dims[d]; }
    t->bytes = count * esize(dtype);
    t->qaxis = -1;
    return b->ntensors++;
}

static uint64_t bump(pb *b, uint8_t dtype, uint32_t rank, const int64_t *dims) {
    uint64_t count = 1;
    for (uint32_t d = 0; d < rank; d++) count *= (uint64_t)dims[d];
    uint64_t off = b->arena;
    b->arena = (off + count * esize(dtype) + 63) & ~(uint64_t)63;
    return off;
}

uint32_t pb_arena(pb *b, uint8_t dtype, uint32_t rank, const int64_t *dims) {
    return pb_tensor(b, "", dtype, rank, dims, 0, 0, bump(b, dtype, rank, dims));
}

uint32_t pb_input(pb *b, const char *name, uint8_t dtype, uint32_t rank, const int64_t *dims) {
    return pb_tensor(b, name, dtype, rank, dims, 2, b->ninputs++, bump(b, dtype, rank, dims));
}

uint32_t pb_output(pb *b, const char *name, uint8_t dtype, uint32_t rank, const int64_t *dims) {
    return pb_tensor(b, name, dtype, rank, dims, 3, b->noutputs++, bump(b, dtype, rank, dims));
}

uint32_t pb_constant(pb *b, uint8_t dtype, uint32_t rank, const int64_t *dims, const void *data) {
    pad_to(&b->constants, 64);
    uint64_t off = b->constants.size;
    uint32_t id = pb_tensor(b, "", dtype, rank, dims, 1, 0, off);
    put(&b->constants, data, (size_t)b->tensors[id].bytes);
    return id;
}

uint32_t pb_constant_f16(pb *b, uint32_t rank, const int64_t *dims, const uint16_t *halves) {
    pad_to(&b->constants, 64);
    uint64_t off = b->constants.size, count = 1;
    for (uint32_t d = 0; d < rank; d++) count *= (uint64_t)dims[d];
    uint32_t id = pb_tensor(b, "", 1 /* f32 */, rank, dims, 1, 0, off);
    b->tensors[id].flags = 1;
    for (uint64_t i = 0; i < count; i++) put16(&b->constants, halves[i]);
    return id;
}

void pb_set_flags(pb *b, uint32_t id, uint8_t flags) { b->tensors[id].flags = flags; }

void pb_quant(pb *b, uint32_t id, uint32_t count, int32_t axis, const float *scales, const int64_t *zps) {
    tensor *t = &b->tensors[id];
    t->qcount = count;
    t->qaxis = axis;
    t->qoff = b->qparams.size;
    for (uint32_t i = 0; i < count; i++) { uint32_t u; memcpy(&u, &scales[i], 4); put32(&b->qparams, u); }
    for (uint32_t i = 0; i < count; i++) put64(&b->qparams, (uint64_t)zps[i]);
}

void pb_instr(pb *b, uint16_t opcode, const void *attr, uint32_t attr_size, uint32_t nin, const uint32_t *ins,
              uint32_t nout, const uint32_t *outs) {
    uint32_t aoff = (uint32_t)b->attrs.size;
    put(&b->attrs, attr, attr_size);
    pad_to(&b->attrs, 4);
    put16(&b->program, opcode);
    put8(&b->program, (uint8_t)nin);
    put8(&b->program, (uint8_t)nout);
    put32(&b->program, attr_size ? aoff : 0);
    put32(&b->program, attr_size);
    for (uint32_t i = 0; i < nin; i++) put32(&b->program, ins[i]);
    for (uint32_t i = 0; i < nout; i++) put32(&b->program, outs[i]);
    b->ninstr++;
}

void pb_meta(pb *b, const char *key, const char *value) {
    uint32_t kl, vl, ko = add_string(b, key, &kl), vo = add_string(b, value, &vl);
    put32(&b->meta, ko); put32(&b->meta, kl); put32(&b->meta, vo); put32(&b->meta, vl);
    b->nmeta++;
}

void pb_set_arena(pb *b, uint64_t size) { b->arena_override = size; b->has_override = 1; }

typedef struct section { uint32_t kind; buf body; uint64_t usize; } section;

uint8_t *pb_finish(pb *b, size_t *size, int compress, uint16_t major, uint16_t minor) {
    int tables = compress == 2;
    (void)tables;
    section s[7];
    memset(s, 0, sizeof s);
    int n = 0;
    s[n].kind = 1; put(&s[n].body, b->strings.data, b->strings.size); n++;
    s[n].kind = 2; put32(&s[n].body, b->ntensors); put32(&s[n].body, 112);
    for (uint32_t i = 0; i < b->ntensors; i++) {
        tensor *t = &b->tensors[i];
        buf *o = &s[n].body;
        put32(o, t->name_off); put32(o, t->name_len);
        put8(o, t->dtype); put8(o, t->rank); put8(o, t->storage); put8(o, t->flags);
        put32(o, t->io); put64(o, t->offset); put64(o, t->bytes);
        for (int d = 0; d < 8; d++) put64(o, t->dims[d]);
        put32(o, t->qcount); put32(o, (uint32_t)t->qaxis); put64(o, t->qoff);
    }
    n++;
    s[n].kind = 4; put(&s[n].body, b->attrs.data, b->attrs.size); n++;
    s[n].kind = 5; put32(&s[n].body, b->ninstr); put32(&s[n].body, 0);
    put64(&s[n].body, b->has_override ? b->arena_override : b->arena);
    put(&s[n].body, b->program.data, b->program.size); n++;
    s[n].kind = 6; put32(&s[n].body, b->nmeta); put32(&s[n].body, 0); put(&s[n].body, b->meta.data, b->meta.size); n++;
    if (b->qparams.size) { s[n].kind = 7; put(&s[n].body, b->qparams.data, b->qparams.size); n++; }
    s[n].kind = 3;
    s[n].usize = b->constants.size;
#ifdef KILN_USE_ZSTD
    if (compress && b->constants.size) {
        size_t cap = ZSTD_compressBound(b->constants.size);
        uint8_t *z = malloc(cap);
        size_t got = ZSTD_compress(z, cap, b->constants.data, b->constants.size, 3);
        put(&s[n].body, z, got);
        free(z);
    } else
#endif
    {
        compress = 0;
        put(&s[n].body, b->constants.data, b->constants.size);
    }
    n++;
    uint32_t sflags[7] = {0};
    for (int i = 0; i < n; i++) {
        if (s[i].kind == 3) continue;
        s[i].usize = s[i].body.size;
#ifdef KILN_USE_ZSTD
        if (tables) { /* format 1.2: the table sections as zstd frames too */
            size_t cap = ZSTD_compressBound(s[i].body.size);
            uint8_t *z = malloc(cap);
            size_t got = ZSTD_compress(z, cap, s[i].body.data, s[i].body.size, 3);
            free(s[i].body.data);
            s[i].body.data = NULL; s[i].body.size = s[i].body.cap = 0;
            put(&s[i].body, z, got);
            free(z);
            sflags[i] = 2;
        }
#endif
    }

    buf out = {0};
    put(&out, "KILNPLAN", 8);
    put16(&out, major); put16(&out, minor);
    put32(&out, compress ? 1u : 0u);
    put32(&out, (uint32_t)n);
    put32(&out, 0);
    size_t table = out.size;
    for (int i = 0; i < n; i++) for (int k = 0; k < 40; k++) put8(&out, 0);
    for (int i = 0; i < n; i++) {
        pad_to(&out, s[i].kind == 3 ? 64 : 8);
        uint8_t *e;
        uint64_t off = out.size;
        put(&out, s[i].body.data, s[i].body.size);
        e = out.data + table + 40 * (size_t)i;
        uint32_t crc = pb_crc32(s[i].body.data ? s[i].body.data : (const uint8_t *)"", s[i].body.size);
        set32(e, s[i].kind); set32(e + 4, sflags[i]);
        set32(e + 8, (uint32_t)off); set32(e + 12, (uint32_t)(off >> 32));
        set32(e + 16, (uint32_t)s[i].body.size); set32(e + 20, 0);
        set32(e + 24, (uint32_t)s[i].usize); set32(e + 28, 0);
        set32(e + 32, crc); set32(e + 36, 0);
        free(s[i].body.data);
    }
    pb_fix_header_crc(out.data);
    *size = out.size;
    return out.data;
}

void pb_fix_header_crc(uint8_t *plan) {
    uint32_t n = get32(plan + 16);
    size_t len = 24 + 40 * (size_t)n;
    set32(plan + 20, 0);
    set32(plan + 20, pb_crc32(plan, len));
}

int pb_find_section(const uint8_t *plan, size_t size, uint32_t kind, uint64_t *offset, uint64_t *length) {
    (void)size;
    uint32_t n = get32(plan + 16);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = plan + 24 + 40 * (size_t)i;
        if (get32(e) == kind) { *offset = get64(e + 8); *length = get64(e + 16); return 1; }
    }
    return 0;
}

void pb_fix_section_crc(uint8_t *plan, uint32_t kind) {
    uint32_t n = get32(plan + 16);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = plan + 24 + 40 * (size_t)i;
        if (get32(e) == kind) set32(e + 32, pb_crc32(plan + get64(e + 8), (size_t)get64(e + 16)));
    }
    pb_fix_header_crc(plan);
}
