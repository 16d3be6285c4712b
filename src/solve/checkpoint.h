/* checkpoint.h — internal: a solver's state in a small versioned binary file, tied to the problem
 * it was computed for by a fingerprint (shapes, mode, model, solver, precision, options that change
 * the iterates, a hash of the data). */
#ifndef KN_CHECKPOINT_H
#define KN_CHECKPOINT_H

#include <stdint.h>

#include "backend/problem.h"
#include "solver_state.h"

#define KN_CHECKPOINT_VERSION 3 /* 2: --background, the model order and TV's dual state; fixes as a set; 3: FISTA's metric */

typedef struct kn_fingerprint {
    uint32_t mode, model, solver, precision; /* kernest_mode, kernest_model, kernest_solver (cgls |
                                                fista: the one that runs), kernest_precision */
    uint64_t kh, kw, npairs;
    uint64_t data_hash;    /* shapes and values of every A_i and B_i */
    uint64_t options_hash; /* reg, λ, ℓ1, bounds, sum, support (and its mask), fixed pixels */
} kn_fingerprint;

/* The fingerprint of a solve of pb with opt's priors by the given solver in the given working
 * precision. tol and maxiter are left out: a resumed solve may ask for more iterations. */
void kn_fingerprint_make(const kn_problem *pb, const kernest_options *opt, kernest_solver solver,
                         kernest_precision precision, kn_fingerprint *fp);

/* Writes fp and st to path through a temporary file renamed into place. */
int kn_checkpoint_write(const char *path, const kn_fingerprint *fp, const kn_solver_state *st);
/* Reads a checkpoint into *st (free with kn_state_free). KERNEST_E_NOFILE when it cannot be
 * opened, KERNEST_E_FORMAT when it is not a checkpoint of this version or is damaged (the
 * checksum), KERNEST_E_INVALID when it was written for another problem or options than fp
 * describes (the message says what differs). Nothing is allocated past what the file's size
 * can hold. */
int kn_checkpoint_read(const char *path, const kn_fingerprint *fp, kn_solver_state *st);

#endif
