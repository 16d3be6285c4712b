/* sysmem.c — host memory available to a solve, and byte counts a person can read. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "sysmem.h"

/* A number from a one-line file (memory.max, memory.limit_in_bytes...); -1 when unreadable or
 * "max" (no limit). */
static long long read_number(const char *dir, const char *name)
{
    char path[4096 + 64], line[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long v = -1;
    if (fgets(line, sizeof line, f) && sscanf(line, "%lld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* One key of memory.stat ("inactive_file 123"): page cache the kernel reclaims before it kills */
static long long read_stat(const char *dir, const char *key)
{
    char path[4096 + 64], line[256], k[128];
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long long v, found = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%127s %lld", k, &v) == 2 && !strcmp(k, key)) {
            found = v;
            break;
        }
    fclose(f);
    return found;
}

/* What one cgroup folder still grants: its limit minus its usage (less reclaimable page cache);
 * SIZE_MAX when it sets no limit. v2: memory.max, memory.current; v1: memory.limit_in_bytes,
 * memory.usage_in_bytes (a limit near 2^63 is v1's "unlimited"). */
static size_t cgroup_dir_avail(const char *dir, int v2)
{
    long long limit = read_number(dir, v2 ? "memory.max" : "memory.limit_in_bytes");
    if (limit < 0 || limit >= (1ll << 62))
        return SIZE_MAX;
    long long used = read_number(dir, v2 ? "memory.current" : "memory.usage_in_bytes");
    if (used < 0)
        used = 0;
    long long cache = read_stat(dir, v2 ? "inactive_file" : "total_inactive_file");
    if (cache > 0 && cache <= used)
        used -= cache;
    return used >= limit ? 0 : (size_t)(limit - used);
}

/* The tightest cgroup memory limit over this process's cgroup and its ancestors, v2 and v1 (what
 * containers and batch schedulers such as Slurm set), less what is used: SIZE_MAX when none.
 * KERNEST_CGROUP_ROOT replaces /sys/fs/cgroup (another mount point; tests). */
static size_t cgroup_avail(void)
{
    const char *root = getenv("KERNEST_CGROUP_ROOT");
    if (!root || !*root)
        root = "/sys/fs/cgroup";
    size_t best = SIZE_MAX;
    char v2_path[2048] = "/", v1_path[2048] = "/";
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f) {
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2)
                continue;
            *c2 = '\0';
            const char *ctrl = c1 + 1, *path = c2 + 1;
            if (!strncmp(line, "0", 1) && !*ctrl)
                snprintf(v2_path, sizeof v2_path, "%s", path);
            else {
                /* "memory" among the comma-separated controllers */
                for (const char *p = ctrl; (p = strstr(p, "memory")); p += 6)
                    if ((p == ctrl || p[-1] == ',') && (p[6] == '\0' || p[6] == ','))
                        snprintf(v1_path, sizeof v1_path, "%s", path);
            }
        }
        fclose(f);
    }
    /* each version: the own cgroup and every ancestor (a parent's limit binds too), up to the mount
     * point, which inside a container is the container's own cgroup */
    for (int v2 = 1; v2 >= 0; v2--) {
        char base[1024], dir[4096];
        const char *cg = v2 ? v2_path : v1_path;
        snprintf(base, sizeof base, v2 ? "%s" : "%s/memory", root);
        char rel[2048];
        snprintf(rel, sizeof rel, "%s", cg);
        for (;;) {
            snprintf(dir, sizeof dir, "%s%s", base, strcmp(rel, "/") ? rel : "");
            size_t a = cgroup_dir_avail(dir, v2);
            if (a < best)
                best = a;
            char *slash = strrchr(rel, '/');
            if (!slash || slash == rel)
                break;
            *slash = '\0';
        }
        if (strcmp(cg, "/")) { /* and the mount point itself */
            size_t a = cgroup_dir_avail(base, v2);
            if (a < best)
                best = a;
        }
        if (v2) { /* a hybrid system mounts v2 at unified/ */
            snprintf(dir, sizeof dir, "%s/unified%s", root, strcmp(cg, "/") ? cg : "");
            size_t a = cgroup_dir_avail(dir, 1);
            if (a < best)
                best = a;
        }
    }
    return best;
}

/* The address space left under RLIMIT_AS (ulimit -v): the limit less VmSize; SIZE_MAX when none. */
static size_t rlimit_avail(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return SIZE_MAX;
    unsigned long long vm = 0, kb;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "VmSize: %llu kB", &kb) == 1) {
                vm = kb * 1024ull;
                break;
            }
        fclose(f);
    }
    return vm >= (unsigned long long)rl.rlim_cur ? 0 : (size_t)(rl.rlim_cur - vm);
}

static const char *source = "MemAvailable";

int kn_host_mem_available(size_t *bytes)
{
    *bytes = SIZE_MAX;
    source = "MemAvailable";
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
    size_t cg = cgroup_avail(), as = rlimit_avail();
    if (cg < *bytes) {
        *bytes = cg;
        source = "the cgroup memory limit less its usage";
    }
    if (as < *bytes) {
        *bytes = as;
        source = "the address-space limit (ulimit -v) less what is mapped";
    }
    return 0;
}

const char *kn_host_mem_source(void)
{
    return source;
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
                        "available (%s)", what, kn_format_bytes(bytes, a, sizeof a), bytes,
                        kn_format_bytes(avail, b, sizeof b), kn_host_mem_source());
    }
    return KERNEST_OK;
}

int kn_threads_for_work(int requested, double work)
{
    if (requested <= 1)
        return requested;
    double cap = work / 16384.0 + 1.0;
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 0 && cap > (double)cpus)
        cap = (double)cpus;
    return (double)requested > cap ? (int)cap : requested;
}
