/* kernel_info.c — who this kernel is: kernel_info_reply's content, the same on shell and control. */
#include "kernel_state.h"

#ifndef CONCLAB_VERSION
#define CONCLAB_VERSION "0.0.0"
#endif

/* Help menu entries in JupyterLab and Notebook ("Help > ..."). */
static json_t *help_links(void) {
    return json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
                     "text", "C reference", "url", "https://en.cppreference.com/w/c",
                     "text", "POSIX threads", "url",
                     "https://pubs.opengroup.org/onlinepubs/9699919799/basedefs/pthread.h.html",
                     "text", "libuv", "url", "https://docs.libuv.org/en/v1.x/");
}

json_t *kernel_info_content(void) {
    json_t *language_info = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s}",
        "name", "c",
        "version", "C11 (tcc 0.9.27)",
        "mimetype", "text/x-csrc",
        "file_extension", ".c",
        "pygments_lexer", "c",
        "codemirror_mode", "text/x-csrc");
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
        "status", "ok",
        "protocol_version", "5.3",
        "implementation", "conclab",
        "implementation_version", CONCLAB_VERSION,
        "banner",
        "conclab " CONCLAB_VERSION " - C11 cells JIT-compiled by tcc, with the conclab "
        "concurrency runtime (<conclab.h>)",
        "language_info", language_info,
        "help_links", help_links());
}
