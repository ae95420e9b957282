/* utf8.h — makes arbitrary bytes safe to put in a JSON string: invalid sequences become U+FFFD,
 * and a sequence cut in half by a read is held back until the rest arrives. */
#ifndef CONCLAB_UTF8_H
#define CONCLAB_UTF8_H

#include <stddef.h>

/* Appends the valid UTF-8 rendering of in[0..len) to out (capacity >= 3*len + 1; NUL-terminated).
 * When `final` is 0, an incomplete sequence at the very end is not consumed: the return value is
 * the number of input bytes consumed, and *out_len the bytes written. */
size_t utf8_sanitize(const unsigned char *in, size_t len, int final, char *out, size_t *out_len);

#endif
