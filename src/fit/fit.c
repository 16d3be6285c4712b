/* fit.c — one solve on a session, whatever the model: lowrank goes to its alternating least
 * squares (lowrank_als.c), every linear model to the session's solve (session.c). */
#include <string.h>

#include "base/error.h"
#include "base/options.h"
#include "fit.h"

int kn_session_solve(kn_session *s, const kernest_options *opt, const double *x0, kn_fit *fit)
{
    return kn_session_solve_with(s, opt, x0, NULL, NULL, fit);
}

int kn_session_solve_with(kn_session *s, const kernest_options *opt, const double *x0,
                          const double *data, const double *shift, kn_fit *fit)
{
    memset(fit, 0, sizeof *fit);
    int st = kn_options_check(opt);
    if (st)
        return st;
    if (opt->model == KERNEST_MODEL_LOWRANK)
        return data || shift ? kn_error(KERNEST_E_INVALID, "--model lowrank: other data is not supported")
                             : kn_lowrank_solve(s, opt, x0, fit);
    kn_model model;
    if ((st = kn_model_init_nk(&model, opt->model, opt->order, s->pb.kh, s->pb.kw, kn_problem_kernels(&s->pb))))
        return st;
    return kn_session_solve_model(s, opt, &model, x0, data, shift, fit);
}

int kn_session_solve_linearised(kn_session *s, const kernest_options *opt, const double *x_lin,
                                const double *x0, const double *data, const double *shift, kn_fit *fit)
{
    if (opt->model != KERNEST_MODEL_LOWRANK || !x_lin)
        return kn_session_solve_with(s, opt, x0, data, shift, fit);
    memset(fit, 0, sizeof *fit);
    kn_model m;
    int st = kn_options_check(opt);
    if (!st && !(st = kn_lowrank_linear_model(&m, opt->order, s->pb.kh, s->pb.kw, kn_problem_kernels(&s->pb), x_lin)))
        st = kn_session_solve_model(s, opt, &m, x0, data, shift, fit);
    return st;
}
