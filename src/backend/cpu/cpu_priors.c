/* cpu_priors.c — the FFTW backend's the operations of priors and constraints, in double and in single precision
 * (the template cpu_priors.inc instantiated twice). */
#include "cpu_impl.h"

#include "cpu_double.h"
#include "cpu_priors.inc"

#include "cpu_float.h"
#include "cpu_priors.inc"
