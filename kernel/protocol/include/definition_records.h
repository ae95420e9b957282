/* definition_records.h — what a cell defined, as it travels from the compiler to the executor
 * and on to the engine client (the payload of the "done" event, messages.h): per name one record
 * of four fields — name, kind, cell, declaration — each ending in DEFINITION_FIELD_END, the
 * record in DEFINITION_RECORD_END. Kinds: function, variable, type, macro, directive, enum
 * constant, include (the name is then the #include line). Plain bytes, cheap to carry for a
 * cell of thousands of definitions. */
#ifndef CONCLAB_DEFINITION_RECORDS_H
#define CONCLAB_DEFINITION_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

#define DEFINITION_FIELD_END '\x1f'
#define DEFINITION_RECORD_END '\x1e'

typedef struct definition_record {
    const char *name, *kind, *declaration;  /* not NUL-terminated: the lengths say */
    size_t name_length, kind_length, declaration_length;
    int cell;
} definition_record;

/* Appends one record (separator bytes inside the text become spaces). */
void definition_record_add(strbuf *out, const char *name, const char *kind, const char *declaration, int cell);

/* Reads the record at *at into *r and moves *at past it. false at the end, or when what is left
 * is not a whole record. */
bool definition_record_next(const char **at, const char *end, definition_record *r);

#endif
