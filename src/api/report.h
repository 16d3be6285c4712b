/* report.h — internal: assembling a kernest_report from a fit (report.c). */
#ifndef KN_REPORT_H
#define KN_REPORT_H

#include "fit/fit.h"

/* The report of fit on session s: takes the fit's history and, for models, its unknowns;
 * wall_seconds is left 0 for the caller. */
int kn_report_make(const kn_session *s, kn_fit *fit, kernest_report **out);
/* Misfit per caller pair (its samples and output channels together) of the prediction hx (data
 * space, NaN pixels of B left out), recomputed from H x, not the solver's recursive residual;
 * mf (one entry per caller pair) must be zero-filled. */
void kn_pair_misfits(const kn_problem *pb, const double *hx, kernest_pair_misfit *mf);

#endif
