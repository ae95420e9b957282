/* report_files.c — the report's files are written whole or not at all: into a temporary file in
 * the same folder, then renamed over the old one, so a reader (the batch grader, an instructor's
 * script) never sees half a results.json, even if the grader is killed while writing. */
#define _GNU_SOURCE
#include "grading.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

int grading_make_dir(const char *dir, char **err) {
    char *path = xstrdup(dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) break;
        *p = '/';
    }
    int rc = mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -1;
    struct stat st;
    if (rc == 0 && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
        errno = ENOTDIR;
        rc = -1;
    }
    if (rc != 0) *err = xasprintf("cannot create the folder %s: %s", dir, strerror(errno));
    free(path);
    return rc;
}

int grading_write_file(const char *dir, const char *name, const char *text, char **err) {
    char *target = xasprintf("%s/%s", dir, name);
    char *tmp = xasprintf("%s/.%s.%ld.tmp", dir, name, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    size_t len = strlen(text), done = 0;
    int rc = fd < 0 ? -1 : 0;
    while (rc == 0 && done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) rc = -1;
        else done += (size_t)n;
    }
    if (rc == 0 && fsync(fd) != 0) rc = -1;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0) rc = -1, saved = errno;
    if (rc == 0 && rename(tmp, target) != 0) rc = -1, saved = errno;
    if (rc != 0) {
        if (fd >= 0) unlink(tmp);
        *err = xasprintf("cannot write %s: %s", target, strerror(saved));
    }
    free(target);
    free(tmp);
    return rc;
}
