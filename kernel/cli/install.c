/* install.c — `conclab install`: registers the kernelspec so Jupyter offers "C (conclab)".
 *
 * A kernelspec is a folder named after the kernel holding kernel.json (how to start it) and its
 * logos. We write kernel.json from the template in kernel/cli/kernelspec, with the absolute path
 * of this very binary in argv, and copy the logos next to it. Files whose content would not
 * change are left alone, so running it twice changes nothing. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KERNEL_NAME "conclab"
#define EXE_PLACEHOLDER "@CONCLAB_BIN@"

/* Where Debian's Jupyter looks besides the user's folder (jupyter --paths): /usr/local/share is
 * ours to write as root and survives package upgrades; /usr/share belongs to Debian's python. */
#define SYSTEM_DATA_DIR "/usr/local/share/jupyter"
#define SYS_PREFIX_DATA_DIR "/usr/share/jupyter"

static const char *const SPEC_FILES[] = {"kernel.json", "logo-32x32.png", "logo-64x64.png",
                                         "logo-svg.svg"};

enum destination { DEST_DEFAULT, DEST_USER, DEST_SYSTEM, DEST_SYS_PREFIX, DEST_PREFIX };

#define USAGE_LINE "usage: conclab install [--user | --sys-prefix | --prefix DIR]\n"

static int usage_error(void) {
    fprintf(stderr, USAGE_LINE "       conclab install --help   explains where each one goes\n");
    return 2;
}

static void usage(void) {
    printf(USAGE_LINE
           "\n"
           "Registers the conclab kernelspec (kernel.json and logos) so Jupyter lists\n"
           "\"C (conclab)\". kernel.json starts this conclab binary by its absolute path.\n"
           "\n"
           "  (no option)   as root: system-wide, " SYSTEM_DATA_DIR "/kernels/" KERNEL_NAME "\n"
           "                otherwise: like --user\n"
           "  --user        $JUPYTER_DATA_DIR/kernels/" KERNEL_NAME ", or\n"
           "                ${XDG_DATA_HOME:-~/.local/share}/jupyter/kernels/" KERNEL_NAME "\n"
           "  --sys-prefix  the prefix of Debian's /usr/bin/python3:\n"
           "                " SYS_PREFIX_DATA_DIR "/kernels/" KERNEL_NAME "\n"
           "  --prefix DIR  DIR/share/jupyter/kernels/" KERNEL_NAME "\n"
           "\n"
           "Running it again is safe: unchanged files are left as they are.\n");
}

/* dir + "/" + name into out; -1 with a message if it does not fit. */
static int path_join(char *out, size_t size, const char *dir, const char *name) {
    int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) {
        fprintf(stderr, "conclab install: path too long: %s/%s\n", dir, name);
        return -1;
    }
    return 0;
}

/* ---- choosing the destination ---------------------------------------------------------- */

static int set_destination(enum destination *dest, enum destination want, const char *option) {
    if (*dest != DEST_DEFAULT) {
        fprintf(stderr, "conclab install: %s: choose only one of --user, --sys-prefix, --prefix\n",
                option);
        return -1;
    }
    *dest = want;
    return 0;
}

/* Parses argv (argv[0] is "install"). Returns 0, 1 when help was printed, -1 on a usage error. */
static int parse_options(int argc, char **argv, enum destination *dest, const char **prefix) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage();
            return 1;
        } else if (strcmp(arg, "--user") == 0) {
            if (set_destination(dest, DEST_USER, arg)) return -1;
        } else if (strcmp(arg, "--sys-prefix") == 0) {
            if (set_destination(dest, DEST_SYS_PREFIX, arg)) return -1;
        } else if (strcmp(arg, "--prefix") == 0 || strncmp(arg, "--prefix=", 9) == 0) {
            if (set_destination(dest, DEST_PREFIX, "--prefix")) return -1;
            *prefix = arg[8] == '=' ? arg + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!*prefix || !**prefix) {
                fprintf(stderr, "conclab install: --prefix needs a directory\n");
                return -1;
            }
        } else {
            fprintf(stderr, "conclab install: unknown option '%s'\n", arg);
            return -1;
        }
    }
    if (*dest == DEST_DEFAULT) *dest = geteuid() == 0 ? DEST_SYSTEM : DEST_USER;
    return 0;
}

static const char *home_dir(void) {
    const char *home = getenv("HOME");
    if (home && *home) return home;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_dir : NULL;
}

/* The user's Jupyter data folder, as jupyter_core computes it on Linux. */
static int user_data_dir(char *out, size_t size) {
    const char *jupyter = getenv("JUPYTER_DATA_DIR");
    if (jupyter && *jupyter) return snprintf(out, size, "%s", jupyter);
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/') return snprintf(out, size, "%s/jupyter", xdg);
    const char *home = home_dir();
    if (!home) {
        fprintf(stderr, "conclab install: --user: cannot find the home directory (set HOME)\n");
        return -1;
    }
    return snprintf(out, size, "%s/.local/share/jupyter", home);
}

/* Fills out with the kernelspec folder for dest. Returns 0 or -1 with a message printed. */
static int spec_dir_for(enum destination dest, const char *prefix, char *out, size_t size) {
    char data[PATH_MAX];
    int n;
    switch (dest) {
    case DEST_USER: n = user_data_dir(data, sizeof data); break;
    case DEST_SYS_PREFIX: n = snprintf(data, sizeof data, "%s", SYS_PREFIX_DATA_DIR); break;
    case DEST_PREFIX: n = snprintf(data, sizeof data, "%s/share/jupyter", prefix); break;
    default: n = snprintf(data, sizeof data, "%s", SYSTEM_DATA_DIR); break;
    }
    if (n < 0) return -1;
    if ((size_t)n >= sizeof data ||
        (size_t)snprintf(out, size, "%s/kernels/%s", data, KERNEL_NAME) >= size) {
        fprintf(stderr, "conclab install: destination path is too long\n");
        return -1;
    }
    return 0;
}

/* ---- finding this binary and the kernelspec template ----------------------------------- */

static int this_executable(char *out, size_t size) {
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n < 0 || (size_t)n >= size - 1) {
        fprintf(stderr, "conclab install: cannot find the conclab binary (/proc/self/exe): %s\n",
                n < 0 ? strerror(errno) : "path too long");
        return -1;
    }
    out[n] = '\0';
    return 0;
}

static int is_spec_source(const char *dir) {
    char path[PATH_MAX];
    return path_join(path, sizeof path, dir, "kernel.json") == 0 && access(path, R_OK) == 0;
}

/* The template folder: installed next to the binary (bin/../share/conclab/kernelspec), else the
 * source tree this binary was built from, else where `cmake --install` puts it. Build-tree
 * binaries thus use the current template, never a stale installed one. out holds PATH_MAX. */
static int find_spec_source(const char *exe, char out[PATH_MAX]) {
    char exe_dir[PATH_MAX];
    snprintf(exe_dir, sizeof exe_dir, "%s", exe);
    char *slash = strrchr(exe_dir, '/');
    if (slash) *slash = '\0';

    char candidates[3][PATH_MAX];
    if (path_join(candidates[0], PATH_MAX, exe_dir, "../share/conclab/kernelspec") ||
        path_join(candidates[1], PATH_MAX, CONCLAB_SOURCE_DIR, "kernel/cli/kernelspec") ||
        path_join(candidates[2], PATH_MAX, CONCLAB_INSTALL_DATADIR, "kernelspec"))
        return -1;
    for (int i = 0; i < 3; i++) {
        /* realpath only tidies the "bin/.." for humans. */
        if (is_spec_source(candidates[i])) {
            if (!realpath(candidates[i], out)) memcpy(out, candidates[i], PATH_MAX);
            return 0;
        }
    }
    fprintf(stderr,
            "conclab install: cannot find the kernelspec template; looked in\n"
            "  %s\n  %s\n  %s\n"
            "reinstall conclab (cmake --install build) or run it from its build tree\n",
            candidates[0], candidates[1], candidates[2]);
    return -1;
}

/* ---- files ------------------------------------------------------------------------------ */

/* Reads a whole file; returns a malloc'd, NUL-terminated buffer or NULL with errno set. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    int err = !buf ? ENOMEM : ferror(f) ? EIO : 0;
    fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int same_content(const char *path, const char *data, size_t len) {
    size_t old_len;
    char *old = read_file(path, &old_len);
    int same = old && old_len == len && memcmp(old, data, len) == 0;
    free(old);
    return same;
}

/* Writes path through a temporary file and rename, so Jupyter never reads half a kernel.json.
 * Mode 0644 whatever the umask: a system-wide spec must be readable by every user. */
static int write_file(const char *path, const char *data, size_t len) {
    if (same_content(path, data, len)) return 0;
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) goto fail;
    int ok = fwrite(data, 1, len, f) == len && fchmod(fileno(f), 0644) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "conclab install: cannot write %s: %s\n", path, strerror(errno));
    return -1;
}

/* mkdir -p, giving folders it creates mode 0755 whatever the umask. hint ends a permission
 * error's message. */
static int make_dirs(const char *path, const char *hint) {
    char partial[PATH_MAX];
    snprintf(partial, sizeof partial, "%s", path);
    for (char *p = partial + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(partial, 0755) == 0) {
            chmod(partial, 0755);
        } else if (errno != EEXIST) {
            fprintf(stderr, "conclab install: cannot create %s: %s%s\n", partial, strerror(errno),
                    errno == EACCES ? hint : "");
            return -1;
        }
        *p = saved;
        if (saved == '\0') return 0;
    }
}

/* ---- kernel.json ------------------------------------------------------------------------ */

/* Appends s to out as the inside of a JSON string. Returns the new length, or 0 if it does not
 * fit. */
static size_t json_escape_into(char *out, size_t at, size_t size, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char piece[8];
        if (c == '"' || c == '\\') snprintf(piece, sizeof piece, "\\%c", c);
        else if (c < 0x20) snprintf(piece, sizeof piece, "\\u%04x", c);
        else snprintf(piece, sizeof piece, "%c", c);
        size_t len = strlen(piece);
        if (at + len >= size) return 0;
        memcpy(out + at, piece, len);
        at += len;
    }
    out[at] = '\0';
    return at;
}

/* The template with every @CONCLAB_BIN@ replaced by exe as a JSON string body; malloc'd. */
static char *render_kernel_json(const char *template, const char *exe, size_t *len) {
    size_t holes = 0;
    for (const char *p = template; (p = strstr(p, EXE_PLACEHOLDER)) != NULL; p++) holes++;
    /* Each byte of exe escapes to at most 6 ("\u001f"). */
    size_t size = strlen(template) + holes * 6 * strlen(exe) + 1;
    char *out = malloc(size);
    if (!out) return NULL;
    size_t at = 0;
    const char *rest = template, *hole;
    while ((hole = strstr(rest, EXE_PLACEHOLDER)) != NULL) {
        memcpy(out + at, rest, (size_t)(hole - rest));
        at += (size_t)(hole - rest);
        at = json_escape_into(out, at, size, exe);
        if (at == 0) {
            free(out);
            return NULL;
        }
        rest = hole + strlen(EXE_PLACEHOLDER);
    }
    size_t tail = strlen(rest);
    if (at + tail >= size) {
        free(out);
        return NULL;
    }
    memcpy(out + at, rest, tail + 1);
    *len = at + tail;
    return out;
}

/* Copies one spec file from src_dir to dest_dir; kernel.json gets this binary's path. */
static int install_spec_file(const char *name, const char *src_dir, const char *dest_dir,
                             const char *exe) {
    char src[PATH_MAX], dest[PATH_MAX];
    if (path_join(src, sizeof src, src_dir, name) || path_join(dest, sizeof dest, dest_dir, name))
        return -1;
    size_t len;
    char *data = read_file(src, &len);
    if (!data) {
        fprintf(stderr, "conclab install: cannot read %s: %s\n", src, strerror(errno));
        return -1;
    }
    if (strcmp(name, "kernel.json") == 0) {
        char *rendered = render_kernel_json(data, exe, &len);
        free(data);
        if (!rendered) {
            fprintf(stderr, "conclab install: cannot render %s: out of memory\n", src);
            return -1;
        }
        data = rendered;
    }
    int rc = write_file(dest, data, len);
    free(data);
    return rc;
}

int cli_install(int argc, char **argv) {
    enum destination dest = DEST_DEFAULT;
    const char *prefix = NULL;
    int parsed = parse_options(argc, argv, &dest, &prefix);
    if (parsed != 0) return parsed > 0 ? 0 : usage_error();

    char exe[PATH_MAX], src_dir[PATH_MAX], dest_dir[PATH_MAX];
    if (this_executable(exe, sizeof exe) || find_spec_source(exe, src_dir) ||
        spec_dir_for(dest, prefix, dest_dir, sizeof dest_dir) ||
        make_dirs(dest_dir, dest == DEST_SYSTEM || dest == DEST_SYS_PREFIX
                                ? " (run as root, or use --user)" : ""))
        return 1;
    for (size_t i = 0; i < sizeof SPEC_FILES / sizeof SPEC_FILES[0]; i++)
        if (install_spec_file(SPEC_FILES[i], src_dir, dest_dir, exe)) return 1;

    char shown[PATH_MAX];
    printf("Installed kernelspec %s in %s\n", KERNEL_NAME,
           realpath(dest_dir, shown) ? shown : dest_dir);
    return 0;
}
