/* backend_open.h — internal: choosing the backend for the options (CPU or CUDA; this layer sits
 * above both), and the estimation context that keeps one backend between problems. */
#ifndef KN_BACKEND_OPEN_H
#define KN_BACKEND_OPEN_H

#include "backend/backend.h"
#include "base/warnings.h"

/* The options that decide which backend a problem gets: a kept backend is reused only for the
 * same ones. */
typedef struct kn_backend_key {
    kernest_device_kind device;
    int index, threads;
    kernest_precision precision;
} kn_backend_key;

kn_backend_key kn_backend_key_of(const kernest_options *opt);

/* Creates the backend opt asks for (device auto: CUDA when usable, else the CPU). Under auto, a
 * CUDA device that is present but fails to start (or any CUDA start while
 * KERNEST_TEST_FAIL_CUDA is set) adds a warning to *warnings (may be NULL). *out caller-owned. */
int kn_backend_open(const kernest_options *opt, kn_warnings *warnings, kn_backend **out);

/* kn_backend_open through a context: the backend ctx keeps for the same key when it has one
 * (ctx gives it up: *out is the caller's), a new one otherwise. ctx may be NULL. */
int kn_context_take(kernest_context *ctx, const kernest_options *opt, kn_warnings *warnings,
                    kn_backend **out);
/* Hands *be (opened for key) back to ctx, which keeps it, operator plans and buffers with it, when
 * it keeps none yet; destroys it otherwise (and when ctx is NULL). Sets *be = NULL. */
void kn_context_give(kernest_context *ctx, kn_backend_key key, kn_backend **be);

#endif
