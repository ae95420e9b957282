/* curl_library.h — libcurl, loaded the first time a notebook speaks HTTP.
 *
 * Linking libcurl would make every process that loads libconclab (the kernel, each executor, a
 * homework program) map libcurl and the twenty-odd libraries it needs at start-up: ~8 ms more
 * for every start on this project's machines, for a feature most notebooks never use. So the
 * runtime reaches libcurl through this table, filled by dlopen on first use. */
#ifndef CONCLAB_RUNTIME_CURL_LIBRARY_H
#define CONCLAB_RUNTIME_CURL_LIBRARY_H

#include <curl/curl.h>

#include "observe.h"

typedef struct curl_library {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *easy);
    CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *easy);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t socket, int events, int *running);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    CURLMcode (*multi_assign)(CURLM *multi, curl_socket_t socket, void *data);
    CURLMcode (*multi_cleanup)(CURLM *multi);
} curl_library;

/* libcurl's functions, once loaded and initialised (it happens once per process, thread-safe).
 * Valid only after cl__curl_load() returned 0. */
CL_INTERNAL extern curl_library cl__curl;

/* Loads and initialises libcurl. 0, or -1 with *why saying what failed (a static string). */
CL_INTERNAL int cl__curl_load(const char **why);

#endif
