/*
 * fednl.h - the public interface of the FedNL numerical kernel.
 *
 * Conventions
 * - Every symbol starts with fednl_ / FEDNL_. Only fixed-width types cross this boundary.
 * - Buffers belong to the caller. No function allocates, opens files, starts threads or keeps state
 *   between calls, except the kernel-variant configuration below.
 * - Every function that can fail returns an int32_t status (fednl_status). On failure the outputs are
 *   left unchanged and fednl_last_error() describes what went wrong, on the calling thread.
 * - A symmetric d x d matrix is stored as its packed upper triangle, row by row:
 *   entry (i, j) with i <= j sits at i*d - i*(i-1)/2 + (j - i); D = d*(d+1)/2 entries in all.
 *   (This is also LAPACK's column-major lower packed layout.)
 * - CSR data: row_ptr has rows+1 entries starting at 0; col_idx holds 0-based column indices,
 *   strictly ascending within a row. fednl_csr_check() verifies this once; the oracles trust it.
 */
#ifndef FEDNL_H
#define FEDNL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#if defined(FEDNL_BUILDING_LIBRARY)
#define FEDNL_API __declspec(dllexport)
#else
#define FEDNL_API __declspec(dllimport)
#endif
#else
#define FEDNL_API __attribute__((visibility("default")))
#endif

/** Version of this interface. Bumped whenever a function, struct or enum here changes. */
#define FEDNL_ABI_VERSION 3

/** Longest message fednl_last_error() can report, terminating zero included. */
#define FEDNL_ERROR_CAPACITY 512

/** Result of every fallible call. */
typedef enum fednl_status {
    /** Success. */
    FEDNL_OK = 0,
    /** A size, pointer or value is outside what the function accepts. */
    FEDNL_ERR_INVALID_ARGUMENT = 1,
    /** The caller's workspace is shorter than the matching *_workspace function asks for. */
    FEDNL_ERR_WORKSPACE_TOO_SMALL = 2,
    /** A Cholesky factorisation met a matrix that is not positive definite. */
    FEDNL_ERR_NOT_POSITIVE_DEFINITE = 3,
    /** The requested kernel variant cannot run on this CPU or build. */
    FEDNL_ERR_UNSUPPORTED = 4,
    /** LAPACK reported an error other than loss of definiteness. */
    FEDNL_ERR_LAPACK = 5
} fednl_status;

/** Implementation of the vector kernels. */
typedef enum fednl_kernel_variant {
    /** Best variant the CPU supports (AVX2+FMA when present); FEDNL_KERNEL may override it. */
    FEDNL_KERNEL_AUTO = 0,
    /** Plain scalar C, the reference every other variant is tested against. */
    FEDNL_KERNEL_REFERENCE = 1,
    /** AVX2 + FMA intrinsics. */
    FEDNL_KERNEL_AVX2 = 2
} fednl_kernel_variant;

/** What the loaded library is and how it runs. */
typedef struct fednl_build_info {
    /** FEDNL_ABI_VERSION the library was built with. */
    int32_t abi_version;
    /** fednl_kernel_variant now in use (never FEDNL_KERNEL_AUTO). */
    int32_t active_variant;
    /** 1 when this CPU and build can run FEDNL_KERNEL_AVX2, else 0. */
    int32_t avx2_available;
    /** Threads OpenBLAS uses inside one kernel call (the library keeps it at 1). */
    int32_t blas_threads;
} fednl_build_info;

/** FEDNL_ABI_VERSION of the loaded library; callers compare it with the header they were built against. */
FEDNL_API int32_t fednl_abi_version(void);

/**
 * Copies the calling thread's last error message into buffer (capacity bytes, zero-terminated, truncated
 * to fit) and returns the message length in bytes without the terminating zero. buffer may be null when
 * capacity is 0, to ask for the length only.
 */
FEDNL_API int64_t fednl_last_error(char *buffer, int64_t capacity);

/** Fills info with the library's build and run-time configuration. */
FEDNL_API int32_t fednl_get_build_info(fednl_build_info *info);

/**
 * Selects the kernel variant for all later calls in this process (a fednl_kernel_variant value).
 * FEDNL_KERNEL_AUTO re-reads the FEDNL_KERNEL environment variable ("reference", "avx2" or "auto").
 * Returns FEDNL_ERR_UNSUPPORTED when the CPU or build cannot run the variant.
 */
FEDNL_API int32_t fednl_set_kernel_variant(int32_t variant);

/**
 * Checks a CSR matrix: row_ptr starts at 0 and never decreases, col_idx lies in [0, cols) and is strictly
 * ascending within each row, and every value is finite. The message names the first offending row.
 */
FEDNL_API int32_t fednl_csr_check(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                  const double *values);

/**
 * Logistic-regression oracle of one client on CSR data a (rows x cols), labels in {-1, +1}:
 *   f(x) = (1/m) sum_j log(1 + exp(-b_j a_j^T x)) + (lambda/2) |x|^2,  m = rows.
 * Writes margins[j] = b_j a_j^T x (rows entries) and *f. grad (cols entries) and hess_packed (the packed
 * upper triangle of the Hessian, cols*(cols+1)/2 entries) are written when not null; the Hessian is built
 * by sparse rank-1 accumulation, so it costs sum_j nnz_j^2 / 2, not rows * cols^2 / 2.
 * rows may be 0 (then only the regulariser remains). The CSR layout is trusted: see fednl_csr_check.
 */
FEDNL_API int32_t fednl_logreg_sparse(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                      const double *values, const double *labels, const double *x, double lambda,
                                      double *margins, double *f, double *grad, double *hess_packed);

/**
 * difference = Hessian - shift for the sparse oracle, where the Hessian is the one at the x that produced margins
 * (from a fednl_logreg_sparse call with hess_packed null). The rank-1 terms accumulate straight onto -shift, so the
 * client's FedNL step reads its shift once instead of forming the Hessian and subtracting afterwards.
 */
FEDNL_API int32_t fednl_logreg_sparse_hessian_difference(int64_t rows, int64_t cols, const int64_t *row_ptr,
                                                         const int32_t *col_idx, const double *values,
                                                         const double *margins, double lambda, const double *shift,
                                                         double *difference);

/** Workspace, in doubles, that fednl_logreg_dense needs for a rows x cols client. */
FEDNL_API int64_t fednl_logreg_dense_workspace(int64_t rows, int64_t cols);

/**
 * The same oracle on dense row-major data a (rows x cols). The Hessian goes through OpenBLAS dsyrk on
 * the rows scaled by sqrt(s_j (1 - s_j)); work holds at least fednl_logreg_dense_workspace(rows, cols)
 * doubles and is only needed when grad or hess_packed is not null.
 */
FEDNL_API int32_t fednl_logreg_dense(int64_t rows, int64_t cols, const double *a, const double *labels,
                                     const double *x, double lambda, double *margins, double *f, double *grad,
                                     double *hess_packed, double *work, int64_t work_len);

/** Workspace, in doubles, that fednl_packed_solve needs for a dim x dim system (dim * dim + dim). */
FEDNL_API int64_t fednl_packed_solve_workspace(int64_t dim);

/**
 * Solves (H + shift * I) solution = rhs by Cholesky (LAPACK dpotrf/dpotrs), H given as a packed upper
 * triangle. No inverse is formed. A matrix that is not positive definite yields
 * FEDNL_ERR_NOT_POSITIVE_DEFINITE and leaves solution untouched.
 */
FEDNL_API int32_t fednl_packed_solve(int64_t dim, const double *packed, double shift, const double *rhs,
                                     double *solution, double *work, int64_t work_len);

/** Frobenius norm of the full symmetric matrix behind a packed upper triangle (off-diagonal entries count twice). */
FEDNL_API int32_t fednl_packed_frobenius_norm(int64_t dim, const double *packed, double *norm);

/* ---------------------------------------------------------------------------------------------------------
 * Compressors. They act on the packed upper triangle of a symmetric matrix (D entries) and write the
 * compressed matrix as (index, value) pairs with indices ascending, except the two dense kinds
 * (identical, natural), which write all D values in packed order and no indices.
 * ------------------------------------------------------------------------------------------------------- */

/** Which compressor. */
typedef enum fednl_compressor_kind {
    /** All D entries, unchanged (omega = 0). */
    FEDNL_COMPRESSOR_IDENTICAL = 0,
    /** The K entries of largest weighted magnitude (off-diagonal weight sqrt(2), as in the Frobenius norm). */
    FEDNL_COMPRESSOR_TOPK = 1,
    /** At most K: the TopK set, less its smallest entries while the residual stays within (1 - K/D)|M|^2, the
     * boundary entry kept at random so that the residual equals (1 - K/D)|M|^2 in expectation. */
    FEDNL_COMPRESSOR_TOPLEK = 2,
    /** K entries uniformly without replacement, scaled by D/K (unbiased, omega = D/K - 1). */
    FEDNL_COMPRESSOR_RANDK = 3,
    /** K consecutive packed entries from a uniform start, wrapping, scaled by D/K (omega = D/K - 1). */
    FEDNL_COMPRESSOR_RANDSEQK = 4,
    /** Every entry stochastically rounded to a neighbouring power of two, unbiased (omega = 1/8). */
    FEDNL_COMPRESSOR_NATURAL = 5
} fednl_compressor_kind;

/** A compressor and its randomness for one call. */
typedef struct fednl_compressor {
    /** fednl_compressor_kind. */
    int32_t kind;
    /** Reserved, 0. */
    int32_t reserved;
    /** Budget K for topk, toplek, randk and randseqk (1 <= K; K > D means D). Ignored by the dense kinds. */
    int64_t k;
    /** Seed of this call's random stream. The same seed gives the same output, so a receiver that knows it
     * can regenerate randk and randseqk indices without receiving them. */
    uint64_t seed;
} fednl_compressor;

/** Workspace, in 8-byte words, that fednl_compress, fednl_compress_indices and fednl_shift_step need. */
FEDNL_API int64_t fednl_compress_workspace(const fednl_compressor *compressor, int64_t dim);

/** Number of entries fednl_compress writes at most: D for the dense kinds, min(K, D) otherwise. */
FEDNL_API int64_t fednl_compress_capacity(const fednl_compressor *compressor, int64_t dim);

/**
 * Compresses the packed symmetric matrix m (D entries). Writes *count entries: indices (ascending) and values
 * for the sparse kinds; values only (all D, packed order) for identical and natural. indices may be null for
 * the dense kinds. Buffers hold fednl_compress_capacity entries; work holds fednl_compress_workspace words.
 */
FEDNL_API int32_t fednl_compress(const fednl_compressor *compressor, int64_t dim, const double *m, int32_t *indices,
                                 double *values, int64_t *count, uint64_t *work, int64_t work_len);

/**
 * The indices randk or randseqk picks for this seed (count = min(K, D)), ascending, without the values:
 * what a receiver regenerates instead of receiving them. randseqk also reports the window's start.
 */
FEDNL_API int32_t fednl_compress_indices(const fednl_compressor *compressor, int64_t dim, int32_t *indices,
                                         int64_t *count, int64_t *start, uint64_t *work, int64_t work_len);

/**
 * One client's Hessian-shift step of FedNL: given hessian = the client's Hessian at the model (packed; used
 * as scratch and overwritten with M), computes M = hessian - shift, *difference_norm = |M|_F, the compressed
 * S = C(M) into (indices, values, *count) as fednl_compress does, and updates shift += alpha * S.
 */
FEDNL_API int32_t fednl_shift_step(const fednl_compressor *compressor, int64_t dim, double *hessian, double *shift,
                                   double alpha, double *difference_norm, int32_t *indices, double *values,
                                   int64_t *count, uint64_t *work, int64_t work_len);

/**
 * The same step when M = Hessian - shift is already formed (fednl_logreg_sparse_hessian_difference):
 * *difference_norm = |M|_F, S = C(M), shift += alpha * S. difference is left holding M.
 */
FEDNL_API int32_t fednl_difference_step(const fednl_compressor *compressor, int64_t dim, const double *difference,
                                        double *shift, double alpha, double *difference_norm, int32_t *indices,
                                        double *values, int64_t *count, uint64_t *work, int64_t work_len);

/**
 * packed += scale * S for a compressed S as fednl_compress writes it (indices null: dense, count = D).
 * The server folds each client's S into its Hessian estimate with this, in client order.
 */
FEDNL_API int32_t fednl_packed_add_compressed(int64_t dim, double *packed, double scale, const int32_t *indices,
                                              const double *values, int64_t count);

/** y = (packed + shift I) x for a packed symmetric matrix (OpenBLAS dspmv). */
FEDNL_API int32_t fednl_packed_multiply(int64_t dim, const double *packed, double shift, const double *x, double *y);

#ifdef __cplusplus
}
#endif

#endif /* FEDNL_H */
