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

/* Private to conv_transpose_direct*.c: sizes, the work item and one chunk's inputs. */
#define CTD_TAPS_MAX 16   /* kernel taps per side */
#define CTD_MB 8          /* output channels per work item */
#define CTD_LANES 64      /* flat lanes per chunk */
#define CTD_CL 32         /* output channels per item with channels on the lanes */

typedef struct ctd_job {
    const kiln_conv_attrs *a;
    const ctd_geom *g;
    int64_t cg, mg, w, oh, ow, blocks;
    const float *xp, *wt, *bias;
    float *y;
} ctd_job;

/* What one chunk needs: taps as flat input offsets and weight indices. */
typedef struct ctd_chunk {
    const float *x;              /* lane 0 of channel 0 in the padded input */
    const float *w;              /* repacked weights [cg, kh*kw, mg] at the block's channel 0 */
    float b[CTD_MB];             /* each channel's bias */
    const int64_t *off, *widx;
    const uint64_t *mask;        /* per tap: the chunk's lanes whose column it reads inside the row */
    int ntaps;
    int64_t cstride, wstride;    /* per input channel: padded plane, kh*kw*mg weights */
} ctd_chunk;

#if defined(KILN_HAVE_AVX512)
/* The chunk's first nv vectors (1..4) for nm channels into acc (conv_transpose_direct512.c). */
void kiln_ctd_chunk_avx512(const ctd_chunk *k, int64_t cg, int nv, int64_t nm, float acc[CTD_MB][CTD_LANES]);
/* The input [cg, h, w], w <= 16, into the padded buffer xp: a masked load and store a row. */
void kiln_ctd_copy_rows512(float *xp, const float *x, int64_t cg, int64_t h, int64_t w, const ctd_geom *g);
/* A phase's item with 32 output channels on the lanes, stored to y. */
void kiln_ctd_item_cl512(const ctd_job *j, const ctd_chunk *k, int64_t m0, int64_t fh, int64_t fw, int64_t tn,
                         int64_t un);
#endif

#endif
