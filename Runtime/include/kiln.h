/* kiln.h — the Kiln runtime's whole public API (C99).
 *
 * Usage:
 *
 *     #include "kiln.h"
 *
 *     kiln_error err;
 *     kiln_plan *plan = NULL;
 *     kiln_session *session = NULL;
 *     if (kiln_plan_load_file("model.kplan", &plan, &err) != KILN_OK) {
 *         fprintf(stderr, "%s\n", err.message);          // e.g. "plan: section 3 (CONSTANTS) checksum mismatch"
 *         return 1;
 *     }
 *     if (kiln_session_create(plan, 1, &session, &err) != KILN_OK) { ... }
 *
 *     float image[1 * 3 * 224 * 224];                      // fill it
 *     if (kiln_session_set_input_by_name(session, "input", image, sizeof image) != KILN_OK ||
 *         kiln_session_run(session) != KILN_OK) {
 *         fprintf(stderr, "%s\n", kiln_session_error(session));
 *     }
 *     const void *logits; uint64_t bytes;
 *     kiln_session_output(session, 0, &logits, &bytes);   // valid until the next run or free
 *
 *     kiln_session_free(session);
 *     kiln_plan_free(plan);                               // after every session using it
 *
 * Rules:
 * - Every function that can fail returns a kiln_status; nothing aborts or exits.
 *   Loading and session creation describe failures in an optional kiln_error; the other
 *   session calls keep their last failure in kiln_session_error(session).
 * - The loader validates the whole plan (header, checksums, every offset, id, dtype,
 *   opcode and attribute) before anything runs. A truncated, corrupt or too-new file is
 *   an error code and a message, never a crash.
 * - A loaded plan is immutable: several sessions, on several threads, may share one plan.
 *   A session is used by one thread at a time.
 * - Running allocates nothing: a session owns one arena whose size the plan states, plus
 *   a fixed workspace and its worker threads, all created by kiln_session_create.
 * - Inputs are copied into the session's arena by kiln_session_set_input*; the program
 *   never writes to them, so bound inputs stay valid across runs.
 * - Threads: `threads` worker threads (the caller counts as one) split the heavy kernels.
 *   When the runtime is built with OpenBLAS, kiln_session_run also sets OpenBLAS's
 *   thread count (a process-wide setting) to the session's `threads`.
 * - Little-endian hosts only (every current x86-64 and ARM64 target).
 */
#ifndef KILN_H
#define KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Plan format version this runtime reads (see Runtime/PLAN_FORMAT.md). */
#define KILN_FORMAT_MAJOR 1
#define KILN_FORMAT_MINOR 3
#define KILN_MAX_RANK 8

typedef enum kiln_status {
    KILN_OK = 0,
    KILN_ERR_INVALID_ARGUMENT = 1,   /* a NULL pointer, an index out of range, ... */
    KILN_ERR_OUT_OF_MEMORY = 2,
    KILN_ERR_IO = 3,                 /* file could not be opened / read / mapped */
    KILN_ERR_BAD_MAGIC = 4,          /* not a Kiln plan */
    KILN_ERR_VERSION = 5,            /* plan written for a newer format major version */
    KILN_ERR_TRUNCATED = 6,          /* file shorter than its header or section table says */
    KILN_ERR_CHECKSUM = 7,           /* a section's or the header's CRC-32 does not match */
    KILN_ERR_MALFORMED = 8,          /* an offset, id, dtype, shape or attribute is invalid */
    KILN_ERR_UNSUPPORTED = 9,        /* valid plan this build cannot run (zstd, new opcode) */
    KILN_ERR_NOT_FOUND = 10,         /* no input/output/metadata with that name */
    KILN_ERR_INPUT_NOT_SET = 11,     /* kiln_session_run before every input was bound */
    KILN_ERR_SIZE_MISMATCH = 12,     /* input bytes do not match the input's dtype and shape */
    KILN_ERR_THREAD = 13             /* worker threads could not be created */
} kiln_status;

/* Element types; the codes are the plan format's dtype codes. */
typedef enum kiln_dtype {
    KILN_F32 = 1, KILN_F16 = 2, KILN_BF16 = 3, KILN_F64 = 4,
    KILN_I8 = 5, KILN_U8 = 6, KILN_I16 = 7, KILN_U16 = 8,
    KILN_I32 = 9, KILN_U32 = 10, KILN_I64 = 11, KILN_U64 = 12,
    KILN_BOOL = 13
} kiln_dtype;

/* Detail of a failed load or session creation. */
typedef struct kiln_error {
    kiln_status status;
    char message[256];
} kiln_error;

/* Describes one input or output. `name` lives as long as the plan. */
typedef struct kiln_tensor_info {
    const char *name;
    kiln_dtype dtype;
    uint32_t rank;
    int64_t dims[KILN_MAX_RANK];
    uint64_t byte_size;
} kiln_tensor_info;

typedef struct kiln_plan kiln_plan;
typedef struct kiln_session kiln_session;

/* ---- library ---- */

/* Version string of this runtime build, e.g. "0.1.0". */
const char *kiln_version(void);
/* Static one-line description of a status, e.g. "checksum mismatch". */
const char *kiln_status_message(kiln_status status);
/* Size in bytes of one element of `dtype`, 0 for an unknown code. */
uint32_t kiln_dtype_size(kiln_dtype dtype);
/* Short name of `dtype` ("f32", "i64", ...), "?" for an unknown code. */
const char *kiln_dtype_name(kiln_dtype dtype);
/* 1 if this build decompresses zstd plans, 0 if built with NO_ZSTD. */
int kiln_has_zstd(void);
/* 1 if GEMMs go through OpenBLAS, 0 for the portable C GEMM (NO_BLAS). */
int kiln_has_blas(void);

/* ---- plans ---- */

/* Loads a plan from `size` bytes at `data`; the bytes are copied, the caller keeps them. */
kiln_status kiln_plan_load_memory(const void *data, size_t size, kiln_plan **plan, kiln_error *error);
/* Reads the plan file at `path` into memory. */
kiln_status kiln_plan_load_file(const char *path, kiln_plan **plan, kiln_error *error);
/* Maps the plan file at `path` read-only; an uncompressed plan's weights are used in place
 * (zero copies). Falls back to kiln_plan_load_file where mmap is unavailable. */
kiln_status kiln_plan_load_mmap(const char *path, kiln_plan **plan, kiln_error *error);
/* Frees a plan; every session created from it must be freed first. NULL is allowed. */
void kiln_plan_free(kiln_plan *plan);

/* Format version the plan was written with. */
void kiln_plan_format_version(const kiln_plan *plan, uint16_t *major, uint16_t *minor);
/* Bytes of arena each session of this plan allocates. */
uint64_t kiln_plan_arena_size(const kiln_plan *plan);
uint32_t kiln_plan_instruction_count(const kiln_plan *plan);
uint32_t kiln_plan_input_count(const kiln_plan *plan);
uint32_t kiln_plan_output_count(const kiln_plan *plan);
kiln_status kiln_plan_input_info(const kiln_plan *plan, uint32_t index, kiln_tensor_info *info);
kiln_status kiln_plan_output_info(const kiln_plan *plan, uint32_t index, kiln_tensor_info *info);
/* Index of the input / output called `name`. */
kiln_status kiln_plan_input_index(const kiln_plan *plan, const char *name, uint32_t *index);
kiln_status kiln_plan_output_index(const kiln_plan *plan, const char *name, uint32_t *index);
/* Metadata entries (producer, producer_version, source_sha256, pipeline, ...). */
uint32_t kiln_plan_metadata_count(const kiln_plan *plan);
kiln_status kiln_plan_metadata_entry(const kiln_plan *plan, uint32_t index, const char **key, const char **value);
kiln_status kiln_plan_metadata(const kiln_plan *plan, const char *key, const char **value);

/* ---- sessions ---- */

/* Creates a session: its arena, workspace and `threads - 1` worker threads (0 means 1). */
kiln_status kiln_session_create(const kiln_plan *plan, uint32_t threads, kiln_session **session, kiln_error *error);
void kiln_session_free(kiln_session *session);
/* The message of the session's last failed call ("" if none). */
const char *kiln_session_error(const kiln_session *session);

uint32_t kiln_session_input_count(const kiln_session *session);
kiln_status kiln_session_input_info(const kiln_session *session, uint32_t index, kiln_tensor_info *info);
uint32_t kiln_session_output_count(const kiln_session *session);
kiln_status kiln_session_output_info(const kiln_session *session, uint32_t index, kiln_tensor_info *info);

/* Copies `bytes` bytes (exactly the input's byte size, little-endian, row-major) into the
 * input's place in the arena. */
kiln_status kiln_session_set_input(kiln_session *session, uint32_t index, const void *data, uint64_t bytes);
kiln_status kiln_session_set_input_by_name(kiln_session *session, const char *name, const void *data, uint64_t bytes);

/* Runs the program once. Every input must have been bound (once is enough). */
kiln_status kiln_session_run(kiln_session *session);

/* Points `*data` at output `index` inside the arena (valid until the next run or free). */
kiln_status kiln_session_output(const kiln_session *session, uint32_t index, const void **data, uint64_t *bytes);
kiln_status kiln_session_output_by_name(const kiln_session *session, const char *name, const void **data, uint64_t *bytes);
/* Copies output `index` into `buffer`, which holds `capacity` bytes (at least its size). */
kiln_status kiln_session_copy_output(kiln_session *session, uint32_t index, void *buffer, uint64_t capacity);

#ifdef __cplusplus
}
#endif
#endif
