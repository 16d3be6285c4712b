/* sysmem.h — internal: how much host memory a solve may still take. */
#ifndef KN_SYSMEM_H
#define KN_SYSMEM_H

#include <stddef.h>

/* Bytes of host memory available now: the least of MemAvailable (/proc/meminfo, else free pages),
 * the cgroup memory limits of this process's cgroup and its ancestors less their usage (v2
 * memory.max - memory.current, v1 memory.limit_in_bytes - memory.usage_in_bytes, reclaimable
 * page cache not counted as used; KERNEST_CGROUP_ROOT replaces /sys/fs/cgroup) and the address
 * space left under RLIMIT_AS (ulimit -v). Returns 0 and sets *bytes = SIZE_MAX when it cannot be
 * told. */
int kn_host_mem_available(size_t *bytes);
/* Which of those bounded the last kn_host_mem_available ("MemAvailable", "the cgroup memory
 * limit less its usage", ...), for messages. Not thread-safe beyond a diagnostic. */
const char *kn_host_mem_source(void);

/* Refuses (KERNEST_E_TOOBIG, with the number of bytes; "WHAT: needs ...") an allocation of
 * count × size bytes that overflows or exceeds the host memory available now; 0 when it may go
 * ahead. Called before large host allocations whose size comes from a file or an option. */
int kn_host_check(const char *what, size_t count, size_t size);

/* Human-readable "1.23 GiB" into buf. */
const char *kn_format_bytes(size_t bytes, char *buf, size_t cap);

/* The host threads worth starting for work grid points (an FFT grid times its channels): one per
 * 16384 points and no more than the processors online; requested when it is smaller (0 and 1,
 * "all cores" and one, are returned as they are). More only add stacks and start-up: 4096
 * threads on a 24×24 problem took 7.5 s. */
int kn_threads_for_work(int requested, double work);

#endif
