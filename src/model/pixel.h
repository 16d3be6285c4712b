/* pixel.h — internal: the pixel model's row of the kinds table (pixel.c). */
#ifndef KN_PIXEL_H
#define KN_PIXEL_H

#include "kind.h"

extern const kn_model_kind kn_kind_pixel;

#endif
