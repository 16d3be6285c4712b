/* options.h — internal: the checks of kernest_options that do not depend on the data
 * (options.c, which also holds the public defaults and the output shapes). */
#ifndef KN_OPTIONS_H
#define KN_OPTIONS_H

#include "kernest.h"

/* Checks the options that do not depend on the data (ranges, enums, NULL lists). */
int kn_options_check(const kernest_options *opt);

#endif
