/* lexer.h — a C tokenizer that knows comments, strings, character constants and preprocessor
 * lines well enough to split cells, judge completeness and find names. It never fails: bytes it
 * does not understand become TOK_OTHER. */
#ifndef CONCLAB_LEXER_H
#define CONCLAB_LEXER_H

#include <stddef.h>

typedef enum token_kind {
    TOK_EOF,
    TOK_IDENT,        /* identifiers and keywords */
    TOK_NUMBER,
    TOK_STRING,       /* "..." (also prefixed: L"", u8"") */
    TOK_CHAR,         /* '...' */
    TOK_PUNCT,        /* one operator or punctuator, e.g. "{", "->", "<<=" */
    TOK_DIRECTIVE,    /* a whole preprocessor line, continuations included, from '#' */
    TOK_OTHER,
} token_kind;

/* 16 bytes: a 5000-line cell has some 60 000 tokens, and every page of them costs a fault. */
typedef struct token {
    unsigned start, end;         /* byte offsets into the source: [start, end) (LEXER_MAX at most) */
    int line;                    /* 1-based line of start */
    token_kind kind : 8;
    unsigned unterminated : 1;   /* a string, char or comment ran to the end of the input */
} token;

#define LEXER_MAX 0xffffffffu    /* longer sources are cut here */

typedef struct lexer {
    const char *src;
    size_t len, pos;
    int line;
    int open_comment;   /* the input ended inside a block comment: the line it began on (else 0) */
} lexer;

void lexer_init(lexer *lx, const char *src, size_t len);
token lexer_next(lexer *lx);  /* comments are skipped */

/* Tokenizes all of src into a malloc'd array ending with TOK_EOF; *n counts tokens without it;
 * *open_comment (may be NULL) as lexer.open_comment. */
token *lexer_tokenize(const char *src, size_t len, size_t *n, int *open_comment);

int token_is(const char *src, const token *t, const char *text);
int token_is_keyword(const char *src, const token *t);

#endif
