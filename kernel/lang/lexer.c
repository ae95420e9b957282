/* lexer.c — a forgiving C tokenizer. It exists to find the shape of a cell (where items begin
 * and end, which brackets are open) rather than to validate C: tcc does that. */
#include "lexer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void lexer_init(lexer *lx, const char *src, size_t len) {
    lx->src = src;
    lx->len = len < LEXER_MAX ? len : LEXER_MAX;
    lx->pos = 0;
    lx->line = 1;
    lx->open_comment = 0;
}

static int peek(const lexer *lx, size_t ahead) {
    size_t at = lx->pos + ahead;
    return at < lx->len ? (unsigned char)lx->src[at] : -1;
}

static void advance(lexer *lx) {
    if (lx->pos < lx->len) {
        if (lx->src[lx->pos] == '\n') lx->line++;
        lx->pos++;
    }
}

/* Skips spaces and comments. Returns 1 when a newline was crossed (directives start lines). */
/* Moves past the block comment at the cursor. 0 when the input ends inside it (open_comment
 * then says the line it began on). */
static int skip_block_comment(lexer *lx) {
    int opened = lx->line;
    advance(lx);
    advance(lx);
    while (!(peek(lx, 0) == '*' && peek(lx, 1) == '/')) {
        if (peek(lx, 0) == -1) {
            lx->open_comment = opened;
            return 0;
        }
        advance(lx);
    }
    advance(lx);
    advance(lx);
    return 1;
}

static int skip_blank(lexer *lx) {
    int crossed = 0;
    for (;;) {
        int c = peek(lx, 0);
        if (c == '\n') crossed = 1;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(lx);
        } else if (c == '\\' && (peek(lx, 1) == '\n' || (peek(lx, 1) == '\r' && peek(lx, 2) == '\n'))) {
            advance(lx);  /* a line continuation outside a directive joins lines */
        } else if (c == '/' && peek(lx, 1) == '/') {
            while (peek(lx, 0) != -1 && peek(lx, 0) != '\n') {
                if (peek(lx, 0) == '\\' && peek(lx, 1) == '\n') advance(lx);
                advance(lx);
            }
        } else if (c == '/' && peek(lx, 1) == '*') {
            if (!skip_block_comment(lx)) return crossed;
        } else {
            return crossed;
        }
    }
}

static int at_line_start(const lexer *lx, size_t pos) {
    while (pos > 0) {
        char c = lx->src[pos - 1];
        if (c == '\n') return 1;
        if (c != ' ' && c != '\t') return 0;
        pos--;
    }
    return 1;
}

static void lex_quoted(lexer *lx, token *t, char quote) {
    advance(lx);  /* the opening quote */
    for (;;) {
        int c = peek(lx, 0);
        if (c == -1 || c == '\n') {
            t->unterminated = 1;
            return;
        }
        advance(lx);
        if (c == '\\') {
            advance(lx);
        } else if (c == quote) {
            return;
        }
    }
}

static void lex_directive(lexer *lx, token *t) {
    for (;;) {
        int c = peek(lx, 0);
        if (c == -1 || c == '\n') return;
        if (c == '\\' && peek(lx, 1) == '\n') {
            advance(lx);
            advance(lx);
            continue;
        }
        if (c == '/' && peek(lx, 1) == '*') {  /* a comment may span lines inside a directive */
            if (!skip_block_comment(lx)) {
                t->unterminated = 1;
                return;
            }
            continue;
        }
        advance(lx);
    }
}

static const char *const punctuators[] = {
    "<<=", ">>=", "...", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
    "*=", "/=", "%=", "+=", "-=", "&=", "^=", "|=", "##", NULL,
};

/* The longest punctuator at the cursor (most are one character: the first byte rules out most). */
static void lex_punct(lexer *lx) {
    char first = lx->src[lx->pos];
    for (int i = 0; punctuators[i]; i++) {
        if (punctuators[i][0] != first) continue;
        size_t n = strlen(punctuators[i]);
        if (lx->pos + n <= lx->len && memcmp(lx->src + lx->pos, punctuators[i], n) == 0) {
            for (size_t k = 0; k < n; k++) advance(lx);
            return;
        }
    }
    advance(lx);
}

static int is_ident_char(int c) { return c == '_' || isalnum(c) || c >= 0x80; }

token lexer_next(lexer *lx) {
    skip_blank(lx);
    token t = {.start = (unsigned)lx->pos, .end = (unsigned)lx->pos, .line = lx->line, .kind = TOK_EOF};
    int c = peek(lx, 0);
    if (c == -1) return t;
    if (c == '#' && at_line_start(lx, lx->pos)) {
        t.kind = TOK_DIRECTIVE;
        lex_directive(lx, &t);
    } else if (c == '"' || c == '\'') {
        t.kind = c == '"' ? TOK_STRING : TOK_CHAR;
        lex_quoted(lx, &t, (char)c);
    } else if ((c == 'L' || c == 'u' || c == 'U') &&
               (peek(lx, 1) == '"' || peek(lx, 1) == '\'' ||
                (c == 'u' && peek(lx, 1) == '8' && peek(lx, 2) == '"'))) {
        advance(lx);
        if (peek(lx, 0) == '8') advance(lx);
        int q = peek(lx, 0);
        t.kind = q == '"' ? TOK_STRING : TOK_CHAR;
        lex_quoted(lx, &t, (char)q);
    } else if (isdigit(c) || (c == '.' && isdigit(peek(lx, 1)))) {
        t.kind = TOK_NUMBER;
        while (is_ident_char(peek(lx, 0)) || peek(lx, 0) == '.' ||
               ((peek(lx, 0) == '+' || peek(lx, 0) == '-') &&
                strchr("eEpP", lx->src[lx->pos - 1]) != NULL))
            advance(lx);
    } else if (is_ident_char(c)) {
        t.kind = TOK_IDENT;
        while (is_ident_char(peek(lx, 0))) advance(lx);
    } else if (strchr("{}[]()<>;,.:?~!%^&*-+=|/", c) != NULL) {
        t.kind = TOK_PUNCT;
        lex_punct(lx);
    } else {
        t.kind = TOK_OTHER;
        advance(lx);
    }
    t.end = lx->pos;
    return t;
}

token *lexer_tokenize(const char *src, size_t len, size_t *n, int *open_comment) {
    lexer lx;
    lexer_init(&lx, src, len);
    size_t cap = 64, count = 0;
    token *toks = malloc(cap * sizeof *toks);
    if (!toks) return NULL;
    for (;;) {
        token t = lexer_next(&lx);
        if (count + 1 >= cap) {
            cap *= 2;
            token *grown = realloc(toks, cap * sizeof *toks);
            if (!grown) {
                free(toks);
                return NULL;
            }
            toks = grown;
        }
        toks[count] = t;
        if (t.kind == TOK_EOF) break;
        count++;
    }
    *n = count;
    if (open_comment) *open_comment = lx.open_comment;
    return toks;
}

/* Most comparisons fail on the first byte; no strlen of text needed to find that out. */
int token_is(const char *src, const token *t, const char *text) {
    size_t n = t->end - t->start;
    if (n == 0) return text[0] == '\0';
    return src[t->start] == text[0] && strncmp(src + t->start, text, n) == 0 && text[n] == '\0';
}

static const char *const keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_Bool",
    "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
    "__attribute__", "__typeof__", "typeof", "__inline", "__inline__", "__restrict",
    "__restrict__", "__const", "__volatile__", "__extension__", "__asm__", "asm", NULL,
};

int token_is_keyword(const char *src, const token *t) {
    if (t->kind != TOK_IDENT) return 0;
    for (int i = 0; keywords[i]; i++)
        if (token_is(src, t, keywords[i])) return 1;
    return 0;
}
