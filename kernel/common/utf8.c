/* utf8.c — validation per RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
#include "utf8.h"

#include <string.h>

static const char replacement[] = "\xEF\xBF\xBD";

/* Length of the valid sequence starting at s (1..4), 0 when invalid, -1 when cut short. */
static int sequence_length(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    int n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;  /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((size_t)i >= avail) return -1;
        unsigned char lower = i == 1 ? lo : 0x80, upper = i == 1 ? hi : 0xBF;
        if (s[i] < lower || s[i] > upper) return 0;
    }
    return n;
}

size_t utf8_sanitize(const unsigned char *in, size_t len, int final, char *out, size_t *out_len) {
    size_t i = 0, o = 0;
    while (i < len) {
        int n = sequence_length(in + i, len - i);
        if (n < 0 && !final) break;
        if (n <= 0) {
            memcpy(out + o, replacement, 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, in + i, (size_t)n);
        o += (size_t)n;
        i += (size_t)n;
    }
    out[o] = '\0';
    *out_len = o;
    return i;
}
