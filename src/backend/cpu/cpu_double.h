/* cpu_double.h — sets the FFTW backend's template parameters for double precision (R, the fftw_
 * prefix FFTW_(name), the suffix SFX(name)); include it before a cpu_*.inc template. */
#undef R
#undef FFTW_
#undef SFX
#define R double
#define FFTW_(name) fftw_##name
#define SFX(name) kn_cpu_##name##_d
