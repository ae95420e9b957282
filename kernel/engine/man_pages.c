/* man_pages.c — finding, reading and caching manual pages (man_pages.h). Pages are read with
 * zlib's gz* API, which reads plain files as they are; no process is started. */
#define _GNU_SOURCE /* strndup */
#include "man_pages.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "strbuf.h"

#define MAX_NAME 128
#define CACHE_SIZE 256
#define MAX_ROOTS 16

/* Where each kind of page lives, in the order a name is looked for. */
static const struct {
    const char *dir, *section;
} places[] = {
    {"man3", "3"}, {"man2", "2"}, {"man3", "3type"}, {"man3type", "3type"}, {"man3", "3const"},
    {"man3const", "3const"}, {"man3", "3head"}, {"man3head", "3head"}, {"man3", "3posix"},
    {"man3p", "3p"},
};
#define N_PLACES (sizeof places / sizeof *places)

static bool is_identifier(const char *s) {
    if (!*s || isdigit((unsigned char)*s) || strlen(s) > MAX_NAME) return false;
    for (; *s; s++)
        if (*s != '_' && !isalnum((unsigned char)*s)) return false;
    return true;
}

/* ---- the directories ---------------------------------------------------------------------- */

typedef struct roots {
    char *dirs[MAX_ROOTS];
    int n;
} roots;

static void add_root(roots *r, const char *dir, size_t len) {
    if (len == 0 || r->n == MAX_ROOTS) return;
    char *d = strndup(dir, len);
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->dirs[i], d) == 0) {
            free(d);
            return;
        }
    r->dirs[r->n++] = d;
}

static void add_defaults(roots *r) {
    add_root(r, "/usr/local/share/man", strlen("/usr/local/share/man"));
    add_root(r, "/usr/share/man", strlen("/usr/share/man"));
}

static void roots_of(const char *manpath, roots *r) {
    r->n = 0;
    if (!manpath || !*manpath) {
        add_defaults(r);
        return;
    }
    for (const char *p = manpath;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len == 0) add_defaults(r);
        else add_root(r, p, len);
        if (!colon) break;
        p = colon + 1;
    }
}

static void roots_free(roots *r) {
    for (int i = 0; i < r->n; i++) free(r->dirs[i]);
    r->n = 0;
}

/* ---- reading a page ----------------------------------------------------------------------- */

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Up to MAN_PAGE_MAX bytes of the file, decompressed; NULL when unreadable or not gzip-clean. */
static char *read_page(const char *path, size_t *len) {
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    gzbuffer(f, 65536);
    strbuf text = {0};
    char chunk[16384];
    int got = 0;
    while (text.len < MAN_PAGE_MAX && (got = gzread(f, chunk, sizeof chunk)) > 0) {
        size_t room = MAN_PAGE_MAX - text.len;
        strbuf_addn(&text, chunk, (size_t)got < room ? (size_t)got : room);
    }
    gzclose(f);
    if (got < 0 && text.len == 0) {
        strbuf_free(&text);
        return NULL;
    }
    strbuf_add(&text, "");
    *len = text.len;
    return strbuf_take(&text);
}

/* A .so target is a relative path like "man3/printf.3": nothing that climbs out of the root. */
static bool safe_redirect(const char *target) {
    if (!*target || target[0] == '/' || strstr(target, "..") || strlen(target) > 256) return false;
    for (const char *c = target; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_./+-", *c)) return false;
    return true;
}

static char *redirect_path(const char *root, const char *target) {
    if (!safe_redirect(target)) return NULL;
    strbuf p = {0};
    strbuf_addf(&p, "%s/%s", root, target);
    if (is_file(p.data)) return strbuf_take(&p);
    strbuf_add(&p, ".gz");
    if (is_file(p.data)) return strbuf_take(&p);
    strbuf_free(&p);
    return NULL;
}

man_doc *man_pages_read(const char *root, const char *path, const char *name) {
    char *at = strdup(path);
    for (int hops = 0; at && hops <= MAN_REDIRECTS_MAX; hops++) {
        size_t len = 0;
        char *text = read_page(at, &len);
        if (!text) break;
        char *target = man_roff_redirect(text, len);
        if (!target) {
            man_doc *doc = calloc(1, sizeof *doc);
            if (!doc) abort();
            doc->name = strdup(name);
            doc->path = at;
            doc->section = strdup("");
            man_roff_parse(text, len, &doc->page);
            free(text);
            return doc;
        }
        free(text);
        free(at);
        at = redirect_path(root, target);
        free(target);
    }
    free(at);
    return NULL;
}

void man_doc_free(man_doc *doc) {
    if (!doc) return;
    free(doc->name);
    free(doc->section);
    free(doc->path);
    man_page_free(&doc->page);
    free(doc);
}

/* The file holding name's page under root, and its section; NULL when none. */
static char *page_file(const char *root, const char *name, const char **section) {
    for (size_t i = 0; i < N_PLACES; i++) {
        for (int gz = 1; gz >= 0; gz--) {
            strbuf p = {0};
            strbuf_addf(&p, "%s/%s/%s.%s%s", root, places[i].dir, name, places[i].section, gz ? ".gz" : "");
            if (is_file(p.data)) {
                *section = places[i].section;
                return strbuf_take(&p);
            }
            strbuf_free(&p);
        }
    }
    return NULL;
}

static man_doc *find_uncached(const char *name) {
    roots r;
    roots_of(getenv("MANPATH"), &r);
    man_doc *doc = NULL;
    for (int i = 0; i < r.n && !doc; i++) {
        const char *section = NULL;
        char *file = page_file(r.dirs[i], name, &section);
        if (!file) continue;
        doc = man_pages_read(r.dirs[i], file, name);
        if (doc) {
            free(doc->section);
            doc->section = strdup(section);
        }
        free(file);
    }
    roots_free(&r);
    return doc;
}

/* ---- the cache ------------------------------------------------------------------------------ */

static man_doc *doc_copy(const man_doc *d) {
    man_doc *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->name = strdup(d->name);
    c->section = strdup(d->section);
    c->path = strdup(d->path);
    c->page.names = strdup(d->page.names);
    c->page.summary = strdup(d->page.summary);
    c->page.library = strdup(d->page.library);
    c->page.synopsis = strdup(d->page.synopsis);
    c->page.description = strdup(d->page.description);
    c->page.return_value = strdup(d->page.return_value);
    return c;
}

typedef struct cached {
    char *name;
    man_doc *doc;  /* NULL: no page */
} cached;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static cached cache[CACHE_SIZE];
static size_t n_cached;

static void forget_cache(void) {
    for (size_t i = 0; i < n_cached; i++) {
        free(cache[i].name);
        man_doc_free(cache[i].doc);
    }
    n_cached = 0;
}

man_doc *man_pages_find(const char *name) {
    if (!name || !is_identifier(name)) return NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_cached; i++)
        if (strcmp(cache[i].name, name) == 0) {
            man_doc *copy = cache[i].doc ? doc_copy(cache[i].doc) : NULL;
            pthread_mutex_unlock(&lock);
            return copy;
        }
    pthread_mutex_unlock(&lock);
    man_doc *doc = find_uncached(name);  /* outside the lock: it reads files */
    pthread_mutex_lock(&lock);
    if (n_cached == CACHE_SIZE) forget_cache();  /* simple, and rare: a session asks few names */
    cache[n_cached++] = (cached){strdup(name), doc ? doc_copy(doc) : NULL};
    pthread_mutex_unlock(&lock);
    return doc;
}

/* ---- the index of names ------------------------------------------------------------------- */

typedef struct index_entry {
    char *name;
    const char *section;
} index_entry;

static index_entry *names;
static size_t n_names, cap_names;
static char *indexed_manpath;  /* the MANPATH the index was read for ("" for unset) */
static bool indexed;

/* "printf.3.gz" in man3 is ("printf", "3") when "3" is a section read from that directory. */
static const char *section_of_file(const char *dir, const char *file, char *name, size_t name_size) {
    size_t len = strlen(file);
    if (len > 3 && strcmp(file + len - 3, ".gz") == 0) len -= 3;
    for (size_t i = 0; i < N_PLACES; i++) {
        if (strcmp(places[i].dir, dir) != 0) continue;
        size_t s = strlen(places[i].section);
        if (len > s + 1 && file[len - s - 1] == '.' && strncmp(file + len - s, places[i].section, s) == 0 &&
            len - s - 1 < name_size) {
            memcpy(name, file, len - s - 1);
            name[len - s - 1] = '\0';
            return is_identifier(name) ? places[i].section : NULL;
        }
    }
    return NULL;
}

static void index_add(const char *name, const char *section) {
    if (n_names == cap_names) {
        size_t cap = cap_names ? cap_names * 2 : 4096;
        index_entry *grown = realloc(names, cap * sizeof *grown);
        if (!grown) return;
        names = grown;
        cap_names = cap;
    }
    names[n_names++] = (index_entry){strdup(name), section};
}

static void index_dir(const char *root, const char *dir) {
    strbuf path = {0};
    strbuf_addf(&path, "%s/%s", root, dir);
    DIR *d = opendir(path.data);
    strbuf_free(&path);
    if (!d) return;
    struct dirent *e;
    char name[MAX_NAME + 1];
    while ((e = readdir(d)) != NULL && n_names < 100000) {
        const char *section = section_of_file(dir, e->d_name, name, sizeof name);
        if (section) index_add(name, section);
    }
    closedir(d);
}

static int place_rank(const char *section) {
    for (size_t i = 0; i < N_PLACES; i++)
        if (strcmp(places[i].section, section) == 0) return (int)i;
    return (int)N_PLACES;
}

/* By name, and for one name the section looked up first. */
static int by_name_then_place(const void *a, const void *b) {
    const index_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : place_rank(x->section) - place_rank(y->section);
}

static void forget_index(void) {
    for (size_t i = 0; i < n_names; i++) free(names[i].name);
    free(names);
    names = NULL;
    n_names = cap_names = 0;
    free(indexed_manpath);
    indexed_manpath = NULL;
    indexed = false;
}

static void build_index(const char *manpath) {
    forget_index();
    roots r;
    roots_of(manpath, &r);
    static const char *const dirs[] = {"man2", "man3", "man3type", "man3const", "man3head", "man3p"};
    for (int i = 0; i < r.n; i++)
        for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) index_dir(r.dirs[i], dirs[d]);
    roots_free(&r);
    if (n_names) qsort(names, n_names, sizeof *names, by_name_then_place);
    size_t kept = 0;  /* one entry per name: the page a lookup would find */
    for (size_t i = 0; i < n_names; i++) {
        if (kept && strcmp(names[kept - 1].name, names[i].name) == 0) free(names[i].name);
        else names[kept++] = names[i];
    }
    n_names = kept;
    indexed_manpath = strdup(manpath ? manpath : "");
    indexed = true;
}

static void ensure_index(void) {
    const char *manpath = getenv("MANPATH");
    if (!indexed || strcmp(indexed_manpath, manpath ? manpath : "") != 0) build_index(manpath);
}

size_t man_pages_with_prefix(const char *prefix, size_t max, void (*fn)(void *ctx, const man_name *n), void *ctx) {
    size_t plen = strlen(prefix), count = 0;
    pthread_mutex_lock(&lock);
    ensure_index();
    size_t lo = 0, hi = n_names;  /* the first name >= prefix */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(names[mid].name, prefix) < 0) lo = mid + 1;
        else hi = mid;
    }
    for (size_t i = lo; i < n_names && strncmp(names[i].name, prefix, plen) == 0; i++, count++) {
        if (count < max) {
            man_name n = {names[i].name, names[i].section};
            fn(ctx, &n);
        }
    }
    pthread_mutex_unlock(&lock);
    return count;
}

bool man_pages_available(void) {
    pthread_mutex_lock(&lock);
    ensure_index();
    bool any = n_names > 0;
    pthread_mutex_unlock(&lock);
    return any;
}

void man_pages_reset(void) {
    pthread_mutex_lock(&lock);
    forget_cache();
    forget_index();
    pthread_mutex_unlock(&lock);
}
