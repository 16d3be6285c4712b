/* cpu_operator.c — the FFTW backend's the operator (plans, H, Hᵀ, the regulariser's Gram), in double and in single precision
 * (the template cpu_operator.inc instantiated twice). */
#include "cpu_impl.h"
#include "fftw_wisdom.h"

#include "cpu_double.h"
#include "cpu_operator.inc"

#include "cpu_float.h"
#include "cpu_operator.inc"
