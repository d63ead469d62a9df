/* layout.c — data movement that is a strided view of one input: copy (reshape/identity),
 * transpose, slice, expand, tile, depth_to_space, space_to_depth. Each check builds a
 * kiln_view of the input at load time; every run is one kiln_view_copy. Any dtype. */
#include "common.h"

static void run_copy(const kiln_exec *e, const kiln_instr *ins) {
    const void *src = KILN_IN(e, ins, 0);
    void *dst = KILN_OUT(e, ins, 0);
    const kiln_tdesc *t = &e->plan->tensors[ins->ids[0]];
    if (src != dst && t->bytes) memcpy(dst, src, (size_t)t->bytes);
}

KILN_SMALL_CODE static kiln_status check_copy(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    if (!x || !y) return kiln_check_fail(c, "operand and result are required");
    if (x->dtype != y->dtype || x->bytes != y->bytes)
        return kiln_check_fail(c, "copy needs the same dtype and element count (%s x %llu vs %s x %llu)",
                               kiln_dtype_name((kiln_dtype)x->dtype), (unsigned long long)x->count,
                               kiln_dtype_name((kiln_dtype)y->dtype), (unsigned long long)y->count);
    return KILN_OK;
}

static void run_view(const kiln_exec *e, const kiln_instr *ins) {
    kiln_view_copy(ins->params, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0));
}

/* Common start: operand and result present with the same dtype; a zeroed view. */
static kiln_view *begin_view(kiln_check *c, const kiln_tdesc **x, const kiln_tdesc **y) {
    *x = kiln_operand(c, 0);
    *y = kiln_result(c, 0);
    if (!*x || !*y) { kiln_check_fail(c, "operand and result are required"); return NULL; }
    if ((*x)->dtype != (*y)->dtype) { kiln_check_fail(c, "operand and result dtypes differ"); return NULL; }
    kiln_view *v = kiln_params_alloc(c, sizeof(kiln_view));
    if (!v) { kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory"); return NULL; }
    v->esize = kiln_dtype_bytes((*x)->dtype);
    return v;
}

static kiln_status end_view(kiln_check *c, kiln_view *v, const kiln_tdesc *y) {
    int64_t count = 1;
    for (uint32_t d = 0; d < v->rank; d++) count *= v->dims[d];
    if ((uint64_t)count != y->count) return kiln_check_fail(c, "result shape does not match the attributes");
    kiln_view_simplify(v);
    return KILN_OK;
}

#define BEGIN_VIEW()                                                                        \
    const kiln_tdesc *x, *y;                                                                \
    kiln_view *v = begin_view(c, &x, &y);                                                   \
    if (!v) return c->error ? c->error->status : KILN_ERR_MALFORMED;                        \
    int64_t xs[KILN_MAX_RANK];                                                              \
    kiln_dense_strides(x, xs)

/* TRANSPOSE attrs: i32 perm[8] (entries past the rank are 0). */
KILN_SMALL_CODE static kiln_status check_transpose(kiln_check *c) {
    BEGIN_VIEW();
    uint32_t seen = 0;
    if (x->rank != y->rank) return kiln_check_fail(c, "operand and result ranks differ");
    for (uint32_t d = 0; d < KILN_MAX_RANK; d++) {
        int32_t p = kiln_rdi32(c->attr + 4 * d);
        if (d >= x->rank) {
            if (p != 0) return kiln_check_fail(c, "perm entry %u past the rank must be 0", d);
            continue;
        }
        if (p < 0 || p >= (int32_t)x->rank || (seen & (1u << p))) return kiln_check_fail(c, "perm is not a permutation");
        seen |= 1u << p;
        if (y->dims[d] != x->dims[p]) return kiln_check_fail(c, "result dim %u does not match input dim %d", d, p);
        v->dims[d] = x->dims[p];
        v->strides[d] = xs[p];
    }
    v->rank = x->rank;
    return end_view(c, v, y);
}

/* SLICE attrs: i64 starts[8], i64 steps[8], per input axis, already clamped by the
 * compiler; the result dims give the counts. */
KILN_SMALL_CODE static kiln_status check_slice(kiln_check *c) {
    BEGIN_VIEW();
    if (x->rank != y->rank) return kiln_check_fail(c, "operand and result ranks differ");
    for (uint32_t d = 0; d < x->rank; d++) {
        int64_t start = kiln_rdi64(c->attr + 8 * d), step = kiln_rdi64(c->attr + 64 + 8 * d), n = y->dims[d];
        if (step == 0 || step < -((int64_t)1 << 48) || step > ((int64_t)1 << 48))
            return kiln_check_fail(c, "axis %u: step %lld is invalid", d, (long long)step);
        if (n > 0) {
            int64_t last = start + (n - 1) * step;
            if (start < 0 || start >= x->dims[d] || last < 0 || last >= x->dims[d])
                return kiln_check_fail(c, "axis %u: %lld elements from %lld step %lld leave the input dim %lld", d,
                                       (long long)n, (long long)start, (long long)step, (long long)x->dims[d]);
        }
        v->dims[d] = n;
        v->strides[d] = xs[d] * step;
        if (n > 0) v->base += start * xs[d];
    }
    v->rank = x->rank;
    return end_view(c, v, y);
}

/* EXPAND: no attributes; the result shape is the broadcast target. */
KILN_SMALL_CODE static kiln_status check_expand(kiln_check *c) {
    BEGIN_VIEW();
    if (x->rank > y->rank) return kiln_check_fail(c, "operand rank exceeds the result rank");
    uint32_t off = y->rank - x->rank;
    for (uint32_t d = 0; d < y->rank; d++) {
        int64_t dim = d >= off ? x->dims[d - off] : 1;
        if (dim != 1 && dim != y->dims[d]) return kiln_check_fail(c, "operand does not broadcast to the result");
        v->dims[d] = y->dims[d];
        v->strides[d] = dim == 1 ? 0 : xs[d - off];
    }
    v->rank = y->rank;
    return end_view(c, v, y);
}

/* TILE: no attributes; result dim d = repeats_d * input dim d. Each axis becomes two view
 * axes: (repeat, stride 0) then (input index, input stride). */
KILN_SMALL_CODE static kiln_status check_tile(kiln_check *c) {
    BEGIN_VIEW();
    if (x->rank != y->rank) return kiln_check_fail(c, "operand and result ranks differ");
    for (uint32_t d = 0; d < x->rank; d++) {
        if (x->dims[d] == 0 ? y->dims[d] != 0 : y->dims[d] % x->dims[d] != 0)
            return kiln_check_fail(c, "result dim %u is not a multiple of the input dim", d);
        v->dims[2 * d] = x->dims[d] ? y->dims[d] / x->dims[d] : 0;
        v->strides[2 * d] = 0;
        v->dims[2 * d + 1] = x->dims[d];
        v->strides[2 * d + 1] = xs[d];
    }
    v->rank = 2 * x->rank;
    return end_view(c, v, y);
}

/* DEPTH_TO_SPACE attrs: i32 block, i32 crd (1: CRD, 0: DCR). Input [N,C,H,W]. */
KILN_SMALL_CODE static kiln_status check_d2s(kiln_check *c) {
    BEGIN_VIEW();
    int64_t b = kiln_rdi32(c->attr), crd = kiln_rdi32(c->attr + 4);
    if (x->rank != 4 || y->rank != 4 || b < 1 || (crd != 0 && crd != 1))
        return kiln_check_fail(c, "needs rank-4 tensors, block >= 1 and crd 0 or 1");
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3], oc = ch / (b * b);
    if (ch % (b * b) || y->dims[0] != n || y->dims[1] != oc || y->dims[2] != h * b || y->dims[3] != w * b)
        return kiln_check_fail(c, "result shape does not match depth_to_space of the input");
    /* out [N, C', H, b1, W, b2] */
    int64_t dims[6] = {n, oc, h, b, w, b};
    int64_t st[6] = {ch * h * w, crd ? b * b * h * w : h * w, w, crd ? b * h * w : b * oc * h * w, 1,
                     crd ? h * w : oc * h * w};
    for (int d = 0; d < 6; d++) { v->dims[d] = dims[d]; v->strides[d] = st[d]; }
    v->rank = 6;
    (void)xs;
    return end_view(c, v, y);
}

/* SPACE_TO_DEPTH attrs: i32 block. */
KILN_SMALL_CODE static kiln_status check_s2d(kiln_check *c) {
    BEGIN_VIEW();
    int64_t b = kiln_rdi32(c->attr);
    if (x->rank != 4 || y->rank != 4 || b < 1) return kiln_check_fail(c, "needs rank-4 tensors and block >= 1");
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3];
    if (h % b || w % b || y->dims[0] != n || y->dims[1] != ch * b * b || y->dims[2] != h / b || y->dims[3] != w / b)
        return kiln_check_fail(c, "result shape does not match space_to_depth of the input");
    /* out [N, b1, b2, C, H', W'] */
    int64_t dims[6] = {n, b, b, ch, h / b, w / b};
    int64_t st[6] = {ch * h * w, w, 1, h * w, b * w, b};
    for (int d = 0; d < 6; d++) { v->dims[d] = dims[d]; v->strides[d] = st[d]; }
    v->rank = 6;
    (void)xs;
    return end_view(c, v, y);
}

const kiln_kernel kiln_k_copy = {KILN_OP_COPY, "copy", 0, 1, 1, 1, 1, 1, check_copy, run_copy, 0};
const kiln_kernel kiln_k_transpose = {KILN_OP_TRANSPOSE, "transpose", 32, 1, 1, 1, 1, 0, check_transpose, run_view, 0};
const kiln_kernel kiln_k_slice = {KILN_OP_SLICE, "slice", 128, 1, 1, 1, 1, 0, check_slice, run_view, 0};
const kiln_kernel kiln_k_expand = {KILN_OP_EXPAND, "expand", 0, 1, 1, 1, 1, 0, check_expand, run_view, 0};
const kiln_kernel kiln_k_tile = {KILN_OP_TILE, "tile", 0, 1, 1, 1, 1, 0, check_tile, run_view, 0};
const kiln_kernel kiln_k_depth_to_space = {KILN_OP_DEPTH_TO_SPACE, "depth_to_space", 8, 1, 1, 1, 1, 0, check_d2s, run_view, 0};
const kiln_kernel kiln_k_space_to_depth = {KILN_OP_SPACE_TO_DEPTH, "space_to_depth", 4, 1, 1, 1, 1, 0, check_s2d, run_view, 0};
