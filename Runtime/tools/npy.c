/* npy.c — see npy.h. The header is a Python dict literal:
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and '\n'. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *descr; kiln_dtype dtype; } kTypes[] = {
    {"f4", KILN_F32}, {"f8", KILN_F64}, {"f2", KILN_F16}, {"i1", KILN_I8}, {"u1", KILN_U8}, {"i2", KILN_I16},
    {"u2", KILN_U16}, {"i4", KILN_I32}, {"u4", KILN_U32}, {"i8", KILN_I64}, {"u8", KILN_U64}, {"b1", KILN_BOOL},
};

void npy_format_shape(uint32_t rank, const int64_t *dims, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "(");
    for (uint32_t i = 0; i < rank && n < size; i++) n += (size_t)snprintf(buf + n, size - n, i ? ", %lld" : "%lld", (long long)dims[i]);
    if (n < size) snprintf(buf + n, size - n, rank == 1 ? ",)" : ")");
}

static int fail(char *err, size_t size, const char *path, const char *msg) {
    snprintf(err, size, "%s: %s", path, msg);
    return 1;
}

/* Finds the value text after 'key': in the header dict. */
static const char *find_key(const char *h, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static int parse_header(const char *h, npy_array *a, const char *path, char *err, size_t es) {
    const char *d = find_key(h, "descr"), *f = find_key(h, "fortran_order"), *s = find_key(h, "shape");
    if (!d || !f || !s) return fail(err, es, path, "malformed .npy header (needs descr, fortran_order and shape)");
    if (*d != '\'') return fail(err, es, path, "structured or object arrays are not supported");
    char descr[16] = {0};
    size_t n = 0;
    d++;
    while (*d && *d != '\'' && n < sizeof descr - 1) descr[n++] = *d++;
    if (*d != '\'') return fail(err, es, path, "malformed descr in .npy header");
    if (strncmp(f, "True", 4) == 0) return fail(err, es, path, "Fortran-order arrays are not supported (save with C order)");
    if (strncmp(f, "False", 5) != 0) return fail(err, es, path, "malformed fortran_order in .npy header");
    if (descr[0] == 'O' || (n > 1 && descr[1] == 'O')) return fail(err, es, path, "object arrays are not supported");
    const char *body = descr;
    if (descr[0] == '<' || descr[0] == '|' || descr[0] == '=') body = descr + 1;
    else if (descr[0] == '>' && !(descr[2] == '1' && descr[3] == 0)) return fail(err, es, path, "big-endian arrays are not supported");
    else if (descr[0] == '>') body = descr + 1;
    int found = 0;
    for (size_t i = 0; i < sizeof kTypes / sizeof kTypes[0]; i++)
        if (strcmp(body, kTypes[i].descr) == 0) { a->dtype = kTypes[i].dtype; found = 1; }
    if (!found) {
        char msg[64];
        snprintf(msg, sizeof msg, "unsupported dtype '%s'", descr);
        return fail(err, es, path, msg);
    }
    if (*s != '(') return fail(err, es, path, "malformed shape in .npy header");
    s++;
    a->rank = 0;
    for (;;) {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        if (*s < '0' || *s > '9') return fail(err, es, path, "malformed shape in .npy header");
        if (a->rank >= KILN_MAX_RANK) return fail(err, es, path, "more than 8 dimensions");
        int64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v > ((int64_t)1 << 48)) return fail(err, es, path, "dimension too large");
            v = v * 10 + (*s++ - '0');
        }
        if (*s == 'L') s++;
        a->dims[a->rank++] = v;
    }
    return 0;
}

int npy_read(const char *path, npy_array *a, char *err, size_t es) {
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, es, path, "cannot open file");
    int bad = npy_read_stream(f, path, a, err, es);
    fclose(f);
    return bad;
}

int npy_read_stream(FILE *f, const char *path, npy_array *a, char *err, size_t es) {
    memset(a, 0, sizeof *a);
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, f);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) return fail(err, es, path, "not a .npy file");
    uint32_t major = pre[6], hlen;
    if (major == 1) hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) return fail(err, es, path, "truncated .npy header");
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    } else return fail(err, es, path, "unsupported .npy format version");
    if (hlen > (1u << 20)) return fail(err, es, path, "implausible .npy header length");
    char *h = malloc(hlen + 1);
    if (!h || fread(h, 1, hlen, f) != hlen) { free(h); return fail(err, es, path, "truncated .npy header"); }
    h[hlen] = 0;
    int bad = parse_header(h, a, path, err, es);
    free(h);
    if (bad) return 1;
    uint64_t count = 1;
    for (uint32_t i = 0; i < a->rank; i++) {
        if (a->dims[i] && count > (UINT64_C(1) << 56) / (uint64_t)a->dims[i]) return fail(err, es, path, "array too large");
        count *= (uint64_t)a->dims[i];
    }
    a->bytes = count * kiln_dtype_size(a->dtype);
    /* A header may claim any shape: check the data is there before allocating for it. */
    long here = ftell(f), end = -1;
    if (here >= 0 && fseek(f, 0, SEEK_END) == 0) end = ftell(f);
    if (here >= 0 && fseek(f, here, SEEK_SET) != 0) return fail(err, es, path, "cannot read file");
    if (end >= here && here >= 0 && (uint64_t)(end - here) < a->bytes) {
        char msg[96];
        snprintf(msg, sizeof msg, "truncated data (%llu of %llu bytes)", (unsigned long long)(end - here),
                 (unsigned long long)a->bytes);
        return fail(err, es, path, msg);
    }
    a->data = malloc(a->bytes ? (size_t)a->bytes : 1);
    if (!a->data) return fail(err, es, path, "out of memory");
    got = a->bytes ? fread(a->data, 1, (size_t)a->bytes, f) : 0;
    if (got != a->bytes) {
        char msg[96];
        snprintf(msg, sizeof msg, "truncated data (%zu of %llu bytes)", got, (unsigned long long)a->bytes);
        npy_free(a);
        return fail(err, es, path, msg);
    }
    return 0;
}

int npy_write(const char *path, kiln_dtype dtype, uint32_t rank, const int64_t *dims, const void *data, uint64_t bytes,
              char *err, size_t es) {
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof kTypes / sizeof kTypes[0]; i++)
        if (kTypes[i].dtype == dtype) descr = kTypes[i].descr;
    if (dtype == KILN_BF16) descr = "u2"; /* numpy has no bfloat16: raw bits */
    if (!descr) return fail(err, es, path, "cannot write this dtype");
    char shape[200], header[300];
    npy_format_shape(rank, dims, shape, sizeof shape);
    int n = snprintf(header, sizeof header, "{'descr': '%c%s', 'fortran_order': False, 'shape': %s, }",
                     kiln_dtype_size(dtype) == 1 ? '|' : '<', descr, shape);
    size_t total = 10 + (size_t)n + 1, padded = (total + 63) / 64 * 64;
    FILE *f = fopen(path, "wb");
    if (!f) return fail(err, es, path, "cannot create file");
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    size_t hlen = padded - 10;
    pre[8] = (unsigned char)(hlen & 0xFF);
    pre[9] = (unsigned char)(hlen >> 8);
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 10 + (size_t)n; ok && i < padded - 1; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && (bytes == 0 || fwrite(data, 1, (size_t)bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : fail(err, es, path, "write failed");
}

void npy_free(npy_array *a) {
    free(a->data);
    a->data = NULL;
}
