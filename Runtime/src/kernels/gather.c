/* gather.c — indexing and generators; any data dtype unless stated.
 * GATHER (attrs: i32 axis): data, indices (i32/i64, negative counts from the end) →
 *   data.shape[:axis] + indices.shape + data.shape[axis+1:]. An out-of-range index yields
 *   zeros (the runtime never traps; ONNX calls it an error).
 * GATHER_ELEMENTS (attrs: i32 axis): data, indices of data's rank → indices.shape.
 * ONE_HOT (attrs: i32 axis): indices (i32/i64/f32), values [2] (off, on) → the result with
 *   depth = result.dims[axis]; negative indices add depth; out of range → all off.
 * TRILU (attrs: i32 upper, i32 reserved, i64 k): keeps x[..., i, j] where j - i >= k
 *   (upper) or j - i <= k (lower), else zero.
 * RANGE (no attrs): start, limit, delta scalars (f32/i32/i64) → [count], start + i * delta. */
#include "common.h"

static int64_t load_index(const void *p, uint8_t dtype, int64_t i) {
    if (dtype == KILN_I32) return ((const int32_t *)p)[i];
    if (dtype == KILN_I64) return ((const int64_t *)p)[i];
    float f = ((const float *)p)[i];
    return (f != f || f < -9e18f || f > 9e18f) ? -1 : (int64_t)f;
}

typedef struct gather_params { int64_t outer, n, inner, count, bytes; uint8_t idx_dtype; int32_t axis; uint32_t rank; int64_t dims[KILN_MAX_RANK]; } gather_params;

KILN_SMALL_CODE static kiln_status check_gather(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *ix = kiln_operand(c, 1), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, x, "data")) || (st = kiln_require_present(c, ix, "indices")) ||
        (st = kiln_require_present(c, y, "result")))
        return st;
    if (ix->dtype != KILN_I32 && ix->dtype != KILN_I64) return kiln_check_fail(c, "indices must be i32 or i64");
    int32_t axis = kiln_norm_axis(kiln_rdi32(c->attr), x->rank);
    if (axis < 0 || y->dtype != x->dtype) return kiln_check_fail(c, "axis out of range or result dtype differs");
    gather_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->outer = kiln_dims_product(x, 0, (uint32_t)axis);
    p->n = x->dims[axis];
    p->inner = kiln_dims_product(x, (uint32_t)axis + 1, x->rank);
    p->count = (int64_t)ix->count;
    p->bytes = kiln_dtype_bytes(x->dtype);
    p->idx_dtype = ix->dtype;
    if (y->rank != x->rank - 1 + ix->rank) return kiln_check_fail(c, "result rank does not match");
    uint32_t k = 0;
    for (uint32_t d = 0; d < (uint32_t)axis; d++) if (y->dims[k++] != x->dims[d]) return kiln_check_fail(c, "result shape does not match");
    for (uint32_t d = 0; d < ix->rank; d++) if (y->dims[k++] != ix->dims[d]) return kiln_check_fail(c, "result shape does not match");
    for (uint32_t d = (uint32_t)axis + 1; d < x->rank; d++) if (y->dims[k++] != x->dims[d]) return kiln_check_fail(c, "result shape does not match");
    return KILN_OK;
}

static void run_gather(const kiln_exec *e, const kiln_instr *ins) {
    const gather_params *p = ins->params;
    const uint8_t *x = KILN_IN(e, ins, 0);
    const void *ix = KILN_IN(e, ins, 1);
    uint8_t *y = KILN_OUT(e, ins, 0);
    size_t block = (size_t)(p->inner * p->bytes);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t t = 0; t < p->count; t++) {
            int64_t i = load_index(ix, p->idx_dtype, t);
            if (i < 0) i += p->n;
            uint8_t *dst = y + (o * p->count + t) * (int64_t)block;
            if (i < 0 || i >= p->n) memset(dst, 0, block);
            else memcpy(dst, x + (o * p->n + i) * (int64_t)block, block);
        }
}

KILN_SMALL_CODE static kiln_status check_gather_elements(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *ix = kiln_operand(c, 1), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, x, "data")) || (st = kiln_require_present(c, ix, "indices")) ||
        (st = kiln_require_present(c, y, "result")))
        return st;
    if (ix->dtype != KILN_I32 && ix->dtype != KILN_I64) return kiln_check_fail(c, "indices must be i32 or i64");
    int32_t axis = kiln_norm_axis(kiln_rdi32(c->attr), x->rank);
    if (axis < 0 || y->dtype != x->dtype || ix->rank != x->rank || !kiln_same_dims(ix, y))
        return kiln_check_fail(c, "needs indices of the data's rank and a result shaped like the indices");
    gather_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->axis = axis;
    p->rank = x->rank;
    p->bytes = kiln_dtype_bytes(x->dtype);
    p->idx_dtype = ix->dtype;
    p->count = (int64_t)ix->count;
    for (uint32_t d = 0; d < x->rank; d++) p->dims[d] = x->dims[d];
    for (uint32_t d = 0; d < x->rank; d++)
        if ((int32_t)d != axis && ix->dims[d] > x->dims[d]) return kiln_check_fail(c, "indices dim %u exceeds the data dim", d);
    return KILN_OK;
}

static void run_gather_elements(const kiln_exec *e, const kiln_instr *ins) {
    const gather_params *p = ins->params;
    const kiln_tdesc *it = &e->plan->tensors[ins->ids[1]];
    const uint8_t *x = KILN_IN(e, ins, 0);
    const void *ix = KILN_IN(e, ins, 1);
    uint8_t *y = KILN_OUT(e, ins, 0);
    int64_t xs[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0};
    int64_t acc = 1;
    for (int d = (int)p->rank - 1; d >= 0; d--) { xs[d] = acc; acc *= p->dims[d]; }
    for (int64_t t = 0; t < p->count; t++) {
        int64_t rem = t, off = 0, i = load_index(ix, p->idx_dtype, t);
        for (int d = (int)p->rank - 1; d >= 0; d--) { idx[d] = rem % it->dims[d]; rem /= it->dims[d]; }
        if (i < 0) i += p->dims[p->axis];
        if (i < 0 || i >= p->dims[p->axis]) { memset(y + t * p->bytes, 0, (size_t)p->bytes); continue; }
        for (uint32_t d = 0; d < p->rank; d++) off += ((int32_t)d == p->axis ? i : idx[d]) * xs[d];
        memcpy(y + t * p->bytes, x + off * p->bytes, (size_t)p->bytes);
    }
}

KILN_SMALL_CODE static kiln_status check_one_hot(kiln_check *c) {
    const kiln_tdesc *ix = kiln_operand(c, 0), *v = kiln_operand(c, 1), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, ix, "indices")) || (st = kiln_require_present(c, v, "values")) ||
        (st = kiln_require_present(c, y, "result")))
        return st;
    if ((ix->dtype != KILN_I32 && ix->dtype != KILN_I64 && ix->dtype != KILN_F32) || v->count != 2 || y->dtype != v->dtype)
        return kiln_check_fail(c, "needs i32/i64/f32 indices, two values and a result of the values' dtype");
    int32_t axis = kiln_norm_axis(kiln_rdi32(c->attr), y->rank);
    if (axis < 0 || y->rank != ix->rank + 1) return kiln_check_fail(c, "axis out of range or result rank mismatch");
    for (uint32_t d = 0, k = 0; d < y->rank; d++)
        if ((int32_t)d != axis && y->dims[d] != ix->dims[k++]) return kiln_check_fail(c, "result shape does not match");
    gather_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->outer = kiln_dims_product(y, 0, (uint32_t)axis);
    p->n = y->dims[axis];
    p->inner = kiln_dims_product(y, (uint32_t)axis + 1, y->rank);
    p->bytes = kiln_dtype_bytes(y->dtype);
    p->idx_dtype = ix->dtype;
    return KILN_OK;
}

static void run_one_hot(const kiln_exec *e, const kiln_instr *ins) {
    const gather_params *p = ins->params;
    const void *ix = KILN_IN(e, ins, 0);
    const uint8_t *vals = KILN_IN(e, ins, 1);
    uint8_t *y = KILN_OUT(e, ins, 0);
    size_t es = (size_t)p->bytes;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t d = 0; d < p->n; d++)
            for (int64_t i = 0; i < p->inner; i++) {
                int64_t v = load_index(ix, p->idx_dtype, o * p->inner + i);
                if (v < 0) v += p->n;
                memcpy(y + ((o * p->n + d) * p->inner + i) * (int64_t)es, vals + (v == d ? es : 0), es);
            }
}

typedef struct trilu_params { int64_t batch, rows, cols, k; int upper; uint32_t es; } trilu_params;

KILN_SMALL_CODE static kiln_status check_trilu(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, x, "input")) || (st = kiln_require_present(c, y, "result"))) return st;
    if (x->rank < 2 || !kiln_same_dims(x, y) || x->dtype != y->dtype) return kiln_check_fail(c, "needs rank >= 2 and a matching result");
    trilu_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->upper = kiln_rdi32(c->attr) != 0;
    p->k = kiln_rdi64(c->attr + 8);
    p->rows = x->dims[x->rank - 2];
    p->cols = x->dims[x->rank - 1];
    p->batch = kiln_dims_product(x, 0, x->rank - 2);
    p->es = kiln_dtype_bytes(x->dtype);
    if (p->k < -((int64_t)1 << 48) || p->k > ((int64_t)1 << 48)) return kiln_check_fail(c, "k is out of range");
    return KILN_OK;
}

static void run_trilu(const kiln_exec *e, const kiln_instr *ins) {
    const trilu_params *p = ins->params;
    const uint8_t *x = KILN_IN(e, ins, 0);
    uint8_t *y = KILN_OUT(e, ins, 0);
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t i = 0; i < p->rows; i++)
            for (int64_t j = 0; j < p->cols; j++) {
                int64_t at = ((b * p->rows + i) * p->cols + j) * p->es;
                int keep = p->upper ? (j - i >= p->k) : (j - i <= p->k);
                if (keep) memmove(y + at, x + at, p->es);
                else memset(y + at, 0, p->es);
            }
}

KILN_SMALL_CODE static kiln_status check_range(kiln_check *c) {
    const kiln_tdesc *s = kiln_operand(c, 0), *l = kiln_operand(c, 1), *d = kiln_operand(c, 2), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, s, "start")) || (st = kiln_require_present(c, l, "limit")) ||
        (st = kiln_require_present(c, d, "delta")) || (st = kiln_require_present(c, y, "result")))
        return st;
    if ((y->dtype != KILN_F32 && y->dtype != KILN_I32 && y->dtype != KILN_I64) || s->dtype != y->dtype ||
        l->dtype != y->dtype || d->dtype != y->dtype || s->count != 1 || l->count != 1 || d->count != 1 || y->rank != 1)
        return kiln_check_fail(c, "needs three scalars and a rank-1 result of one dtype (f32, i32, i64)");
    return KILN_OK;
}

static void run_range(const kiln_exec *e, const kiln_instr *ins) {
    const kiln_tdesc *y = &e->plan->tensors[ins->ids[3]];
    const void *s = KILN_IN(e, ins, 0), *d = KILN_IN(e, ins, 2);
    void *out = KILN_OUT(e, ins, 0);
    for (uint64_t i = 0; i < y->count; i++) {
        if (y->dtype == KILN_F32) ((float *)out)[i] = *(const float *)s + (float)i * *(const float *)d;
        else if (y->dtype == KILN_I32) ((int32_t *)out)[i] = (int32_t)((uint32_t)*(const int32_t *)s + (uint32_t)i * (uint32_t)*(const int32_t *)d);
        else ((int64_t *)out)[i] = (int64_t)((uint64_t)*(const int64_t *)s + (uint64_t)i * (uint64_t)*(const int64_t *)d);
    }
}

const kiln_kernel kiln_k_gather = {KILN_OP_GATHER, "gather", 4, 2, 2, 1, 1, 0, check_gather, run_gather, 0};
const kiln_kernel kiln_k_gather_elements = {KILN_OP_GATHER_ELEMENTS, "gather_elements", 4, 2, 2, 1, 1, 0, check_gather_elements, run_gather_elements, 0};
const kiln_kernel kiln_k_one_hot = {KILN_OP_ONE_HOT, "one_hot", 4, 2, 2, 1, 1, 0, check_one_hot, run_one_hot, 0};
const kiln_kernel kiln_k_trilu = {KILN_OP_TRILU, "trilu", 16, 1, 1, 1, 1, 1, check_trilu, run_trilu, 0};
const kiln_kernel kiln_k_range = {KILN_OP_RANGE, "range", 0, 3, 3, 1, 1, 0, check_range, run_range, 0};
