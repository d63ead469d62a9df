/* kiln.h — the Kiln runtime's public API (C99). */
#ifndef KILN_H
#define KILN_H
#ifdef __cplusplus
extern "C" {
#endif

/* Version string of this runtime build, e.g. "0.1.0". */
const char *kiln_version(void);

#ifdef __cplusplus
}
#endif
#endif
