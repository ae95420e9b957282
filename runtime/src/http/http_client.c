/* http_client.c — HTTP and HTTPS requests on libcurl (Python: requests.get in a thread,
 * aiohttp's session.get in a task).
 *
 * In a task, a request is one transfer of the loop's curl multi handle, driven by libuv (curl's
 * multi-socket interface: http_multi.c); the task awaits it, so the loop serves others
 * meanwhile, and connections are kept alive between the loop's requests. Anywhere else (a
 * thread, a process-pool worker, the cell's own code) the request blocks in curl_easy_perform
 * with the emulated GIL let go, as a blocking call in CPython does. */
#define _GNU_SOURCE /* strndup */
#include <curl/curl.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conclab/clock.h"
#include "conclab/http.h"
#include "http_internal.h"
#include "report.h"
#include "trace_internal.h"

#define DEFAULT_REDIRECTS 10

typedef struct header {
    char *name, *value;
} header;

struct cl_http_response {
    int status;
    char *url;             /* after redirects */
    header *headers;
    int n_headers, cap_headers;
    char *body;
    size_t size, cap;
};

/* ---- the response as it arrives ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t count, void *arg) {
    cl_http_response *r = arg;
    size_t n = size * count;
    if (r->size + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->size + n + 1) cap *= 2;
        char *grown = realloc(r->body, cap);
        if (!grown) return 0; /* curl then fails the transfer: out of memory */
        r->body = grown;
        r->cap = cap;
    }
    memcpy(r->body + r->size, data, n);
    r->size += n;
    r->body[r->size] = '\0';
    return n;
}

static void clear_headers(cl_http_response *r) {
    for (int i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    r->n_headers = 0;
}

/* One header line; a status line starts a new response (the next hop of a redirect), whose
 * headers replace the last one's. */
static size_t on_header(char *data, size_t size, size_t count, void *arg) {
    cl_http_response *r = arg;
    size_t n = size * count, len = n;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) len--;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        clear_headers(r);
        return n;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon) return n;
    if (r->n_headers == r->cap_headers) {
        int cap = r->cap_headers ? r->cap_headers * 2 : 16;
        header *grown = realloc(r->headers, (size_t)cap * sizeof *grown);
        if (!grown) return 0;
        r->headers = grown;
        r->cap_headers = cap;
    }
    const char *value = colon + 1;
    while (value < data + len && (*value == ' ' || *value == '\t')) value++;
    header *h = &r->headers[r->n_headers];
    h->name = strndup(data, (size_t)(colon - data));
    h->value = strndup(value, (size_t)(data + len - value));
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return 0;
    }
    r->n_headers++;
    return n;
}

/* ---- one transfer ------------------------------------------------------------------------------ */

static void transfer_free(cl__http_transfer *t) {
    if (!t) return;
    if (t->easy) cl__curl.easy_cleanup(t->easy);
    cl__curl.slist_free_all(t->headers);
    cl_http_response_free(t->response);
    free(t);
}

static long milliseconds(double timeout) {
    if (!(timeout > 0) || timeout >= CL_FOREVER) return 0; /* curl: no limit */
    double ms = timeout * 1000.0;
    return ms < 1 ? 1 : ms > 1e12 ? 1000000000000L : (long)ms;
}

/* The method, headers and body options asks for; -1 when out of memory. */
static int set_request(cl__http_transfer *t, const cl_http_options *o) {
    CURL *e = t->easy;
    const char *method = o && o->method ? o->method : "GET";
    if (strcasecmp(method, "HEAD") == 0) cl__curl.easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcasecmp(method, "GET") != 0) cl__curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (o && o->body) {
        cl__curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_size);
        cl__curl.easy_setopt(e, CURLOPT_POSTFIELDS, o->body);
        if (strcasecmp(method, "POST") != 0 && strcasecmp(method, "GET") != 0) cl__curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    for (const char *const *h = o ? o->headers : NULL; h && *h; h++) {
        struct curl_slist *more = cl__curl.slist_append(t->headers, *h);
        if (!more) return -1;
        t->headers = more;
    }
    if (t->headers) cl__curl.easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    return 0;
}

cl__http_transfer *cl__http_transfer_new(const char *call, const char *url, const cl_http_options *o, double timeout) {
    const char *why = NULL;
    if (cl__curl_load(&why) != 0) {
        cl_report(call, "libcurl could not be loaded (%s)", why);
        return NULL;
    }
    cl__http_transfer *t = calloc(1, sizeof *t);
    if (t) t->response = calloc(1, sizeof *t->response);
    if (t && t->response) t->easy = cl__curl.easy_init();
    if (!t || !t->response || !t->easy || set_request(t, o) != 0) {
        cl_report(call, "out of memory");
        transfer_free(t);
        return NULL;
    }
    t->call = call;
    t->url = url;
    t->timeout = timeout;
    CURL *e = t->easy;
    cl__curl.easy_setopt(e, CURLOPT_URL, url);
    cl__curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    cl__curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    cl__curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, milliseconds(timeout));
    cl__curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    cl__curl.easy_setopt(e, CURLOPT_WRITEDATA, t->response);
    cl__curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    cl__curl.easy_setopt(e, CURLOPT_HEADERDATA, t->response);
    cl__curl.easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    cl__curl.easy_setopt(e, CURLOPT_USERAGENT, "conclab");
    cl__curl.easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* whatever curl can decode */
    cl__curl.easy_setopt(e, CURLOPT_PRIVATE, t);
    int redirects = o && o->max_redirects ? o->max_redirects : DEFAULT_REDIRECTS;
    cl__curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, redirects > 0 ? 1L : 0L);
    if (redirects > 0) cl__curl.easy_setopt(e, CURLOPT_MAXREDIRS, (long)redirects);
    if (o && o->ca_file) cl__curl.easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    if (o && o->insecure) {
        cl__curl.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        cl__curl.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return t;
}

/* The response of a finished transfer (the caller's now), or NULL after reporting why not. */
cl_http_response *cl__http_transfer_finish(cl__http_transfer *t, CURLcode rc) {
    cl_http_response *r = NULL;
    if (rc == CURLE_OK) {
        long status = 0;
        char *effective = NULL;
        cl__curl.easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        cl__curl.easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &effective);
        r = t->response;
        t->response = NULL;
        r->status = (int)status;
        r->url = strdup(effective ? effective : t->url);
        if (!r->body) r->body = strdup("");
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        cl_report(t->call, "%s: no complete answer within %g s (Python: TimeoutError)", t->url, t->timeout);
    } else {
        cl_report(t->call, "%s: %s", t->url, t->error[0] ? t->error : cl__curl.easy_strerror(rc));
    }
    transfer_free(t);
    return r;
}

void cl__http_transfer_abandon(cl__http_transfer *t) { transfer_free(t); }

/* ---- the API ----------------------------------------------------------------------------------- */

static cl_http_response *request(const char *call, const char *url, const cl_http_options *o, double timeout) {
    if (!url) {
        cl_report(call, "url is NULL");
        return NULL;
    }
    if (timeout < 0 || timeout != timeout) {
        cl_report(call, "timeout must be >= 0 seconds (CL_FOREVER: none), got %g", timeout);
        return NULL;
    }
    cl__http_transfer *t = cl__http_transfer_new(call, url, o, timeout);
    if (!t) return NULL;
    /* The tracer sees the request as an I/O wait (the hook never reported HTTP). */
    cl__trace_probe(CL_EVENT_WAIT, "http", NULL, 0);
    cl_http_response *r;
    if (cl__http_in_task()) {
        r = cl__http_await(t);
    } else {
        cl__blocking_begin();
        CURLcode rc = cl__curl.easy_perform(t->easy);
        cl__blocking_end();
        r = cl__http_transfer_finish(t, rc);
    }
    cl__trace_probe(r ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "http", NULL, 0);
    return r;
}

cl_http_response *cl_http_fetch(const char *url, const cl_http_options *options, double timeout) {
    return request("cl_http_fetch", url, options, timeout);
}

cl_http_response *cl_http_get(const char *url, double timeout) { return request("cl_http_get", url, NULL, timeout); }

cl_http_response *cl_http_post(const char *url, const char *content_type, const void *body, size_t size, double timeout) {
    char type[256];
    snprintf(type, sizeof type, "Content-Type: %s", content_type ? content_type : "application/octet-stream");
    const char *headers[] = {type, NULL};
    cl_http_options o = {.method = "POST", .headers = headers, .body = body ? body : "", .body_size = body ? size : 0};
    return request("cl_http_post", url, &o, timeout);
}

int cl_http_response_status(cl_http_response *r) {
    if (!r) {
        cl_report("cl_http_response_status", "response is NULL");
        return -1;
    }
    return r->status;
}

const char *cl_http_response_header(cl_http_response *r, const char *name) {
    if (!r || !name) return NULL;
    for (int i = r->n_headers - 1; i >= 0; i--) /* the last of repeated headers, as a dict keeps */
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

const char *cl_http_response_body(cl_http_response *r) { return r && r->body ? r->body : ""; }

size_t cl_http_response_body_size(cl_http_response *r) { return r ? r->size : 0; }

const char *cl_http_response_url(cl_http_response *r) { return r && r->url ? r->url : ""; }

void cl_http_response_free(cl_http_response *r) {
    if (!r) return;
    clear_headers(r);
    free(r->headers);
    free(r->body);
    free(r->url);
    free(r);
}
