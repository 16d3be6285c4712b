/* cpu_backend.h — internal: the CPU backend on FFTW (cpu_backend.c), one table per precision. */
#ifndef KN_CPU_BACKEND_H
#define KN_CPU_BACKEND_H

#include "backend/backend.h"

/* Creates the CPU (FFTW) backend. threads <= 0 means all cores. *out caller-owned. */
int kn_backend_cpu_create(kernest_precision precision, int threads, kn_backend **out);

#endif
