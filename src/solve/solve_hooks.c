/* solve_hooks.c — kernest_options' progress callback, checkpoints and resume as solver hooks. */
#include <string.h>

#include "base/error.h"
#include "solve_hooks.h"

static int after(void *user, int k, double residual, double elapsed)
{
    kn_run_hooks *rh = user;
    const kernest_options *opt = rh->opt;
    int ask = 0;
    rh->elapsed = elapsed;
    if (opt->progress) {
        const kernest_progress p = {k, rh->first_iteration, opt->maxiter, residual, opt->tol, elapsed,
                                    rh->solver, rh->phase};
        if (opt->progress(opt->progress_user, &p))
            ask |= KN_HOOK_STOP;
    }
    /* a checkpoint when stopped, when the time is due, and at the last iteration (so that a
     * solve stopped by --maxiter can be continued with a larger one) */
    if (opt->checkpoint && ((ask & KN_HOOK_STOP) || k >= opt->maxiter ||
                            elapsed - rh->last_save >= opt->checkpoint_every))
        ask |= KN_HOOK_SAVE;
    return ask;
}

static int save(void *user, const kn_solver_state *st)
{
    kn_run_hooks *rh = user;
    if (kn_checkpoint_write(rh->opt->checkpoint, &rh->fp, st) && !rh->save_failed++)
        kn_warn(rh->warnings, "%s (the solve went on; later failures are not repeated here)",
                kernest_last_error());
    rh->last_save = rh->elapsed;
    return KERNEST_OK;
}

int kn_run_hooks_init(kn_run_hooks *rh, const kn_problem *pb, const kernest_options *opt,
                      kernest_solver solver, kernest_precision precision, kn_warnings *warnings,
                      kn_solve_params *prm)
{
    memset(rh, 0, sizeof *rh);
    if (!opt->progress && !opt->checkpoint && !opt->resume)
        return KERNEST_OK;
    if (!(opt->checkpoint_every >= 0))
        return kn_error(KERNEST_E_INVALID, "--checkpoint-every: must be >= 0 seconds, got %g",
                        opt->checkpoint_every);
    rh->opt = opt;
    rh->warnings = warnings;
    rh->solver = kernest_solver_name(solver);
    if (opt->checkpoint || opt->resume) /* what a checkpoint is checked against */
        kn_fingerprint_make(pb, opt, solver, precision, &rh->fp);
    if (opt->resume) {
        int e = kn_checkpoint_read(opt->resume, &rh->fp, &rh->resume);
        if (e)
            return e;
        if (rh->resume.iteration > opt->maxiter) {
            e = kn_error(KERNEST_E_INVALID, "--resume: %s is at iteration %d, beyond --maxiter %d",
                         opt->resume, rh->resume.iteration, opt->maxiter);
            kn_state_free(&rh->resume);
            return e;
        }
        rh->hooks.resume = &rh->resume;
        rh->first_iteration = rh->resume.iteration;
    }
    rh->hooks.after = after;
    rh->hooks.save = save;
    rh->hooks.user = rh;
    prm->hooks = &rh->hooks;
    return KERNEST_OK;
}

void kn_run_hooks_free(kn_run_hooks *rh)
{
    kn_state_free(&rh->resume);
    memset(rh, 0, sizeof *rh);
}
