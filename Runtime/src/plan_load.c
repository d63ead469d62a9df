/* plan_load.c — parsing a plan: header, section table, checksums, strings, metadata and
 * constants. The tensor table and the program are validated by plan_tensors.c and
 * plan_program.c; plan_io.c gets the bytes. Every failure returns a status and a one-line
 * message; nothing runs before the whole plan has been checked. */
#include "loader.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef KILN_USE_ZSTD
#include <zstd.h>
#endif

static const uint8_t kMagic[8] = {'K', 'I', 'L', 'N', 'P', 'L', 'A', 'N'};

const char *kiln_section_name(uint32_t kind) {
    switch (kind) {
    case KILN_SECTION_STRINGS: return "STRINGS";
    case KILN_SECTION_TENSORS: return "TENSORS";
    case KILN_SECTION_CONSTANTS: return "CONSTANTS";
    case KILN_SECTION_ATTRIBUTES: return "ATTRIBUTES";
    case KILN_SECTION_PROGRAM: return "PROGRAM";
    case KILN_SECTION_METADATA: return "METADATA";
    case KILN_SECTION_QPARAMS: return "QPARAMS";
    default: return "unknown";
    }
}

/* Strict UTF-8 check (no overlongs, no surrogates, nothing above U+10FFFF) and no NUL. */
static int valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) { i++; continue; }
        size_t len; uint32_t cp;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

kiln_status kiln_load_string(kiln_loader *l, uint32_t off, uint32_t len, const char *what, char **out) {
    const kiln_section *s = &l->sec[KILN_SECTION_STRINGS];
    if ((uint64_t)off + len > s->size)
        return kiln_fail(l->error, KILN_ERR_MALFORMED,
                         "plan: %s string (offset %u, length %u) is outside the STRINGS section (%llu bytes)", what,
                         off, len, (unsigned long long)s->size);
    if (!valid_utf8(s->data + off, len))
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: %s string at offset %u is not valid UTF-8", what, off);
    char *copy = malloc((size_t)len + 1);
    if (!copy) return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    if (len) memcpy(copy, s->data + off, len);
    copy[len] = 0;
    *out = copy;
    return KILN_OK;
}

static kiln_status parse_header(kiln_loader *l) {
    kiln_plan *p = l->plan;
    const uint8_t *b = p->buffer;
    if (p->size < 8 || memcmp(b, kMagic, 8) != 0)
        return kiln_fail(l->error, KILN_ERR_BAD_MAGIC, "plan: not a kiln plan (magic is not \"KILNPLAN\")");
    if (p->size < 12) return kiln_fail(l->error, KILN_ERR_TRUNCATED, "plan: truncated header (%zu bytes)", p->size);
    p->major = kiln_rd16(b + 8);
    p->minor = kiln_rd16(b + 10);
    if (p->major != KILN_FORMAT_MAJOR)
        return kiln_fail(l->error, KILN_ERR_VERSION,
                         "plan: format version %u.%u is not supported by this runtime (reads %u.x, up to %u.%u)",
                         p->major, p->minor, KILN_FORMAT_MAJOR, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    if (p->size < KILN_HEADER_SIZE)
        return kiln_fail(l->error, KILN_ERR_TRUNCATED, "plan: truncated header (%zu bytes)", p->size);
    p->flags = kiln_rd32(b + 12);
    if (p->flags & ~KILN_FLAG_CONSTANTS_ZSTD)
        return kiln_fail(l->error, p->minor > KILN_FORMAT_MINOR ? KILN_ERR_UNSUPPORTED : KILN_ERR_MALFORMED,
                         "plan: unknown header flags 0x%x", (unsigned)p->flags);
    uint32_t count = kiln_rd32(b + 16);
    uint64_t table_end = KILN_HEADER_SIZE + (uint64_t)count * KILN_SECTION_ENTRY_SIZE;
    if (count > 4096)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: implausible section count %u", count);
    if (table_end > p->size)
        return kiln_fail(l->error, KILN_ERR_TRUNCATED, "plan: truncated section table (%u sections, file is %zu bytes)",
                         count, p->size);
    /* Header checksum: CRC-32 of the header and table with the checksum field zeroed. */
    uint32_t stored = kiln_rd32(b + 20);
    uint8_t *tmp = malloc((size_t)table_end);
    if (!tmp) return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    memcpy(tmp, b, (size_t)table_end);
    memset(tmp + 20, 0, 4);
    uint32_t crc = kiln_crc32(tmp, (size_t)table_end);
    free(tmp);
    if (crc != stored) return kiln_fail(l->error, KILN_ERR_CHECKSUM, "plan: header checksum mismatch");

    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = b + KILN_HEADER_SIZE + (size_t)i * KILN_SECTION_ENTRY_SIZE;
        uint32_t kind = kiln_rd32(e), sflags = kiln_rd32(e + 4);
        uint64_t off = kiln_rd64(e + 8), size = kiln_rd64(e + 16), usize = kiln_rd64(e + 24);
        uint32_t scrc = kiln_rd32(e + 32);
        const char *name = kiln_section_name(kind);
        if (off < table_end || off > p->size || size > p->size - off)
            return kiln_fail(l->error, off < table_end ? KILN_ERR_MALFORMED : KILN_ERR_TRUNCATED,
                             "plan: section %u (%s) spans bytes %llu..%llu outside the file body (%llu..%zu)", i, name,
                             (unsigned long long)off, (unsigned long long)(off + size), (unsigned long long)table_end,
                             p->size);
        for (uint32_t j = 0; j < i; j++) {
            const uint8_t *f = b + KILN_HEADER_SIZE + (size_t)j * KILN_SECTION_ENTRY_SIZE;
            uint64_t o2 = kiln_rd64(f + 8), s2 = kiln_rd64(f + 16);
            if (size && s2 && off < o2 + s2 && o2 < off + size)
                return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: sections %u and %u overlap", j, i);
        }
        if (kiln_crc32(b + off, (size_t)size) != scrc)
            return kiln_fail(l->error, KILN_ERR_CHECKSUM, "plan: section %u (%s) checksum mismatch", i, name);
        if (kind == 0 || kind >= KILN_SECTION_KIND_COUNT) {
            if (sflags & KILN_SECTION_OPTIONAL) continue;
            return kiln_fail(l->error, p->minor > KILN_FORMAT_MINOR ? KILN_ERR_UNSUPPORTED : KILN_ERR_MALFORMED,
                             "plan: section %u has unknown kind %u (plan format %u.%u, runtime reads %u.%u)", i, kind,
                             p->major, p->minor, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        }
        kiln_section *s = &l->sec[kind];
        if (s->present) return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: duplicate %s section", name);
        if (sflags & ~(KILN_SECTION_OPTIONAL | KILN_SECTION_ZSTD) || ((sflags & KILN_SECTION_ZSTD) && p->minor < 2))
            return kiln_fail(l->error, p->minor > KILN_FORMAT_MINOR ? KILN_ERR_UNSUPPORTED : KILN_ERR_MALFORMED,
                             "plan: section %u (%s) has unknown flags 0x%x (plan format %u.%u, runtime reads %u.%u)", i,
                             name, (unsigned)sflags, p->major, p->minor, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
        int compressed = (sflags & KILN_SECTION_ZSTD) ||
                         (kind == KILN_SECTION_CONSTANTS && (p->flags & KILN_FLAG_CONSTANTS_ZSTD));
        if (!compressed && usize != size)
            return kiln_fail(l->error, KILN_ERR_MALFORMED,
                             "plan: section %u (%s) is not compressed but its uncompressed size differs", i, name);
        if (kind == KILN_SECTION_CONSTANTS && off % KILN_CONSTANT_ALIGN != 0)
            return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: CONSTANTS section offset %llu is not 64-byte aligned",
                             (unsigned long long)off);
        s->present = 1;
        s->compressed = compressed;
        s->index = i;
        s->data = b + off;
        s->size = size;
        s->uncompressed_size = usize;
    }
    static const uint32_t required[] = {KILN_SECTION_STRINGS, KILN_SECTION_TENSORS, KILN_SECTION_PROGRAM};
    for (size_t r = 0; r < sizeof required / sizeof required[0]; r++)
        if (!l->sec[required[r]].present)
            return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: missing %s section", kiln_section_name(required[r]));
    return KILN_OK;
}

/* Decompresses section s (one zstd frame of s->uncompressed_size bytes) into *out, a
 * 64-byte aligned block when aligned, else a malloc'ed one. */
static kiln_status inflate(kiln_loader *l, const kiln_section *s, const char *name, int aligned, uint8_t **out) {
#ifdef KILN_USE_ZSTD
    /* A zstd block decodes to at most 128 KiB and takes at least 4 bytes (an RLE block), so
     * no frame expands more than 32768-fold: a larger stated size is a corrupt table, and
     * must not cost a huge allocation before decompression fails. */
    if (s->uncompressed_size > (uint64_t)SIZE_MAX / 2 || s->uncompressed_size / 32768 > s->size)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: implausible %s size (%llu bytes from %llu compressed)", name,
                         (unsigned long long)s->uncompressed_size, (unsigned long long)s->size);
    unsigned long long frame = ZSTD_getFrameContentSize(s->data, (size_t)s->size);
    if (frame == ZSTD_CONTENTSIZE_ERROR || (frame != ZSTD_CONTENTSIZE_UNKNOWN && frame != s->uncompressed_size))
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: %s section is not a zstd frame of the stated size (%llu bytes)",
                         name, (unsigned long long)s->uncompressed_size);
    size_t n = (size_t)s->uncompressed_size;
    *out = aligned ? kiln_aligned_alloc(n) : malloc(n ? n : 1);
    if (!*out) return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory for the %s section", name);
    size_t got = ZSTD_decompress(*out, n, s->data, (size_t)s->size);
    if (ZSTD_isError(got) || got != n)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: %s zstd decompression failed (%s)", name,
                         ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size mismatch");
    return KILN_OK;
#else
    (void)s; (void)name; (void)aligned; (void)out;
    return kiln_fail(l->error, KILN_ERR_UNSUPPORTED,
                     "plan is zstd-compressed but this runtime was built without zstd (NO_ZSTD)");
#endif
}

/* Format 1.2: table sections (everything but CONSTANTS) may be stored as zstd frames; each is
 * decompressed once here, and the later stages read the copy (owned by the plan). */
static kiln_status inflate_tables(kiln_loader *l) {
    for (uint32_t k = 1; k < KILN_SECTION_KIND_COUNT; k++) {
        kiln_section *s = &l->sec[k];
        if (k == KILN_SECTION_CONSTANTS || !s->present || !s->compressed) continue;
        kiln_status st = inflate(l, s, kiln_section_name(k), 0, &l->plan->tables_owned[k]);
        if (st != KILN_OK) return st;
        s->data = l->plan->tables_owned[k];
        s->size = s->uncompressed_size;
    }
    return KILN_OK;
}

static kiln_status load_constants(kiln_loader *l) {
    kiln_plan *p = l->plan;
    const kiln_section *s = &l->sec[KILN_SECTION_CONSTANTS];
    if (!s->present || s->uncompressed_size == 0) { p->constants = NULL; p->constants_size = 0; return KILN_OK; }
    if (!s->compressed) {
        p->constants = s->data;
        p->constants_size = s->size;
        return KILN_OK;
    }
    kiln_status st = inflate(l, s, "CONSTANTS", 1, &p->constants_owned);
    if (st != KILN_OK) return st;
    p->constants = p->constants_owned;
    p->constants_size = s->uncompressed_size;
    return KILN_OK;
}

static kiln_status load_metadata(kiln_loader *l) {
    kiln_plan *p = l->plan;
    const kiln_section *s = &l->sec[KILN_SECTION_METADATA];
    if (!s->present) return KILN_OK;
    if (s->size < 8) return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: METADATA section shorter than its header");
    uint32_t count = kiln_rd32(s->data);
    if ((uint64_t)count * 16 != s->size - 8)
        return kiln_fail(l->error, KILN_ERR_MALFORMED, "plan: METADATA holds %u entries but is %llu bytes", count,
                         (unsigned long long)s->size);
    p->meta_keys = calloc(count ? count : 1, sizeof(char *));
    p->meta_values = calloc(count ? count : 1, sizeof(char *));
    if (!p->meta_keys || !p->meta_values) return kiln_fail(l->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = s->data + 8 + (size_t)i * 16;
        p->meta_count = i + 1;
        kiln_status st = kiln_load_string(l, kiln_rd32(e), kiln_rd32(e + 4), "metadata key", &p->meta_keys[i]);
        if (st == KILN_OK) st = kiln_load_string(l, kiln_rd32(e + 8), kiln_rd32(e + 12), "metadata value", &p->meta_values[i]);
        if (st != KILN_OK) return st;
    }
    return KILN_OK;
}

kiln_status kiln_plan_parse(kiln_plan *p, kiln_error *error) {
    uint16_t probe = 1;
    if (*(uint8_t *)&probe != 1)
        return kiln_fail(error, KILN_ERR_UNSUPPORTED, "plan: this runtime supports little-endian hosts only");
    kiln_loader l;
    memset(&l, 0, sizeof l);
    l.plan = p;
    l.error = error;
    kiln_status st = parse_header(&l);
    if (st == KILN_OK) st = inflate_tables(&l);
    if (st == KILN_OK) st = load_metadata(&l);
    if (st == KILN_OK) st = load_constants(&l);
    if (st == KILN_OK) st = kiln_load_tensors(&l);
    if (st == KILN_OK) st = kiln_place_constants(&l);
    if (st == KILN_OK) st = kiln_load_program(&l);
#ifndef KILN_NO_PREPACK                 /* size builds pack nothing at load (Makefile) */
    if (st == KILN_OK) st = kiln_prepare_program(&l);
#endif
    return st;
}

