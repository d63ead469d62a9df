/* npy.h — a small reader/writer for NumPy .npy files (format 1.0, 2.0 and 3.0, C order,
 * little-endian or single-byte dtypes). */
#ifndef KILN_NPY_H
#define KILN_NPY_H

#include "kiln.h"

#include <stdio.h>

typedef struct npy_array {
    kiln_dtype dtype;
    uint32_t rank;
    int64_t dims[KILN_MAX_RANK];
    void *data;
    uint64_t bytes;
} npy_array;

/* Reads `path`; on failure returns nonzero with a one-line reason in err. */
int npy_read(const char *path, npy_array *out, char *err, size_t err_size);
/* The same from an open stream; `path` only names it in messages. */
int npy_read_stream(FILE *f, const char *path, npy_array *out, char *err, size_t err_size);
/* Writes a .npy (format 1.0); returns nonzero with a reason on failure. */
int npy_write(const char *path, kiln_dtype dtype, uint32_t rank, const int64_t *dims, const void *data, uint64_t bytes,
              char *err, size_t err_size);
void npy_free(npy_array *a);
/* "(1, 3, 224, 224)" */
void npy_format_shape(uint32_t rank, const int64_t *dims, char *buf, size_t size);

#endif
