/* test_strmap.c — the engine's hash map against a plain array as the model: random puts,
 * replacements and removals of 20 000 keys (growth, removed-key markers, probing past them),
 * lookups by length-bounded keys, and iteration. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "strmap.h"

enum { KEYS = 20000, STEPS = 200000 };

static void *model[KEYS];  /* what the map should hold for key i (NULL: absent) */

static void key_of(int i, char *buf, size_t size) { snprintf(buf, size, "name_%d", i); }

static void count(void *ctx, const char *key, void *value) {
    (void)key;
    (void)value;
    ++*(size_t *)ctx;
}

int main(void) {
    strmap m = {0};
    char key[32];
    unsigned seed = 12345;
    size_t live = 0;
    int mismatches = 0;
    for (int step = 0; step < STEPS; step++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % KEYS);
        key_of(i, key, sizeof key);
        if ((seed >> 4) % 3 == 0) {
            void *was = strmap_remove(&m, key);
            mismatches += was != model[i];
            if (model[i]) live--;
            model[i] = NULL;
        } else {
            void *value = (void *)(uintptr_t)(step + 1);
            if (!model[i]) live++;
            strmap_put(&m, key, value);
            model[i] = value;
        }
        if (step % 997 == 0) {  /* every so often, the whole map against the model */
            for (int k = 0; k < KEYS; k++) {
                key_of(k, key, sizeof key);
                mismatches += strmap_get(&m, key) != model[k];
            }
        }
    }
    CHECK(mismatches == 0);
    CHECK(m.count == live);
    size_t seen = 0;
    strmap_each(&m, count, &seen);
    CHECK(seen == live);
    /* a key given by length, as the splitter looks up a token inside the source */
    strmap_put(&m, "point", (void *)7);
    CHECK(strmap_getn(&m, "point_t", 5) == (void *)7);
    CHECK(strmap_getn(&m, "poin", 4) == NULL);
    CHECK(strmap_has(&m, "point") && !strmap_has(&m, "points"));
    strmap_free(&m);
    CHECK(strmap_get(&m, "point") == NULL);
    return check_summary("test_strmap");
}
