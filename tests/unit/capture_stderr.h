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

static char capture_text[4096];
static FILE *capture_file;
static int capture_saved_fd = -1;

static void capture_begin(void) {
    fflush(stderr);
    capture_file = tmpfile();
    capture_saved_fd = dup(2);
    dup2(fileno(capture_file), 2);
}

/* Ends the capture and returns what was written meanwhile (valid until the next capture). */
static const char *capture_end(void) {
    fflush(stderr);
    dup2(capture_saved_fd, 2);
    close(capture_saved_fd);
    rewind(capture_file);
    size_t n = fread(capture_text, 1, sizeof capture_text - 1, capture_file);
    capture_text[n] = '\0';
    fclose(capture_file);
    return capture_text;
}

static int starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

#endif
