/* lab.c — `conclab lab [DIR] [options]`: JupyterLab on this machine, opening DIR.
 *
 * JupyterLab's front-end is built at install time from lab/ (npm ci, webpack) and served by a
 * small Python launcher, lab/server/conclab_lab.py, on Debian's jupyter_server or, where only it
 * is installed, Notebook 6's server (--server=NAME is the launcher's to read). This command
 * only finds the two, tells the launcher where the build and this binary are (environment),
 * and becomes the launcher: Ctrl-C, the printed URL and the exit status are then jupyter's own.
 *
 * A lab folder holds server/conclab_lab.py and, once built, dist/static/build.json. It is looked
 * for beside this binary (bin/../share/conclab/lab, where `cmake --install` puts it), in the
 * source tree this binary was built from (a developer build), then in the install prefix. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LAUNCHER "server/conclab_lab.py"
#define BUILD_MANIFEST "dist/static/build.json"
#define DEFAULT_PYTHON "/usr/bin/python3" /* Debian's, whatever python3 is first on PATH */

static void usage(void) {
    printf("usage: conclab lab [DIR] [options]\n"
           "\n"
           "Starts JupyterLab 3.6 on 127.0.0.1 with a token, opening DIR (default: the current\n"
           "folder), and prints its URL. The notebooks run on the conclab kernel, \"C (conclab)\".\n"
           "Stop it with Ctrl-C.\n"
           "\n"
           "  --port=N          the port (default 8888, or the next free one)\n"
           "  --no-browser      do not open a web browser (none is opened without a display)\n"
           "  --ip=ADDRESS      listen elsewhere than 127.0.0.1 (mind who can reach it)\n"
           "  --server=NAME     jupyter_server (Debian's python3-jupyter-server and\n"
           "                    python3-jupyterlab-server; the default where installed) or\n"
           "                    notebook (Notebook 6's server, used when only it is there)\n"
           "  --help-all        every option of the server, which all pass through\n"
           "\n"
           "Needs the front-end that ./install.sh builds with npm. Without it, open the labs\n"
           "in Notebook instead: jupyter notebook DIR\n");
}

static int path_join(char *out, size_t size, const char *dir, const char *name) {
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int readable(const char *dir, const char *name) {
    char path[PATH_MAX];
    return path_join(path, sizeof path, dir, name) == 0 && access(path, R_OK) == 0;
}

/* This binary's absolute path, for the kernelspec the launcher may need to offer. */
static int this_executable(char out[PATH_MAX]) {
    ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);
    if (n <= 0 || n >= PATH_MAX - 1) {
        fprintf(stderr, "conclab lab: cannot find the conclab binary (/proc/self/exe): %s\n",
                n < 0 ? strerror(errno) : "path too long");
        return -1;
    }
    out[n] = '\0';
    return 0;
}

enum { N_PLACES = 3 };

/* The places a lab folder (or, with kernelspec set, the kernelspec template) may be. */
static int candidates(const char *exe, int kernelspec, char places[N_PLACES][PATH_MAX]) {
    char exe_dir[PATH_MAX];
    snprintf(exe_dir, sizeof exe_dir, "%s", exe);
    char *slash = strrchr(exe_dir, '/');
    if (slash) *slash = '\0';
    const char *installed = kernelspec ? "../share/conclab/kernelspec" : "../share/conclab/lab";
    const char *source = kernelspec ? "kernel/cli/kernelspec" : "lab";
    const char *prefix = kernelspec ? "kernelspec" : "lab";
    return path_join(places[0], PATH_MAX, exe_dir, installed) ||
           path_join(places[1], PATH_MAX, CONCLAB_SOURCE_DIR, source) ||
           path_join(places[2], PATH_MAX, CONCLAB_INSTALL_DATADIR, prefix);
}

/* The first place holding both the launcher and a build; realpath only tidies "bin/..". */
static int find_lab(const char *exe, char out[PATH_MAX]) {
    char places[N_PLACES][PATH_MAX];
    if (candidates(exe, 0, places)) {
        fprintf(stderr, "conclab lab: path too long\n");
        return -1;
    }
    int launchers = 0;
    for (int i = 0; i < N_PLACES; i++) {
        if (!readable(places[i], LAUNCHER)) continue;
        launchers++;
        if (!readable(places[i], BUILD_MANIFEST)) continue;
        if (!realpath(places[i], out)) memcpy(out, places[i], PATH_MAX);
        return 0;
    }
    if (launchers)
        fprintf(stderr,
                "conclab lab: JupyterLab's front-end has not been built (no " BUILD_MANIFEST ").\n"
                "  It is built by ./install.sh with npm, from the npm registry; run ./install.sh\n"
                "  again where the registry can be reached (or: cd lab && npm ci && npx webpack).\n"
                "  Meanwhile, open the labs in Notebook:  jupyter notebook DIR\n");
    else
        fprintf(stderr, "conclab lab: cannot find " LAUNCHER "; looked in\n  %s\n  %s\n  %s\n"
                        "  reinstall conclab (./install.sh), or meanwhile: jupyter notebook DIR\n",
                places[0], places[1], places[2]);
    return -1;
}

/* The kernelspec template (logos), or "" when there is none: the launcher then goes without. */
static void find_kernelspec(const char *exe, char out[PATH_MAX]) {
    char places[N_PLACES][PATH_MAX];
    out[0] = '\0';
    if (candidates(exe, 1, places)) return;
    for (int i = 0; i < N_PLACES; i++)
        if (readable(places[i], "kernel.json") && realpath(places[i], out)) return;
    out[0] = '\0';
}

/* Sets name to dir/rel in the environment. */
static int export_path(const char *name, const char *dir, const char *rel) {
    char path[PATH_MAX];
    if (path_join(path, sizeof path, dir, rel) || setenv(name, path, 1)) {
        fprintf(stderr, "conclab lab: cannot set %s\n", name);
        return -1;
    }
    return 0;
}

int cli_lab(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        }
    }
    char exe[PATH_MAX], lab[PATH_MAX], spec[PATH_MAX], launcher[PATH_MAX];
    if (this_executable(exe) || find_lab(exe, lab)) return 1;
    find_kernelspec(exe, spec);
    if (path_join(launcher, sizeof launcher, lab, LAUNCHER) || export_path("CONCLAB_LAB_DIST", lab, "dist") ||
        setenv("CONCLAB_BIN", exe, 1) || setenv("CONCLAB_KERNELSPEC", spec, 1))
        return 1;

    const char *python = getenv("CONCLAB_PYTHON");
    if (!python || !*python) python = DEFAULT_PYTHON;
    /* python launcher.py followed by every argument after "lab", as given. */
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) return 1;
    args[0] = (char *)python;
    args[1] = launcher;
    for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
    execv(python, args);
    fprintf(stderr, "conclab lab: cannot run %s: %s\n"
                    "  install Debian's python3 with python3-jupyter-server or jupyter-notebook\n"
                    "  (./install.sh),\n"
                    "  or meanwhile open the labs in Notebook: jupyter notebook DIR\n",
            python, strerror(errno));
    free(args);
    return 1;
}
