/* session.c — sessions: one arena, a workspace and a thread pool per session, created up
 * front; binding inputs, running the program, reading outputs. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef KILN_USE_BLAS
#include <cblas.h>
#endif

struct kiln_session {
    const kiln_plan *plan;
    uint8_t *arena;
    void **ptr;
    uint8_t *input_set;
    float *workspace;
    size_t workspace_floats;
    kiln_pool *pool;
    uint32_t threads;
    char error[256];
};

static kiln_status session_fail(kiln_session *s, kiln_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return st;
}

kiln_status kiln_session_create(const kiln_plan *plan, uint32_t threads, kiln_session **out, kiln_error *error) {
    if (!plan || !out) return kiln_fail(error, KILN_ERR_INVALID_ARGUMENT, "session: NULL argument");
    *out = NULL;
    if (threads == 0) threads = 1;
    if (threads > 256) return kiln_fail(error, KILN_ERR_INVALID_ARGUMENT, "session: %u threads is too many", threads);
    kiln_session *s = calloc(1, sizeof *s);
    if (!s) return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "session: out of memory");
    s->plan = plan;
    s->threads = threads;
    size_t ws = plan->workspace_floats;
#ifndef KILN_USE_BLAS
    if (kiln_sgemm_workspace_floats() > ws) ws = kiln_sgemm_workspace_floats();
#endif
    s->workspace_floats = ws;
    if (plan->arena_size > SIZE_MAX / 2) { free(s); return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "session: arena too large"); }
    s->arena = kiln_aligned_alloc(plan->arena_size ? (size_t)plan->arena_size : 1);
    s->ptr = calloc(plan->tensor_count ? plan->tensor_count : 1, sizeof(void *));
    s->input_set = calloc(plan->input_count ? plan->input_count : 1, 1);
    s->workspace = ws ? kiln_aligned_alloc(ws * sizeof(float) * threads) : NULL;
    if (!s->arena || !s->ptr || !s->input_set || (ws && !s->workspace)) {
        kiln_session_free(s);
        return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "session: out of memory for a %llu-byte arena",
                         (unsigned long long)plan->arena_size);
    }
    memset(s->arena, 0, plan->arena_size ? (size_t)plan->arena_size : 1);
    for (uint32_t i = 0; i < plan->tensor_count; i++) {
        const kiln_tdesc *t = &plan->tensors[i];
        if (t->storage == KILN_STORAGE_CONSTANT) s->ptr[i] = (void *)(plan->constants ? plan->constants + t->offset : NULL);
        else s->ptr[i] = s->arena + t->offset;
    }
    kiln_status st = kiln_pool_create(threads, &s->pool);
    if (st != KILN_OK) {
        kiln_session_free(s);
        return kiln_fail(error, st, "session: cannot start %u worker threads", threads - 1);
    }
    if (error) { error->status = KILN_OK; error->message[0] = 0; }
    *out = s;
    return KILN_OK;
}

void kiln_session_free(kiln_session *s) {
    if (!s) return;
    kiln_pool_free(s->pool);
    kiln_aligned_free(s->arena);
    kiln_aligned_free(s->workspace);
    free(s->ptr);
    free(s->input_set);
    free(s);
}

const char *kiln_session_error(const kiln_session *s) { return s ? s->error : "session: NULL"; }

uint32_t kiln_session_input_count(const kiln_session *s) { return s ? s->plan->input_count : 0; }
uint32_t kiln_session_output_count(const kiln_session *s) { return s ? s->plan->output_count : 0; }

kiln_status kiln_session_input_info(const kiln_session *s, uint32_t index, kiln_tensor_info *info) {
    return s ? kiln_plan_input_info(s->plan, index, info) : KILN_ERR_INVALID_ARGUMENT;
}

kiln_status kiln_session_output_info(const kiln_session *s, uint32_t index, kiln_tensor_info *info) {
    return s ? kiln_plan_output_info(s->plan, index, info) : KILN_ERR_INVALID_ARGUMENT;
}

kiln_status kiln_session_set_input(kiln_session *s, uint32_t index, const void *data, uint64_t bytes) {
    if (!s) return KILN_ERR_INVALID_ARGUMENT;
    const kiln_plan *p = s->plan;
    if (index >= p->input_count)
        return session_fail(s, KILN_ERR_INVALID_ARGUMENT, "session: input index %u is out of range (%u inputs)", index,
                            p->input_count);
    const kiln_tdesc *t = &p->tensors[p->inputs[index]];
    if (bytes != t->bytes)
        return session_fail(s, KILN_ERR_SIZE_MISMATCH, "session: input \"%s\" needs %llu bytes, got %llu", t->name,
                            (unsigned long long)t->bytes, (unsigned long long)bytes);
    if (!data && bytes) return session_fail(s, KILN_ERR_INVALID_ARGUMENT, "session: input \"%s\" data is NULL", t->name);
    if (bytes) memcpy(s->arena + t->offset, data, (size_t)bytes);
    s->input_set[index] = 1;
    return KILN_OK;
}

kiln_status kiln_session_set_input_by_name(kiln_session *s, const char *name, const void *data, uint64_t bytes) {
    if (!s || !name) return KILN_ERR_INVALID_ARGUMENT;
    uint32_t index;
    if (kiln_plan_input_index(s->plan, name, &index) != KILN_OK)
        return session_fail(s, KILN_ERR_NOT_FOUND, "session: the plan has no input named \"%s\"", name);
    return kiln_session_set_input(s, index, data, bytes);
}

#ifdef KILN_USE_BLAS
static int blas_threads = 0;
#endif

kiln_status kiln_session_run(kiln_session *s) {
    if (!s) return KILN_ERR_INVALID_ARGUMENT;
    const kiln_plan *p = s->plan;
    for (uint32_t i = 0; i < p->input_count; i++)
        if (!s->input_set[i])
            return session_fail(s, KILN_ERR_INPUT_NOT_SET, "session: input \"%s\" is not set",
                                p->tensors[p->inputs[i]].name);
#ifdef KILN_USE_BLAS
    if (blas_threads != (int)s->threads) {
        openblas_set_num_threads((int)s->threads);
        blas_threads = (int)s->threads;
    }
#endif
    kiln_exec e = {p, s->pool, s->ptr, s->workspace, s->workspace_floats, s->threads};
    for (uint32_t i = 0; i < p->instr_count; i++) p->instrs[i].kernel->run(&e, &p->instrs[i]);
    s->error[0] = 0;
    return KILN_OK;
}

kiln_status kiln_session_output(const kiln_session *s, uint32_t index, const void **data, uint64_t *bytes) {
    if (!s || !data || index >= s->plan->output_count) return KILN_ERR_INVALID_ARGUMENT;
    const kiln_tdesc *t = &s->plan->tensors[s->plan->outputs[index]];
    *data = s->arena + t->offset;
    if (bytes) *bytes = t->bytes;
    return KILN_OK;
}

kiln_status kiln_session_output_by_name(const kiln_session *s, const char *name, const void **data, uint64_t *bytes) {
    uint32_t index;
    if (!s) return KILN_ERR_INVALID_ARGUMENT;
    kiln_status st = kiln_plan_output_index(s->plan, name, &index);
    return st != KILN_OK ? st : kiln_session_output(s, index, data, bytes);
}

kiln_status kiln_session_copy_output(kiln_session *s, uint32_t index, void *buffer, uint64_t capacity) {
    const void *data;
    uint64_t bytes;
    if (!s || !buffer) return KILN_ERR_INVALID_ARGUMENT;
    kiln_status st = kiln_session_output(s, index, &data, &bytes);
    if (st != KILN_OK)
        return session_fail(s, st, "session: output index %u is out of range (%u outputs)", index,
                            s->plan->output_count);
    if (capacity < bytes)
        return session_fail(s, KILN_ERR_SIZE_MISMATCH, "session: output \"%s\" needs %llu bytes, buffer holds %llu",
                            s->plan->tensors[s->plan->outputs[index]].name, (unsigned long long)bytes,
                            (unsigned long long)capacity);
    memcpy(buffer, data, (size_t)bytes);
    return KILN_OK;
}
