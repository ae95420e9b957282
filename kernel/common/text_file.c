/* text_file.c — see text_file.h. */
#include "text_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>

int text_file_write(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0) rc = -1;
    return rc;
}

int text_file_write_in(const char *dir, const char *name, const char *text) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return text_file_write(path, text);
}
