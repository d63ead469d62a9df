/* test_attention.c — the ATTENTION kernel against ONNX Runtime's unfused chain
 * (expected_attention.h), on both paths (row by row, and two sgemms with scratch), and
 * the loader's checks of its attributes and shapes. */
#include "test.h"
#include "expected_attention.h"

#include <math.h>

static void attention_case(const char *what, float scale, int32_t kt, int scratch, uint32_t nin, const tspec *ins,
                           tspec y) {
    attr_buf a = {0};
    ab_f32(&a, scale); ab_i32(&a, kt);
    /* Scratch: Sq·Sk floats, Sq and Sk read from q and from k (kt picks the axis). */
    const tspec *q = &ins[0], *k = &ins[1];
    static int64_t sdims[2];
    sdims[0] = q->dims[q->rank - 2];
    sdims[1] = kt ? k->dims[k->rank - 1] : k->dims[k->rank - 2];
    tspec outs[2] = {y, {KILN_F32, 2, sdims, NULL, 0, 0}};
    test_op(what, KILN_OP_ATTENTION, a.data, a.size, nin, ins, scratch ? 2 : 1, outs, 1e-5f, 1e-5f);
}

static kiln_status load_attention(float scale, int32_t kt, const int64_t *qd, const int64_t *kd, const int64_t *vd,
                                  const int64_t *md, uint32_t mrank, const int64_t *yd, kiln_error *e) {
    pb *b = pb_new();
    uint32_t ins[4] = {pb_input(b, "q", KILN_F32, 3, qd), pb_input(b, "k", KILN_F32, 3, kd), pb_input(b, "v", KILN_F32, 3, vd)};
    uint32_t nin = 3;
    if (md) ins[nin++] = pb_input(b, "mask", KILN_F32, mrank, md);
    uint32_t out = pb_output(b, "y", KILN_F32, 3, yd);
    attr_buf a = {0};
    ab_f32(&a, scale); ab_i32(&a, kt);
    pb_instr(b, KILN_OP_ATTENTION, a.data, a.size, nin, ins, 1, &out);
    size_t size;
    uint8_t *plan = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    kiln_plan *p = NULL;
    kiln_status st = kiln_plan_load_memory(plan, size, &p, e);
    kiln_plan_free(p);
    free(plan);
    return st;
}

static void test_attention_checks(void) {
    const int64_t q[3] = {2, 3, 4}, k[3] = {2, 5, 4}, v[3] = {2, 5, 6}, y[3] = {2, 3, 6};
    const int64_t m_ok[2] = {3, 5}, m_bad[2] = {3, 4}, k_short[3] = {2, 5, 3}, y_bad[3] = {2, 3, 5};
    kiln_error e;
    CHECK(load_attention(0.5f, 0, q, k, v, m_ok, 2, y, &e) == KILN_OK, "valid attention: %s", e.message);
    struct { float scale; int32_t kt; const int64_t *k, *m, *y; const char *msg; } bad[] = {
        {0.5f, 2, k, NULL, y, "k_transposed must be 0 or 1"},
        {INFINITY, 0, k, NULL, y, "scale must be finite"},
        {0.5f, 0, k, m_bad, y, "mask does not broadcast to the scores"},
        {0.5f, 0, k_short, NULL, y, "k's head size 3 differs from q's 4"},
        {0.5f, 1, k, NULL, y, "k's head size 5 differs from q's 4"},
        {0.5f, 0, k, NULL, y_bad, "result must be [..., 3, 6]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kiln_status st = load_attention(bad[i].scale, bad[i].kt, q, bad[i].k, v, bad[i].m, 2, bad[i].y, &e);
        CHECK(st != KILN_OK && strstr(e.message, bad[i].msg), "attention check %zu: got %d \"%s\"", i, st, e.message);
    }
}

void test_attention(void) {
    tspec mask_ins[4] = {F32(att_mask_q), F32(att_mask_k), F32(att_mask_v), F32(att_mask_mask)};
    tspec kt_ins[4] = {F32(att_kt_q), F32(att_kt_k), F32(att_kt_v), F32C(att_kt_mask)};
    tspec big_ins[3] = {F32(att_big_q), F32(att_big_k), F32(att_big_v)};
    for (int scratch = 0; scratch <= 1; scratch++) {
        char what[80];
        snprintf(what, sizeof what, "attention with padding mask%s", scratch ? " (gemm)" : "");
        attention_case(what, 0.30151134f, 0, scratch, 4, mask_ins, (tspec)F32(att_mask_y));
        snprintf(what, sizeof what, "attention, k transposed, full mask%s", scratch ? " (gemm)" : "");
        attention_case(what, 0.35355338f, 1, scratch, 4, kt_ins, (tspec)F32(att_kt_y));
        snprintf(what, sizeof what, "attention without mask, threaded%s", scratch ? " (gemm)" : "");
        attention_case(what, 0.25f, 0, scratch, 3, big_ins, (tspec)F32(att_big_y));
    }
    test_attention_checks();
}
