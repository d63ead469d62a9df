/* plan_check.c — helpers the kernels' load-time checks use to report precise errors. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

kiln_status kiln_fail(kiln_error *error, kiln_status status, const char *fmt, ...) {
    if (error) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error->message, sizeof error->message, fmt, ap);
        va_end(ap);
        error->status = status;
    }
    return status;
}

kiln_status kiln_check_fail(kiln_check *c, const char *fmt, ...) {
    if (c->error) {
        char detail[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
        snprintf(c->error->message, sizeof c->error->message, "plan: instruction %u (%s): %s",
                 c->index, c->ins->kernel ? c->ins->kernel->name : "?", detail);
        c->error->status = KILN_ERR_MALFORMED;
    }
    return KILN_ERR_MALFORMED;
}

const kiln_tdesc *kiln_operand(const kiln_check *c, uint32_t i) {
    if (i >= c->ins->nin) return NULL;
    uint32_t id = c->ins->ids[i];
    return id == KILN_NO_TENSOR ? NULL : &c->plan->tensors[id];
}

const kiln_tdesc *kiln_result(const kiln_check *c, uint32_t i) {
    if (i >= c->ins->nout) return NULL;
    uint32_t id = c->ins->ids[c->ins->nin + i];
    return id == KILN_NO_TENSOR ? NULL : &c->plan->tensors[id];
}

void *kiln_params_alloc(kiln_check *c, size_t size) {
    free(c->ins->params);
    c->ins->params = calloc(1, size ? size : 1);
    return c->ins->params;
}

int kiln_same_dims(const kiln_tdesc *a, const kiln_tdesc *b) {
    if (a->rank != b->rank) return 0;
    for (unsigned i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

void kiln_format_dims(const kiln_tdesc *t, char *buf, size_t size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (unsigned i = 0; i < t->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ",%lld" : "%lld", (long long)t->dims[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

kiln_status kiln_require_present(kiln_check *c, const kiln_tdesc *t, const char *what) {
    return t ? KILN_OK : kiln_check_fail(c, "%s is required", what);
}

kiln_status kiln_require_dtype(kiln_check *c, const kiln_tdesc *t, const char *what, uint8_t dtype) {
    if (!t) return kiln_check_fail(c, "%s is required", what);
    if (t->dtype != dtype)
        return kiln_check_fail(c, "%s has dtype %s, expected %s", what, kiln_dtype_name((kiln_dtype)t->dtype),
                               kiln_dtype_name((kiln_dtype)dtype));
    return KILN_OK;
}

void kiln_need_workspace(kiln_check *c, size_t floats) {
    if (floats > c->plan->workspace_floats) c->plan->workspace_floats = floats;
}

kiln_status kiln_check_act(kiln_check *c, const uint8_t *p, kiln_act *act) {
    act->func = kiln_rdi32(p);
    act->alpha = kiln_rdf32(p + 4);
    act->beta = kiln_rdf32(p + 8);
    if (!kiln_unary_valid_on_f32(act->func))
        return kiln_check_fail(c, "unknown fused activation %d", (int)act->func);
    return KILN_OK;
}

void kiln_apply_act(const kiln_act *act, float *x, size_t n) {
    if (act->func != KILN_UNARY_IDENTITY) kiln_unary_f32(act->func, act->alpha, act->beta, x, x, n);
}
