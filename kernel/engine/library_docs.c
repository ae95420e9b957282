/* library_docs.c — inspection text for C library names (library_docs.h), in plain text and in
 * Markdown (JupyterLab's contextual help and tooltip render the richer one). */
#define _GNU_SOURCE /* strndup */
#include "library_docs.h"

#include <stdlib.h>
#include <string.h>

#include "man_pages.h"
#include "man_synopsis.h"
#include "strbuf.h"

const char *const library_prelude_headers[] = {
    "<conclab.h>", "<stdio.h>", "<stdlib.h>", "<string.h>", "<stdbool.h>", "<stdint.h>", "<math.h>", NULL,
};

/* Paragraphs of the description shown with more detail, and their size. */
#define DESCRIPTION_PARAGRAPHS 2
#define DESCRIPTION_MAX 1500
#define RETURN_MAX 700

static bool in_prelude(const char *header) {
    for (size_t i = 0; library_prelude_headers[i]; i++)
        if (strcmp(library_prelude_headers[i], header) == 0) return true;
    return false;
}

/* Whether one of the notebook's #include lines names header ("<pthread.h>"). */
static bool notebook_includes(const json_t *includes, const char *header) {
    size_t i;
    json_t *line;
    char quoted[256];
    snprintf(quoted, sizeof quoted, "\"%.*s\"", (int)strlen(header) - 2, header + 1);
    json_array_foreach((json_t *)includes, i, line) {
        const char *s = json_string_value(line);
        if (s && (strstr(s, header) || strstr(s, quoted))) return true;
    }
    return false;
}

char *library_include_note(const char *name, const char *const *headers, size_t n, const library_context *ctx) {
    if (n == 0) return NULL;
    strbuf missing = {0}, listed = {0};
    bool by_prelude = false, by_notebook = false;
    for (size_t i = 0; i < n; i++) {
        strbuf_addf(&listed, "%s%s", i ? ", " : "", headers[i]);
        if (!ctx->no_prelude && in_prelude(headers[i])) by_prelude = true;
        else if (ctx->includes && notebook_includes(ctx->includes, headers[i])) by_notebook = true;
        else strbuf_addf(&missing, "%s#include %s", missing.len ? " and " : "", headers[i]);
    }
    strbuf note = {0};
    bool prelude_declares = !ctx->no_prelude && ctx->prelude_names && json_object_get(ctx->prelude_names, name);
    if (missing.len && prelude_declares) {
        strbuf_addf(&note, "Declared in %s; the prelude's headers declare it too: cells use %s without an #include.",
                    listed.data, name);
    } else if (missing.len) {
        strbuf_addf(&note, "%s needs %s in a cell first (later cells see it too)", name, missing.data);
        if (ctx->no_prelude) strbuf_add(&note, "; the prelude is off");
        strbuf_add(&note, ".");
    } else if (by_notebook) {
        strbuf_addf(&note, "Declared in %s, which this notebook includes.", listed.data);
    } else if (by_prelude) {
        strbuf_addf(&note, "Declared in %s, which the prelude includes: cells use %s without an #include.",
                    listed.data, name);
    }
    strbuf_free(&missing);
    strbuf_free(&listed);
    return strbuf_take(&note);
}

/* ---- Markdown ----------------------------------------------------------------------------- */

/* Prose as Markdown shows it literally. */
static void add_md_text(strbuf *md, const char *text) {
    for (const char *c = text; *c; c++) {
        if (strchr("\\`*_[]<>#|", *c)) strbuf_add(md, "\\");
        strbuf_addn(md, c, 1);
    }
}

/* A fenced C block; a stray fence inside could not close it early, but is dropped anyway. */
static void add_md_code(strbuf *md, const char *code) {
    strbuf_add(md, "```c\n");
    for (const char *c = code; *c; c++) {
        if (strncmp(c, "```", 3) == 0) {
            c += 2;
            continue;
        }
        strbuf_addn(md, c, 1);
    }
    strbuf_add(md, "\n```\n\n");
}

/* ---- from a manual page ------------------------------------------------------------------- */

typedef struct rendering {
    strbuf text, md;
} rendering;

static void add_paragraph(rendering *r, const char *heading, const char *body) {
    if (!body || !*body) return;
    strbuf_addf(&r->text, "\n\n%s\n%s", heading, body);
    strbuf_addf(&r->md, "**%s**\n\n", heading);
    add_md_text(&r->md, body);
    strbuf_add(&r->md, "\n\n");
}

static void add_synopsis(rendering *r, const man_synopsis *syn) {
    strbuf code = {0};
    if (syn->includes[0]) strbuf_add(&code, syn->includes);
    if (syn->includes[0] && syn->declarations[0]) strbuf_add(&code, "\n\n");
    strbuf_add(&code, syn->declarations);
    if (code.len) {
        strbuf_addf(&r->text, "\n\n%s", code.data);
        add_md_code(&r->md, code.data);
    }
    strbuf_free(&code);
}

static void add_notes(rendering *r, const man_doc *doc, const man_synopsis *syn, const library_context *ctx) {
    char *note = library_include_note(doc->name, (const char *const *)syn->headers, syn->n_headers, ctx);
    const char *library = doc->page.library[0] ? doc->page.library : syn->link_note;
    if (strncmp(library, "Standard C library", 18) == 0) library = "";  /* every cell has libc */
    bool first = true;
    if (note && *note) {
        strbuf_addf(&r->text, "\n\n%s", note);
        add_md_text(&r->md, note);
        strbuf_add(&r->md, "  \n");
        first = false;
    }
    if (library[0]) {
        strbuf_addf(&r->text, "%sLibrary: %s", first ? "\n\n" : "\n", library);
        strbuf_add(&r->md, "Library: ");
        add_md_text(&r->md, library);
        strbuf_add(&r->md, "  \n");
        first = false;
    }
    strbuf_addf(&r->text, "%sManual: man %s %s", first ? "\n\n" : "\n", doc->section, doc->name);
    strbuf_addf(&r->md, "Manual: `man %s %s`\n", doc->section, doc->name);
    free(note);
}

static json_t *from_manual(const man_doc *doc, int detail, const library_context *ctx) {
    man_synopsis syn;
    man_synopsis_for(doc->page.synopsis, doc->name, &syn);
    rendering r = {0};
    const char *summary = doc->page.summary;
    strbuf_addf(&r.text, "%s%s%s", doc->name, summary[0] ? " - " : "", summary);
    strbuf_addf(&r.md, "**%s**", doc->name);
    if (summary[0]) {
        strbuf_add(&r.md, " \xe2\x80\x94 ");
        add_md_text(&r.md, summary);
    }
    strbuf_add(&r.md, "\n\n");
    add_synopsis(&r, &syn);
    add_notes(&r, doc, &syn, ctx);
    if (detail > 0) {
        char *description = man_paragraphs(doc->page.description, DESCRIPTION_PARAGRAPHS, DESCRIPTION_MAX);
        char *returns = man_paragraphs(doc->page.return_value, 1, RETURN_MAX);
        strbuf_add(&r.md, "\n");
        add_paragraph(&r, "DESCRIPTION", description);
        add_paragraph(&r, "RETURN VALUE", returns);
        free(description);
        free(returns);
    }
    man_synopsis_free(&syn);
    json_t *bundle = json_pack("{s:s, s:s}", "text/plain", r.text.data, "text/markdown", r.md.data);
    strbuf_free(&r.text);
    strbuf_free(&r.md);
    return bundle;
}

/* ---- from the prelude's headers ------------------------------------------------------------- */

static json_t *from_prelude(const char *name, const json_t *info, const library_context *ctx) {
    const char *decl = json_string_value(json_object_get(info, "declaration"));
    const char *kind = json_string_value(json_object_get(info, "kind"));
    const char *header = json_string_value(json_object_get(info, "header"));
    rendering r = {0};
    strbuf_addf(&r.text, "%s\n\n%s declared in %s", decl ? decl : name, kind ? kind : "name", header ? header : "a header");
    add_md_code(&r.md, decl ? decl : name);
    strbuf_addf(&r.md, "%s declared in ", kind ? kind : "name");
    add_md_text(&r.md, header ? header : "a header");
    if (ctx->no_prelude) {
        strbuf_add(&r.text, ", reached through the prelude's headers; the prelude is off: include one of them first.");
        strbuf_add(&r.md, ", reached through the prelude's headers; the prelude is off: include one of them first.");
    } else {
        strbuf_addf(&r.text, ", reached through the prelude: cells use %s without an #include.", name);
        strbuf_add(&r.md, ", reached through the prelude: cells use it without an #include.");
    }
    if (!man_pages_available())
        strbuf_add(&r.text, "\n(No manual pages here: manpages-dev has the C library's documentation.)");
    json_t *bundle = json_pack("{s:s, s:s}", "text/plain", r.text.data, "text/markdown", r.md.data);
    strbuf_free(&r.text);
    strbuf_free(&r.md);
    return bundle;
}

json_t *library_docs_manual(const char *name, int detail, const library_context *ctx) {
    man_doc *doc = ctx->manuals ? man_pages_find(name) : NULL;
    json_t *bundle = doc ? from_manual(doc, detail, ctx) : NULL;
    man_doc_free(doc);
    return bundle;
}

json_t *library_docs_prelude(const char *name, const library_context *ctx) {
    const json_t *info = ctx->prelude_names ? json_object_get(ctx->prelude_names, name) : NULL;
    return info ? from_prelude(name, info, ctx) : NULL;
}
