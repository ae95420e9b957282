/* md5.c — MD5 (RFC 1321), only because nbgrader's cell checksums are MD5 digests: a checksum we
 * write must be the one nbgrader computes, so the same notebook works with both tools. Not for
 * security. */
#include "grading.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* The RFC defines the 64 additive constants as floor(|sin(i + 1)| * 2^32); computing them keeps
 * the table honest. */
static void constants(uint32_t k[64]) {
    for (int i = 0; i < 64; i++) k[i] = (uint32_t)floor(fabs(sin((double)(i + 1))) * 4294967296.0);
}

static const int shifts[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

static void block(uint32_t h[4], const unsigned char *p, const uint32_t k[64]) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        int round = i / 16, g;
        uint32_t f;
        if (round == 0) f = (b & c) | (~b & d), g = i;
        else if (round == 1) f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
        else if (round == 2) f = b ^ c ^ d, g = (3 * i + 5) % 16;
        else f = c ^ (b | ~d), g = (7 * i) % 16;
        uint32_t next = b + rotl(a + f + k[i] + w[g], shifts[round][i % 4]);
        a = d, d = c, c = b, b = next;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

void grading_md5_hex(const void *data, size_t len, char hex[33]) {
    uint32_t k[64], h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    constants(k);
    const unsigned char *p = data;
    size_t whole = len / 64 * 64;
    for (size_t off = 0; off < whole; off += 64) block(h, p + off, k);
    /* the tail: the rest, a 1 bit, zeros, the length in bits (little-endian) */
    unsigned char tail[128] = {0};
    size_t rest = len - whole;
    memcpy(tail, p + whole, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[tail_len - 8 + i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < tail_len; off += 64) block(h, tail + off, k);
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", (unsigned)(h[i / 4] >> (8 * (i % 4))) & 0xff);
}
