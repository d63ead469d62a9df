/* recurrent.h — what RECURRENT (recurrent.c, f32) and DYN_QRECURRENT (dynq_rnn.c, int8
 * weights) share: the attributes as parsed, operand slots, layout index helpers, the
 * optional-tensor and sequence-length helpers, the load checks of the optional operands and
 * results, and the per-row cell update (the gate math on gate = recurrent product + input
 * product). recurrent.c's header comment states the attribute and operand layout. */
#ifndef KILN_RECURRENT_H
#define KILN_RECURRENT_H

#include "common.h"

typedef struct kiln_rnn {
    int32_t kind, dir, layout, lbr, input_forget, has_clip, nact;
    float clip;
    int64_t hidden, seq, batch, input, gates, dirs;
    kiln_act act[6];
} kiln_rnn;

enum { KILN_RNN_X, KILN_RNN_W, KILN_RNN_R, KILN_RNN_B, KILN_RNN_LENS, KILN_RNN_H0, KILN_RNN_C0, KILN_RNN_P };

/* Reads the 104-byte attribute block into p (kind, direction, hidden, layout, flags, clip,
 * activation slots) and validates it; `max_hidden` bounds hidden_size (exclusive). */
kiln_status kiln_rnn_read_attrs(kiln_check *c, kiln_rnn *p, int64_t max_hidden);
/* With p's sizes set: B, sequence_lens, initial_h, (LSTM) initial_c and P, Y, Y_h, Y_c
 * and the f32 scratch (seq*batch*G*H + batch*G*H + 4*batch*H). */
kiln_status kiln_rnn_check_io(kiln_check *c, const kiln_rnn *p);
/* The cell update of one batch row of direction d: gate holds the recurrent product
 * (+ its bias), xr the input product (+ bias); GRU's h gate: with linear_before_reset
 * gate[2H..3H) is R_h·h (+ rbh when given, else already in it), without it hrh is
 * R_h·(r ⊙ h) + its bias. Updates h (and the LSTM cell state cst). */
void kiln_rnn_cell(const kiln_rnn *p, int64_t d, float *gate, const float *xr, const float *hrh, const float *rbh,
                   const float *peep, float *h, float *cst);
void kiln_rnn_clip(const kiln_rnn *p, float *v, int64_t n);

static inline void kiln_rnn_act(const kiln_act *a, float *v, int64_t n) {
    kiln_unary_f32(a->func, a->alpha, a->beta, v, v, (size_t)n);
}
static inline const float *kiln_rnn_opt_in(const kiln_exec *e, const kiln_instr *ins, int k) {
    return ins->ids[k] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, k);
}
static inline float *kiln_rnn_opt_out(const kiln_exec *e, const kiln_instr *ins, int k) {
    return ins->ids[ins->nin + k] == KILN_NO_TENSOR ? NULL : KILN_OUT(e, ins, k);
}
/* Offsets for the layout: state tensors [dirs, batch, H] or [batch, dirs, H]; Y
 * [seq, dirs, batch, H] or [batch, seq, dirs, H]; X rows [seq, batch] or [batch, seq]. */
static inline int64_t kiln_rnn_state_at(const kiln_rnn *p, int64_t d, int64_t b) {
    return (p->layout ? b * p->dirs + d : d * p->batch + b) * p->hidden;
}
static inline int64_t kiln_rnn_y_at(const kiln_rnn *p, int64_t t, int64_t d, int64_t b) {
    return (p->layout ? (b * p->seq + t) * p->dirs + d : (t * p->dirs + d) * p->batch + b) * p->hidden;
}
static inline int64_t kiln_rnn_x_row(const kiln_rnn *p, int64_t t, int64_t b) {
    return p->layout ? b * p->seq + t : t * p->batch + b;
}
/* Batch row b's sequence length, clamped to [0, seq]. */
static inline int64_t kiln_rnn_length(const kiln_rnn *p, const int32_t *lens, int64_t b) {
    int64_t len = lens ? (lens[b] < 0 ? 0 : lens[b]) : p->seq;
    return len > p->seq ? p->seq : len;
}

#endif
