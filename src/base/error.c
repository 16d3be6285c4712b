/* error.c — the status table (names and messages) and the per-thread detail message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const struct {
    const char *name;
    const char *message;
    int input_error; /* 1: bad usage or input, the CLI exits 2 */
} status_table[KERNEST_STATUS_COUNT] = {
    [KERNEST_OK] = {"OK", "success", 0},
    [KERNEST_E_NOMEM] = {"E_NOMEM", "out of host memory", 0},
    [KERNEST_E_INVALID] = {"E_INVALID", "invalid argument", 1},
    [KERNEST_E_NOFILE] = {"E_NOFILE", "cannot open file", 1},
    [KERNEST_E_IO] = {"E_IO", "input/output error", 0},
    [KERNEST_E_FORMAT] = {"E_FORMAT", "unsupported or malformed file", 1},
    [KERNEST_E_SHAPE] = {"E_SHAPE", "array shapes do not fit together", 1},
    [KERNEST_E_VALUE] = {"E_VALUE", "values not allowed", 1},
    [KERNEST_E_TOOBIG] = {"E_TOOBIG", "problem too large", 1},
    [KERNEST_E_FFT] = {"E_FFT", "FFT library failure", 0},
    [KERNEST_E_DEVICE] = {"E_DEVICE", "device failure", 0},
    [KERNEST_E_UNSUPPORTED] = {"E_UNSUPPORTED", "not supported by this build", 1},
};

static _Thread_local char last_error[1024];

const char *kernest_status_name(int status)
{
    if (status < 0 || status >= KERNEST_STATUS_COUNT)
        return "E_UNKNOWN";
    return status_table[status].name;
}

const char *kernest_strerror(int status)
{
    if (status < 0 || status >= KERNEST_STATUS_COUNT)
        return "unknown status";
    return status_table[status].message;
}

int kernest_status_is_input_error(int status)
{
    if (status <= 0 || status >= KERNEST_STATUS_COUNT)
        return 0;
    return status_table[status].input_error;
}

const char *kernest_last_error(void)
{
    return last_error;
}

int kn_error(int status, const char *fmt, ...)
{
    /* format apart first: callers may pass kernest_last_error() itself to add context */
    char buf[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(last_error, buf, sizeof buf);
    return status;
}

void kn_error_clear(void)
{
    last_error[0] = '\0';
}
