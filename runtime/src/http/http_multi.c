/* http_multi.c — HTTP transfers on an event loop: one curl multi handle per loop, told about
 * socket readiness and timeouts by libuv (curl's "multi_socket" interface), so that a task's
 * request is an await like any other and the loop keeps serving meanwhile. */
#include <stdlib.h>

#include "conclab/loop.h"
#include "http_internal.h"
#include "loop_internal.h"
#include "report.h"

struct cl__http_multi {
    cl_loop *loop;
    CURLM *multi;
    uv_timer_t timer;  /* curl's next timeout */
};

/* A socket curl asked us to watch. */
typedef struct watch {
    uv_poll_t poll;
    curl_socket_t fd;
    cl__http_multi *m;
} watch;

/* Completes the futures of the transfers curl has finished. */
static void collect_finished(cl__http_multi *m) {
    CURLMsg *msg;
    int left;
    while ((msg = cl__curl.multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        cl__http_transfer *t = NULL;
        cl__curl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode result = msg->data.result;
        cl__curl.multi_remove_handle(m->multi, msg->easy_handle);
        if (!t) continue;
        t->result = result;
        t->finished = 1;
        cl_future_set_result(t->done, NULL);
    }
}

static void on_socket_ready(uv_poll_t *handle, int status, int events) {
    watch *w = handle->data;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    int running;
    cl__curl.multi_socket_action(w->m->multi, w->fd, flags, &running);
    collect_finished(w->m);
}

static void on_timeout(uv_timer_t *timer) {
    cl__http_multi *m = timer->data;
    int running;
    cl__curl.multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_finished(m);
}

static void free_watch(uv_handle_t *handle) { free(handle->data); }

/* curl: watch socket s for `what` (in, out, both), or stop watching it. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *socket_arg) {
    (void)easy;
    cl__http_multi *m = arg;
    watch *w = socket_arg;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            uv_poll_stop(&w->poll);
            uv_close((uv_handle_t *)&w->poll, free_watch);
            cl__curl.multi_assign(m->multi, s, NULL);
        }
        return 0;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w || uv_poll_init_socket(cl__loop_uv(m->loop), &w->poll, s) != 0) {
            free(w);
            return -1;
        }
        w->fd = s;
        w->m = m;
        w->poll.data = w;
        cl__curl.multi_assign(m->multi, s, w);
    }
    int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&w->poll, events, on_socket_ready);
    return 0;
}

/* curl: call back in timeout_ms (-1: never). Only arms the timer: curl must not be re-entered. */
static int on_timer_request(CURLM *multi, long timeout_ms, void *arg) {
    (void)multi;
    cl__http_multi *m = arg;
    if (timeout_ms < 0) uv_timer_stop(&m->timer);
    else uv_timer_start(&m->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static cl__http_multi *multi_of(cl_loop *l) {
    if (l->http) return l->http;
    cl__http_multi *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->loop = l;
    m->multi = cl__curl.multi_init();
    if (!m->multi) {
        free(m);
        return NULL;
    }
    uv_timer_init(cl__loop_uv(l), &m->timer);
    m->timer.data = m;
    cl__curl.multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    cl__curl.multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    cl__curl.multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer_request);
    cl__curl.multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    l->http = m;
    return m;
}

int cl__http_in_task(void) { return cl__loop_running() != NULL && cl_task_current() != NULL; }

cl_http_response *cl__http_await(cl__http_transfer *t) {
    cl__http_multi *m = multi_of(cl__loop_running());
    t->done = cl_future_new();
    if (!m || !t->done || cl__curl.multi_add_handle(m->multi, t->easy) != CURLM_OK) {
        cl_report(t->call, "%s: cannot start the transfer (out of memory)", t->url);
        cl_future_free(t->done);
        cl__http_transfer_abandon(t);
        return NULL;
    }
    /* A cancelled task's await cancels the future too, so curl says whether the transfer ended. */
    cl_future_status st = cl_await(t->done, NULL);
    cl_future_free(t->done);
    if (st == CL_FUTURE_CANCELLED || !t->finished) { /* the task is being cancelled: no response */
        if (!t->finished) cl__curl.multi_remove_handle(m->multi, t->easy);
        cl__http_transfer_abandon(t);
        return NULL;
    }
    return cl__http_transfer_finish(t, t->result);
}

static void free_multi(uv_handle_t *handle) { free(handle->data); }

void cl__http_loop_free(cl_loop *l) {
    cl__http_multi *m = l->http;
    if (!m) return;
    l->http = NULL;
    cl__curl.multi_cleanup(m->multi); /* its sockets' watches are closed through on_socket */
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, free_multi);
}
