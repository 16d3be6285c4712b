/* wrap.c — the head shared by backend wrappers: a copy of the inner backend with its own table. */
#include "wrap.h"

void kn_backend_wrap_init(kn_backend_wrapper *w, kn_backend *inner)
{
    w->be = *inner;
    w->ops = *inner->ops;
    w->be.ops = &w->ops;
    w->inner = inner;
}
