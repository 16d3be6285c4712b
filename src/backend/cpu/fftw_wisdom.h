/* fftw_wisdom.h — internal: FFTW threads, planner flags and wisdom cached between runs. */
#ifndef KN_FFTW_WISDOM_H
#define KN_FFTW_WISDOM_H

#include "kernest.h"

/* Initialises FFTW's threads for the precision once and imports its cached wisdom. */
void kn_fftw_init(kernest_precision precision);
/* Planner flags: FFTW_MEASURE, or what KERNEST_FFTW_PLANNER (estimate|measure|patient) asks. */
unsigned kn_fftw_flags(void);
/* Saves the precision's wisdom atomically to the cache (failures are ignored: it is a cache). */
void kn_fftw_save_wisdom(kernest_precision precision);
/* Folder of the cache: $KERNEST_WISDOM_DIR, else $XDG_CACHE_HOME/kernest, else ~/.cache/kernest.
 * Empty string when none can be told. */
const char *kn_fftw_wisdom_dir(void);

#endif
