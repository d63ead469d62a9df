/* dynq.h — the dynamic-int8 range recipe shared by DYN_QGEMM / DYN_QPARAMS (dynq.c) and
 * DYN_QRECURRENT (dynq_rnn.c); dynq.c's header states the recipe. */
#ifndef KILN_KERNELS_DYNQ_H
#define KILN_KERNELS_DYNQ_H

#include "common.h"

typedef struct dynq_range { float scale; int32_t zp, usable; } dynq_range;

/* scale and zero point of n f32 values (lo = min(0, min x), hi = max(0, max x)). */
dynq_range kiln_dynq_range_of(const float *x, int64_t n);

#endif
