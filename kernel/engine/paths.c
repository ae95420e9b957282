/* paths.c — where the runtime's header lives: installed beside the binary, or in the source tree
 * when running from a build directory. CONCLAB_RUNTIME_INCLUDE overrides both. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

static int has_header(const char *dir) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/conclab.h", dir);
    return access(path, R_OK) == 0;
}

const char *engine_runtime_include_dir(void) {
    static char found[PATH_MAX];
    if (found[0]) return found;
    const char *env = getenv("CONCLAB_RUNTIME_INCLUDE");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (env && has_header(env)) {
        snprintf(found, sizeof found, "%s", env);
    } else if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        char candidate[PATH_MAX + 16];
        snprintf(candidate, sizeof candidate, "%s/../include", exe);
        if (has_header(candidate) && realpath(candidate, found)) return found;
    }
    if (!found[0]) snprintf(found, sizeof found, "%s/runtime/include", CONCLAB_SOURCE_DIR);
    return found;
}
