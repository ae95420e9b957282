/* capture_stderr.h — catch what a runtime call prints on stderr (its misuse line) so a test can
 * check it. Plain POSIX, so the same test compiles with gcc and with tcc.
 *
 *     capture_begin();
 *     cl_future_result(NULL, 0, NULL);
 *     CHECK(starts_with(capture_end(), "cl_future_result: "));
 */
#ifndef CONCLAB_CAPTURE_STDERR_H
#define CONCLAB_CAPTURE_STDERR_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char capture_text[8192];
static FILE *capture_file;
static int capture_saved_fd = -1;

static inline void capture_begin(void) {
    fflush(stderr);
    capture_file = tmpfile();
    capture_saved_fd = dup(2);
    dup2(fileno(capture_file), 2);
}

/* What reached stderr since capture_begin, without ending the capture. */
static inline const char *captured_so_far(void) {
    ssize_t n = pread(fileno(capture_file), capture_text, sizeof capture_text - 1, 0);
    capture_text[n > 0 ? n : 0] = '\0';
    return capture_text;
}

/* Ends the capture and returns what was written meanwhile (valid until the next capture). */
static inline const char *capture_end(void) {
    fflush(stderr);
    dup2(capture_saved_fd, 2);
    close(capture_saved_fd);
    captured_so_far();
    fclose(capture_file);
    return capture_text;
}

static inline int starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

#endif
