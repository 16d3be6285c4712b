/* trace.c — the Hutchinson estimate of the influence matrix's trace, tr(H (HᵀH + λLᵀL)⁻¹ Hᵀ),
 * by solves on Rademacher probes: GCV and the σ estimate use it. */
#include <stdlib.h>

#include "base/error.h"
#include "base/options.h"
#include "base/rng.h"
#include "select_impl.h"
#include "trace.h"

int kn_trace_hutchinson(kn_session *s, const kernest_options *opt, const double *x_lin, int nprobe,
                        unsigned long long seed, double **xs, double *t, double *tp, long *iters)
{
    const size_t m = s->pb.m;
    double *z = malloc((m ? m : 1) * sizeof *z);
    unsigned char *obs = malloc(m ? m : 1);
    kn_fit f = {0};
    int st = KERNEST_OK;
    kn_rng rng;
    if (!z || !obs) {
        st = kn_error(KERNEST_E_NOMEM, "out of memory for the trace probes");
        goto done;
    }
    if (!kn_options_is_linear(opt)) {
        st = kn_error(KERNEST_E_INVALID, "--select gcv / sigma estimate: needs a linear fit (no --nonneg, "
                      "--bounds, --sum, l1 or tv); use --select cv or give --sigma");
        goto done;
    }
    sel_observed_mask(s, obs);
    kn_rng_seed(&rng, seed ^ 0x9e3779b97f4a7c15ULL);
    *t = 0.0;
    for (int p = 0; p < nprobe; p++) {
        for (size_t j = 0; j < m; j++) /* the same probes for every λ: a smooth GCV curve */
            z[j] = obs[j] ? (kn_rng_uniform(&rng) < 0.5 ? -1.0 : 1.0) : 0.0;
        if ((st = kn_session_solve_linearised(s, opt, x_lin, xs ? xs[p] : NULL, z, NULL, &f)))
            goto done;
        double q = 0.0;
        for (size_t j = 0; j < m; j++)
            q += z[j] * f.hx[j]; /* zᵀ H (HᵀH + λLᵀL)⁻¹ Hᵀ z */
        if (tp)
            tp[p] = q;
        *t += q / nprobe;
        if (iters)
            *iters += f.res.iterations;
        if (xs && (st = sel_keep_x(&xs[p], &f)))
            goto done;
        kn_fit_free(&f);
    }
done:
    kn_fit_free(&f);
    free(z);
    free(obs);
    return st;
}
