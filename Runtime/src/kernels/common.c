/* common.c — strided views, broadcasting and small shape helpers for the kernels. */
#include "common.h"

void kiln_dense_strides(const kiln_tdesc *t, int64_t *strides) {
    int64_t acc = 1;
    for (int d = (int)t->rank - 1; d >= 0; d--) {
        strides[d] = acc;
        acc *= t->dims[d];
    }
}

int32_t kiln_norm_axis(int64_t axis, uint32_t rank) {
    if (axis < 0) axis += rank;
    return (axis >= 0 && axis < (int64_t)rank) ? (int32_t)axis : -1;
}

int64_t kiln_dims_product(const kiln_tdesc *t, uint32_t begin, uint32_t end) {
    int64_t p = 1;
    for (uint32_t d = begin; d < end && d < t->rank; d++) p *= t->dims[d];
    return p;
}

kiln_status kiln_check_gemm_dims(kiln_check *c, int64_t m, int64_t n, int64_t k) {
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return kiln_check_fail(c, "GEMM dimensions %lld x %lld x %lld exceed the 32-bit BLAS limit", (long long)m,
                               (long long)n, (long long)k);
    return KILN_OK;
}

void kiln_view_simplify(kiln_view *v) {
    for (uint32_t d = 0; d < v->rank; d++)
        if (v->dims[d] == 0) { v->rank = 1; v->dims[0] = 0; v->strides[0] = 1; return; }
    uint32_t r = 0;
    for (uint32_t d = 0; d < v->rank; d++) {
        if (v->dims[d] == 1) continue;
        if (r > 0 && v->strides[r - 1] == v->strides[d] * v->dims[d]) {
            v->dims[r - 1] *= v->dims[d];
            v->strides[r - 1] = v->strides[d];
            continue;
        }
        v->dims[r] = v->dims[d];
        v->strides[r] = v->strides[d];
        r++;
    }
    if (r == 0) { v->dims[0] = 1; v->strides[0] = 1; r = 1; }
    v->rank = r;
}

#define COPY_INNER(T)                                                                        \
    {                                                                                        \
        const T *s = (const T *)src + off;                                                   \
        T *o = (T *)dst + out;                                                               \
        for (int64_t i = 0; i < n; i++) o[i] = s[i * st];                                    \
    }

void kiln_view_copy(const kiln_view *v, const void *src, void *dst) {
    int64_t idx[KILN_VIEW_MAX_RANK] = {0};
    uint32_t r = v->rank, last = r - 1;
    int64_t n = v->dims[last], st = v->strides[last], total = 1;
    for (uint32_t d = 0; d < r; d++) total *= v->dims[d];
    if (total == 0) return;
    int64_t off = v->base, out = 0;
    for (;;) {
        if (st == 1) memcpy((uint8_t *)dst + out * v->esize, (const uint8_t *)src + off * v->esize, (size_t)(n * v->esize));
        else if (v->esize == 4) COPY_INNER(uint32_t)
        else if (v->esize == 8) COPY_INNER(uint64_t)
        else if (v->esize == 2) COPY_INNER(uint16_t)
        else COPY_INNER(uint8_t)
        out += n;
        int d = (int)last - 1;
        while (d >= 0) {
            idx[d]++;
            off += v->strides[d];
            if (idx[d] < v->dims[d]) break;
            off -= v->strides[d] * v->dims[d];
            idx[d] = 0;
            d--;
        }
        if (d < 0) return;
    }
}

kiln_status kiln_bcast_init(kiln_check *c, const kiln_tdesc *const *ops, uint32_t nops, const kiln_tdesc *out,
                            kiln_bcast *b) {
    uint32_t r = out->rank;
    int64_t st[KILN_MAX_OPERANDS_BCAST][KILN_MAX_RANK];
    for (uint32_t k = 0; k < nops; k++) {
        const kiln_tdesc *t = ops[k];
        if (t->rank > r) return kiln_check_fail(c, "operand %u has higher rank than the result", k);
        int64_t dense[KILN_MAX_RANK];
        kiln_dense_strides(t, dense);
        for (uint32_t d = 0; d < r; d++) {
            int32_t td = (int32_t)d - (int32_t)(r - t->rank);
            int64_t dim = td >= 0 ? t->dims[td] : 1;
            if (dim != out->dims[d] && dim != 1) {
                char a[96], o[96];
                kiln_format_dims(t, a, sizeof a);
                kiln_format_dims(out, o, sizeof o);
                return kiln_check_fail(c, "operand %u shape %s does not broadcast to the result shape %s", k, a, o);
            }
            st[k][d] = (dim == 1) ? 0 : dense[td];
        }
    }
    /* Merge axes where every operand is contiguous across the boundary; drop size-1 axes. */
    uint32_t n = 0;
    for (uint32_t d = 0; d < r; d++) {
        if (out->dims[d] == 1) continue;
        int merge = n > 0;
        for (uint32_t k = 0; k < nops && merge; k++)
            merge = b->strides[k][n - 1] == st[k][d] * out->dims[d];
        if (merge) {
            b->dims[n - 1] *= out->dims[d];
            for (uint32_t k = 0; k < nops; k++) b->strides[k][n - 1] = st[k][d];
            continue;
        }
        b->dims[n] = out->dims[d];
        for (uint32_t k = 0; k < nops; k++) b->strides[k][n] = st[k][d];
        n++;
    }
    if (n == 0) {
        b->dims[0] = out->count ? 1 : 0;
        for (uint32_t k = 0; k < nops; k++) b->strides[k][0] = 0;
        n = 1;
    }
    if (out->count == 0) b->dims[0] = 0;
    b->rank = n;
    b->nops = nops;
    return KILN_OK;
}

int64_t kiln_bcast_rows(const kiln_bcast *b) {
    int64_t rows = 1;
    for (uint32_t d = 0; d + 1 < b->rank; d++) rows *= b->dims[d];
    return b->dims[b->rank - 1] == 0 ? 0 : rows;
}

void kiln_bcast_run(const kiln_bcast *b, int64_t row_begin, int64_t row_end, kiln_bcast_fn fn, void *ctx) {
    uint32_t r = b->rank, last = r - 1;
    if (row_begin >= row_end) return;
    int64_t idx[KILN_MAX_RANK] = {0}, offs[KILN_MAX_OPERANDS_BCAST] = {0}, inner[KILN_MAX_OPERANDS_BCAST];
    for (uint32_t k = 0; k < b->nops; k++) inner[k] = b->strides[k][last];
    int64_t n = b->dims[last], rem = row_begin;
    for (int d = (int)last - 1; d >= 0; d--) {
        idx[d] = rem % b->dims[d];
        rem /= b->dims[d];
        for (uint32_t k = 0; k < b->nops; k++) offs[k] += idx[d] * b->strides[k][d];
    }
    int64_t out = row_begin * n;
    for (int64_t row = row_begin; row < row_end; row++) {
        fn(ctx, offs, out, n, inner);
        out += n;
        for (int d = (int)last - 1; d >= 0; d--) {
            idx[d]++;
            for (uint32_t k = 0; k < b->nops; k++) offs[k] += b->strides[k][d];
            if (idx[d] < b->dims[d]) break;
            for (uint32_t k = 0; k < b->nops; k++) offs[k] -= b->strides[k][d] * b->dims[d];
            idx[d] = 0;
        }
    }
}

typedef struct bcast_task { const kiln_bcast *b; kiln_bcast_fn fn; void *ctx; } bcast_task;

static void bcast_rows_task(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const bcast_task *t = ctx;
    (void)thread;
    kiln_bcast_run(t->b, (int64_t)begin, (int64_t)end, t->fn, t->ctx);
}

static void bcast_elems_task(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const bcast_task *t = ctx;
    (void)thread;
    int64_t offs[KILN_MAX_OPERANDS_BCAST], inner[KILN_MAX_OPERANDS_BCAST];
    for (uint32_t k = 0; k < t->b->nops; k++) {
        inner[k] = t->b->strides[k][0];
        offs[k] = (int64_t)begin * inner[k];
    }
    t->fn(t->ctx, offs, (int64_t)begin, (int64_t)(end - begin), inner);
}

void kiln_bcast_parallel(const kiln_exec *e, const kiln_bcast *b, kiln_bcast_fn fn, void *ctx) {
    int64_t rows = kiln_bcast_rows(b), total = rows * b->dims[b->rank - 1];
    bcast_task t = {b, fn, ctx};
    if (e->threads <= 1 || total < 2 * KILN_PARALLEL_GRAIN) {
        kiln_bcast_run(b, 0, rows, fn, ctx);
    } else if (rows >= (int64_t)e->threads) {
        kiln_parallel_for(e, (size_t)rows, bcast_rows_task, &t);
    } else if (b->rank == 1) {
        kiln_parallel_for(e, (size_t)total, bcast_elems_task, &t);
    } else {
        kiln_bcast_run(b, 0, rows, fn, ctx);
    }
}
