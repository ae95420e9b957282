/* api_docs.c — reads <conclab.h> line by line: a one-line comment followed by a one-line
 * declaration is one documented name (see api_docs.h for the convention). */
#include "api_docs.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_paths.h"
#include "strbuf.h"

static int is_ident_char(int c) {
    return c == '_' || isalnum(c);
}

/* The identifier that ends right before s[end] (spaces skipped), or NULL. Malloc'd. */
static char *ident_before(const char *s, size_t end) {
    while (end > 0 && isspace((unsigned char)s[end - 1])) end--;
    size_t start = end;
    while (start > 0 && is_ident_char((unsigned char)s[start - 1])) start--;
    if (start == end || isdigit((unsigned char)s[start])) return NULL;
    return strndup(s + start, end - start);
}

/* The name a typedef line declares: the one in "(*name)" for function pointers, else the last
 * identifier before ';' or '['. */
static char *typedef_name(const char *decl) {
    const char *fnptr = strstr(decl, "(*");
    if (fnptr) {
        const char *p = fnptr + 2;
        while (isspace((unsigned char)*p)) p++;
        size_t n = 0;
        while (is_ident_char((unsigned char)p[n])) n++;
        return n ? strndup(p, n) : NULL;
    }
    size_t end = strcspn(decl, ";[");
    return ident_before(decl, end);
}

/* Trims in place; returns the first non-space character. */
static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* "text" when line is exactly one block comment, else NULL. Malloc'd. */
static char *one_line_comment(const char *line) {
    size_t n = strlen(line);
    if (n < 4 || strncmp(line, "/*", 2) != 0 || strcmp(line + n - 2, "*/") != 0) return NULL;
    const char *close = strstr(line + 2, "*/");
    if (close != line + n - 2) return NULL;
    char *text = strndup(line + 2, n - 4);
    char *t = trim(text);
    memmove(text, t, strlen(t) + 1);
    return text;
}

static char *without_semicolon(const char *line) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == ';' || isspace((unsigned char)line[n - 1]))) n--;
    return strndup(line, n);
}

static void add(api_docs *docs, api_kind kind, char *name, char *signature, const char *summary) {
    bool skip = !name || name[0] == '_';
    for (size_t i = 0; !skip && i < docs->n; i++) skip = strcmp(docs->items[i].name, name) == 0;
    api_doc *grown = skip ? NULL : realloc(docs->items, (docs->n + 1) * sizeof(*grown));
    if (!grown) {
        free(name);
        free(signature);
        return;
    }
    docs->items = grown;
    docs->items[docs->n++] = (api_doc){kind, name, signature, strdup(summary ? summary : "")};
}

static int brace_balance(const char *s) {
    int depth = 0;
    for (; *s; s++) depth += (*s == '{') - (*s == '}');
    return depth;
}

/* The reader's state between lines. */
typedef struct reader {
    api_docs *docs;
    char *summary;          /* the comment on the previous line, if it was one */
    bool in_comment;        /* inside a block comment spanning lines */
    strbuf block;           /* a typedef whose braces span lines */
    int block_depth;
    char *block_summary;
} reader;

static void forget_summary(reader *r) {
    free(r->summary);
    r->summary = NULL;
}

/* "typedef struct cl_stats {" ... "} cl_stats;" becomes "typedef struct cl_stats { ... } cl_stats". */
static void finish_block(reader *r, const char *last_line) {
    char *first = strbuf_take(&r->block);
    char *brace = strchr(first, '{');
    if (brace) brace[1] = '\0';
    char *tail = without_semicolon(strrchr(last_line, '}') ? strrchr(last_line, '}') + 1 : "");
    char *name = typedef_name(last_line);
    strbuf sig = {0};
    strbuf_addf(&sig, "%s ... }%s%s", first, tail[0] && tail[0] != ' ' ? " " : "", tail);
    add(r->docs, API_TYPE, name, strbuf_take(&sig), r->block_summary);
    strbuf_free(&sig);
    free(first);
    free(tail);
    free(r->block_summary);
    r->block_summary = NULL;
}

static void read_declaration(reader *r, const char *line) {
    if (strncmp(line, "typedef", 7) == 0 && !is_ident_char((unsigned char)line[7])) {
        int depth = brace_balance(line);
        if (depth > 0) {  /* a multi-line struct or enum typedef */
            strbuf_add(&r->block, line);
            r->block_depth = depth;
            r->block_summary = r->summary;
            r->summary = NULL;
            return;
        }
        add(r->docs, API_TYPE, typedef_name(line), without_semicolon(line), r->summary);
    } else if (strncmp(line, "#define", 7) == 0) {
        const char *p = line + 7;
        while (isspace((unsigned char)*p)) p++;
        size_t n = 0;
        while (is_ident_char((unsigned char)p[n])) n++;
        if (r->summary && n) add(r->docs, API_MACRO, strndup(p, n), strdup(line), r->summary);
    } else if (line[0] != '#' && strchr(line, '(') && line[strlen(line) - 1] == ';') {
        add(r->docs, API_FUNCTION, ident_before(line, (size_t)(strchr(line, '(') - line)),
            without_semicolon(line), r->summary);
    }
    forget_summary(r);
}

static void read_line(reader *r, char *raw) {
    char *line = trim(raw);
    if (r->in_comment) {
        r->in_comment = strstr(line, "*/") == NULL;
        return;
    }
    if (r->block_depth > 0) {
        r->block_depth += brace_balance(line);
        if (r->block_depth <= 0) finish_block(r, line);
        return;
    }
    char *comment = one_line_comment(line);
    if (comment) {
        forget_summary(r);
        r->summary = comment;
        return;
    }
    if (strncmp(line, "/*", 2) == 0) {  /* a comment of several lines documents nothing here */
        r->in_comment = strstr(line + 2, "*/") == NULL;
        forget_summary(r);
        return;
    }
    if (line[0] == '\0') {
        forget_summary(r);
        return;
    }
    read_declaration(r, line);
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const api_doc *)a)->name, ((const api_doc *)b)->name);
}

void api_docs_parse(const char *text, api_docs *out) {
    memset(out, 0, sizeof(*out));
    reader r = {.docs = out};
    char *copy = strdup(text ? text : "");
    char *save = NULL;
    /* strtok_r would merge blank lines, which separate a comment from what follows. */
    for (char *line = copy; line; line = save) {
        save = strchr(line, '\n');
        if (save) *save++ = '\0';
        read_line(&r, line);
    }
    forget_summary(&r);
    strbuf_free(&r.block);
    free(r.block_summary);
    free(copy);
    if (out->n) qsort(out->items, out->n, sizeof(*out->items), by_name);
}

static int append_file(strbuf *text, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) strbuf_addn(text, chunk, got);
    fclose(f);
    strbuf_add(text, "\n\n");
    return 0;
}

/* <conclab.h> gathers the runtime's headers (#include <conclab/thread.h> ...): read those too,
 * from the directory that holds conclab.h. */
static void append_included(strbuf *text, const char *path, const char *header) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof(dir), ".");
    for (const char *p = header; (p = strstr(p, "#include")) != NULL; p++) {
        const char *open = p + strlen("#include");
        while (*open == ' ' || *open == '\t') open++;
        if ((*open != '<' && *open != '"') || strncmp(open + 1, "conclab/", 8) != 0) continue;
        const char *close = strpbrk(open + 1, ">\"");
        if (!close) continue;
        char sub[4096 + 256];
        snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(close - open - 1), open + 1);
        append_file(text, sub);
    }
}

int api_docs_load(const char *path, api_docs *out) {
    memset(out, 0, sizeof(*out));
    strbuf text = {0};
    if (append_file(&text, path) != 0) return -1;
    char *header = strbuf_take(&text);
    strbuf_add(&text, header);
    append_included(&text, path, header);
    free(header);
    char *whole = strbuf_take(&text);
    api_docs_parse(whole, out);
    free(whole);
    strbuf_free(&text);
    return 0;
}

void api_docs_free(api_docs *docs) {
    for (size_t i = 0; i < docs->n; i++) {
        free(docs->items[i].name);
        free(docs->items[i].signature);
        free(docs->items[i].summary);
    }
    free(docs->items);
    memset(docs, 0, sizeof(*docs));
}

const api_doc *api_docs_find(const api_docs *docs, const char *name) {
    if (!docs->n) return NULL;
    api_doc key = {.name = (char *)name};
    return bsearch(&key, docs->items, docs->n, sizeof(*docs->items), by_name);
}

static api_docs runtime_docs;
static pthread_once_t runtime_once = PTHREAD_ONCE_INIT;

static void load_runtime_docs(void) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/conclab.h", runtime_include_dir());
    api_docs_load(path, &runtime_docs);
}

const api_docs *api_docs_runtime(void) {
    pthread_once(&runtime_once, load_runtime_docs);
    return &runtime_docs;
}
