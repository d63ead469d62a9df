/* session.c — sessions: one arena, a workspace and a thread pool per session, created up
 * front; binding inputs, running the program, reading outputs.
 * Profiling (opt-in): with KILN_PROFILE=1 in the environment when the session is created,
 * every instruction is timed and kiln_session_free prints the time per kernel and the
 * slowest instructions to stderr (KILN_PROFILE=cpu: the calling thread's CPU time instead of
 * wall time, steadier on a busy machine at 1 thread; KILN_PROFILE_TOP=N lists the N slowest
 * instructions instead of 15). Without it the run loop does no timing.
 * Thread policy: an instruction whose operands and results hold fewer than
 * KILN_SERIAL_ELEMS elements in all runs on the calling thread alone (its kernel sees one
 * thread and no pool): waking a worker costs more than such a layer's whole work (tiny
 * models ran 1.5-3x slower at 2 threads than at 1 on a busy 2-core machine).
 * KILN_SERIAL_ELEMS=N in the environment sets the limit (0: never; the C tests use it to
 * reach every kernel's threaded path with small tensors). */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <time.h>

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
    uint8_t *serial;             /* per instruction: run on the calling thread only */
    double *profile;             /* seconds per instruction, summed over runs (KILN_PROFILE) */
    uint64_t profile_runs;
    int profile_cpu;
    char error[256];
};

#define KILN_SERIAL_ELEMS 65536u

static double now_seconds(int cpu) {
    struct timespec ts;
    clock_gettime(cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Per kernel: total ms per run and instruction count; then the 15 slowest instructions. */
static void profile_report(const kiln_session *s) {
    const kiln_plan *p = s->plan;
    if (!s->profile_runs) return;
    double runs = (double)s->profile_runs, total = 0;
    const kiln_kernel *kinds[64];
    double kind_ms[64];
    uint32_t kind_n[64], nk = 0;
    for (uint32_t i = 0; i < p->instr_count; i++) {
        const kiln_kernel *k = p->instrs[i].kernel;
        uint32_t j = 0;
        while (j < nk && kinds[j] != k) j++;
        if (j == nk) {
            if (nk == 64) continue;
            kinds[nk] = k; kind_ms[nk] = 0; kind_n[nk] = 0; nk++;
        }
        kind_ms[j] += s->profile[i] * 1e3 / runs;
        kind_n[j]++;
        total += s->profile[i] * 1e3 / runs;
    }
    fprintf(stderr, "kiln profile: %llu runs, %.3f ms %s per run, %u threads\n", (unsigned long long)s->profile_runs,
            total, s->profile_cpu ? "CPU" : "wall", s->threads);
    for (uint32_t a = 0; a < nk; a++)
        for (uint32_t b = a + 1; b < nk; b++)
            if (kind_ms[b] > kind_ms[a]) {
                double t = kind_ms[a]; kind_ms[a] = kind_ms[b]; kind_ms[b] = t;
                uint32_t c = kind_n[a]; kind_n[a] = kind_n[b]; kind_n[b] = c;
                const kiln_kernel *k = kinds[a]; kinds[a] = kinds[b]; kinds[b] = k;
            }
    for (uint32_t a = 0; a < nk; a++)
        fprintf(stderr, "  %-20s %4u instr %9.3f ms %5.1f%%\n", kinds[a]->name, kind_n[a], kind_ms[a],
                total > 0 ? 100 * kind_ms[a] / total : 0);
    const char *top_env = getenv("KILN_PROFILE_TOP"); /* how many slowest instructions to list (15) */
    uint32_t top = top_env ? (uint32_t)strtoul(top_env, NULL, 10) : 15, ns = 0;
    uint32_t *shown = calloc(top ? top : 1, sizeof(uint32_t));
    if (!shown) return;
    for (; ns < top && ns < p->instr_count; ns++) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < p->instr_count; i++) {
            int taken = 0;
            for (uint32_t k = 0; k < ns; k++) taken |= shown[k] == i;
            if (!taken && (best == UINT32_MAX || s->profile[i] > s->profile[best])) best = i;
        }
        shown[ns] = best;
        const kiln_instr *in = &p->instrs[best];
        uint32_t r = 0; /* first present result (e.g. a recurrent op's Y may be absent) */
        while (r + 1 < in->nout && in->ids[in->nin + r] == KILN_NO_TENSOR) r++;
        uint32_t id = in->ids[in->nin + r];
        fprintf(stderr, "  #%-4u %-18s %9.3f ms  -> %s\n", best, in->kernel->name, s->profile[best] * 1e3 / runs,
                id == KILN_NO_TENSOR ? "(none)" : p->tensors[id].name);
    }
    free(shown);
}

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
    if (kiln_sgemm_workspace_floats() > ws) ws = kiln_sgemm_workspace_floats();   /* packing (gemm_blocked.c) */
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
        if (t->storage == KILN_STORAGE_CONSTANT) s->ptr[i] = (void *)t->data;
        else s->ptr[i] = s->arena + t->offset;
    }
    const char *serial_env = getenv("KILN_SERIAL_ELEMS"); /* tests set 0: every kernel's threaded path */
    uint64_t serial_below = serial_env && *serial_env ? strtoull(serial_env, NULL, 10) : KILN_SERIAL_ELEMS;
    if (threads > 1 && serial_below > 0) {
        s->serial = calloc(plan->instr_count ? plan->instr_count : 1, 1);
        if (!s->serial) {
            kiln_session_free(s);
            return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "session: out of memory");
        }
        for (uint32_t i = 0; i < plan->instr_count; i++) {
            const kiln_instr *in = &plan->instrs[i];
            uint64_t elems = 0;
            for (uint32_t k = 0; k < (uint32_t)in->nin + in->nout; k++)
                if (in->ids[k] != KILN_NO_TENSOR) elems += plan->tensors[in->ids[k]].count;
            s->serial[i] = elems < serial_below;
        }
    }
    const char *prof = getenv("KILN_PROFILE");
    if (prof && *prof && strcmp(prof, "0") != 0) {
        s->profile = calloc(plan->instr_count ? plan->instr_count : 1, sizeof(double));
        s->profile_cpu = strcmp(prof, "cpu") == 0;
        if (!s->profile) {
            kiln_session_free(s);
            return kiln_fail(error, KILN_ERR_OUT_OF_MEMORY, "session: out of memory");
        }
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
    if (s->profile) profile_report(s);
    free(s->profile);
    free(s->serial);
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
    /* OpenBLAS stays single-threaded: large GEMMs are split over the session's own pool
     * (kiln_sgemm), small ones never wait for a thread to wake. */
    if (blas_threads != 1) {
        openblas_set_num_threads(1);
        blas_threads = 1;
    }
#endif
    kiln_exec e = {p, s->pool, s->ptr, s->workspace, s->workspace_floats, s->threads};
    kiln_exec e1 = {p, NULL, s->ptr, s->workspace, s->workspace_floats, 1};
    if (s->profile) {
        for (uint32_t i = 0; i < p->instr_count; i++) {
            double t0 = now_seconds(s->profile_cpu);
            p->instrs[i].kernel->run(s->serial && s->serial[i] ? &e1 : &e, &p->instrs[i]);
            s->profile[i] += now_seconds(s->profile_cpu) - t0;
        }
        s->profile_runs++;
    } else {
        for (uint32_t i = 0; i < p->instr_count; i++)
            p->instrs[i].kernel->run(s->serial && s->serial[i] ? &e1 : &e, &p->instrs[i]);
    }
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
