/* http_client.c — a minimal HTTP/1.1 GET over a stream (Python: aiohttp's session.get): one
 * connection per request, "Connection: close", the whole exchange within one timeout. */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conclab/clock.h"
#include "conclab/http.h"
#include "report.h"
#include "stream_internal.h"

#define CALL "cl_http_get"

enum { LINE_MAX_BYTES = 8192, MAX_HEADERS = 100 };

typedef struct header {
    char *name, *value;
} header;

struct cl_http_response {
    int status;
    int n_headers;
    header headers[MAX_HEADERS];
    char *body;
    size_t size, cap;
};

/* One GET in progress. */
typedef struct exchange {
    cl_stream *s;
    double deadline;
    double timeout;
    const char *url;
    cl_http_response *r;
} exchange;

/* ---- the URL ----------------------------------------------------------------------------------- */

typedef struct url_parts {
    char host[256];
    int port;
    const char *path; /* into the URL; "/" if it has none */
} url_parts;

static int parse_url(const char *url, url_parts *u) {
    const char *p = url;
    if (strncasecmp(p, "http://", 7) != 0) {
        cl_report(CALL, "%s: only http:// URLs are supported", url);
        return -1;
    }
    p += 7;
    size_t hostlen = strcspn(p, ":/?");
    if (hostlen == 0 || hostlen >= sizeof u->host) {
        cl_report(CALL, "%s: no host", url);
        return -1;
    }
    memcpy(u->host, p, hostlen);
    u->host[hostlen] = '\0';
    p += hostlen;
    u->port = 80;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535) {
            cl_report(CALL, "%s: bad port", url);
            return -1;
        }
        u->port = (int)port;
        p = end;
    }
    u->path = *p ? p : "/";
    return 0;
}

/* ---- reading the response ---------------------------------------------------------------------- */

/* Gives the stream what is left of the exchange's time; -1 if none is left. */
static int arm(exchange *x) {
    if (x->deadline >= 1e9) return 0;
    double left = x->deadline - cl_now();
    if (left <= 0) return -1;
    cl_stream_set_timeout(x->s, left);
    return 0;
}

/* Reports how a stream call ended short (errors were reported by the stream already). */
static void report_short(exchange *x, long rc) {
    if (rc == CL_STREAM_TIMEOUT) cl_report(CALL, "%s: timed out after %g s", x->url, x->timeout);
    else if (rc == 0 || rc == CL_STREAM_ERROR) cl_report(CALL, "%s: connection closed before the response ended", x->url);
}

/* Reads one line without its CR LF into line; its length, or -1 (reported). */
static long read_line(exchange *x, char *line) {
    long rc = arm(x) < 0 ? CL_STREAM_TIMEOUT : cl_stream_readline(x->s, line, LINE_MAX_BYTES);
    if (rc <= 0) {
        report_short(x, rc);
        return -1;
    }
    while (rc > 0 && (line[rc - 1] == '\n' || line[rc - 1] == '\r')) line[--rc] = '\0';
    return rc;
}

static int append_body(cl_http_response *r, const char *data, size_t n) {
    if (r->size + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->size + n + 1) cap *= 2;
        char *p = realloc(r->body, cap);
        if (!p) return -1;
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->size, data, n);
    r->size += n;
    r->body[r->size] = '\0';
    return 0;
}

/* Reads exactly n body bytes. */
static int read_body_bytes(exchange *x, size_t n) {
    char chunk[2048];
    while (n > 0) {
        size_t want = n < sizeof chunk ? n : sizeof chunk;
        long rc = arm(x) < 0 ? CL_STREAM_TIMEOUT : cl_stream_readexactly(x->s, chunk, want);
        if (rc <= 0) {
            report_short(x, rc);
            return -1;
        }
        if (append_body(x->r, chunk, want) < 0) return -1;
        n -= want;
    }
    return 0;
}

static int read_until_eof(exchange *x) {
    char chunk[2048];
    for (;;) {
        long rc = arm(x) < 0 ? CL_STREAM_TIMEOUT : cl_stream_read(x->s, chunk, sizeof chunk);
        if (rc == 0) return 0;
        if (rc < 0) {
            report_short(x, rc == CL_STREAM_ERROR ? 1 : rc);
            return -1;
        }
        if (append_body(x->r, chunk, (size_t)rc) < 0) return -1;
    }
}

/* Chunked transfer coding (RFC 9112 7.1): hex size lines, data, CR LF; a 0 size ends it. */
static int read_chunked(exchange *x, char *line) {
    for (;;) {
        if (read_line(x, line) < 0) return -1;
        char *end;
        unsigned long size = strtoul(line, &end, 16);
        if (end == line) {
            cl_report(CALL, "%s: bad chunk size line \"%s\"", x->url, line);
            return -1;
        }
        if (size == 0) break;
        if (read_body_bytes(x, size) < 0) return -1;
        if (read_line(x, line) < 0) return -1; /* the CR LF after the data: an empty line */
    }
    for (;;) { /* trailers, up to the empty line */
        long n = read_line(x, line);
        if (n < 0) return -1;
        if (n == 0) return 0;
    }
}

static const char *find_header(header *h, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0) return h[i].value;
    return NULL;
}

static int parse_status(exchange *x, char *line) {
    if (read_line(x, line) < 0) return -1;
    int major, minor, status;
    if (sscanf(line, "HTTP/%d.%d %d", &major, &minor, &status) != 3) {
        cl_report(CALL, "%s: not an HTTP response: \"%.60s\"", x->url, line);
        return -1;
    }
    x->r->status = status;
    return 0;
}

static int parse_headers(exchange *x, char *line) {
    for (;;) {
        long n = read_line(x, line);
        if (n < 0) return -1;
        if (n == 0) return 0;
        char *colon = strchr(line, ':');
        if (!colon) continue; /* tolerate a malformed line */
        if (x->r->n_headers == MAX_HEADERS) continue;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        header *h = &x->r->headers[x->r->n_headers];
        h->name = strdup(line);
        h->value = strdup(value);
        if (!h->name || !h->value) {
            free(h->name);
            free(h->value);
            return -1;
        }
        x->r->n_headers++;
    }
}

static int read_response(exchange *x) {
    char *line = malloc(LINE_MAX_BYTES);
    if (!line) return -1;
    int rc = parse_status(x, line);
    if (rc == 0) rc = parse_headers(x, line);
    if (rc == 0) {
        cl_http_response *r = x->r;
        const char *te = find_header(r->headers, r->n_headers, "Transfer-Encoding");
        const char *cl = find_header(r->headers, r->n_headers, "Content-Length");
        if (te && strcasestr(te, "chunked")) rc = read_chunked(x, line);
        else if (cl) rc = read_body_bytes(x, (size_t)strtoull(cl, NULL, 10));
        else if (r->status == 204 || r->status == 304 || r->status / 100 == 1) rc = 0;
        else rc = read_until_eof(x);
    }
    free(line);
    if (rc == 0 && !x->r->body) rc = append_body(x->r, "", 0);
    return rc;
}

/* ---- the request ------------------------------------------------------------------------------- */

static int send_request(exchange *x, const url_parts *u) {
    size_t need = strlen(u->path) + strlen(u->host) + 128;
    char *req = malloc(need);
    if (!req) return -1;
    int n = snprintf(req, need,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: conclab\r\nAccept: */*\r\n"
                     "Connection: close\r\n\r\n",
                     u->path, u->host, u->port);
    int rc = cl_stream_write(x->s, req, (size_t)n);
    free(req);
    if (rc == 0) rc = arm(x) < 0 ? CL_STREAM_TIMEOUT : cl_stream_drain(x->s);
    if (rc < 0) report_short(x, rc);
    return rc < 0 ? -1 : 0;
}

cl_http_response *cl_http_get(const char *url, double timeout) {
    if (!url) {
        cl_report(CALL, "url is NULL");
        return NULL;
    }
    url_parts u;
    if (parse_url(url, &u) < 0) return NULL;
    cl_stream *s = cl_stream_open_connection(u.host, u.port, timeout);
    if (!s) return NULL;
    exchange x = {s, cl__stream_deadline(timeout), timeout, url, calloc(1, sizeof(cl_http_response))};
    int rc = x.r ? send_request(&x, &u) : -1;
    if (rc == 0) rc = read_response(&x);
    cl_stream_free(s);
    if (rc < 0) {
        cl_http_response_free(x.r);
        return NULL;
    }
    return x.r;
}

/* ---- the response ------------------------------------------------------------------------------ */

int cl_http_response_status(cl_http_response *r) {
    return r ? r->status : 0;
}

const char *cl_http_response_header(cl_http_response *r, const char *name) {
    return r && name ? find_header(r->headers, r->n_headers, name) : NULL;
}

const char *cl_http_response_body(cl_http_response *r) {
    return r ? r->body : NULL;
}

size_t cl_http_response_body_size(cl_http_response *r) {
    return r ? r->size : 0;
}

void cl_http_response_free(cl_http_response *r) {
    if (!r) return;
    for (int i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->body);
    free(r);
}
