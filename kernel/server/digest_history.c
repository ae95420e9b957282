/* digest_history.c — recent message signatures, in two generations of hash sets (digest_history.h). */
#include "digest_history.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { SLOTS = 2 * DIGEST_GENERATION };  /* at most half full: probes stay short */

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool decode_hex(const unsigned char *hex, size_t length, unsigned char out[DIGEST_BYTES]) {
    if (length != 2 * DIGEST_BYTES) return false;
    for (size_t i = 0; i < DIGEST_BYTES; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static bool is_empty(const unsigned char slot[DIGEST_BYTES]) {
    static const unsigned char zero[DIGEST_BYTES];
    return memcmp(slot, zero, DIGEST_BYTES) == 0;
}

/* The slot holding digest, or the empty one where it would go. The digest is an HMAC: its
 * first bytes are as good a hash as any. */
static unsigned char *find(const digest_set *set, const unsigned char digest[DIGEST_BYTES]) {
    uint64_t start;
    memcpy(&start, digest, sizeof start);
    for (size_t i = start % SLOTS;; i = (i + 1) % SLOTS) {
        unsigned char *slot = set->slots[i];
        if (is_empty(slot) || memcmp(slot, digest, DIGEST_BYTES) == 0) return slot;
    }
}

int digest_history_init(digest_history *h) {
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->lock, NULL);
    for (int g = 0; g < 2; g++) {
        h->generations[g].slots = calloc(SLOTS, DIGEST_BYTES);
        if (!h->generations[g].slots) {
            digest_history_free(h);
            return -1;
        }
    }
    return 0;
}

void digest_history_free(digest_history *h) {
    for (int g = 0; g < 2; g++) free(h->generations[g].slots);
    pthread_mutex_destroy(&h->lock);
    memset(h, 0, sizeof *h);
}

bool digest_history_add(digest_history *h, const unsigned char *hex, size_t length) {
    unsigned char digest[DIGEST_BYTES];
    if (!decode_hex(hex, length, digest) || is_empty(digest)) return false;
    pthread_mutex_lock(&h->lock);
    bool seen = !is_empty(find(&h->generations[0], digest)) || !is_empty(find(&h->generations[1], digest));
    if (!seen) {
        digest_set *newer = &h->generations[0];
        if (newer->count == DIGEST_GENERATION) {  /* the older generation is forgotten */
            digest_set older = h->generations[1];
            memset(older.slots, 0, (size_t)SLOTS * DIGEST_BYTES);
            older.count = 0;
            h->generations[1] = *newer;
            *newer = older;
        }
        memcpy(find(newer, digest), digest, DIGEST_BYTES);
        newer->count++;
    }
    pthread_mutex_unlock(&h->lock);
    return !seen;
}
