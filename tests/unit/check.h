/* check.h — the smallest test harness that can fail: CHECK prints the failing expression with its
 * file and line and counts it; main returns check_summary(), non-zero when anything failed. */
#ifndef CONCLAB_TEST_CHECK_H
#define CONCLAB_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); check_count++; \
    if (!g_ || !w_ || strcmp(g_, w_) != 0) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK_STR failed: %s\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, \
            #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } } while (0)

static inline int check_summary(const char *suite) {
    printf("%s: %d checks, %d failed\n", suite, check_count, check_failures);
    return check_failures != 0;
}

#endif
