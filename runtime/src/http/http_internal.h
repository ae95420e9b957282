/* http_internal.h — what http_client.c (requests and responses) and http_multi.c (running them
 * on an event loop) share. */
#ifndef CONCLAB_RUNTIME_HTTP_INTERNAL_H
#define CONCLAB_RUNTIME_HTTP_INTERNAL_H

#include <curl/curl.h>

#include "conclab/future.h"
#include "conclab/http.h"
#include "curl_library.h"
#include "observe.h"

/* One request: its curl handle and the response it fills. */
typedef struct cl__http_transfer {
    CURL *easy;
    struct curl_slist *headers;
    cl_http_response *response;
    const char *call, *url;
    double timeout;
    char error[CURL_ERROR_SIZE];
    /* on a loop (http_multi.c) */
    cl_future *done;
    int finished;  /* curl is through with it: result holds how it ended */
    CURLcode result;
} cl__http_transfer;

/* http_client.c: a transfer for url as options say (reported NULL on failure). */
CL_INTERNAL cl__http_transfer *cl__http_transfer_new(const char *call, const char *url, const cl_http_options *o,
                                                     double timeout);

/* http_client.c: ends a transfer curl finished with rc: its response, or NULL (reported). */
CL_INTERNAL cl_http_response *cl__http_transfer_finish(cl__http_transfer *t, CURLcode rc);

/* http_client.c: ends a transfer nobody waits for any more (cancelled). */
CL_INTERNAL void cl__http_transfer_abandon(cl__http_transfer *t);

/* http_multi.c: is the caller a task of a running loop (so a request can await)? */
CL_INTERNAL int cl__http_in_task(void);

/* http_multi.c: runs t on the running loop's multi handle and awaits it: the response, or NULL
 * (reported, unless the task was cancelled). */
CL_INTERNAL cl_http_response *cl__http_await(cl__http_transfer *t);

#endif
