/* cpu_apply.h — internal: the operator applied once, on the CPU in double (cpu_apply.c), where a
 * result must be exact and needs no solve: the forward model, coverage maps, test references. */
#ifndef KN_CPU_APPLY_H
#define KN_CPU_APPLY_H

#include "backend/problem.h"

/* out = H in (adjoint 0: in has pb->n kernel values, out pb->m data values) or out = Hᵀ in
 * (adjoint 1: in has pb->m values, out pb->n), on a CPU backend in double with threads threads
 * (<= 0: all cores) made for this one call. */
int kn_cpu_apply_once(const kn_problem *pb, int threads, int adjoint, const double *in, double *out);

#endif
