/* cpu_float.h — sets the FFTW backend's template parameters for single precision (R, the fftwf_
 * prefix FFTW_(name), the suffix SFX(name)); include it before a cpu_*.inc template. */
#undef R
#undef FFTW_
#undef SFX
#define R float
#define FFTW_(name) fftwf_##name
#define SFX(name) kn_cpu_##name##_f
