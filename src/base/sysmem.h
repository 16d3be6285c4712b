/* sysmem.h — internal: how much host memory a solve may still take. */
#ifndef KN_SYSMEM_H
#define KN_SYSMEM_H

#include <stddef.h>

/* Bytes of host memory available now (MemAvailable of /proc/meminfo, else free pages).
 * Returns 0 and sets *bytes = SIZE_MAX when it cannot be told. */
int kn_host_mem_available(size_t *bytes);

/* Refuses (KERNEST_E_TOOBIG, with the number of bytes; "WHAT: needs ...") an allocation of
 * count × size bytes that overflows or exceeds the host memory available now; 0 when it may go
 * ahead. Called before large host allocations whose size comes from a file or an option. */
int kn_host_check(const char *what, size_t count, size_t size);

/* Human-readable "1.23 GiB" into buf. */
const char *kn_format_bytes(size_t bytes, char *buf, size_t cap);

#endif
