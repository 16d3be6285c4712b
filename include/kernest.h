/* kernest.h — public C API: estimate a 2-D convolution kernel K from pairs (A, B = A ⊛ K + noise). */
#ifndef KERNEST_H
#define KERNEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KERNEST_VERSION_MAJOR 0
#define KERNEST_VERSION_MINOR 1
#define KERNEST_VERSION_PATCH 0
#define KERNEST_VERSION_STRING "0.1.0"

/* ---- status codes ------------------------------------------------------------------------ */

/* Every function that can fail returns one of these; kernest_last_error() adds the detail. */
typedef enum kernest_status {
    KERNEST_OK = 0,
    KERNEST_E_NOMEM,       /* a host allocation failed */
    KERNEST_E_INVALID,     /* an argument or option is invalid (usage error) */
    KERNEST_E_NOFILE,      /* an input file cannot be opened */
    KERNEST_E_IO,          /* reading or writing a file failed part-way */
    KERNEST_E_FORMAT,      /* a file is not in a supported format, or is malformed */
    KERNEST_E_SHAPE,       /* array shapes do not fit together */
    KERNEST_E_VALUE,       /* values that are not allowed (NaN or Inf in A, ...) */
    KERNEST_E_TOOBIG,      /* a size overflows or the memory needed exceeds what is available */
    KERNEST_E_FFT,         /* FFTW or cuFFT failed */
    KERNEST_E_DEVICE,      /* CUDA or cuBLAS failed, or the requested device is unusable */
    KERNEST_E_UNSUPPORTED, /* the feature is not compiled in */
    KERNEST_STATUS_COUNT
} kernest_status;

/* Short stable name of a status ("E_FORMAT"), never NULL. */
const char *kernest_status_name(int status);
/* Generic one-line message of a status, never NULL. */
const char *kernest_strerror(int status);
/* Detail message of the last failure in the calling thread (names the file, option or library
 * call); the empty string when none. The pointer stays valid until the next kernest call. */
const char *kernest_last_error(void);
/* 1 when a status means bad usage or bad input (CLI exit code 2), 0 otherwise. */
int kernest_status_is_input_error(int status);

/* ---- arrays ------------------------------------------------------------------------------ */

#define KERNEST_MAX_NDIM 4

/* A dense C-order array of doubles on the host. */
typedef struct kernest_array {
    int ndim;                       /* number of dimensions, 1..KERNEST_MAX_NDIM */
    size_t shape[KERNEST_MAX_NDIM]; /* extent of each dimension; unused entries are 1 */
    size_t size;                    /* product of the shape */
    double *data;                   /* size elements, owned by the array */
} kernest_array;

/* Allocates a zero-filled array; *out receives it (caller owns, free with kernest_array_destroy).
 * Fails with KERNEST_E_TOOBIG when the element count overflows. */
int kernest_array_create(int ndim, const size_t *shape, kernest_array **out);
/* Convenience for 2-D arrays. */
int kernest_array_create2(size_t rows, size_t cols, kernest_array **out);
/* Frees *a (NULL allowed) and sets *a to NULL. */
void kernest_array_destroy(kernest_array **a);

/* ---- .npy files -------------------------------------------------------------------------- */

typedef enum kernest_precision {
    KERNEST_DOUBLE = 0,
    KERNEST_SINGLE = 1,
    KERNEST_PRECISION_DEFAULT = 2 /* options only: double on the CPU, single on a GPU */
} kernest_precision;

/* Reads a .npy file (format 1.0, 2.0 or 3.0; little-endian C order; f8 f4 i1-i8 u1-u8 b1) into
 * a new array of doubles. *out receives it (caller owns). Errors name the file. */
int kernest_npy_read(const char *path, kernest_array **out);
/* Writes a as f8 (KERNEST_DOUBLE) or f4 (KERNEST_SINGLE) through a temporary file in the same
 * folder, renamed into place: a failure never leaves a partial file. Does not take ownership. */
int kernest_npy_write(const char *path, const kernest_array *a, kernest_precision precision);

/* ---- array files in any supported format ----------------------------------------------- */

/* The format is chosen by the file name's extension (case-insensitive):
 *   .npy                 NumPy array (always available)
 *   .npz, .npz:NAME      NumPy archive: its only array, or member NAME (libzip)
 *   .fits .fit .fts      FITS: the primary image, or the first image extension (cfitsio)
 *   .tif .tiff           TIFF: one grayscale sample per pixel, float or integer (libtiff)
 *   .csv .txt .tsv       text rows for small arrays; '#' starts a comment
 *   .raw .bin            headerless little-endian values; the shape and dtype come from
 *                        kernest_read_options (kernest --shape HxW --dtype f4)
 * A format whose library was not compiled in fails with KERNEST_E_UNSUPPORTED. */
typedef enum kernest_format {
    KERNEST_FORMAT_UNKNOWN = 0,
    KERNEST_FORMAT_NPY = 1,
    KERNEST_FORMAT_NPZ = 2,
    KERNEST_FORMAT_FITS = 3,
    KERNEST_FORMAT_TIFF = 4,
    KERNEST_FORMAT_TEXT = 5,
    KERNEST_FORMAT_RAW = 6,
    KERNEST_FORMAT_COUNT
} kernest_format;

/* Text files hold at most this many values (more is refused with KERNEST_E_TOOBIG: use .npy). */
#define KERNEST_TEXT_MAX_ELEMENTS (1u << 22)

/* What a reader cannot learn from the file itself; fill with kernest_read_options_default. */
typedef struct kernest_read_options {
    int raw_ndim;                       /* raw: dimensions in raw_shape; 0 = not given */
    size_t raw_shape[KERNEST_MAX_NDIM]; /* raw: the shape, C order (HxW = rows, columns) */
    const char *raw_dtype;              /* raw: "f4" "f8" "i1" "i2" "i4" "i8" "u1" "u2" "u4" "u8"
                                           (little-endian); NULL = not given. Borrowed. */
    size_t text_max_elements;           /* csv/txt cap; default KERNEST_TEXT_MAX_ELEMENTS */
} kernest_read_options;

void kernest_read_options_default(kernest_read_options *ro);
/* The format a path's extension selects (KERNEST_FORMAT_UNKNOWN when none does). */
kernest_format kernest_format_of_path(const char *path);
/* Short name ("npz", "fits", ...), never NULL. */
const char *kernest_format_name(kernest_format format);
/* 1 when the format can be read and written by this build. */
int kernest_format_available(kernest_format format);
/* Reads path in the format its extension selects into a new array of doubles; *out receives it
 * (caller owns). ro may be NULL (then raw files are refused: they need a shape and dtype).
 * Errors name the file and what is wrong. */
int kernest_array_read(const char *path, const kernest_read_options *ro, kernest_array **out);
/* Writes a in the format path's extension selects: binary formats as f8 (KERNEST_DOUBLE) or f4
 * (KERNEST_SINGLE), text with 17 (double) or 9 (single) significant digits. Through a temporary
 * file in the same folder, renamed into place. Does not take ownership. */
int kernest_array_write(const char *path, const kernest_array *a, kernest_precision precision);

/* ---- the convolution model --------------------------------------------------------------- */

/* Which window of the full linear convolution is observed, as scipy.signal.convolve2d. */
typedef enum kernest_mode {
    KERNEST_MODE_FULL = 0,
    KERNEST_MODE_SAME = 1,
    KERNEST_MODE_VALID = 2
} kernest_mode;

/* Parses "full", "same" or "valid"; returns -1 for anything else. */
int kernest_mode_parse(const char *s);
const char *kernest_mode_name(kernest_mode mode);

/* Shape of crop_mode(full_conv(A, K)) for A of ha×wa and K of kh×kw, and where that window
 * starts in the full result. Fails with KERNEST_E_SHAPE when the mode cannot apply. Any output
 * pointer may be NULL. */
int kernest_output_shape(kernest_mode mode, size_t ha, size_t wa, size_t kh, size_t kw,
                         size_t *hb, size_t *wb, size_t *row0, size_t *col0);

/* B = crop_mode(full_conv(A, K)) computed exactly (FFT, no wrap) on the CPU in double precision.
 * *out receives a new array (caller owns). A and K must be 2-D and finite. */
int kernest_convolve(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                     kernest_array **out);

/* ---- several channels ------------------------------------------------------------------- */

/* How the arrays of kernest_estimate and kernest_convolve_channels carry samples and channels.
 * 2-D arrays are one sample of one channel under every layout; 4-D arrays are S×C×H×W.
 * A 3-D array is ambiguous: AUTO and CHW read it as C×H×W (one sample, as a framework's
 * unbatched tensor), NCHW as S×H×W (S samples of one channel). CHW refuses 4-D arrays. */
typedef enum kernest_layout {
    KERNEST_LAYOUT_AUTO = 0,
    KERNEST_LAYOUT_CHW = 1,
    KERNEST_LAYOUT_NCHW = 2
} kernest_layout;

int kernest_layout_parse(const char *s); /* "auto" | "chw" | "nchw"; -1 otherwise */
const char *kernest_layout_name(kernest_layout layout);

/* A convolution layer's stride, dilation and groups, as PyTorch's nn.Conv2d defines them (JAX's
 * lax.conv_general_dilated: window_strides, rhs_dilation, feature_group_count). Every field is
 * >= 1; a NULL geometry is all ones. With them the model of output channel o is
 *   B[s,o][y,x] = Σ_{i<C_in/G} full(A[s, g·C_in/G + i] ⊛ dilate(K[o,i]))[row0 + y·SH, col0 + x·SW],
 * g = o / (C_out/G): the kernel's taps sit dh, dw pixels apart (a (kh−1)·dh+1 × (kw−1)·dw+1
 * footprint, on which the mode's window is taken), the window is then read every SH-th row and
 * SW-th column from its start, and each output channel sees only its group's input channels
 * (K is C_out × C_in/G × kh × kw; depthwise: G = C_in). */
typedef struct kernest_geometry {
    int stride_h, stride_w;
    int dilation_h, dilation_w;
    int groups;
} kernest_geometry;

/* B[s,o] = Σ_i crop_mode(full_conv(A[s,i], K[o,i])) for a multi-channel kernel K of shape
 * C_out×C_in×Kh×Kw (a 2-D K is C_in = C_out = 1). A is 2-D, 3-D or 4-D read with layout; its
 * channel count must be C_in. *out receives B (caller owns): 2-D when A and K are 2-D, C_out×Hb×Wb
 * for one sample given as C×H×W, S×C_out×Hb×Wb for an S×C×H×W A. correlate = 1: K holds
 * cross-correlation kernels (each flipped in both axes), as deep-learning frameworks store them. */
int kernest_convolve_channels(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                              kernest_layout layout, int correlate, kernest_array **out);

/* kernest_convolve and kernest_convolve_channels with names for A and K (file names, say) in the
 * error messages (either may be NULL: "A", "K"). */
int kernest_convolve_named(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                           const char *a_name, const char *k_name, kernest_array **out);
int kernest_convolve_channels_named(const kernest_array *A, const kernest_array *K,
                                    kernest_mode mode, kernest_layout layout, int correlate,
                                    const char *a_name, const char *k_name, kernest_array **out);
/* kernest_convolve_channels_named for a layer of geometry g (NULL: stride, dilation, groups 1):
 * K is C_out × C_in/G × Kh × Kw. */
int kernest_convolve_layer(const kernest_array *A, const kernest_array *K, kernest_mode mode,
                           kernest_layout layout, int correlate, const kernest_geometry *g,
                           const char *a_name, const char *k_name, kernest_array **out);

/* A framework's padding of a layer's input (PyTorch's padding_mode names): zeros, reflect (the
 * edge not repeated: d c b | a b c d | c b a), replicate (the edge repeated: a a | a b c d | d d),
 * circular (wrapped: c d | a b c d | a b). */
typedef enum kernest_padding_mode {
    KERNEST_PAD_ZEROS = 0,
    KERNEST_PAD_REFLECT = 1,
    KERNEST_PAD_REPLICATE = 2,
    KERNEST_PAD_CIRCULAR = 3
} kernest_padding_mode;

int kernest_padding_mode_parse(const char *s); /* "zeros" | "reflect" | "replicate" | "circular" */
const char *kernest_padding_mode_name(kernest_padding_mode mode);

/* *out = A (2-D to 4-D) with its last two axes padded by top, bottom rows and left, right columns
 * in mode (caller owns *out). reflect needs each pad smaller than the axis, circular no larger. */
int kernest_pad(const kernest_array *A, size_t top, size_t bottom, size_t left, size_t right,
                kernest_padding_mode mode, kernest_array **out);
/* kernest_pad as a layer of geometry g (NULL: stride and dilation 1) pads its input for a kh×kw
 * kernel: pad_h rows and pad_w columns on each side, or, for -1, 'same': P = d·(k−1) in all,
 * P//2 before and the rest after (PyTorch's padding='same', even kernels included); with a
 * stride s > 1 (which PyTorch refuses with 'same') JAX's and TensorFlow's SAME:
 * P = max((⌈H/s⌉ − 1)·s + d·(k−1) + 1 − H, 0), split the same way, so that the output is ⌈H/s⌉. */
int kernest_pad_layer(const kernest_array *A, size_t kh, size_t kw, int pad_h, int pad_w,
                      kernest_padding_mode mode, const kernest_geometry *g, kernest_array **out);

/* ---- estimation -------------------------------------------------------------------------- */

typedef enum kernest_reg {
    KERNEST_REG_NONE = 0,  /* plain least squares */
    KERNEST_REG_RIDGE = 1, /* λ/2 ‖K‖² */
    KERNEST_REG_GRAD = 2   /* λ/2 ‖∇K‖², first differences inside the kernel */
} kernest_reg;

int kernest_reg_parse(const char *s); /* "none" | "ridge" | "grad"; -1 otherwise */
const char *kernest_reg_name(kernest_reg reg);

typedef enum kernest_device_kind {
    KERNEST_DEVICE_AUTO = 0, /* a usable CUDA device, else the CPU */
    KERNEST_DEVICE_CPU = 1,
    KERNEST_DEVICE_CUDA = 2
} kernest_device_kind;

/* The parametrisation of the kernel the solver works on. */
typedef enum kernest_model {
    KERNEST_MODEL_PIXEL = 0, /* every kernel pixel is an unknown */
    KERNEST_MODEL_RADIAL = 1, /* K = Φ(c): a profile f(r) on knots r = 0, 1, 2, ... px from the
                                 centre, linearly interpolated; reg grad = ½λ‖D f‖² along r */
    KERNEST_MODEL_HARMONIC = 2, /* K(r, θ) = f_0(r) + Σ_{m=1..order} f_m(r) cos mθ + g_m(r) sin mθ,
                                   θ = atan2(row offset, column offset) (rows down: θ turns from
                                   the +column axis towards +row, as synth's ANGLE); each profile
                                   on radial knots; f_m(0) = g_m(0) = 0 for m >= 1 */
    KERNEST_MODEL_LOWRANK = 3   /* K = Σ_{r<order} u_r v_rᵀ (u_r: kh values, v_r: kw values), by
                                   alternating least squares over U and V */
} kernest_model;

/* The largest order of a model: harmonic M is 0..KERNEST_MODEL_MAX_ORDER, lowrank R is
 * 1..KERNEST_MODEL_MAX_ORDER. */
#define KERNEST_MODEL_MAX_ORDER 64

/* 1 when the model takes an order (harmonic M, lowrank R), with its range in *lo..*hi (either
 * pointer may be NULL); 0 otherwise. */
int kernest_model_order_range(kernest_model model, int *lo, int *hi);

/* "pixel" | "radial" | "harmonic" | "lowrank" (the order is a separate option); -1 otherwise */
int kernest_model_parse(const char *s);
const char *kernest_model_name(kernest_model model);

typedef enum kernest_solver {
    KERNEST_SOLVER_AUTO = 0,  /* FISTA when a constraint or l1 is set, else CGLS */
    KERNEST_SOLVER_CGLS = 1,  /* quadratic regularisers only */
    KERNEST_SOLVER_FISTA = 2, /* accelerated proximal gradient with adaptive restart */
    KERNEST_SOLVER_GPCG = 3   /* gradient projection conjugate gradients: quadratic regularisers
                                 under bounds and held pixels, l1 where the bounds are >= 0 (no
                                 tv or --sum); it stops at
                                 the minimiser (a projected-gradient test), where FISTA stops
                                 when its steps get small */
} kernest_solver;

int kernest_solver_parse(const char *s); /* "auto" | "cgls" | "fista" | "gpcg"; -1 otherwise */
const char *kernest_solver_name(kernest_solver solver);

/* CGLS's preconditioner: a positive diagonal M of the normal equations, diag(ΦᵀDΦ) + λ diag(G)
 * with D = diag(HᵀH) on the kernel's pixels (a sliding sum of A², exact, from A alone; with the
 * background's projection), Φ the model's map (the identity for pixels) and G the prior's Gram
 * matrix. Preconditioned, CGLS measures its residual, tol and history in the M⁻¹ norm. */
typedef enum kernest_precond {
    KERNEST_PRECOND_AUTO = 0,   /* the default: for radial mean from 2^19 kernel pixels (jacobi
                                   below, where mean measured slower), jacobi for lowrank's
                                   half-steps, none for pixels and harmonic (where jacobi measured
                                   slower to the same accuracy; README, "The preconditioner") */
    KERNEST_PRECOND_JACOBI = 1, /* M as above, for every model */
    KERNEST_PRECOND_NONE = 2,   /* plain CGLS (tol on ‖Hᵀr − λLᵀLk‖ relative to its start) */
    KERNEST_PRECOND_MEAN = 3    /* jacobi on A less its mean, plus the normal equations' share of
                                   A's mean as a rank-64 correction (README, "The
                                   preconditioner"): the radial model, one kernel, no
                                   background; jacobi elsewhere (harmonic included) */
} kernest_precond;

int kernest_precond_parse(const char *s); /* "auto" | "jacobi" | "none" | "mean"; -1 otherwise */
const char *kernest_precond_name(kernest_precond precond);

/* Where the kernel may be non-zero; pixels outside are forced to 0. Disk and box are centred on
 * the kernel centre ((kh-1)/2, (kw-1)/2). */
typedef enum kernest_support_kind {
    KERNEST_SUPPORT_NONE = 0,
    KERNEST_SUPPORT_DISK = 1, /* distance from the centre <= support_radius */
    KERNEST_SUPPORT_BOX = 2,  /* support_h × support_w window, first row (kh-1)/2 - (support_h-1)/2 */
    KERNEST_SUPPORT_MASK = 3  /* support_mask: kh×kw, non-zero = free */
} kernest_support_kind;

/* A kernel pixel held at a value; row, col are offsets from the centre ((kh-1)/2, (kw-1)/2). */
typedef struct kernest_fixed_pixel {
    long row, col;
    double value;
} kernest_fixed_pixel;

/* What a progress callback sees after each iteration. */
typedef struct kernest_progress {
    int iteration;       /* iterations done, counted from the start of the solve (a resumed solve
                            continues the count of its checkpoint) */
    int first_iteration; /* the count this call's solve started from (0, or the checkpoint's) */
    int maxiter;         /* the iteration cap */
    double residual;     /* this iteration's entry of residual_history (see kernest_report) */
    double tol;          /* the tolerance residual is compared with */
    double elapsed;      /* seconds since this call's iterations began */
    const char *solver;  /* "cgls", "fista", or "hybrid" (a λ path's Krylov subspace growing) */
    const char *phase;   /* what this solve is for: NULL for the one solve of a plain estimate;
                            else e.g. "choosing: radial+grad, lambda 53.2, fold 2/3",
                            "final: radial+grad, lambda 53.2", "lowrank sweep 3/30",
                            "uncertainty: sample 2/8" (valid during the call only) */
} kernest_progress;

/* Progress callback: called in the solving thread after each iteration; return 0 to go on,
 * non-zero to stop (reason KERNEST_STOP_INTERRUPTED; the estimate is the current iterate). */
typedef int (*kernest_progress_fn)(void *user, const kernest_progress *p);
/* The rule that chooses λ from the data (--select). */
typedef enum kernest_select {
    KERNEST_SELECT_CV = 0,          /* K-fold cross-validation over B's pixels (held-out MSE) */
    KERNEST_SELECT_GCV = 1,         /* generalised cross-validation, Hutchinson trace */
    KERNEST_SELECT_DISCREPANCY = 2, /* ‖r‖² = m σ² */
    KERNEST_SELECT_LCURVE = 3       /* corner of maximum curvature of (log ‖r‖², log ‖L K‖²) */
} kernest_select;

/* Parses "cv", "cv:K" (2 <= K <= 100), "gcv", "discrepancy", "lcurve"; *folds receives K (5 for
 * "cv", unchanged otherwise). Returns -1 for anything else. */
int kernest_select_parse(const char *s, int *folds);
const char *kernest_select_name(kernest_select s);

/* Options of one solve; fill with kernest_options_default first. */
typedef struct kernest_options {
    kernest_mode mode;           /* observed window; default same */
    size_t kh, kw;               /* kernel shape; 0,0 = default for the mode (same: 2Ha-1 × 2Wa-1) */
    kernest_reg reg;             /* regulariser; default none */
    double lambda;               /* regularisation weight (>= 0); default 0 */
    double tol;                  /* cgls: relative ‖normal-equation residual‖ (in the
                                    preconditioner's norm when preconditioned), and with λ > 0 a
                                    flat objective (its fall over 10 iterations <= 300·tol of
                                    itself); or, tol > 0, that residual down to 10ε of its value
                                    at K = 0, the working precision's resolution; fista: relative
                                    change ‖k_t − k_{t−1}‖/‖k_{t−1}‖; default 1e-6; 0: maxiter
                                    iterations */
    int maxiter;                 /* iteration cap; default 500 */
    int threads;                 /* CPU threads; 0 = all cores */
    kernest_precision precision; /* working precision; default: double on CPU, single on GPU */
    kernest_device_kind device;  /* default auto */
    int device_index;            /* CUDA device ordinal when device is CUDA; -1 = any */
    const char *const *input_names; /* 2*npairs names (A1, B1, A2, ...) used in error messages;
                                       NULL = "A", "B". Borrowed. */
    /* ---- priors (python/kernest/_Options mirrors every field, in this order) ---- */
    kernest_model model;         /* default pixel */
    kernest_solver solver;       /* default auto */
    double l1;                   /* ℓ1 weight λ₁ >= 0 (λ₁‖K‖₁, by soft-thresholding in FISTA) */
    int nonneg;                  /* 1: K >= 0 */
    int has_bounds;              /* 1: lower <= K <= upper (±INFINITY allowed) */
    double lower, upper;
    int has_sum;                 /* 1: Σ K = sum (with channels: the sum of each kernel) */
    double sum;
    kernest_support_kind support; /* default none */
    double support_radius;       /* disk */
    size_t support_h, support_w; /* box */
    const kernest_array *support_mask; /* mask: kh×kw, non-zero = free. Borrowed. */
    size_t nfixed;               /* entries of fixed */
    const kernest_fixed_pixel *fixed; /* pixels held at a value. Borrowed. */
    /* ---- progress and checkpoints (python/kernest/_Options mirrors these, in this order) ---- */
    kernest_progress_fn progress; /* called after every iteration (NULL: none); a non-zero return
                                     stops the solve with reason "interrupted" */
    void *progress_user;         /* passed to progress. Borrowed. */
    const char *checkpoint;      /* write the solver state here, atomically, every
                                    checkpoint_every seconds and when progress stops the solve;
                                    NULL: never. Borrowed. */
    double checkpoint_every;     /* seconds between checkpoints (>= 0; 0 = every iteration);
                                    default 60 */
    const char *resume;          /* start from this checkpoint (written for the same problem and
                                    options); NULL: from zero. Borrowed. */
    /* ---- total variation (python/kernest/_Options mirrors it, at the end) ---- */
    double tv;                   /* isotropic TV weight λ_tv >= 0 (λ_tv Σ sqrt(∂xK² + ∂yK²), forward
                                    differences inside the kernel; FISTA, pixel model only) */
    /* ---- several channels (python/kernest/_Options mirrors these, in this order) ----
     * A[i], B[i] may be 3-D or 4-D (see kernest_layout): each holds samples with C_in input or
     * C_out output channels, the same counts in every pair; B[s,o] = Σ_i crop(A[s,i] ⊛ K[o,i]).
     * K is then returned 4-D, C_out×C_in×Kh×Kw (a framework's conv weight layout); 2-D when
     * every A[i] and B[i] is 2-D. kh, kw and the priors apply to each of the C_out×C_in kernels
     * (support and fixed pixels to every kernel; grad does not difference across kernels). */
    kernest_layout layout;       /* how 3-D arrays are read; default auto (C×H×W) */
    int correlate;               /* 1: return (and take priors for) cross-correlation kernels, each
                                    flipped in both axes against the convolution kernel */
    /* ---- automatic choices and uncertainty (python/kernest/_Options mirrors these, in order).
     * The library default is a single solve (both flags 0); the CLI turns the automatic choice
     * on when neither --model, --reg nor --lambda is given (--fast keeps one solve). ---- */
    int auto_lambda;             /* 1: choose λ of reg by `select` (reg none -> grad) */
    int auto_model;              /* 1: choose the model and priors among the candidate table by
                                    cross-validation (implies auto_lambda; select must be cv) */
    kernest_select select;       /* default cv */
    int cv_folds;                /* K of cv:K; default 5 */
    double sigma;                /* noise standard deviation when known; 0 = estimate it */
    int probes;                  /* Rademacher probes of the Hutchinson trace; default 2 */
    int uncertainty;             /* > 0: randomize-then-optimize samples for report->std (and
                                    report->coverage); 0 = none (default) */
    unsigned long long seed;     /* folds, probes and samples; default 1 */
    int auto_l1;                 /* 1: also choose the ℓ1 weight (after λ, by cv; --reg ...,l1:auto) */
    /* ---- harmonic and low-rank models, background (python mirrors these too, in order) ---- */
    int order;                   /* harmonic: M >= 0 (highest angular order); lowrank: R >= 1 */
    int outer_maxiter;           /* lowrank: cap on ALS sweeps (one U and one V solve); default 30 */
    double outer_tol;            /* lowrank: stop when ‖K_t − K_{t−1}‖/‖K_{t−1}‖ <= outer_tol;
                                    default 1e-4 */
    int background;              /* 1: fit a constant offset β_i per pair jointly with K (not
                                    regularised, not constrained) */
    int bias;                    /* 1: fit one offset per output channel, shared by every sample
                                    (a convolution layer's bias), jointly with K, unregularised;
                                    not with background (whose offsets already hold it) */
    /* ---- a framework's padding (python mirrors these too, in order) ---- */
    int padding;                 /* 1: a layer's padding instead of `mode`: every A is padded
                                    (pad_h, pad_w, padding_mode) and the window is valid, as
                                    PyTorch's conv2d computes it; needs kh, kw */
    int pad_h, pad_w;            /* rows and columns padded on each side (>= 0), or -1 for 'same':
                                    (k−1)//2 before and the rest after, even kernels included */
    kernest_padding_mode padding_mode; /* default zeros */
    /* ---- a layer's stride, dilation and groups (python mirrors it, at the end) ----
     * all ones by default; K is C_out × C_in/groups × kh × kw; kh, kw are needed when stride or
     * dilation is not 1. The priors and models act on the kh×kw taps (the layer's weight). */
    kernest_geometry geometry;
    /* ---- the solver's preconditioner (python mirrors it, at the end) ---- */
    kernest_precond precond;     /* cgls: default auto */
} kernest_options;

void kernest_options_default(kernest_options *opt);
/* sizeof(kernest_options) in this build of the library: a binding that mirrors the struct (the
 * Python package) checks its own size against it when it loads. */
size_t kernest_options_size(void);

/* Why the solver stopped. Not converging is a result, not an error. */
typedef enum kernest_stop_reason {
    KERNEST_STOP_CONVERGED = 0,
    KERNEST_STOP_MAXITER = 1,
    KERNEST_STOP_BREAKDOWN = 2,
    KERNEST_STOP_NONFINITE = 3,   /* a NaN or Inf appeared: the estimate is the last finite iterate */
    KERNEST_STOP_INTERRUPTED = 4  /* the progress callback asked to stop (e.g. on SIGINT) */
} kernest_stop_reason;

const char *kernest_stop_reason_name(kernest_stop_reason r);

/* Per-pair data misfit at the estimate (pixels with NaN in B excluded). */
typedef struct kernest_pair_misfit {
    size_t count; /* number of observed pixels */
    double sse;   /* Σ (crop(A ⊛ K̂) − B)² */
    double rms;   /* sqrt(sse / count) */
} kernest_pair_misfit;

/* One candidate of the automatic model choice (or the single model whose λ was chosen). */
typedef struct kernest_candidate {
    char name[32];        /* e.g. "pixel+grad" */
    kernest_model model;
    kernest_reg reg;
    int nonneg;
    double lambda;        /* the best λ found for it */
    double score;         /* the rule's score at that λ (cv: held-out mean squared error) */
    int solves;           /* solver runs spent on it (a Krylov subspace of its λ path counts as one) */
    double l1;            /* the ℓ1 weight of the choice (chosen when auto_l1) */
    long applications;    /* operator applications (H and Hᵀ) spent on it while choosing */
    double seconds;       /* and the seconds */
    int capped;           /* of its solves, those that stopped at a cap (--maxiter, or lowrank's
                             sweeps while choosing) rather than at the tolerance: its score is
                             that of an unfinished fit */
    double score_se;      /* cv: the standard error of (its score − the best score), paired on the
                             same held-out pixels (README, "--model auto"); for a candidate left
                             out of the finalists as more than 3 of them behind, of (its score −
                             the best one's on the scored fold); 0 for the best and for another
                             candidate not scored on the best one's folds */
    int subspaces;        /* cv: Krylov subspaces its λ path was scored in (README, "--model auto"):
                             one per scored fold, again if built anew; each counts as one of its
                             solves, and its path's points cost none. 0: its path solved */
    int finished;         /* a choice made on B's central window (README, "Large problems"): 1 when
                             its score is that of fits run to the final solve's cap, its capped
                             FISTA fits scored again as a close contender */
    double held_score;    /* a choice made on B's central window (README, "Large problems"): the
                             mean squared error with which its fit on the window's first fold, at
                             its λ, predicts B's held windows; NaN when it was not checked there */
    int trailed;          /* cv: 1 when its λ path was cut short: a fit stopped at its cap and
                             its score trailed the candidates scored before it by more than
                             KN_CONFIRM_BAND (README, "--model auto", *Far behind*); its other λ
                             were not scored */
} kernest_candidate;

/* One λ the rule evaluated. */
typedef struct kernest_path_point {
    size_t candidate;     /* index into candidates */
    double lambda;
    double score;         /* cv: held-out MSE; gcv: m‖r‖²/(m−t)²; discrepancy: ‖r‖²/(mσ²);
                             lcurve: curvature (filled once the path is complete) */
    double rss;           /* ‖r‖² of the fit on the data it was fitted on */
    double aux;           /* gcv: trace estimate t; lcurve: ‖L K‖² (prior term); cv: folds */
    int iterations;       /* of the solves behind this point */
    double l1;            /* the ℓ1 weight of this point */
} kernest_path_point;

/* What a solve did. Owned by the caller; free with kernest_report_destroy. */
typedef struct kernest_report {
    kernest_stop_reason reason;
    int iterations;
    double *residual_history;     /* iterations+1 values: cgls ‖s_k‖/‖s_0‖ (normal-equation
                                     residual); fista ‖k_t − k_{t−1}‖/‖k_{t−1}‖ */
    size_t npairs;
    kernest_pair_misfit *misfit;  /* npairs entries */
    size_t kh, kw;                /* kernel shape solved for */
    size_t grid_h, grid_w;        /* FFT grid */
    size_t bytes_needed;          /* working memory of the solve, computed before allocation */
    char device[128];             /* which device ran, e.g. "cpu (FFTW 3.3.10, 2 threads)" */
    char backend[16];             /* "cpu" or "cuda" */
    kernest_precision precision;
    double setup_seconds;         /* planning and spectra of A */
    double solve_seconds;         /* the iterations */
    double wall_seconds;          /* whole call */
    char solver[16];              /* "cgls", "fista" or "gpcg" */
    kernest_model model;
    size_t nprofile;              /* radial: knots of the profile (0 for pixel) */
    double *profile;              /* radial: f(r) at r = 0, 1, 2, ... px; NULL for pixel */
    double lipschitz;             /* fista: the Lipschitz constant of the step 1/L (0 for cgls) */
    int restarts;                 /* fista: momentum restarts */
    double metric_ratio;          /* fista: λ₁/λ₂ of the normal equations where one eigenvalue
                                     stood out and the step ran in a rank-one metric (lipschitz
                                     is then the rest's); 0 where it ran in L·I */
    int gp_steps, cg_steps;       /* gpcg: projected gradient steps and conjugate gradient steps
                                     on a face (iterations = their sum) */
    int faces;                    /* gpcg: conjugate gradient runs, one per face visited */
    /* ---- MPI (kernest_estimate_mpi) ---- */
    int ranks;                    /* processes the pairs were spread over (1: one process) */
    double comm_seconds;          /* rank 0's time inside MPI calls during the solve */
    double stage_seconds;         /* rank 0's time copying kernel vectors to and from the host
                                     for those calls */
    /* ---- robustness ---- */
    size_t nwarnings;             /* entries of warnings */
    char **warnings;              /* one-line warnings (e.g. "device auto: the CUDA backend failed
                                     (...); ran on the CPU"); NULL when none */
    int resumed_from;             /* iterations done by the checkpoint the solve resumed from
                                     (0: not resumed) */
    /* ---- several channels ---- */
    size_t channels_in, channels_out; /* C_in, C_out (1, 1 for 2-D pairs) */
    size_t samples;               /* samples over every pair (npairs for 2-D pairs); misfit[i]
                                     sums pair i's samples and output channels */
    /* ---- automatic choices and uncertainty ---- */
    int automatic;                /* 1 when λ and/or the model were chosen from the data */
    char select_rule[40];         /* e.g. "cv:5 (1 fold scored)", "gcv" */
    size_t ncandidates;
    kernest_candidate *candidates; /* every (model, priors) compared, with its λ and score */
    size_t chosen;                /* index of the choice in candidates */
    size_t npath;
    kernest_path_point *path;     /* every λ evaluated, in order */
    kernest_reg reg;              /* regulariser of the final solve */
    double lambda;                /* its λ */
    int nonneg;                   /* 1 when the final solve had K >= 0 */
    double sigma;                 /* σ used by the rule or the uncertainty (0: none) */
    int sigma_estimated;          /* 1: σ was estimated as ‖r‖² / (m − tr H_λ) */
    int selection_solves;         /* solver runs of the choice, the final solve included */
    long selection_iterations;    /* their iterations (each one H and one Hᵀ) */
    /* the automatic choice's cost by phase: operator applications (each call of H or Hᵀ, on
     * whatever grid it ran) and seconds. prepare: the far field that a reduced problem subtracts
     * (a short plain solve on all the data); select: every candidate and λ (on the reduced
     * problem when window > 0); final: the final solve on all the data. */
    long applications_prepare, applications_select, applications_final;
    double seconds_prepare, seconds_select, seconds_final;
    size_t window;                /* > 0: candidates and λ were chosen on a central window of B
                                     of window × window pixels, kernel window_kernel² */
    size_t window_kernel;
    double window_grid_fraction;  /* the window's FFT grid area / the full problem's: one
                                     application on the window costs about that many full ones */
    int window_far_subtracted;    /* window > 0: 1 when the far field was subtracted from B's
                                     windows; 0 when every A is white (window_box_spread below 2)
                                     and its quick solve stopped at its cap or its far field
                                     fluctuates by more than 0.2 of its mean over the window */
    kernest_model window_far_model; /* that quick solve's model: pixel, or radial when an A is not
                                       white (window_box_spread 2 or more; README, "Textured inputs") */
    int window_far_iterations;    /* the iterations of the quick solve that measured the far field */
    int window_far_converged;     /* 1 when that quick solve converged, 0 when it stopped at its cap */
    double window_box_spread;     /* A's box means' spread at the window kernel's side (README) */
    double window_far_fluctuation; /* the far field's standard deviation over B's central window /
                                      |its mean| there (the largest over the pairs) */
    double *coverage;             /* kh*kw: Σ_i Σ_observed |A_i| touching each kernel pixel, or NULL */
    double *std;                  /* kh*kw: posterior standard deviation per pixel, or NULL */
    int std_samples;              /* samples behind std */
    double std_rel_error;         /* relative Monte-Carlo error of std: 1/sqrt(2(S−1)) */
    int uncertainty_solves;       /* solver runs spent on std (and on σ when estimated for it) */
    double l1;                    /* the ℓ1 weight of the final solve */
    /* ---- harmonic and low-rank models, background ----
     * profile/nprofile above hold the model's unknowns for every non-pixel model:
     *   harmonic: f_0 on p knots (r = 0..p−1), then f_1, g_1, ..., f_M, g_M on knots r = 1..p−1;
     *   lowrank: U (R columns of kh values: u_0, u_1, ...), then V (R columns of kw values);
     * with several channels each of the C_out·C_in kernels has its own: nprofile/(C_out·C_in)
     * values of the layout above per kernel, kernel (o, i) the (o·C_in + i)-th block (K's order);
     * the JSON report nests them C_out × C_in like K when kernels_4d;
     * iterations/residual_history/reason above are those of the last half-step for lowrank. */
    int order;                    /* the model's order (harmonic M, lowrank R; 0 otherwise) */
    int outer_iterations;         /* lowrank: ALS sweeps done (0 for other models) */
    kernest_stop_reason outer_reason; /* lowrank: converged (outer_tol met) or maxiter */
    double outer_change;          /* lowrank: relative change of K in the last sweep */
    size_t nbackground;           /* with --background: one per sample and output channel
                                     (npairs for 2-D pairs), else 0 */
    double *background;           /* with --background: β[s·C_out + o], samples in order over the
                                     pairs (β_i of each 2-D pair), else NULL */
    /* ---- batch jobs ---- */
    int setup_reused;             /* 1 when the operator kept the FFT plans and buffers of the
                                     previous job of the same shape (kernest batch) */
    /* ---- several channels, continued ---- */
    int kernels_4d;               /* 1 when K (and the uncertainty maps) are C_out×C_in×Kh×Kw:
                                     some A or B was 3-D or 4-D */
    /* ---- low-rank, continued ---- */
    long inner_iterations;        /* lowrank: iterations of the start and of every half-step
                                     together (iterations above: the last half-step's); else 0 */
    /* ---- bias ---- */
    int bias;                     /* 1 with opt->bias: background/nbackground hold the C_out
                                     offsets of the output channels (the layer's bias) */
    int threads;                  /* CPU threads the solve ran on (opt->threads capped by the
                                     work: one per 16384 grid points, at most the cores); 0 on
                                     a GPU */
    /* ---- a layer's groups ---- */
    size_t kernel_in;             /* C_in/groups: each kernel's input channels, K's second axis
                                     (and the uncertainty maps' and profiles'); C_in without groups */
    /* ---- the solver's preconditioner ---- */
    char precond[16];             /* cgls: "jacobi", "mean" or "none", what the solve ran with (the
                                     residual history is in its norm); "" for fista */
} kernest_report;

void kernest_report_destroy(kernest_report **r);

/* Copies of the uncertainty maps of a report (kh×kw each, C_out×C_in×kh×kw when kernels_4d, in
 * the layout and orientation of K, --correlate included; opt->uncertainty > 0): *coverage and
 * *std receive new arrays (caller owns; either pointer may be NULL). KERNEST_E_INVALID when the
 * report has none. */
int kernest_report_uncertainty(const kernest_report *r, kernest_array **coverage, kernest_array **std);

/* Estimates K from npairs pairs (A[i], B[i]) sharing one kernel. A[i] must be finite; NaN in B[i]
 * marks a missing pixel. With channels (3-D/4-D arrays, opt->layout) each pair holds one or more
 * samples and K is the C_out×C_in×Kh×Kw set of kernels. *K receives the kernel (caller owns); *report (may be NULL) receives
 * what the solve did (caller owns). Neither is set on failure. */
int kernest_estimate(const kernest_array *const *A, const kernest_array *const *B, size_t npairs,
                     const kernest_options *opt, kernest_array **K, kernest_report **report);

/* An estimation context keeps one backend (its FFT plans, spectra buffers and, on a GPU, its
 * device memory) from one estimate to the next, so that a series of problems of one shape on the
 * same device, precision and threads (the jobs of a batch) sets up once. Not thread-safe: one
 * context per thread. Destroy accepts NULL and sets *ctx = NULL. */
typedef struct kernest_context kernest_context;
int kernest_context_create(kernest_context **out);
void kernest_context_destroy(kernest_context **ctx);
/* kernest_estimate through a context (ctx NULL: exactly kernest_estimate). */
int kernest_estimate_in(kernest_context *ctx, const kernest_array *const *A,
                        const kernest_array *const *B, size_t npairs, const kernest_options *opt,
                        kernest_array **K, kernest_report **report);

/* Writes a JSON report (the options, the solve, per-pair misfit) atomically to path. inputs
 * names the input files (2*npairs entries, may be NULL). */
int kernest_report_write_json(const char *path, const kernest_report *r,
                              const kernest_options *opt, const char *const *inputs);

/* The same report as JSON text: *json receives a NUL-terminated string the caller frees with
 * kernest_free. */
int kernest_report_to_json(const kernest_report *r, const kernest_options *opt,
                           const char *const *inputs, char **json);
/* Frees memory the library handed out as a plain pointer (NULL allowed). */
void kernest_free(void *p);

/* ---- build information ------------------------------------------------------------------- */

/* The library's version, KERNEST_VERSION_STRING of the build. */
const char *kernest_version(void);
/* 1 when the CUDA backend is compiled in. */
int kernest_have_cuda(void);
/* 1 when built with MPI (kernest_mpi.h: pairs spread over ranks). */
int kernest_have_mpi(void);
/* FFTW version string, e.g. "fftw-3.3.10". */
const char *kernest_fftw_version(void);
/* The folder where FFTW wisdom is cached between runs ("" when none). */
const char *kernest_fftw_wisdom_dir(void);
/* Writes the CUDA libraries' versions and the devices with their memory and compute capability
 * into buf (multi-line text, cap bytes, always NUL-terminated). KERNEST_E_UNSUPPORTED without
 * CUDA (buf then says so); KERNEST_E_DEVICE when no device is usable (buf still holds the
 * library versions). */
int kernest_cuda_info(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* KERNEST_H */
