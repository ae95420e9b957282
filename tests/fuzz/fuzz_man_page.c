/* fuzz_man_page.c — the manual page reader must take any bytes (a page can be anything a
 * package put under /usr/share/man): no crash, no hang, no read out of bounds, no leak, and
 * every part it returns is a string within its size bound. The input is not NUL-terminated:
 * the reader goes by its length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "man_roff.h"
#include "man_synopsis.h"

static void check_part(const char *part) {
    if (!part || strlen(part) > MAN_PART_MAX + 4096) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    man_page p;
    man_roff_parse(text, size, &p);
    check_part(p.names);
    check_part(p.summary);
    check_part(p.library);
    check_part(p.synopsis);
    check_part(p.description);
    check_part(p.return_value);
    man_synopsis s;
    man_synopsis_for(p.synopsis, "printf", &s);
    if (!s.includes || !s.declarations || !s.link_note || s.n_headers > MAN_SYNOPSIS_MAX_HEADERS) abort();
    for (size_t i = 0; i < s.n_headers; i++)
        if (s.headers[i][0] != '<') abort();
    man_synopsis_free(&s);
    char *first = man_paragraphs(p.description, 2, 200);
    if (strlen(first) > 204) abort();
    free(first);
    man_page_free(&p);
    free(man_roff_redirect(text, size));
    free(man_roff_plain(text, size));
    return 0;
}
