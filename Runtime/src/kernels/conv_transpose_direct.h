/* conv_transpose_direct.h — CONV_TRANSPOSE2D computed directly per output phase
 * (conv_transpose_direct.c), used by conv_transpose.c instead of GEMM + col2im. */
#ifndef KILN_CONV_TRANSPOSE_DIRECT_H
#define KILN_CONV_TRANSPOSE_DIRECT_H

#include "common.h"

typedef struct ctd_geom {
    int64_t padt, padl, hp, wp;  /* the zero-padded input copy: hp x wp per channel */
    int64_t front;               /* floats of slack before it */
    int colmask;                 /* AVX-512: columns masked per tap, not padded (padl 0, wp = w) */
    int cl;                      /* AVX-512: output channels on the lanes (tiny phases) */
    size_t ws_floats;            /* its size, with slack for over-reading vector chunks */
    kiln_isa isa;
} ctd_geom;

/* Fills g for input [cg, h, w] -> output [mg, oh, ow] with attributes a; returns 0 when the
 * direct path does not apply (kernel over 16 taps a side, or a padded copy too large). */
int kiln_ctd_setup(const kiln_conv_attrs *a, int64_t cg, int64_t mg, int64_t h, int64_t w, int64_t oh, int64_t ow,
                   ctd_geom *g);

/* Floats of the repacked weights for an ONNX weight of `weights` elements (with slack). */
size_t kiln_ctd_packed_floats(uint64_t weights);
/* ONNX weight bytes w [c, mg, khw] (little-endian f32) -> wr [c, khw, mg] (wr zeroed by
 * the caller, kiln_ctd_packed_floats long). */
void kiln_ctd_pack(const uint8_t *w, int64_t c, int64_t mg, int64_t khw, float *wr);

/* One image and group: y[mg, oh, ow] (the group's output channels) = bias + transposed
 * conv of x [cg, h, w] with weights wt: the group's rows of the repacked weights
 * [cg, kh*kw, mg]; xp is the workspace of g->ws_floats floats. No activation. */
void kiln_ctd_run(const kiln_exec *e, const kiln_conv_attrs *a, const ctd_geom *g, int64_t cg, int64_t mg, int64_t h,
                  int64_t w, int64_t oh, int64_t ow, const float *x, const float *wt, const float *bias, float *y,
                  float *xp);

#endif
