/* cpu_impl.h — private to backend/cpu: the FFTW backend's types and operations in both
 * precisions. Each part is written once as a template (cpu_vectors.inc, cpu_operator.inc,
 * cpu_priors.inc) that its .c file instantiates for double and float; cpu_backend.c builds the
 * two tables from them. */
#ifndef KN_CPU_IMPL_H
#define KN_CPU_IMPL_H

#include <fftw3.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "base/error.h"

#include "cpu_double.h"
#include "cpu_decl.inc"
#include "cpu_float.h"
#include "cpu_decl.inc"
#undef R
#undef FFTW_
#undef SFX

#endif
