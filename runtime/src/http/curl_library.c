/* curl_library.c — dlopen of libcurl on first use (curl_library.h). */
#define _GNU_SOURCE
#include "curl_library.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

curl_library cl__curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *failure;  /* NULL once loaded */
static char dlerror_text[256];

/* Debian's names for libcurl's soname: the OpenSSL build, then the GnuTLS one. */
static const char *const sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4", NULL};

static void *open_libcurl(void) {
    for (int i = 0; sonames[i]; i++) {
        void *handle = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (handle) return handle;
        snprintf(dlerror_text, sizeof dlerror_text, "%s", dlerror());
    }
    return NULL;
}

#define BIND(field, name)                                          \
    do {                                                           \
        *(void **)(&cl__curl.field) = dlsym(handle, name);        \
        if (!cl__curl.field) return "libcurl lacks " name;         \
    } while (0)

static const char *bind_all(void *handle) {
    BIND(global_init, "curl_global_init");
    BIND(easy_init, "curl_easy_init");
    BIND(easy_setopt, "curl_easy_setopt");
    BIND(easy_perform, "curl_easy_perform");
    BIND(easy_getinfo, "curl_easy_getinfo");
    BIND(easy_cleanup, "curl_easy_cleanup");
    BIND(easy_strerror, "curl_easy_strerror");
    BIND(slist_append, "curl_slist_append");
    BIND(slist_free_all, "curl_slist_free_all");
    BIND(multi_init, "curl_multi_init");
    BIND(multi_setopt, "curl_multi_setopt");
    BIND(multi_add_handle, "curl_multi_add_handle");
    BIND(multi_remove_handle, "curl_multi_remove_handle");
    BIND(multi_socket_action, "curl_multi_socket_action");
    BIND(multi_info_read, "curl_multi_info_read");
    BIND(multi_assign, "curl_multi_assign");
    BIND(multi_cleanup, "curl_multi_cleanup");
    return NULL;
}

static void load(void) {
    void *handle = open_libcurl();
    if (!handle) {
        failure = dlerror_text;
        return;
    }
    failure = bind_all(handle);
    if (!failure && cl__curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) failure = "curl_global_init failed";
}

int cl__curl_load(const char **why) {
    pthread_once(&once, load);
    if (why) *why = failure;
    return failure ? -1 : 0;
}
