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
 * - Buffer lengths. A buffer whose length follows from the call's explicit dimension arguments alone (rows, cols,
 *   dim: rows or cols entries, D = dim*(dim+1)/2 entries; CSR col_idx and values, row_ptr[rows] entries) has no
 *   length argument; its function states the length. Every other buffer (one sized by the compressor's K, by a plan,
 *   or by a workspace query) is followed by an int64_t argument giving its length in elements: *_capacity for an
 *   output, *_length for an input or an array read and written, work_len / plan_words / capacity for workspaces,
 *   plans and strings. A length below what the call needs is refused with FEDNL_ERR_INVALID_ARGUMENT and a message
 *   naming the length argument and both sizes (a short workspace or plan buffer: FEDNL_ERR_WORKSPACE_TOO_SMALL, with
 *   both sizes); longer buffers are fine unless the function says otherwise. A length that goes with a buffer the
 *   call does not use (a null optional output, the input the other plan kind reads) is ignored.
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
#define FEDNL_ABI_VERSION 9

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
    /** AVX2+FMA when the CPU has it, else the reference (AVX-512 only when asked for: on the machines measured it
     *  was no faster on whole runs, docs/benchmarks.md); FEDNL_KERNEL may override it. */
    FEDNL_KERNEL_AUTO = 0,
    /** Plain scalar C, the reference every other variant is tested against. */
    FEDNL_KERNEL_REFERENCE = 1,
    /** AVX2 + FMA intrinsics. */
    FEDNL_KERNEL_AVX2 = 2,
    /** AVX-512 (F, DQ, BW, VL) where it pays, AVX2 elsewhere; the same results as AVX2, bit for bit. */
    FEDNL_KERNEL_AVX512 = 3
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
    /** 1 when this CPU and build can run FEDNL_KERNEL_AVX512, else 0. */
    int32_t avx512_available;
} fednl_build_info;

/** FEDNL_ABI_VERSION of the loaded library; callers compare it with the header they were built against. */
FEDNL_API int32_t fednl_abi_version(void);

/**
 * Copies the calling thread's last error message into buffer (capacity bytes, zero-terminated, truncated
 * to fit) and returns the message length in bytes without the terminating zero. buffer may be null when
 * capacity is 0, to ask for the length only.
 */
FEDNL_API int64_t fednl_last_error(char *buffer, int64_t capacity);

/** Fills info (one fednl_build_info) with the library's build and run-time configuration. */
FEDNL_API int32_t fednl_get_build_info(fednl_build_info *info);

/**
 * Selects the kernel variant for all later calls in this process (a fednl_kernel_variant value).
 * FEDNL_KERNEL_AUTO re-reads the FEDNL_KERNEL environment variable ("reference", "avx2", "avx512" or "auto").
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
 * CSR rows as a dense row-major matrix: the first rows * cols entries of out (out_length at least that) are zero but
 * for out[r * cols + col_idx[k]] = values[k]. The dense oracle and the fused step read a client's rows this way; a
 * dense client builds this copy once. A column outside [0, cols) or a decreasing row_ptr is refused, naming the row.
 */
FEDNL_API int32_t fednl_csr_to_dense(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                     const double *values, double *out, int64_t out_length);

/**
 * Logistic-regression oracle of one client on CSR data a (rows x cols), labels in {-1, +1}:
 *   f(x) = (1/m) sum_j log(1 + exp(-b_j a_j^T x)) + (lambda/2) |x|^2,  m = rows.
 * Writes margins[j] = b_j a_j^T x (rows entries) and *f. grad (cols entries), hess_packed (the packed upper
 * triangle of the Hessian, cols*(cols+1)/2 entries) and weights (rows entries: the Hessian's row weights
 * s_j (1 - s_j) / m with s_j = 1 / (1 + exp(margins[j])), formed as e / (1 + e)^2 / m with e = exp(-|margins[j]|),
 * what fednl_plan_hessian gathers) are written when not
 * null; the packed Hessian is built by sparse rank-1 accumulation, so it costs sum_j nnz_j^2 / 2, not
 * rows * cols^2 / 2. rows may be 0 (then only the regulariser remains). The CSR layout is trusted: see
 * fednl_csr_check.
 */
FEDNL_API int32_t fednl_logreg_sparse(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                      const double *values, const double *labels, const double *x, double lambda,
                                      double *margins, double *f, double *grad, double *hess_packed, double *weights);

/** Workspace, in doubles, that fednl_logreg_dense needs for a rows x cols client. */
FEDNL_API int64_t fednl_logreg_dense_workspace(int64_t rows, int64_t cols);

/**
 * The same oracle on dense row-major data a (rows x cols). The Hessian goes through OpenBLAS dsyrk on
 * the rows scaled by sqrt(s_j (1 - s_j) / m); work holds work_len >= fednl_logreg_dense_workspace(rows, cols)
 * doubles and is only needed when grad or hess_packed is not null. a has rows * cols entries; the outputs have
 * the lengths fednl_logreg_sparse gives, weights (when not null) the Hessian's row weights s_j (1 - s_j) / m, formed
 * as fednl_logreg_sparse forms them, that fednl_dense_hessian and fednl_dense_shift_step take.
 */
FEDNL_API int32_t fednl_logreg_dense(int64_t rows, int64_t cols, const double *a, const double *labels,
                                     const double *x, double lambda, double *margins, double *f, double *grad,
                                     double *hess_packed, double *weights, double *work, int64_t work_len);

/** Workspace, in doubles, that fednl_packed_solve needs for a dim x dim system (dim * dim + dim). */
FEDNL_API int64_t fednl_packed_solve_workspace(int64_t dim);

/**
 * Solves (H + shift * I) solution = rhs by Cholesky (LAPACK dpotrf/dpotrs), H given as a packed upper
 * triangle (D entries); rhs and solution have dim entries. No inverse is formed. A matrix that is not positive
 * definite yields FEDNL_ERR_NOT_POSITIVE_DEFINITE and leaves solution untouched.
 */
FEDNL_API int32_t fednl_packed_solve(int64_t dim, const double *packed, double shift, const double *rhs,
                                     double *solution, double *work, int64_t work_len);

/** Frobenius norm of the full symmetric matrix behind a packed upper triangle of D entries (off-diagonal entries
 * count twice). */
FEDNL_API int32_t fednl_packed_frobenius_norm(int64_t dim, const double *packed, double *norm);

/* ---------------------------------------------------------------------------------------------------------
 * Compressors. They act on the packed upper triangle of a symmetric matrix (D entries) and write the
 * compressed matrix as (index, value) pairs with indices ascending, except the two dense kinds
 * (identical, natural), which write all D values in packed order and no indices. PermK compresses one client's
 * share: the compressor names the client and the number of clients.
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
    FEDNL_COMPRESSOR_NATURAL = 5,
    /** One client's block of a random permutation of the D entries, shared by all n clients through the seed: the n
     * blocks are disjoint and cover every entry (floor(D/n) each, and one leftover entry for D mod n clients chosen at
     * random), so each entry is in each client's block with probability 1/n; scaled by n (omega = n - 1). */
    FEDNL_COMPRESSOR_PERMK = 6
} fednl_compressor_kind;

/** A compressor and its randomness for one call. */
typedef struct fednl_compressor {
    /** fednl_compressor_kind. */
    int32_t kind;
    /** PermK: the client whose block is wanted, in [0, clients). Ignored by the other kinds. */
    int32_t client;
    /** Budget K for topk, toplek, randk and randseqk (1 <= K; K > D means D). Ignored by permk and the dense kinds. */
    int64_t k;
    /** Seed of this call's random stream. The same seed gives the same output, so a receiver that knows it
     * can regenerate randk, randseqk and permk indices without receiving them. PermK's clients all use the round's
     * one seed: that is what makes their blocks disjoint. */
    uint64_t seed;
    /** PermK: the number of clients n sharing the permutation, 1 <= n <= D. Ignored by the other kinds. */
    int64_t clients;
} fednl_compressor;

/** Workspace, in 8-byte words, that fednl_compress and fednl_compress_indices need. */
FEDNL_API int64_t fednl_compress_workspace(const fednl_compressor *compressor, int64_t dim);

/** Number of entries fednl_compress writes at most: D for the dense kinds, ceil(D/n) for permk, min(K, D) otherwise. */
FEDNL_API int64_t fednl_compress_capacity(const fednl_compressor *compressor, int64_t dim);

/**
 * Compresses the packed symmetric matrix m (D entries). Writes *count entries: indices (ascending) and values
 * for the sparse kinds; values only (all D, packed order) for identical and natural, which neither write nor need
 * indices (null allowed, indices_capacity then ignored). indices_capacity and values_capacity are the buffers'
 * lengths in entries, at least fednl_compress_capacity each; work holds work_len >= fednl_compress_workspace words.
 */
FEDNL_API int32_t fednl_compress(const fednl_compressor *compressor, int64_t dim, const double *m, int32_t *indices,
                                 int64_t indices_capacity, double *values, int64_t values_capacity, int64_t *count,
                                 uint64_t *work, int64_t work_len);

/**
 * The indices randk, randseqk or permk picks for this seed (count = min(K, D); permk: client's block, floor(D/n) or
 * one more), ascending, without the values: what a receiver regenerates instead of receiving them. randseqk also
 * reports the window's start (-1 for the others). indices holds indices_capacity >= fednl_compress_capacity entries;
 * work holds work_len >= fednl_compress_workspace words.
 */
FEDNL_API int32_t fednl_compress_indices(const fednl_compressor *compressor, int64_t dim, int32_t *indices,
                                         int64_t indices_capacity, int64_t *count, int64_t *start, uint64_t *work,
                                         int64_t work_len);

/**
 * packed += scale * S for a compressed S as fednl_compress writes it (indices null: dense, count = D).
 * The server folds each client's S into its Hessian estimate with this, in client order. packed has D entries
 * (from dim); indices and values are read for count entries, so count is their length.
 */
FEDNL_API int32_t fednl_packed_add_compressed(int64_t dim, double *packed, double scale, const int32_t *indices,
                                              const double *values, int64_t count);

/* ---------------------------------------------------------------------------------------------------------
 * Hessian plans: a client's round on its Hessian pattern.
 *
 * A client's Hessian (1/m) sum_j w_j a_j a_j^T + lambda I can only be non-zero on a fixed set of packed entries,
 * its pattern: the pairs of features that share one of its rows, and the diagonal. Its shift H_i starts as a
 * Hessian and moves by compressed Hessian differences, so it never leaves the pattern either. A plan, built once
 * from the client's rows, holds the pattern (P entries, ascending packed offsets) and, for the sparse kind, the
 * row lists that make each entry a sum of gathered row weights. Each round then costs the client's row pairs
 * (sum_j nnz_j (nnz_j + 1) / 2 gathers) plus O(P), never O(D).
 * Shifts, Hessians and differences "over the pattern" are arrays of P doubles in pattern order.
 * ------------------------------------------------------------------------------------------------------- */

/** How a plan forms the Hessian. */
typedef enum fednl_hessian_plan_kind {
    /** Row lists per pattern entry, gathered each round (sparse data). */
    FEDNL_HESSIAN_PLAN_SPARSE = 0,
    /** The pattern is every packed entry; the Hessian comes from the dense oracle (dense data). */
    FEDNL_HESSIAN_PLAN_DENSE = 1
} fednl_hessian_plan_kind;

/** Sizes of a plan, from fednl_hessian_plan_measure. */
typedef struct fednl_hessian_plan_info {
    /** Length of the plan in 8-byte words. */
    int64_t words;
    /** P, the number of pattern entries (D for a dense plan). */
    int64_t pattern_length;
    /** Row pairs sum_j nnz_j (nnz_j + 1) / 2: the gathers one Hessian costs (0 for a dense plan). */
    int64_t pairs;
    /** Pattern entries whose row products differ, so each gather is also multiplied (0 for 0/1 data). */
    int64_t valued_entries;
} fednl_hessian_plan_info;

/** Workspace, in 8-byte words, that measuring or building a plan for a rows x cols client needs (-1: bad shape). */
FEDNL_API int64_t fednl_hessian_plan_workspace(int64_t rows, int64_t cols);

/**
 * Sizes the plan of a client with CSR rows (trusted: see fednl_csr_check) and the given fednl_hessian_plan_kind
 * into info (one fednl_hessian_plan_info). A dense plan ignores the rows and needs no workspace.
 */
FEDNL_API int32_t fednl_hessian_plan_measure(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                             const double *values, int32_t kind, fednl_hessian_plan_info *info,
                                             uint64_t *work, int64_t work_len);

/** Builds the plan into plan (at least info.words words, from fednl_hessian_plan_measure with the same arguments). */
FEDNL_API int32_t fednl_hessian_plan_build(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                           const double *values, int32_t kind, uint64_t *plan, int64_t plan_words,
                                           uint64_t *work, int64_t work_len);

/** Copies the plan's pattern (ascending packed offsets) into pattern; pattern_length must be exactly P. */
FEDNL_API int32_t fednl_hessian_plan_pattern(const uint64_t *plan, int64_t plan_words, int32_t *pattern,
                                             int64_t pattern_length);

/**
 * The client's Hessian over its pattern into hessian (hessian_capacity >= P doubles). Sparse plan: gathered from
 * weights, the rows row weights fednl_logreg_sparse wrote at the model, plus one more entry that the call sets to
 * zero (the lists' padding reads it), so weights_length >= rows + 1; dense_hessian is ignored. Dense plan: copied
 * from dense_hessian (dense_hessian_length >= D doubles, as fednl_logreg_dense wrote it); weights is ignored.
 * rows, P and D are the plan's.
 */
FEDNL_API int32_t fednl_plan_hessian(const uint64_t *plan, int64_t plan_words, double *weights, int64_t weights_length,
                                     double lambda, const double *dense_hessian, int64_t dense_hessian_length,
                                     double *hessian, int64_t hessian_capacity);

/**
 * y = (H + shift I) x for the symmetric H whose pattern values are given: values_length >= P, x_length and
 * y_capacity >= cols (the plan's P and cols).
 */
FEDNL_API int32_t fednl_pattern_multiply(const uint64_t *plan, int64_t plan_words, const double *values,
                                         int64_t values_length, double shift, const double *x, int64_t x_length,
                                         double *y, int64_t y_capacity);

/** Workspace, in 8-byte words, that fednl_pattern_shift_step needs (-1 for bad arguments). */
FEDNL_API int64_t fednl_pattern_step_workspace(const fednl_compressor *compressor, int64_t dim, int64_t pattern_length);

/**
 * One client's FedNL shift step over its pattern. On entry difference holds the Hessian over the pattern; the call
 * forms M = Hessian - shift in it, writes *difference_norm = |M|_F (full symmetric matrix), compresses S = C(M) and
 * moves shift += alpha * S. Output: for topk, toplek, randk, randseqk and permk, *count ascending packed indices (the
 * same ones fednl_compress picks for randk, randseqk and permk) and values, zero where an index lies off the pattern; for
 * identical and natural, P values in pattern order (the indices are the pattern; written too when indices is not
 * null). When remaining_norm is not null it receives |M - alpha S|_F (FedNL-PP's new l_i) and difference is left
 * holding M - alpha S instead of M. Lengths, with P and D the plan's: difference_length and shift_length >= P;
 * indices_capacity and values_capacity >= P for the dense kinds (indices_capacity only when indices is not null)
 * and >= fednl_compress_capacity otherwise; work_len >= fednl_pattern_step_workspace words.
 */
FEDNL_API int32_t fednl_pattern_shift_step(const fednl_compressor *compressor, const uint64_t *plan, int64_t plan_words,
                                           double *difference, int64_t difference_length, double *shift,
                                           int64_t shift_length, double alpha, double *difference_norm,
                                           double *remaining_norm, int32_t *indices, int64_t indices_capacity,
                                           double *values, int64_t values_capacity, int64_t *count, uint64_t *work,
                                           int64_t work_len);

/* ---------------------------------------------------------------------------------------------------------
 * The dense client's step, fused: for a client with few dense rows the Hessian is formed strip by strip and each
 * strip goes straight into M = Hessian - shift, |M|, C(M) and the shift update, so the Hessian never reaches memory
 * and the shift is read and written once a round. The Hessian is summed in a fixed order without BLAS, so its bits
 * are the same in every kernel variant and on every machine.
 * ------------------------------------------------------------------------------------------------------- */

/**
 * A dense client's Hessian into hess_packed (D = cols (cols + 1) / 2 entries): entry (i, k), i <= k, is
 * h = fma(weights[j] a_ji, a_jk, h) over j = 0, 1, ..., rows - 1 from h = 0 (weights[j] a_ji rounded first), plus
 * lambda on the diagonal. a is rows x cols row-major (rows may be 0), weights has rows entries (as fednl_logreg_dense
 * writes them).
 */
FEDNL_API int32_t fednl_dense_hessian(int64_t rows, int64_t cols, const double *a, const double *weights, double lambda,
                                      double *hess_packed);

/**
 * fednl_pattern_shift_step for a dense client (its pattern every packed entry, positions = packed offsets) with the
 * Hessian formed as fednl_dense_hessian forms it, from the rows and their weights instead of a formed Hessian. For
 * identical and natural the whole step is one pass: values get S (D entries), shift moves by fma(alpha, S, shift), and
 * *difference_norm (and *remaining_norm when not null) are summed in a fixed order; difference is not used (may be
 * null) and indices, when not null, get 0 ... D - 1. The other kinds form M (randk, randseqk, permk) or the Hessian
 * (topk, toplek, whose keys come from the pass that forms M) in difference (difference_length >= D) and finish as
 * fednl_pattern_shift_step does, leaving M (or M - alpha S with remaining_norm) there. Lengths as for
 * fednl_pattern_shift_step with P = D: shift_length >= D, values_capacity (and indices_capacity when indices is not
 * null) >= D for the dense kinds and >= fednl_compress_capacity otherwise; work_len >=
 * fednl_pattern_step_workspace(compressor, cols, D) words.
 */
FEDNL_API int32_t fednl_dense_shift_step(const fednl_compressor *compressor, int64_t rows, int64_t cols, const double *a,
                                         const double *weights, double lambda, double *shift, int64_t shift_length,
                                         double alpha, double *difference_norm, double *remaining_norm, double *difference,
                                         int64_t difference_length, int32_t *indices, int64_t indices_capacity,
                                         double *values, int64_t values_capacity, int64_t *count, uint64_t *work,
                                         int64_t work_len);

/* ---------------------------------------------------------------------------------------------------------
 * Machine probes: the loops `fednl bench` times to measure this machine's bounds (its roofline). Each runs one
 * loop on the calling thread over caller-owned buffers with the active kernel variant (AVX2 + FMA or AVX-512 when
 * selected, plain C otherwise) and reports the work it did; the caller times the call (and runs one call per thread to
 * measure all cores). *sink receives a value that depends on every element, so no loop can be optimised away.
 * ------------------------------------------------------------------------------------------------------- */

/** Which streaming loop fednl_probe_stream runs. */
typedef enum fednl_probe_stream_kind {
    /** sum_i source[i]: 8 bytes read per element (target unused, may be null). */
    FEDNL_PROBE_STREAM_READ = 0,
    /** target[i] += scale * source[i]: 16 bytes read and 8 written per element (the shift update's pattern). */
    FEDNL_PROBE_STREAM_TRIAD = 1
} fednl_probe_stream_kind;

/**
 * passes sweeps of a fednl_probe_stream_kind loop over length doubles (length >= 1, passes >= 1): source has length
 * entries, and target too for FEDNL_PROBE_STREAM_TRIAD. *bytes = bytes read plus written (8 or 24 per element and
 * pass). Buffer size picks the level measured: well inside L2, inside L3, or several times L3 for DRAM.
 */
FEDNL_API int32_t fednl_probe_stream(int32_t kind, const double *source, double *target, int64_t length,
                                     int64_t passes, double *sink, int64_t *bytes);

/**
 * iterations >= 1 rounds of 12 independent fused multiply-add chains, 4 lanes each (scalar a * b + c per lane in
 * the reference variant; 8 lanes with AVX-512): *fmas = 48 * iterations (96 * iterations with AVX-512).
 */
FEDNL_API int32_t fednl_probe_fma(int64_t iterations, double *sink, int64_t *fmas);

/**
 * passes sweeps summing table[indices[k]] over count >= 1 indices (AVX2: vgatherdpd, 4 per instruction, AVX-512: 8,
 * like the Hessian plan's gathers of row weights), passes >= 1. Every index must lie in [0, table_length); the call checks
 * them first. *gathers = count * passes.
 */
FEDNL_API int32_t fednl_probe_gather(const int32_t *indices, int64_t count, const double *table, int64_t table_length,
                                     int64_t passes, double *sink, int64_t *gathers);

/**
 * passes sweeps of the logistic oracle's loss-and-sigmoid step (one exp per element, one log per 512) over count >= 1
 * finite margins z, passes >= 1: *exps = count * passes.
 */
FEDNL_API int32_t fednl_probe_exp(const double *z, int64_t count, int64_t passes, double *sink, int64_t *exps);

#ifdef __cplusplus
}
#endif

#endif /* FEDNL_H */
