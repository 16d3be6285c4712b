/* sysmem.c — host memory available to a solve, and byte counts a person can read. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "sysmem.h"

int kn_host_mem_available(size_t *bytes)
{
    *bytes = SIZE_MAX;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                *bytes = (size_t)(kb * 1024ull);
                break;
            }
        fclose(f);
    }
    if (*bytes == SIZE_MAX) {
        long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        if (pages > 0 && psz > 0)
            *bytes = (size_t)pages * (size_t)psz;
    }
    return 0;
}

const char *kn_format_bytes(size_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 6) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, cap, u ? "%.2f %s" : "%.0f %s", v, units[u]);
    return buf;
}

int kn_host_check(const char *what, size_t count, size_t size)
{
    size_t bytes, avail;
    if (kn_mul_size(count, size, &bytes))
        return kn_error(KERNEST_E_TOOBIG, "%s: %zu x %zu bytes overflows the address space", what,
                        count, size);
    kn_host_mem_available(&avail);
    if (bytes > avail) {
        char a[32], b[32];
        return kn_error(KERNEST_E_TOOBIG, "%s: needs %s (%zu bytes) but only %s of memory is "
                        "available", what, kn_format_bytes(bytes, a, sizeof a), bytes,
                        kn_format_bytes(avail, b, sizeof b));
    }
    return KERNEST_OK;
}
