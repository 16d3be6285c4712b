/* synth.h — synthetic kernels, binary inputs and noise for `kernest synth` and tests. */
#ifndef KN_SYNTH_H
#define KN_SYNTH_H

#include <stdint.h>

#include "kernest.h"
#include "rng.h"

/* Fills the kh×kw kernel k (centre ((kh-1)/2, (kw-1)/2)) from a spec. ANGLE is in degrees from
 * the +column axis towards +row; u runs along that direction, v across it:
 *   "inv-r"                1/r with r the distance from the centre, 0 at the centre;
 *   "power:P"              r^-P, 0 at the centre (power:1 is inv-r);
 *   "gaussian:S"           exp(-r²/(2S²)), peak 1;
 *   "gaussian:SX,SY,ANGLE" exp(-u²/(2SX²) - v²/(2SY²)), peak 1;
 *   "exp:LX,LY,ANGLE"      exp(-sqrt(u²/LX² + v²/LY²)), peak 1;
 *   "line:LENGTH,ANGLE"    a motion line of that length through the centre, anti-aliased
 *                          (bilinear splats of 8 samples per pixel), unit sum;
 *   "moffat:ALPHA,BETA"    (1 + r²/ALPHA²)^-BETA, unit sum: an optical PSF with heavy wings
 *                          (moffat:1,1.5 holds 90 % of an unbounded one's flux within r = 10
 *                          and 98 % within 50).
 * Returns KERNEST_E_INVALID (naming --kernel) for anything else or a line that does not fit. */
int kn_synth_kernel(const char *spec, kernest_array *k);

/* Fills a with 0/1, each pixel 1 with probability density. */
void kn_synth_binary(kn_rng *r, double density, kernest_array *a);

/* Fills a with a fractal texture in [0, 1]: octaves of bilinearly interpolated white noise on
 * cells of 1, 2, 4, ... pixels, of equal weight, so that the power spectrum falls about as 1/f²,
 * like natural images' (a stand-in for photographs, which kernest does not ship). */
void kn_synth_fractal(kn_rng *r, kernest_array *a);

/* Standard deviation of the elements of a (population, 0 for an empty array). */
double kn_synth_std(const kernest_array *a);

/* Adds independent N(0, sigma²) noise to every element of a. */
void kn_synth_noise(kn_rng *r, double sigma, kernest_array *a);

#endif
