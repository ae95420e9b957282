/* display.c — cl_display and its kinds (conclab/display.h): a mime bundle handed to the host
 * (the kernel, conclab_host.h), or outside a notebook printed or written to a file. */
#define _GNU_SOURCE /* vasprintf */
#include "conclab/display.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "conclab/clock.h"

#include "bundle.h"
#include "host_internal.h"
#include "report.h"

/* The last id made here: the pid that made it and a count, as one word (atomics only). */
static unsigned long long last_id;

/* Where a process's count starts: at random, so that a process given the pid of one from an
 * earlier notebook session does not make its ids again (an update would change an old output). */
static unsigned first_count(void) {
    unsigned start = 0;
    if (getrandom(&start, sizeof start, GRND_NONBLOCK) != sizeof start)
        start = (unsigned)(cl_now() * 1e9) ^ (unsigned)getpid() * 2654435761u;
    return (start & 0x7fffffffu) | 1;
}

/* Unique across the processes of a session: the pid that made it and a count; a forked child,
 * which inherits its parent's count, starts a count of its own. */
static cl_display_id new_id(void) {
    unsigned long long me = (unsigned long long)getpid(), seen, next;
    do {
        seen = __atomic_load_n(&last_id, __ATOMIC_RELAXED);
        unsigned count = (seen >> 32) == me ? (unsigned)seen + 1 : first_count();
        next = me << 32 | (count ? count : 1);
    } while (!__atomic_compare_exchange_n(&last_id, &seen, next, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return (cl_display_id)next;
}

static void id_text(cl_display_id id, char *out, size_t size) {
    snprintf(out, size, "cl-%lld-%u", id >> 32, (unsigned)(id & 0xffffffffu));
}

/* ---------------------------------------------------------------- outside a notebook */

static const char *file_kind(const cl_mime *items, int count, int *which) {
    static const char *const kinds[][2] = {{"image/svg+xml", "svg"}, {"text/html", "html"}, {"image/png", "png"}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int i = 0; i < count; i++)
            if (strcmp(items[i].type, kinds[k][0]) == 0) {
                *which = i;
                return kinds[k][1];
            }
    return NULL;
}

static int write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t wrote = fwrite(data, 1, size, f);
    return fclose(f) == 0 && wrote == size ? 0 : -1;
}

/* Pictures and pages go to a file named after the display; text is printed. */
static int show_in_terminal(const char *call, cl_display_id id, const cl_mime *items, int count, int update) {
    int which = 0;
    const char *ext = file_kind(items, count, &which);
    if (!ext) {
        for (int i = 0; i < count; i++)
            if (strcmp(items[i].type, "text/plain") == 0) which = i;
        size_t size = cl__mime_size(&items[which]);
        fwrite(items[which].data, 1, size, stdout);
        if (size == 0 || ((const char *)items[which].data)[size - 1] != '\n') fputc('\n', stdout);
        fflush(stdout);
        return 0;
    }
    const char *dir = getenv("CONCLAB_DISPLAY_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/conclab-display-%lld-%u.%s", dir && *dir ? dir : ".", id >> 32,
             (unsigned)(id & 0xffffffffu), ext);
    if (write_file(path, items[which].data, cl__mime_size(&items[which])) != 0) {
        cl_report(call, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    if (!update) {
        printf("[display: %s]\n", path);
        fflush(stdout);
    }
    return 0;
}

/* ---------------------------------------------------------------- shared by every kind */

static int show(const char *call, cl_display_id id, const cl_mime *items, int count, int update) {
    const char *why = NULL;
    char *bundle = cl__bundle_json(items, count, &why);
    if (!bundle) {
        cl_report(call, "%s", why);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    int rc;
    if (cl__host_can_display()) {
        char id_string[48], reason[200] = "";
        id_text(id, id_string, sizeof id_string);
        rc = cl__host_display(bundle, strlen(bundle), id_string, update, reason, sizeof reason);
        if (rc != 0) cl_report(call, "%s", reason[0] ? reason : "the notebook did not take it");
    } else {
        rc = show_in_terminal(call, id, items, count, update);
    }
    free(bundle);
    return rc;
}

cl_display_id cl_display(const cl_mime *items, int count) {
    cl_display_id id = new_id();
    return show("cl_display", id, items, count, 0) == 0 ? id : 0;
}

int cl_display_update(cl_display_id id, const cl_mime *items, int count) {
    if (id <= 0) {
        cl_report("cl_display_update", "no such display (id %lld)", id);
        return -1;
    }
    return show("cl_display_update", id, items, count, 1);
}

static cl_display_id show_one(const char *call, const char *type, const void *data, size_t size) {
    if (!data) {
        cl_report(call, "nothing to show (NULL)");
        return 0;
    }
    cl_mime item = {type, data, size};
    cl_display_id id = new_id();
    return show(call, id, &item, 1, 0) == 0 ? id : 0;
}

static int update_one(const char *call, cl_display_id id, const char *type, const char *text) {
    if (!text) {
        cl_report(call, "nothing to show (NULL)");
        return -1;
    }
    if (id <= 0) {
        cl_report(call, "no such display (id %lld)", id);
        return -1;
    }
    cl_mime item = {type, text, 0};
    return show(call, id, &item, 1, 1);
}

cl_display_id cl_display_svg(const char *svg) { return show_one("cl_display_svg", "image/svg+xml", svg, 0); }
cl_display_id cl_display_html(const char *html) { return show_one("cl_display_html", "text/html", html, 0); }
cl_display_id cl_display_markdown(const char *md) { return show_one("cl_display_markdown", "text/markdown", md, 0); }
cl_display_id cl_display_latex(const char *latex) { return show_one("cl_display_latex", "text/latex", latex, 0); }
cl_display_id cl_display_json(const char *json) { return show_one("cl_display_json", "application/json", json, 0); }
cl_display_id cl_display_text(const char *text) { return show_one("cl_display_text", "text/plain", text, 0); }

cl_display_id cl_display_png(const void *bytes, size_t size) {
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!bytes || size < sizeof signature || memcmp(bytes, signature, sizeof signature) != 0) {
        cl_report("cl_display_png", "not a PNG image (no PNG signature)");
        return 0;
    }
    return show_one("cl_display_png", "image/png", bytes, size);
}

cl_display_id cl_display_png_file(const char *path) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        cl_report("cl_display_png_file", "cannot open %s: %s", path ? path : "(NULL)", path ? strerror(errno) : "no path");
        return 0;
    }
    cl_text bytes = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) cl__text_add(&bytes, chunk, n);
    fclose(f);
    cl_display_id id = bytes.failed ? 0 : cl_display_png(bytes.data, bytes.len);
    if (bytes.failed) cl_report("cl_display_png_file", "%s is too big to show", path);
    free(bytes.data);
    return id;
}

/* The text a printf-like call formats (malloc'd), or NULL with the failure reported. */
static char *format_text(const char *call, const char *format, va_list ap) {
    char *text = NULL;
    if (vasprintf(&text, format, ap) >= 0) return text;
    cl_report(call, "out of memory");
    return NULL;
}

cl_display_id cl_display_printf(const char *mime, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    char *text = format_text("cl_display_printf", format, ap);
    va_end(ap);
    if (!text) return 0;
    cl_display_id id = show_one("cl_display_printf", mime, text, 0);
    free(text);
    return id;
}

int cl_update_svg(cl_display_id id, const char *svg) { return update_one("cl_update_svg", id, "image/svg+xml", svg); }
int cl_update_html(cl_display_id id, const char *html) { return update_one("cl_update_html", id, "text/html", html); }
int cl_update_markdown(cl_display_id id, const char *md) { return update_one("cl_update_markdown", id, "text/markdown", md); }
int cl_update_text(cl_display_id id, const char *text) { return update_one("cl_update_text", id, "text/plain", text); }

int cl_update_printf(cl_display_id id, const char *mime, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    char *text = format_text("cl_update_printf", format, ap);
    va_end(ap);
    if (!text) return -1;
    int rc = update_one("cl_update_printf", id, mime, text);
    free(text);
    return rc;
}
