/* runtime_paths.c — where the runtime's header lives (runtime_paths.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime_paths.h"

static int has_header(const char *dir) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/conclab.h", dir) >= (int)sizeof path) return 0;
    return access(path, R_OK) == 0;
}

/* bin/../include next to the running executable, resolved; 0 when it has no conclab.h. */
static int beside_executable(char *found, size_t size) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = '\0';
    char candidate[PATH_MAX];
    if (snprintf(candidate, sizeof candidate, "%s/../include", exe) >= (int)sizeof candidate) return 0;
    char resolved[PATH_MAX];
    if (!has_header(candidate) || !realpath(candidate, resolved)) return 0;
    return snprintf(found, size, "%s", resolved) < (int)size;
}

const char *runtime_include_dir(void) {
    static char found[PATH_MAX];
    if (found[0]) return found;
    const char *env = getenv("CONCLAB_RUNTIME_INCLUDE");
    if (env && has_header(env) && snprintf(found, sizeof found, "%s", env) < (int)sizeof found) return found;
    if (beside_executable(found, sizeof found)) return found;
    snprintf(found, sizeof found, "%s/runtime/include", CONCLAB_SOURCE_DIR);
    return found;
}
