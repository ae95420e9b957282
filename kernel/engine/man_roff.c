/* man_roff.c — a display reader for man-macro roff (man_roff.h). The page is read line by
 * line: control lines ('.' or '\'') are requests and macros, the others are text; both go
 * through the same escape reader. Text lands in the buffer of the section being read (NULL for
 * the sections nobody shows), in fill mode (lines joined into paragraphs) or no-fill mode
 * (lines kept). */
#define _GNU_SOURCE /* strndup */
#include "man_roff.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* ---- escapes ------------------------------------------------------------------------------ */

/* The special characters a man page uses, by their groff names (\(xx and \[name]). */
static const struct {
    const char *name, *text;
} special_chars[] = {
    {"em", "\xe2\x80\x94"}, {"en", "\xe2\x80\x93"}, {"hy", "-"}, {"mi", "-"}, {"aq", "'"},
    {"dq", "\""}, {"lq", "\xe2\x80\x9c"}, {"rq", "\xe2\x80\x9d"}, {"oq", "\xe2\x80\x98"},
    {"cq", "\xe2\x80\x99"}, {"bu", "\xe2\x80\xa2"}, {"+-", "\xc2\xb1"}, {"mu", "\xc3\x97"},
    {"di", "\xc3\xb7"}, {"co", "\xc2\xa9"}, {"rg", "\xc2\xae"}, {"tm", "\xe2\x84\xa2"},
    {"ti", "~"}, {"ha", "^"}, {"rs", "\\"}, {"sl", "/"}, {"ba", "|"}, {"dg", "\xe2\x80\xa0"},
    {">=", "\xe2\x89\xa5"}, {"<=", "\xe2\x89\xa4"}, {"!=", "\xe2\x89\xa0"}, {"==", "=="},
    {"->", "\xe2\x86\x92"}, {"<-", "\xe2\x86\x90"}, {"rA", "\xe2\x87\x92"}, {"fm", "'"},
    {"de", "\xc2\xb0"}, {"sc", "\xc2\xa7"}, {"ga", "`"}, {"ul", "_"}, {"lB", "["}, {"rB", "]"},
    {"lC", "{"}, {"rC", "}"}, {"la", "<"}, {"ra", ">"}, {"Fo", "\xc2\xab"}, {"Fc", "\xc2\xbb"},
    {"if", "\xe2\x88\x9e"}, {"pi", "\xcf\x80"}, {"ua", "\xe2\x86\x91"}, {"da", "\xe2\x86\x93"},
};

/* Strings the man macros define (\*(lq, \*R ...). */
static const struct {
    const char *name, *text;
} strings[] = {
    {"lq", "\xe2\x80\x9c"}, {"rq", "\xe2\x80\x9d"}, {"R", "\xc2\xae"}, {"Tm", "\xe2\x84\xa2"},
};

static void add_utf8(strbuf *out, unsigned long cp) {
    char b[4];
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return;
    if (cp < 0x80) {
        b[0] = (char)cp;
        strbuf_addn(out, b, 1);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        strbuf_addn(out, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        strbuf_addn(out, b, 3);
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        strbuf_addn(out, b, 4);
    }
}

static void add_special(strbuf *out, const char *name, size_t n) {
    for (size_t i = 0; i < sizeof special_chars / sizeof *special_chars; i++)
        if (strlen(special_chars[i].name) == n && strncmp(special_chars[i].name, name, n) == 0) {
            strbuf_add(out, special_chars[i].text);
            return;
        }
    if (n >= 5 && n <= 7 && name[0] == 'u') {  /* \[u00E9] */
        char hex[8] = {0};
        memcpy(hex, name + 1, n - 1);
        char *end;
        unsigned long cp = strtoul(hex, &end, 16);
        if (*end == '\0') add_utf8(out, cp);
    }
}

static void add_string(strbuf *out, const char *name, size_t n) {
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        if (strlen(strings[i].name) == n && strncmp(strings[i].name, name, n) == 0) strbuf_add(out, strings[i].text);
}

/* An escape's name argument after p: "x" (one character), "(xx" or "[name]". Sets *name and *n;
 * returns the position after it. */
static size_t escape_name(const char *s, size_t p, size_t len, const char **name, size_t *n) {
    *name = s + p;
    *n = 0;
    if (p >= len) return p;
    if (s[p] == '(') {
        *name = s + p + 1;
        *n = p + 3 <= len ? 2 : len - p - 1;
        return p + 1 + *n;
    }
    if (s[p] == '[') {
        const char *close = memchr(s + p + 1, ']', len - p - 1);
        size_t end = close ? (size_t)(close - s) : len;
        *name = s + p + 1;
        *n = end - p - 1;
        return close ? end + 1 : len;
    }
    *n = 1;
    return p + 1;
}

/* After an escape like \h'...' or \w|...|: the position past its delimited argument. */
static size_t skip_delimited(const char *s, size_t p, size_t len) {
    if (p >= len) return p;
    char delim = s[p];
    const char *close = memchr(s + p + 1, delim, len - p - 1);
    return close ? (size_t)(close - s) + 1 : len;
}

/* \s-1, \s+2, \s0, \s(12, \s[10]: the position past the size. */
static size_t skip_size(const char *s, size_t p, size_t len) {
    if (p < len && (s[p] == '+' || s[p] == '-')) p++;
    if (p < len && (s[p] == '(' || s[p] == '[' )) {
        const char *name;
        size_t n;
        return escape_name(s, p, len, &name, &n);
    }
    if (p < len && s[p] == '\'') return skip_delimited(s, p, len);
    if (p < len && isdigit((unsigned char)s[p])) p++;
    return p;
}

/* One escape at s[p] == '\\': its plain text into out; returns the position after it. */
static size_t read_escape(const char *s, size_t p, size_t len, strbuf *out) {
    if (p + 1 >= len) return len;  /* a lone backslash at the end: a continuation, dropped */
    char c = s[p + 1];
    size_t q = p + 2;
    const char *name;
    size_t n;
    switch (c) {
    case 'f': case 'F': case 'g': case 'k': case 'm': case 'M': case 'n': case 'V': case '$': case 'Y':
        return escape_name(s, q, len, &name, &n);  /* fonts, registers, colours: nothing shown */
    case '(': case '[':
        q = escape_name(s, p + 1, len, &name, &n);
        add_special(out, name, n);
        return q;
    case 'C':
        if (q < len) {
            size_t end = skip_delimited(s, q, len);
            if (end >= q + 2) add_special(out, s + q + 1, end - q - 2);
            return end;
        }
        return q;
    case '*':
        q = escape_name(s, q, len, &name, &n);
        add_string(out, name, n);
        return q;
    case 's':
        return skip_size(s, q, len);
    case 'h': case 'v': case 'w': case 'o': case 'l': case 'L': case 'D': case 'X': case 'Z':
    case 'x': case 'b': case 'A': case 'B': case 'N': case 'R': case 'S': case 'H': case 'O':
        return skip_delimited(s, q, len);
    case 'e': case 'E': case '\\':
        strbuf_add(out, "\\");
        return q;
    case '-': case '_':
        strbuf_addn(out, c == '-' ? "-" : "_", 1);
        return q;
    case ' ': case '~': case '0':
        strbuf_add(out, " ");
        return q;
    case '&': case '|': case '^': case '%': case ':': case '/': case ',': case 'c': case 'p':
    case 'a': case 'd': case 'u': case 'r': case 't': case 'z': case '{': case '}': case '!':
    case '?': case '"': case '#':
        return q;  /* zero-width, motions and conditions: nothing to show */
    default:
        strbuf_addn(out, &c, 1);  /* \. \' \` and the like: the character itself */
        return q;
    }
}

char *man_roff_plain(const char *text, size_t len) {
    strbuf out = {0};
    strbuf_add(&out, "");
    for (size_t p = 0; p < len && text[p];) {
        if (text[p] == '\\') {
            p = read_escape(text, p, len, &out);
            continue;
        }
        size_t run = p;
        while (run < len && text[run] && text[run] != '\\') run++;
        strbuf_addn(&out, text + p, run - p);
        p = run;
    }
    return strbuf_take(&out);
}

/* ---- lines -------------------------------------------------------------------------------- */

/* The length of line without its comment (\" or \#), which escapes cannot hide. */
static size_t without_comment(const char *line, size_t len) {
    for (size_t p = 0; p + 1 < len; p++) {
        if (line[p] != '\\') continue;
        if (line[p + 1] == '"' || line[p + 1] == '#') return p;
        p++;  /* \\ and the like: the next character is escaped */
    }
    return len;
}

/* Whether the line ends with an escaped newline (a lone backslash): it goes on on the next. */
static bool continues(const char *line, size_t len) {
    size_t backslashes = 0;
    while (backslashes < len && line[len - 1 - backslashes] == '\\') backslashes++;
    return backslashes % 2 == 1;
}

/* A request's arguments: space-separated, "quoted" ones may hold spaces ("" is a quote). */
typedef struct args {
    char *items[32];
    int n;
} args;

static void split_args(const char *s, size_t len, args *a) {
    a->n = 0;
    size_t p = 0;
    while (a->n < 32) {
        while (p < len && (s[p] == ' ' || s[p] == '\t')) p++;
        if (p >= len) break;
        strbuf raw = {0};
        strbuf_add(&raw, "");
        if (s[p] == '"') {
            for (p++; p < len; p++) {
                if (s[p] == '"' && p + 1 < len && s[p + 1] == '"') {
                    strbuf_add(&raw, "\"");
                    p++;
                } else if (s[p] == '"') {
                    p++;
                    break;
                } else {
                    strbuf_addn(&raw, s + p, 1);
                }
            }
        } else {
            size_t start = p;
            while (p < len && s[p] != ' ' && s[p] != '\t') p += (s[p] == '\\' && p + 1 < len) ? 2 : 1;
            strbuf_addn(&raw, s + start, p - start);
        }
        a->items[a->n++] = man_roff_plain(raw.data, raw.len);
        strbuf_free(&raw);
    }
}

static void free_args(args *a) {
    for (int i = 0; i < a->n; i++) free(a->items[i]);
    a->n = 0;
}

/* ---- the page ----------------------------------------------------------------------------- */

typedef enum part { PART_NONE, PART_NAME, PART_LIBRARY, PART_SYNOPSIS, PART_DESCRIPTION, PART_RETURN, PART_COUNT } part;

typedef struct reader {
    strbuf parts[PART_COUNT];
    part at;
    bool nofill;
    bool tag_next;     /* .TP: the next text line is a tag, on a line of its own */
    bool title_next;   /* .SS without arguments: the next text line is its title, left out */
    bool skip_table;   /* between .TS and .TE */
    bool skip_block;   /* between .de/.ig and .. */
    int skip_braces;   /* inside a conditional's \{ ... \} */
} reader;

static strbuf *current(reader *r) {
    if (r->at == PART_NONE) return NULL;
    strbuf *b = &r->parts[r->at];
    return b->len < MAN_PART_MAX ? b : NULL;
}

static bool ends_with(const strbuf *b, const char *tail) {
    size_t n = strlen(tail);
    return b->len >= n && memcmp(b->data + b->len - n, tail, n) == 0;
}

static void trim_trailing_spaces(strbuf *b) {
    while (b->len && b->data[b->len - 1] == ' ') b->data[--b->len] = '\0';
}

static void line_break(reader *r) {
    strbuf *b = current(r);
    if (!b || !b->len) return;
    trim_trailing_spaces(b);
    if (!ends_with(b, "\n")) strbuf_add(b, "\n");
}

static void paragraph_break(reader *r) {
    strbuf *b = current(r);
    if (!b || !b->len) return;
    line_break(r);
    if (!ends_with(b, "\n\n")) strbuf_add(b, "\n");
}

static void add_text(reader *r, const char *text) {
    strbuf *b = current(r);
    if (!b) return;
    if (r->nofill) {
        strbuf_add(b, text);
        strbuf_add(b, "\n");
        return;
    }
    if (!*text) return;
    if (b->len && !ends_with(b, "\n") && !ends_with(b, " ")) strbuf_add(b, " ");
    strbuf_add(b, text);
    if (r->tag_next) {
        r->tag_next = false;
        line_break(r);
    }
}

static part part_named(const char *title) {
    static const struct {
        const char *title;
        part p;
    } named[] = {{"NAME", PART_NAME}, {"LIBRARY", PART_LIBRARY}, {"SYNOPSIS", PART_SYNOPSIS},
                 {"DESCRIPTION", PART_DESCRIPTION}, {"RETURN VALUE", PART_RETURN}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (strcasecmp(named[i].title, title) == 0) return named[i].p;
    return PART_NONE;
}

static void join_args(const args *a, int from, const char *between, strbuf *out) {
    for (int i = from; i < a->n; i++) {
        if (i > from) strbuf_add(out, between);
        strbuf_add(out, a->items[i]);
    }
}

static bool is_font_macro(const char *m) {
    static const char *const alternating[] = {"BR", "BI", "IB", "IR", "RB", "RI", NULL};
    for (size_t i = 0; alternating[i]; i++)
        if (strcmp(m, alternating[i]) == 0) return true;
    return false;
}

static void section_start(reader *r, const args *a) {
    strbuf title = {0};
    join_args(a, 0, " ", &title);
    strbuf_add(&title, "");
    r->at = part_named(title.data);
    r->nofill = false;
    r->tag_next = false;
    /* A part seen twice (two SYNOPSIS sections) goes on after a blank line. */
    paragraph_break(r);
    strbuf_free(&title);
}

/* One control line: the macro's name and its (comment-free) rest. */
static void request(reader *r, const char *name, const char *rest, size_t rest_len) {
    args a;
    split_args(rest, rest_len, &a);
    strbuf text = {0};
    if (strcmp(name, "SH") == 0) {
        section_start(r, &a);
    } else if (strcmp(name, "SS") == 0) {
        paragraph_break(r);  /* subsection titles are left out: the parts are shown in excerpts */
        r->title_next = a.n == 0;
    } else if (strcmp(name, "B") == 0 || strcmp(name, "I") == 0 || strcmp(name, "SM") == 0 ||
               strcmp(name, "SB") == 0) {
        join_args(&a, 0, " ", &text);
        if (a.n) add_text(r, text.data);
    } else if (is_font_macro(name)) {
        join_args(&a, 0, "", &text);
        if (a.n) add_text(r, text.data);
    } else if (strcmp(name, "MR") == 0 && a.n >= 2) {  /* .MR printf 3 , */
        strbuf_addf(&text, "%s(%s)%s", a.items[0], a.items[1], a.n > 2 ? a.items[2] : "");
        add_text(r, text.data);
    } else if (strcmp(name, "PP") == 0 || strcmp(name, "P") == 0 || strcmp(name, "LP") == 0 ||
               strcmp(name, "sp") == 0 || strcmp(name, "HP") == 0) {
        paragraph_break(r);
    } else if (strcmp(name, "TP") == 0 || strcmp(name, "TQ") == 0) {
        paragraph_break(r);
        r->tag_next = true;
    } else if (strcmp(name, "IP") == 0) {
        paragraph_break(r);
        if (a.n && a.items[0][0]) add_text(r, a.items[0]);
    } else if (strcmp(name, "br") == 0) {
        line_break(r);
    } else if (strcmp(name, "nf") == 0 || strcmp(name, "EX") == 0) {
        line_break(r);
        r->nofill = true;
    } else if (strcmp(name, "fi") == 0 || strcmp(name, "EE") == 0) {
        r->nofill = false;
    } else if (strcmp(name, "TS") == 0) {
        r->skip_table = true;
    } else if (strcmp(name, "de") == 0 || strcmp(name, "ig") == 0 || strcmp(name, "am") == 0) {
        r->skip_block = true;
    } else if (strcmp(name, "SY") == 0 || strcmp(name, "OP") == 0) {
        join_args(&a, 0, " ", &text);
        if (a.n) add_text(r, text.data);
    }
    /* Everything else (.TH, .RS, .RE, .in, .ad, .UR, .if ...) changes nothing shown here. */
    strbuf_free(&text);
    free_args(&a);
}

/* Conditionals (.if, .ie, .el) are skipped whole, with any \{ ... \} block they open. */
static bool opens_brace(const char *line, size_t len) {
    for (size_t p = 0; p + 1 < len; p++)
        if (line[p] == '\\' && line[p + 1] == '{') return true;
    return false;
}

static bool closes_brace(const char *line, size_t len) {
    for (size_t p = 0; p + 1 < len; p++)
        if (line[p] == '\\' && line[p + 1] == '}') return true;
    return false;
}

static void control_line(reader *r, const char *line, size_t len) {
    size_t p = 1;
    while (p < len && (line[p] == ' ' || line[p] == '\t')) p++;
    size_t name_start = p;
    while (p < len && line[p] != ' ' && line[p] != '\t' && p - name_start < 15) p++;
    char name[16];
    memcpy(name, line + name_start, p - name_start);
    name[p - name_start] = '\0';
    if (strcmp(name, "if") == 0 || strcmp(name, "ie") == 0 || strcmp(name, "el") == 0) {
        if (opens_brace(line, len) && !closes_brace(line, len)) r->skip_braces = 1;
        return;
    }
    request(r, name, line + p, len - p);
}

static void text_line(reader *r, const char *line, size_t len) {
    if (r->title_next) {
        r->title_next = false;
        return;
    }
    if (len == 0 && !r->nofill) {  /* a blank line is a paragraph break */
        paragraph_break(r);
        return;
    }
    if (!r->nofill && (line[0] == ' ' || line[0] == '\t')) line_break(r);
    char *plain = man_roff_plain(line, len);
    add_text(r, r->nofill ? plain : plain + strspn(plain, " \t"));
    free(plain);
}

/* Lines being skipped: tables, macro definitions, conditional blocks. Returns whether this
 * line is one of them. */
static bool skipped(reader *r, const char *line, size_t len) {
    if (r->skip_table) {
        r->skip_table = !(len >= 3 && line[0] == '.' && strncmp(line + 1, "TE", 2) == 0);
        return true;
    }
    if (r->skip_block) {
        r->skip_block = !(len >= 2 && strncmp(line, "..", 2) == 0);
        return true;
    }
    if (r->skip_braces) {
        if (closes_brace(line, len)) r->skip_braces = 0;
        return true;
    }
    return false;
}

static void read_line(reader *r, const char *line, size_t len) {
    len = without_comment(line, len);
    if (skipped(r, line, len)) return;
    if (len > 0 && (line[0] == '.' || line[0] == '\'')) control_line(r, line, len);
    else text_line(r, line, len);
}

static char *trimmed_part(strbuf *b) {
    strbuf_add(b, "");
    char *s = strbuf_take(b);
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    size_t lead = 0;
    while (s[lead] == '\n') lead++;
    memmove(s, s + lead, n - lead + 1);
    return s;
}

/* "printf, fprintf - formatted output conversion" into its names and its summary. */
static void split_name_line(char *line, man_page *out) {
    for (char *c = line; *c; c++)
        if (*c == '\n') *c = ' ';
    char *dash = strstr(line, " - ");
    size_t skip = 3;
    if (!dash && (dash = strstr(line, " \xe2\x80\x94 ")) != NULL) skip = 5;  /* an em dash */
    out->names = dash ? strndup(line, (size_t)(dash - line)) : strdup(line);
    out->summary = strdup(dash ? dash + skip : "");
}

void man_roff_parse(const char *text, size_t len, man_page *out) {
    reader r = {0};
    strbuf joined = {0};
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t end = nl ? (size_t)(nl - text) : len;
        strbuf_addn(&joined, text + p, end - p);
        p = end + 1;
        if (continues(joined.data, joined.len) && p < len && joined.len < MAN_PART_MAX) {
            joined.data[--joined.len] = '\0';  /* an escaped newline: the line goes on */
            continue;
        }
        read_line(&r, joined.data ? joined.data : "", joined.len);
        strbuf_free(&joined);
    }
    strbuf_free(&joined);
    char *name_line = trimmed_part(&r.parts[PART_NAME]);
    split_name_line(name_line, out);
    free(name_line);
    out->library = trimmed_part(&r.parts[PART_LIBRARY]);
    out->synopsis = trimmed_part(&r.parts[PART_SYNOPSIS]);
    out->description = trimmed_part(&r.parts[PART_DESCRIPTION]);
    out->return_value = trimmed_part(&r.parts[PART_RETURN]);
    strbuf_free(&r.parts[PART_NONE]);
}

char *man_roff_redirect(const char *text, size_t len) {
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = without_comment(text + p, end - p);
        const char *line = text + p;
        p = end + 1;
        while (n && isspace((unsigned char)line[n - 1])) n--;
        if (n == 0 || (n == 1 && line[0] == '.')) continue;
        if (n > 4 && strncmp(line, ".so", 3) == 0 && (line[3] == ' ' || line[3] == '\t')) {
            size_t start = 4;
            while (start < n && isspace((unsigned char)line[start])) start++;
            if (start == n) return NULL;
            /* text need not end in a NUL (a file's bytes): copy exactly, never strndup past it */
            strbuf target = {0};
            strbuf_addn(&target, line + start, n - start);
            return strbuf_take(&target);
        }
        return NULL;  /* the first real line is not a .so: a page of its own */
    }
    return NULL;
}

char *man_paragraphs(const char *text, int n, size_t max) {
    strbuf out = {0};
    strbuf_add(&out, "");
    const char *p = text;
    for (int i = 0; i < n && *p; i++) {
        const char *end = strstr(p, "\n\n");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (out.len) strbuf_add(&out, "\n\n");
        strbuf_addn(&out, p, len);
        if (!end) break;
        p = end + 2;
    }
    if (out.len > max) {
        size_t cut = max;
        while (cut > max / 2 && out.data[cut] != ' ' && out.data[cut] != '\n') cut--;
        while (cut > 0 && (out.data[cut] & 0xC0) == 0x80) cut--;  /* not inside a character */
        out.data[cut] = '\0';
        out.len = cut;
        strbuf_add(&out, " ...");
    }
    return strbuf_take(&out);
}

void man_page_free(man_page *page) {
    free(page->names);
    free(page->summary);
    free(page->library);
    free(page->synopsis);
    free(page->description);
    free(page->return_value);
    memset(page, 0, sizeof *page);
}
