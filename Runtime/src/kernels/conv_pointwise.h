/* conv_pointwise.h — pointwise CONV2D_PACKED on AVX-512 CPUs (conv_pointwise.c), called
 * by conv_packed.c's kiln_cp_run when p->pointwise and p->isa is AVX-512. */
#ifndef KILN_CONV_POINTWISE_H
#define KILN_CONV_POINTWISE_H

#include "conv_packed.h"

#ifdef KILN_HAVE_AVX512
/* y = conv1x1(x) with weights w packed [ceil(M/6), C, 6], plus bias (or NULL), act;
 * returns 0 (nothing done) when the packed GEMM suits the shape better. */
int kiln_pw_run(const kiln_exec *e, const cp_params *p, const float *x, const float *w, const float *bias, float *y);
#endif

#endif
