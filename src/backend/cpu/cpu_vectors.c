/* cpu_vectors.c — the FFTW backend's the vector operations, in double and in single precision
 * (the template cpu_vectors.inc instantiated twice). */
#include "cpu_impl.h"

#include "cpu_double.h"
#include "cpu_vectors.inc"

#include "cpu_float.h"
#include "cpu_vectors.inc"
