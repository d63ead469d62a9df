/* The system zstd library (libzstd-dev), for compressing a plan's CONSTANTS section. */
#include <zstd.h>
