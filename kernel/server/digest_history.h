/* digest_history.h — the signatures of recent messages, so that a signed message captured and
 * sent again (a replay) is dropped instead of run twice. Bounded like jupyter_client's
 * digest_history: two generations of DIGEST_GENERATION signatures each; when the newer fills up,
 * the older is forgotten. At least the last DIGEST_GENERATION signatures are always remembered. */
#ifndef CONCLAB_DIGEST_HISTORY_H
#define CONCLAB_DIGEST_HISTORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define DIGEST_GENERATION 32768
#define DIGEST_BYTES 32           /* an HMAC-SHA256 */

typedef struct digest_set {
    unsigned char (*slots)[DIGEST_BYTES];  /* open addressing; an all-zero slot is empty */
    size_t count;
} digest_set;

typedef struct digest_history {
    pthread_mutex_t lock;       /* shell and control are served by different threads */
    digest_set generations[2];  /* [0] newer, [1] older */
} digest_history;

int digest_history_init(digest_history *h);
void digest_history_free(digest_history *h);

/* Remembers the signature (its lowercase hex text, as on the wire). true when it is new; false
 * when it was seen before (a replay) or is not a signature at all. */
bool digest_history_add(digest_history *h, const unsigned char *hex, size_t length);

#endif
