/* LAPACK's single-precision SVD drivers, as libopenblas exports them (Fortran calling
 * convention: every argument by pointer, matrices column-major, and one hidden length
 * argument per CHARACTER argument appended at the end, as gfortran passes it). The system
 * has no LAPACK C header, so the two prototypes are declared here. */
#include <stddef.h>

/* A = U·diag(S)·VT by divide and conquer. jobz 'S': the first min(m,n) columns of U and
 * rows of VT. lwork = -1 asks for the optimal workspace size in work[0]. */
void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda, float *s, float *u,
             const int *ldu, float *vt, const int *ldvt, float *work, const int *lwork, int *iwork, int *info,
             size_t jobz_len);

/* The same factorization by QR iteration (slower, kept as a fallback when sgesdd_ fails). */
void sgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, float *a, const int *lda, float *s,
             float *u, const int *ldu, float *vt, const int *ldvt, float *work, const int *lwork, int *info,
             size_t jobu_len, size_t jobvt_len);
