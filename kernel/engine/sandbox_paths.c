/* sandbox_paths.c — what the executor needs from outside the system folders, bound read-only
 * into the sandbox (sandbox.h): the conclab binary, every shared object this process runs with
 * that lives elsewhere (libconclab.so in a build tree), and the runtime's headers, which the JIT
 * compiles every cell against. Exactly those files, not their folders: a build tree under /work
 * or /tmp shows nothing else of /work or /tmp. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime_paths.h"

/* Under a folder the sandbox has whole already (read-only). */
static bool in_system(const char *path) {
    static const char *const roots[] = {"/usr/", "/etc/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/", NULL};
    for (const char *const *r = roots; *r; r++)
        if (strncmp(path, *r, strlen(*r)) == 0) return true;
    return false;
}

static int bind_read_only(sandbox_plan *plan, const char *path) {
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0 || in_system(real)) return 0;
    if (sandbox_plan_add(plan, "--ro-bind") != 0 || sandbox_plan_add(plan, real) != 0 || sandbox_plan_add(plan, real) != 0)
        return -1;
    /* reached by the name it was given too (a symlinked build folder) */
    if (strcmp(real, path) != 0 && path[0] == '/' && !in_system(path))
        if (sandbox_plan_add(plan, "--ro-bind") != 0 || sandbox_plan_add(plan, real) != 0 || sandbox_plan_add(plan, path) != 0)
            return -1;
    return 0;
}

/* Every file /proc/self/maps names outside the system folders (each once). */
static int bind_mapped_objects(sandbox_plan *plan, const char *executor_path) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char line[PATH_MAX + 128], last[PATH_MAX] = "";
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        char *path = strchr(line, '/');
        if (!path) continue;
        path[strcspn(path, "\n")] = '\0';
        if (strstr(path, " (deleted)") || strcmp(path, last) == 0 || strcmp(path, executor_path) == 0) continue;
        snprintf(last, sizeof last, "%s", path);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) rc = bind_read_only(plan, path);
    }
    fclose(f);
    return rc;
}

int sandbox_bind_own_files(sandbox_plan *plan, const char *executor_path) {
    if (bind_read_only(plan, executor_path) != 0) return -1;
    if (bind_mapped_objects(plan, executor_path) != 0) return -1;
    return bind_read_only(plan, runtime_include_dir());
}
