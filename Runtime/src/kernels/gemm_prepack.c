/* gemm_prepack.c — packing a GEMM's constant B once, at plan load, into the strips
 * gemm_blocked.c otherwise packs on every run (kiln_packed_b, microkernel.h). A weight
 * used once per run (a recognizer's 1024 x 8210 classifier at M = 32) cost as much to
 * pack as to multiply: the transposed gather reads it column by column.
 *
 * Algorithm (B is op(B) [k, n], stored [k, n], or [n, k] when trans_b; w = strip width):
 * - the last n % w columns go to a plan-owned tail block [k, w], zero-padded;
 * - when the plan's copy is writable and only this operand reads it, the full strips are
 *   built in place: stored [n, k], strip s is the w rows [s*w, s*w + w) = w*k floats,
 *   transposed where they lie through a w*k scratch; stored [k, n], the rows are first
 *   compacted to full*w columns, then the k x full matrix of w-float blocks is
 *   transposed in place by following its permutation cycles (a bitmap marks the blocks
 *   already moved), block (p, s) going to s*k + p;
 * - otherwise the strips are packed into a plan-owned block, the original read in its
 *   storage order and its mapped pages released as they are passed (kiln_constant_release). */
#include "microkernel.h"

#include <stdlib.h>

/* B(p, j) of the stored matrix. */
static float at(const float *b, int trans_b, size_t k, size_t n, size_t p, size_t j) {
    return trans_b ? b[j * k + p] : b[p * n + j];
}

/* Columns [j0, j0 + cols) of op(B) as k rows of w floats, zero-padded. */
static void pack_strip(const float *b, int trans_b, size_t k, size_t n, size_t j0, size_t cols, size_t w, float *dst) {
    for (size_t p = 0; p < k; p++)
        for (size_t c = 0; c < w; c++) dst[p * w + c] = c < cols ? at(b, trans_b, k, n, p, j0 + c) : 0.0f;
}

static int transpose_strips(float *b, size_t k, size_t full, size_t w) {
    float *tmp = malloc(sizeof(float) * w * k);
    if (!tmp) return 0;
    for (size_t s = 0; s < full; s++) {
        float *strip = b + s * w * k;
        memcpy(tmp, strip, sizeof(float) * w * k);
        for (size_t p = 0; p < k; p++)
            for (size_t c = 0; c < w; c++) strip[p * w + c] = tmp[c * k + p];
    }
    free(tmp);
    return 1;
}

static int transpose_blocks(float *b, size_t k, size_t n, size_t full, size_t w) {
    size_t total = k * full;
    uint8_t *done = calloc(total / 8 + 1, 1);
    float *tmp = malloc(sizeof(float) * w);
    if (!done || !tmp) { free(done); free(tmp); return 0; }
    for (size_t p = 0; p < k; p++) memmove(b + p * full * w, b + p * n, sizeof(float) * full * w);
    for (size_t start = 0; start < total; start++) {
        if (done[start / 8] & (1u << (start % 8))) continue;
        /* Destination d = s*k + p takes the block from source p*full + s. */
        memcpy(tmp, b + start * w, sizeof(float) * w);
        size_t d = start;
        for (;;) {
            size_t src = (d % k) * full + d / k;
            done[d / 8] |= (uint8_t)(1u << (d % 8));
            if (src == start) { memcpy(b + d * w, tmp, sizeof(float) * w); break; }
            memcpy(b + d * w, b + src * w, sizeof(float) * w);
            d = src;
        }
    }
    free(done);
    free(tmp);
    return 1;
}

/* The full strips into dst, reading B in its storage order (stored [n, k]: strip by strip;
 * [k, n]: row by row) and releasing what was read every 256 KiB on the way. */
static void copy_strips(kiln_check *c, uint32_t slot, const float *b, int trans_b, size_t k, size_t n, size_t full,
                        size_t w, float *dst) {
    size_t step = trans_b ? w * k : n, units = trans_b ? full : k, done = 0;
    for (size_t u = 0; u < units; u++) {
        if (trans_b) pack_strip(b, 1, k, n, u * w, w, w, dst + u * k * w);
        else
            for (size_t s = 0; s < full; s++) memcpy(dst + s * k * w + u * w, b + u * n + s * w, sizeof(float) * w);
        size_t read = (u + 1) * step * sizeof(float);
        if (read - done >= ((size_t)1 << 18) || u + 1 == units) {
            kiln_constant_release(c->plan, c->index, slot, done, read);
            done = read;
        }
    }
}

kiln_status kiln_prepack_b(kiln_check *c, uint32_t slot, int trans_b, size_t k, size_t n, size_t w,
                           kiln_packed_b *out) {
    const float *b = (const float *)kiln_operand(c, slot)->data;
    size_t full = n / w, tail = n % w;
    uint64_t floats;
    if (!kiln_mul_ok(k, w, &floats) || !kiln_mul_ok(floats, full + 1, &floats) || floats > SIZE_MAX / sizeof(float))
        return kiln_check_fail(c, "B is too large to pack");
    float *tb = tail ? kiln_plan_alloc(c->plan, sizeof(float) * k * w) : NULL;
    if (tail && !tb) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory packing GEMM weights");
    if (tail) pack_strip(b, trans_b, k, n, full * w, tail, w, tb);
    float *place = kiln_constant_writable(c->plan, c->index, slot);
    if (place && !(trans_b ? transpose_strips(place, k, full, w) : transpose_blocks(place, k, n, full, w)))
        place = NULL;                  /* no scratch memory: pack a copy instead */
    if (!place) {
        place = kiln_plan_alloc(c->plan, sizeof(float) * full * k * w);
        if (!place) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory packing GEMM weights");
        copy_strips(c, slot, b, trans_b, k, n, full, w, place);
    }
    *out = (kiln_packed_b){place, tb, n, k, w, full};
    return KILN_OK;
}
