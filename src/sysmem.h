/* sysmem.h — internal: how much host memory a solve may still take. */
#ifndef KN_SYSMEM_H
#define KN_SYSMEM_H

#include <stddef.h>

/* Bytes of host memory available now (MemAvailable of /proc/meminfo, else free pages).
 * Returns 0 and sets *bytes = SIZE_MAX when it cannot be told. */
int kn_host_mem_available(size_t *bytes);

/* Human-readable "1.23 GiB" into buf. */
const char *kn_format_bytes(size_t bytes, char *buf, size_t cap);

#endif
