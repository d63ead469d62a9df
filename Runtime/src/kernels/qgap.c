/* qgap.c — QGLOBAL_AVG_POOL: the mean over H and W of an NCHW u8 tensor, requantized to the
 * result's scale and zero point (an int8 model's GlobalAveragePool before its int8
 * classifier; ONNX Runtime's com.microsoft QLinearGlobalAveragePool).
 *
 * Operands: x u8 [N,C,H,W]. Result: y u8 [N,C,1,1]. Attributes (16 bytes): i32
 * x_zero_point, y_zero_point, mult, shift. Per plane, with s = Σ x over the H·W pixels:
 * y = clamp(y_zp + ((mult·(s − H·W·x_zp) + 2^(shift−1)) >> shift), 0, 255) exactly in int64
 * (>> floors); the compiler derives mult/shift from x_scale/(y_scale·H·W) as QADD's (mult in
 * [0, 2^21], shift in [1, 30]); H·W ≤ 2^24, so s fits u32 and every product int64.
 * Algorithm: the plane's bytes summed into u32 lanes (a loop the compiler vectorizes), then
 * the scalar requantization; planes split over threads. */
#include "common.h"

typedef struct qgap_params {
    int64_t planes, hw;
    int32_t x_zp, y_zp, mult, shift;
} qgap_params;

KILN_SMALL_CODE static kiln_status check_qgap(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, x, "input")) || (st = kiln_require_dtype(c, x, "input", KILN_U8)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_U8)))
        return st;
    if (x->rank != 4 || y->rank != 4 || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1] || y->dims[2] != 1 || y->dims[3] != 1)
        return kiln_check_fail(c, "input must be [N,C,H,W] and the result [N,C,1,1]");
    const int64_t lim = (int64_t)1 << 24;
    if (x->dims[2] < 1 || x->dims[3] < 1 || x->dims[2] > lim || x->dims[3] > lim || x->dims[2] * x->dims[3] > lim)
        return kiln_check_fail(c, "H*W must lie in [1, 2^24]");
    int64_t hw = x->dims[2] * x->dims[3];
    int32_t v[4];
    for (int i = 0; i < 4; i++) v[i] = kiln_rdi32(c->attr + 4 * i);
    if (v[0] < 0 || v[0] > 255 || v[1] < 0 || v[1] > 255) return kiln_check_fail(c, "zero points must lie in [0, 255]");
    if (v[2] < 0 || v[2] > (1 << 21) || v[3] < 1 || v[3] > 30) return kiln_check_fail(c, "mult must lie in [0, 2^21] and the shift in [1, 30]");
    qgap_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    *p = (qgap_params){x->dims[0] * x->dims[1], hw, v[0], v[1], v[2], v[3]};
    return KILN_OK;
}

typedef struct qgap_job { const qgap_params *p; const uint8_t *x; uint8_t *y; } qgap_job;

static void qgap_planes(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const qgap_job *j = ctx;
    const qgap_params *p = j->p;
    (void)thread;
    for (size_t plane = begin; plane < end; plane++) {
        const uint8_t *x = j->x + (int64_t)plane * p->hw;
        uint32_t s = 0;
        for (int64_t i = 0; i < p->hw; i++) s += x[i];
        int64_t t = (int64_t)p->mult * ((int64_t)s - p->hw * p->x_zp) + ((int64_t)1 << (p->shift - 1));
        int64_t v = (t >> p->shift) + p->y_zp;
        j->y[plane] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static void run_qgap(const kiln_exec *e, const kiln_instr *ins) {
    const qgap_params *p = ins->params;
    qgap_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0)};
    if (e->threads > 1 && p->planes * p->hw >= 2 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, (size_t)p->planes, qgap_planes, &j);
    else qgap_planes(&j, 0, (size_t)p->planes, 0);
}

const kiln_kernel kiln_k_qgap = {KILN_OP_QGLOBAL_AVG_POOL, "qglobal_avg_pool", 16, 1, 1, 1, 1, 0, check_qgap, run_qgap, 0};
