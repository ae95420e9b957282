/* test_digest_history.c — the replay guard's memory (kernel/server/digest_history.h): a signature
 * is new once, seen after; what is not a signature is never "new"; and after many more messages
 * the oldest are forgotten while the last DIGEST_GENERATION are always remembered. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "digest_history.h"

/* The hex signature of message number i (distinct for distinct i, never all zero). */
static const unsigned char *signature(unsigned i, char out[65]) {
    snprintf(out, 65, "%08x%056x", i * 2654435761u + 1u, i);
    return (const unsigned char *)out;
}

static bool add(digest_history *h, unsigned i) {
    char hex[65];
    return digest_history_add(h, signature(i, hex), 64);
}

int main(void) {
    digest_history h;
    CHECK(digest_history_init(&h) == 0);

    CHECK(add(&h, 1));
    CHECK(!add(&h, 1));  /* the replay */
    CHECK(add(&h, 2));
    char upper[65];
    signature(2, upper);
    for (char *c = upper; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A');
    CHECK(!digest_history_add(&h, (const unsigned char *)upper, 64));  /* the same digest in capitals */

    const char *not_signatures[] = {"", "abc", "zz00000000000000000000000000000000000000000000000000000000000000",
                                    "0000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof not_signatures / sizeof *not_signatures; i++)
        CHECK(!digest_history_add(&h, (const unsigned char *)not_signatures[i], strlen(not_signatures[i])));

    /* Three generations' worth: every one new the first time, the last generation all remembered,
     * the first ones forgotten (memory stays bounded). */
    unsigned total = 3 * DIGEST_GENERATION;
    int fresh = 0;
    for (unsigned i = 10; i < 10 + total; i++) fresh += add(&h, i);
    CHECK(fresh == (int)total);
    int remembered = 0;
    for (unsigned i = 10 + total - DIGEST_GENERATION; i < 10 + total; i++) remembered += !add(&h, i);
    CHECK(remembered == DIGEST_GENERATION);
    CHECK(add(&h, 10));  /* long forgotten: new again */

    digest_history_free(&h);
    return check_summary("test_digest_history");
}
