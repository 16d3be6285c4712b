/* backend.c — what every backend shares: freeing one through its table. */
#include <stdlib.h>

#include "backend.h"

void kn_backend_destroy(kn_backend **be)
{
    if (!be || !*be)
        return;
    if ((*be)->ops && (*be)->ops->destroy)
        (*be)->ops->destroy(*be);
    free(*be);
    *be = NULL;
}
