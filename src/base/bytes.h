/* bytes.h — little-endian loads and stores of 2, 4 and 8 bytes, for the file formats (.npy, the
 * checkpoint): byte assembly works on any host, and compilers fold it into plain moves. */
#ifndef KN_BYTES_H
#define KN_BYTES_H

#include <stdint.h>

static inline uint16_t kn_ld_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t kn_ld_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t kn_ld_le64(const unsigned char *p)
{
    return (uint64_t)kn_ld_le32(p) | (uint64_t)kn_ld_le32(p + 4) << 32;
}

/* the low nbytes (<= 8) bytes of v at p, least significant first */
static inline void kn_st_le(unsigned char *p, uint64_t v, int nbytes)
{
    for (int i = 0; i < nbytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* nbytes (<= 8) bytes at p, least significant first */
static inline uint64_t kn_ld_le(const unsigned char *p, int nbytes)
{
    uint64_t v = 0;
    for (int i = 0; i < nbytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif
