/* hub_config.c — `conclab hub-config`: a ready jupyterhub_config.py for a class.
 *
 * The configuration's logic lives in one Python file, hub/jupyterhub_config.py, installed to
 * share/conclab/hub. Its top is a block of plain settings between two marker lines; this
 * command prints (or writes) that file with the block rewritten from its options and from what
 * it finds installed (the proxy, the labs, the JupyterLab front-end), so an instructor gets one
 * self-contained file to read, edit and pass to `jupyterhub -f`. */
#define _GNU_SOURCE /* asprintf */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

#define BEGIN_MARK "# ---- BEGIN class settings"
#define END_MARK "# ---- END class settings ----"
#define PROXY_SCRIPT "node_modules/configurable-http-proxy/bin/configurable-http-proxy"
#define SYSTEM_KERNELSPEC "/usr/local/share/jupyter/kernels/conclab/kernel.json"

static const char hub_usage[] =
    "usage: conclab hub-config [-o FILE [--force]] [options]\n"
    "\n"
    "Prints a jupyterhub_config.py for a class on Debian's JupyterHub (run it as root:\n"
    "jupyterhub -f FILE). Students log in with their Unix account and password (PAM); each gets\n"
    "a Jupyter server running as themselves, the conclab kernel, the labs copied into their home\n"
    "(files they already have are never overwritten) and the limits below in the kernel's\n"
    "environment. The file's first block holds these settings; edit it afterwards as you like.\n"
    "\n"
    "who may log in (local users: useradd -m -G GROUP NAME; chpasswd sets passwords):\n"
    "  --group GROUP      members of this Unix group (default conclab-class; \"\" for none)\n"
    "  --users A,B,...    these users as well\n"
    "  --admins A,B,...   these users, who also administer the hub at /hub/admin\n"
    "where:\n"
    "  --ip ADDR          the address students browse to (default 127.0.0.1, this machine only;\n"
    "                     0.0.0.0 opens it to the network: put TLS in front, README: For a class)\n"
    "  --port N           its port (default 8000); the internal APIs stay on 127.0.0.1\n"
    "  --api-ports H,P    the hub's and the proxy's internal API ports (default 8081,8001)\n"
    "  --state-dir DIR    database, cookie secret, proxy token (default /var/lib/conclab-hub)\n"
    "what students get:\n"
    "  --labs DIR         notebooks copied to ~/conclab-labs (default: the installed labs;\n"
    "                     solutions/ is left out; \"\" copies nothing)\n"
    "  --url PATH         the page a server opens (default /lab where conclab's JupyterLab\n"
    "                     front-end is installed, else /tree: Notebook 6)\n"
    "limits in the kernel's environment (README: Limits):\n"
    "  --memory SIZE      CONCLAB_MEMORY_LIMIT per cell (default 1G)\n"
    "  --processes N      CONCLAB_PROCESS_LIMIT (default 64)\n"
    "  --timeout SECONDS  CONCLAB_TIMEOUT per cell (default none)\n"
    "limits per student on everything they run (a cgroup each, made by the hub as root):\n"
    "  --cpu CORES        cores they may keep busy together (default 1; 0 none)\n"
    "  --student-memory SIZE  memory of their server and kernels together (default 3G; \"\" none)\n"
    "  --tasks N          processes and threads together (default 1500; 0 none)\n"
    "  --idle MINUTES     stop idle kernels, then idle servers (default 60; 0 never)\n"
    "output:\n"
    "  -o FILE            write FILE instead of printing (an existing, different FILE is\n"
    "                     kept unless --force)\n";

/* Every option's value, as text; NULL-free after defaults. */
typedef struct hub_options {
    const char *group, *users, *admins, *ip, *port, *api_ports, *state_dir, *labs, *url;
    const char *memory, *processes, *timeout, *cpu, *student_memory, *tasks, *idle, *output;
    bool force;
} hub_options;

typedef struct option_slot {
    const char *name;
    size_t offset; /* of the const char * in hub_options */
} option_slot;

#define SLOT(flag, field) {flag, offsetof(hub_options, field)}
static const option_slot SLOTS[] = {
    SLOT("--group", group),   SLOT("--users", users),         SLOT("--admins", admins),
    SLOT("--ip", ip),         SLOT("--port", port),           SLOT("--api-ports", api_ports),
    SLOT("--state-dir", state_dir), SLOT("--labs", labs),     SLOT("--url", url),
    SLOT("--memory", memory), SLOT("--processes", processes), SLOT("--timeout", timeout),
    SLOT("--cpu", cpu),       SLOT("--idle", idle),           SLOT("-o", output),
    SLOT("--student-memory", student_memory), SLOT("--tasks", tasks),
    SLOT("--output", output),
};

static const char **slot_of(hub_options *o, const char *arg, size_t *name_len) {
    for (size_t i = 0; i < sizeof SLOTS / sizeof SLOTS[0]; i++) {
        size_t n = strlen(SLOTS[i].name);
        if (strncmp(arg, SLOTS[i].name, n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
            *name_len = n;
            return (const char **)((char *)o + SLOTS[i].offset);
        }
    }
    return NULL;
}

/* Returns 0, 1 when help was printed, -1 on a usage error (message printed). */
static int parse_options(int argc, char **argv, hub_options *o) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        size_t n;
        const char **slot;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(hub_usage, stdout);
            return 1;
        } else if (strcmp(arg, "--force") == 0) {
            o->force = true;
        } else if ((slot = slot_of(o, arg, &n)) != NULL) {
            *slot = arg[n] == '=' ? arg + n + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!*slot) {
                fprintf(stderr, "conclab hub-config: %s needs a value\n", arg);
                return -1;
            }
        } else {
            fprintf(stderr, "conclab hub-config: unknown option '%s'\n", arg);
            return -1;
        }
    }
    return 0;
}

/* ---- checking values: numbers stay numbers in the Python file -------------------------- */

static bool is_count(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

static bool is_number(const char *s) {
    char *end;
    return *s && strtod(s, &end) >= 0 && *end == '\0';
}

/* A size like 512M, 2G, 1048576. */
static bool is_size(const char *s) {
    char *end;
    if (!*s || strtod(s, &end) <= 0) return false;
    return end[0] == '\0' || (strchr("KkMmGg", end[0]) && end[1] == '\0');
}

static bool is_port_pair(const char *s) {
    unsigned a, b;
    char extra;
    return sscanf(s, "%u,%u%c", &a, &b, &extra) == 2 && a > 0 && a < 65536 && b > 0 && b < 65536;
}

static int check_value(const char *option, const char *value, bool ok, const char *want) {
    if (ok) return 0;
    fprintf(stderr, "conclab hub-config: %s '%s': want %s\n", option, value, want);
    return -1;
}

static int check_options(const hub_options *o) {
    int port = atoi(o->port);
    return check_value("--port", o->port, is_count(o->port) && port > 0 && port < 65536, "a port") |
           check_value("--api-ports", o->api_ports, is_port_pair(o->api_ports), "HUB,PROXY ports") |
           check_value("--memory", o->memory, !*o->memory || is_size(o->memory), "a size (512M, 2G)") |
           check_value("--processes", o->processes, !*o->processes || is_count(o->processes), "a count") |
           check_value("--timeout", o->timeout, !*o->timeout || is_number(o->timeout), "seconds") |
           check_value("--cpu", o->cpu, is_number(o->cpu), "cores (0.5, 2; 0 none)") |
           check_value("--student-memory", o->student_memory, !*o->student_memory || is_size(o->student_memory),
                       "a size (3G)") |
           check_value("--tasks", o->tasks, is_count(o->tasks), "a count") |
           check_value("--idle", o->idle, is_count(o->idle), "minutes") |
           check_value("--url", o->url, !*o->url || o->url[0] == '/', "a path such as /lab");
}

/* ---- where things are installed ----------------------------------------------------------- */

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* The folder of this binary (its build or bin folder). */
static int exe_dir(char out[PATH_MAX]) {
    ssize_t n = readlink("/proc/self/exe", out, PATH_MAX - 1);
    if (n < 0) return -1;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash) *slash = '\0';
    return 0;
}

/* The first of: bin/../share/conclab/REL, the source tree's SRC_REL (unless NULL), the install
 * datadir's REL that exists, tidied by realpath; out is empty when none does. */
static void find_data(const char *rel, const char *src_rel, char out[PATH_MAX]) {
    char exe[PATH_MAX], candidates[3][PATH_MAX * 2];
    out[0] = '\0';
    if (exe_dir(exe) != 0) exe[0] = '\0';
    snprintf(candidates[0], sizeof candidates[0], "%s/../share/conclab/%s", exe, rel);
    snprintf(candidates[1], sizeof candidates[1], "%s/%s", CONCLAB_SOURCE_DIR, src_rel ? src_rel : "");
    snprintf(candidates[2], sizeof candidates[2], "%s/%s", CONCLAB_INSTALL_DATADIR, rel);
    for (int i = 0; i < 3; i++)
        if ((i != 1 || src_rel) && exists(candidates[i]) && realpath(candidates[i], out)) return;
    out[0] = '\0';
}

/* ---- the settings block ------------------------------------------------------------------ */

/* A Python string literal. Refuses control characters: no name or path needs them. */
static int add_py_string(strbuf *b, const char *s) {
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20) {
            fprintf(stderr, "conclab hub-config: control character in '%s'\n", s);
            return -1;
        }
    strbuf_add(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') strbuf_add(b, "\\");
        strbuf_addn(b, s, 1);
    }
    strbuf_add(b, "\"");
    return 0;
}

/* "a,b" as ["a", "b"]; empty items are dropped. */
static int add_py_list(strbuf *b, const char *csv) {
    strbuf_add(b, "[");
    const char *sep = "";
    while (*csv) {
        size_t n = strcspn(csv, ",");
        if (n > 0) {
            char *item = strndup(csv, n);
            strbuf_add(b, sep);
            int rc = add_py_string(b, item);
            free(item);
            if (rc) return -1;
            sep = ", ";
        }
        csv += n + (csv[n] == ',');
    }
    strbuf_add(b, "]");
    return 0;
}

static int add_setting(strbuf *b, const char *name, const char *value, const char *comment) {
    strbuf_addf(b, "%s = ", name);
    if (add_py_string(b, value)) return -1;
    strbuf_addf(b, "  # %s\n", comment);
    return 0;
}

static int render_settings(strbuf *b, const hub_options *o) {
    char proxy[PATH_MAX], labs[PATH_MAX], lab_frontend[PATH_MAX];
    find_data("hub/" PROXY_SCRIPT, "hub/" PROXY_SCRIPT, proxy);
    if (!proxy[0]) {
        fprintf(stderr, "conclab hub-config: note: configurable-http-proxy is not installed with conclab "
                        "(./install.sh runs npm ci in hub/); using the one on PATH\n");
        snprintf(proxy, sizeof proxy, "configurable-http-proxy");
    }
    if (o->labs) snprintf(labs, sizeof labs, "%s", o->labs);
    else find_data("notebooks", "notebooks", labs);
    find_data("lab", NULL, lab_frontend); /* installed only: a checkout may hold a half build */
    unsigned hub_api = 8081, proxy_api = 8001;
    sscanf(o->api_ports, "%u,%u", &hub_api, &proxy_api);

    strbuf_add(b, BEGIN_MARK " (conclab hub-config writes this block) ----\n");
    int rc = add_setting(b, "CLASS_GROUP", o->group, "members of this Unix group may log in (useradd -G)");
    strbuf_add(b, "CLASS_USERS = ");
    rc |= add_py_list(b, o->users);
    strbuf_add(b, "  # and these Unix users\nCLASS_ADMINS = ");
    rc |= add_py_list(b, o->admins);
    strbuf_add(b, "  # and these, who also administer the hub (/hub/admin)\n");
    rc |= add_setting(b, "HUB_IP", o->ip, "where the hub listens; \"0.0.0.0\" opens it to the network");
    strbuf_addf(b, "HUB_PORT = %d  # students browse http://HUB_IP:HUB_PORT/\n", atoi(o->port));
    strbuf_addf(b, "HUB_API_PORT = %u  # internal: the hub's API, on 127.0.0.1\n", hub_api);
    strbuf_addf(b, "PROXY_API_PORT = %u  # internal: the proxy's API, on 127.0.0.1\n", proxy_api);
    rc |= add_setting(b, "STATE_DIR", o->state_dir, "database, cookie secret, proxy token, pid files");
    rc |= add_setting(b, "PROXY", proxy, "configurable-http-proxy (npm, pinned in conclab's hub/)");
    rc |= add_setting(b, "LABS_DIR", labs, "copied into each home; \"\" copies nothing");
    strbuf_add(b, "LABS_FOLDER = \"conclab-labs\"  # ... into ~/LABS_FOLDER\n"
                  "LABS_EXCLUDE = [\"solutions\"]  # names under LABS_DIR that are not copied\n");
    rc |= add_setting(b, "DEFAULT_URL", o->url, "\"\" = /lab where LAB_FRONTEND exists, else /tree");
    rc |= add_setting(b, "LAB_FRONTEND", lab_frontend[0] ? lab_frontend : "/usr/local/share/conclab/lab",
                      "conclab's JupyterLab front-end");
    strbuf_add(b, "LIMITS = {  # the kernel's environment (README: Limits); \"\" leaves the default\n");
    const char *names[] = {"CONCLAB_MEMORY_LIMIT", "CONCLAB_PROCESS_LIMIT", "CONCLAB_TIMEOUT"};
    const char *values[] = {o->memory, o->processes, o->timeout};
    for (int i = 0; i < 3; i++) {
        strbuf_addf(b, "    \"%s\": ", names[i]);
        rc |= add_py_string(b, values[i]);
        strbuf_add(b, ",\n");
    }
    strbuf_addf(b, "}\nCPU_CORES = %g  # per student (server and kernels together), cgroup cpu quota; 0 none\n",
                strtod(o->cpu, NULL));
    strbuf_add(b, "MEMORY = ");
    rc |= add_py_string(b, o->student_memory);
    strbuf_add(b, "  # per student, all their processes: cgroup memory limit; \"\" none\n");
    strbuf_addf(b, "TASKS = %d  # per student, processes and threads: cgroup pids limit; 0 none\n", atoi(o->tasks));
    strbuf_addf(b, "IDLE_MINUTES = %d  # idle kernels, then idle servers, stop after this long; 0 never\n",
                atoi(o->idle));
    strbuf_add(b, END_MARK "\n");
    return rc ? -1 : 0;
}

/* ---- the file ------------------------------------------------------------------------------ */

static char *read_text(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    strbuf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) strbuf_addn(&b, chunk, n);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        strbuf_free(&b);
        return NULL;
    }
    return strbuf_take(&b);
}

/* The template with its settings block replaced; malloc'd, or NULL with a message. */
static char *render_config(const hub_options *o) {
    char template_path[PATH_MAX];
    find_data("hub/jupyterhub_config.py", "hub/jupyterhub_config.py", template_path);
    char *template = template_path[0] ? read_text(template_path) : NULL;
    if (!template) {
        fprintf(stderr, "conclab hub-config: cannot find hub/jupyterhub_config.py next to conclab or in %s/hub;"
                        " reinstall conclab (cmake --install build)\n", CONCLAB_INSTALL_DATADIR);
        return NULL;
    }
    char *begin = strstr(template, BEGIN_MARK);
    char *end = begin ? strstr(begin, END_MARK) : NULL;
    if (!end) {
        fprintf(stderr, "conclab hub-config: %s has no settings block\n", template_path);
        free(template);
        return NULL;
    }
    end += strlen(END_MARK);
    if (*end == '\n') end++;
    strbuf out = {0};
    strbuf_addn(&out, template, (size_t)(begin - template));
    int rc = render_settings(&out, o);
    strbuf_add(&out, end);
    free(template);
    if (rc) {
        strbuf_free(&out);
        return NULL;
    }
    return strbuf_take(&out);
}

/* Writes through a temporary file and rename; an existing, different file needs --force. */
static int write_config(const char *path, const char *text, bool force) {
    char *old = read_text(path);
    bool existed = old != NULL, same = old && strcmp(old, text) == 0;
    free(old);
    if (existed && !same && !force) {
        fprintf(stderr, "conclab hub-config: %s exists and differs; keeping it (--force replaces it)\n", path);
        return 1;
    }
    if (same) return 0;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp%ld", path, (long)getpid()) < 0) return 1;
    FILE *f = fopen(tmp, "w");
    bool ok = f && fputs(text, f) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "conclab hub-config: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return 1;
    }
    free(tmp);
    return 0;
}

int cli_hub_config(int argc, char **argv) {
    hub_options o = {
        .group = "conclab-class", .users = "", .admins = "", .ip = "127.0.0.1", .port = "8000",
        .api_ports = "8081,8001", .state_dir = "/var/lib/conclab-hub", .url = "",
        .memory = "1G", .processes = "64", .timeout = "", .cpu = "1", .student_memory = "3G",
        .tasks = "1500", .idle = "60",
    };
    int parsed = parse_options(argc, argv, &o);
    if (parsed) return parsed > 0 ? 0 : 2;
    if (check_options(&o)) return 2;
    char *text = render_config(&o);
    if (!text) return 1;
    int rc = 0;
    if (o.output) {
        rc = write_config(o.output, text, o.force);
        if (rc == 0)
            fprintf(stderr, "Wrote %s; start the hub as root:  jupyterhub -f %s\n", o.output, o.output);
    } else {
        fputs(text, stdout);
    }
    free(text);
    if (!exists(SYSTEM_KERNELSPEC))
        fprintf(stderr, "conclab hub-config: note: no system-wide kernelspec (%s): run `conclab install` "
                        "as root so every student sees the conclab kernel\n", SYSTEM_KERNELSPEC);
    return rc;
}
