/* solve_hooks.h — internal: the solver hooks behind kernest_options' progress callback,
 * checkpoint and resume, for one solve of a session. */
#ifndef KN_SOLVE_HOOKS_H
#define KN_SOLVE_HOOKS_H

#include "checkpoint.h"
#include "solver.h"
#include "base/warnings.h"

typedef struct kn_run_hooks {
    kn_solve_hooks hooks;
    const kernest_options *opt;
    kn_fingerprint fp;
    kn_solver_state resume; /* the checkpoint read for opt->resume */
    const char *solver;     /* "cgls" | "fista" */
    int first_iteration;    /* the checkpoint's iteration count, 0 when not resumed */
    double elapsed;         /* seconds into the iterations at the latest hook call */
    double last_save;       /* elapsed at the last checkpoint */
    int save_failed;        /* checkpoint writes that failed (warned once) */
    kn_warnings *warnings;  /* where a failed checkpoint write is noted (borrowed) */
    const char *phase;      /* kernest_progress.phase (borrowed; NULL: none) */
} kn_run_hooks;

/* Sets prm->hooks to rh's hooks when opt asks for a progress callback, a checkpoint or a resume
 * (prm->hooks is left NULL otherwise). Reads and checks opt->resume against the fingerprint of
 * pb, opt, solver and precision (errors name --resume). A checkpoint that cannot be written
 * does not stop the solve: it adds a warning to *warnings. Free with kn_run_hooks_free. */
int kn_run_hooks_init(kn_run_hooks *rh, const kn_problem *pb, const kernest_options *opt,
                      kernest_solver solver, kernest_precision precision, kn_warnings *warnings,
                      kn_solve_params *prm);
void kn_run_hooks_free(kn_run_hooks *rh);

#endif
