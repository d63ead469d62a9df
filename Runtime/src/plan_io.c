#define _POSIX_C_SOURCE 200809L
/* plan_io.c — getting a plan's bytes (copy, file read or read-only mapping) and freeing
 * a plan. */
#include "loader.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define KILN_HAVE_MMAP 1
#endif

static kiln_status finish(kiln_plan *p, kiln_plan **out, kiln_error *error) {
    kiln_status st = kiln_plan_parse(p, error);
    if (st != KILN_OK) { kiln_plan_free(p); return st; }
    if (error) { error->status = KILN_OK; error->message[0] = 0; }
    *out = p;
    return KILN_OK;
}

kiln_status kiln_plan_load_memory(const void *data, size_t size, kiln_plan **out, kiln_error *error) {
    if (!out || (!data && size)) return kiln_fail(error, KILN_ERR_INVALID_ARGUMENT, "plan: NULL argument");
    *out = NULL;
    kiln_plan *p = calloc(1, sizeof *p);
    if (!p) return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->buffer = kiln_aligned_alloc(size ? size : 1);
    if (!p->buffer) { free(p); return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory (%zu bytes)", size); }
    if (size) memcpy(p->buffer, data, size);
    p->size = size;
    return finish(p, out, error);
}

kiln_status kiln_plan_load_file(const char *path, kiln_plan **out, kiln_error *error) {
    if (!out || !path) return kiln_fail(error, KILN_ERR_INVALID_ARGUMENT, "plan: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return kiln_fail(error, KILN_ERR_IO, "plan: cannot open %s", path);
#ifdef KILN_HAVE_MMAP
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
        fclose(f);
        return kiln_fail(error, KILN_ERR_IO, "plan: %s is not a regular file", path);
    }
#endif
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return kiln_fail(error, KILN_ERR_IO, "plan: cannot read %s", path); }
    kiln_plan *p = calloc(1, sizeof *p);
    if (p) p->buffer = kiln_aligned_alloc(len ? (size_t)len : 1);
    if (!p || !p->buffer) {
        fclose(f);
        free(p);
        return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory reading %s", path);
    }
    p->size = (size_t)len;
    size_t got = len ? fread(p->buffer, 1, (size_t)len, f) : 0;
    fclose(f);
    if (got != (size_t)len) { kiln_plan_free(p); return kiln_fail(error, KILN_ERR_IO, "plan: short read on %s", path); }
    return finish(p, out, error);
}

kiln_status kiln_plan_load_mmap(const char *path, kiln_plan **out, kiln_error *error) {
#ifdef KILN_HAVE_MMAP
    if (!out || !path) return kiln_fail(error, KILN_ERR_INVALID_ARGUMENT, "plan: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return kiln_fail(error, KILN_ERR_IO, "plan: cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return kiln_fail(error, KILN_ERR_IO, "plan: cannot stat %s", path); }
    if (!S_ISREG(st.st_mode)) { close(fd); return kiln_fail(error, KILN_ERR_IO, "plan: %s is not a regular file", path); }
    if (st.st_size <= 0) { close(fd); return kiln_fail(error, KILN_ERR_BAD_MAGIC, "plan: not a kiln plan (empty file)"); }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return kiln_fail(error, KILN_ERR_IO, "plan: cannot map %s", path);
    kiln_plan *p = calloc(1, sizeof *p);
    if (!p) { munmap(m, (size_t)st.st_size); return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory"); }
    p->buffer = m;
    p->size = (size_t)st.st_size;
    p->mapped = 1;
    return finish(p, out, error);
#else
    return kiln_plan_load_file(path, out, error);
#endif
}

void kiln_plan_free(kiln_plan *p) {
    if (!p) return;
    for (uint32_t i = 0; i < p->tensor_count; i++) {
        free(p->tensors[i].name);
        free(p->tensors[i].scales);
        free(p->tensors[i].zero_points);
    }
    free(p->tensors);
    for (uint32_t i = 0; i < p->instr_count; i++) free(p->instrs[i].params);
    free(p->instrs);
    free(p->id_pool);
    free(p->inputs);
    free(p->outputs);
    for (uint32_t i = 0; i < p->meta_count; i++) { free(p->meta_keys[i]); free(p->meta_values[i]); }
    free(p->meta_keys);
    free(p->meta_values);
    kiln_aligned_free(p->constants_owned);
    for (int k = 0; k < KILN_SECTION_KIND_COUNT; k++) free(p->tables_owned[k]);
    kiln_aligned_free(p->widened_owned);
    kiln_plan_free_blocks(p);
#ifdef KILN_HAVE_MMAP
    if (p->mapped) munmap(p->buffer, p->size);
    else kiln_aligned_free(p->buffer);
#else
    kiln_aligned_free(p->buffer);
#endif
    free(p);
}
