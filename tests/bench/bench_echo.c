/* bench_echo.c — a TCP echo server on loopback (issue 6 item 10): conclab's streams against a
 * plain libuv echo server and Python asyncio's (bench_echo.py under /usr/bin/python3), all
 * driven by the same load generator, side by side in one run; then 10 000 connections held open
 * at once against conclab's server.
 *
 * Each server runs in a child process of its own and prints its port; the load generator runs
 * in this process: plain sockets and epoll, no libuv, so it favours no server. A round trip is
 * one 64-byte message sent and the same 64 bytes received back on one connection; with 100
 * connections every connection always has one message in flight. The figure is round trips per
 * second (requests/s), the median of trials that alternate between the servers, p10 and p90
 * beside it.
 *
 * Targets (issue 6): conclab >= 0.9x plain libuv and >= 3x Python asyncio, at 1 and at 100
 * connections; 10 000 connections held. A benchmark, not a test: ctest runs `--quick` only to
 * show that it works (bench_echo_smoke); the exit status ignores the figures unless --check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <conclab.h>

enum { MSG = 64, MAX_TRIALS = 15, SERVERS = 3 };

typedef struct sizes {
    int trials;
    double seconds;  /* per trial, after a warm-up of a fifth of it */
    int held;        /* connections held at once */
} sizes;

static const sizes FULL = {7, 1.0, 10000};
static const sizes QUICK = {1, 0.2, 500};

static struct {
    const char *json;
    const char *python_script;
    int quick, check, quiet;
} opt;

static sizes size;

static void progress(const char *what) {
    if (!opt.quiet) fprintf(stderr, "bench_echo: %s\n", what);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_echo: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* ---- server 1: conclab's streams --------------------------------------------------------------- */

static int port_pipe = -1;

static void conclab_echo(cl_stream *s, void *arg) {
    char buf[4096]; /* the task has a 16 KiB stack */
    long n;
    (void)arg;
    while ((n = cl_stream_read(s, buf, sizeof buf)) > 0) {
        if (cl_stream_write(s, buf, (size_t)n) < 0 || cl_stream_drain(s) < 0) break;
    }
}

static void *conclab_main(void *arg) {
    (void)arg;
    cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, conclab_echo, NULL);
    if (!srv) exit(2);
    dprintf(port_pipe, "%d\n", cl_stream_server_port(srv));
    cl_stream_server_serve_forever(srv);
    return NULL;
}

static void run_conclab_server(void) {
    cl_async_run(conclab_main, NULL, NULL);
}

/* ---- server 2: plain libuv, the way its own examples echo -------------------------------------- */

typedef struct uv_conn {
    uv_tcp_t tcp;
    char buf[65536];
} uv_conn;

typedef struct uv_wreq {
    uv_write_t req;
    char data[];
} uv_wreq;

static void uv_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    uv_conn *c = (uv_conn *)h;
    *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void uv_on_closed(uv_handle_t *h) {
    free(h);
}

static void uv_on_written(uv_write_t *req, int status) {
    (void)status;
    free(req);
}

static void uv_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    if (n < 0) {
        uv_close((uv_handle_t *)s, uv_on_closed);
        return;
    }
    if (n == 0) return;
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)n);
    int sent = uv_try_write(s, &out, 1);
    if (sent == n) return;
    if (sent < 0) sent = 0;
    uv_wreq *w = malloc(sizeof *w + (size_t)(n - sent));
    memcpy(w->data, buf->base + sent, (size_t)(n - sent));
    out = uv_buf_init(w->data, (unsigned)(n - sent));
    uv_write(&w->req, s, &out, 1, uv_on_written);
}

static void uv_on_connection(uv_stream_t *server, int status) {
    if (status < 0) return;
    uv_conn *c = malloc(sizeof *c);
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, uv_on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, uv_on_alloc, uv_on_read);
}

static void run_libuv_server(void) {
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in sa;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0);
    if (uv_listen((uv_stream_t *)&server, 4096, uv_on_connection) < 0) exit(2);
    int len = sizeof sa;
    uv_tcp_getsockname(&server, (struct sockaddr *)&sa, &len);
    dprintf(port_pipe, "%d\n", ntohs(sa.sin_port));
    uv_run(loop, UV_RUN_DEFAULT);
}

/* ---- starting and stopping servers ------------------------------------------------------------- */

typedef struct server {
    const char *name;
    pid_t pid;
    int port;
} server;

static void raise_fd_limit(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

static int read_port(int fd) {
    char line[32];
    size_t got = 0;
    while (got < sizeof line - 1) {
        ssize_t n = read(fd, line + got, 1);
        if (n <= 0) break;
        if (line[got] == '\n') break;
        got += (size_t)n;
    }
    line[got] = '\0';
    return atoi(line);
}

static server start_server(const char *name, void (*run)(void)) {
    int fds[2];
    if (pipe(fds) < 0) die("pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        close(fds[0]);
        raise_fd_limit();
        if (run) {
            port_pipe = fds[1];
            run();
        } else { /* Python: its stdout is the pipe */
            dup2(fds[1], 1);
            execl("/usr/bin/python3", "python3", opt.python_script, (char *)NULL);
        }
        _exit(127);
    }
    close(fds[1]);
    server s = {name, pid, read_port(fds[0])};
    close(fds[0]);
    if (s.port <= 0) {
        fprintf(stderr, "bench_echo: the %s server did not start\n", name);
        exit(2);
    }
    return s;
}

static void stop_server(server *s) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
}

/* CPU seconds (user + system) process pid has used so far, from /proc/pid/stat. */
static double cpu_seconds(pid_t pid) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *p = strrchr(text, ')'); /* the command name may hold spaces */
    unsigned long utime = 0, stime = 0;
    if (p) sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the load generator ------------------------------------------------------------------------ */

typedef struct gconn {
    int fd;
    int got; /* bytes of the echo received so far */
} gconn;

static int connect_to(int port, int nonblocking) {
    int fd = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    sa.sin_port = htons((unsigned short)port);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static const char message[MSG] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";

/* Drives n connections to port with one message each in flight; round trips per second,
 * counted after a warm-up; *per_cpu gets round trips per CPU second of server process pid over
 * the same span (the generator shares the machine's two cores, so it can be the bottleneck of
 * the raw rate; the CPU a server spends per round trip is its own). */
static double drive(int port, int n, double seconds, pid_t pid, double *per_cpu) {
    gconn *c = calloc((size_t)n, sizeof *c);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        c[i].fd = connect_to(port, 0);
        if (c[i].fd < 0) die("connect");
        fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
        if (write(c[i].fd, message, MSG) != MSG) die("write");
    }
    double warm = now() + seconds / 5, end = warm + seconds, start = 0, cpu0 = 0;
    long trips = 0;
    struct epoll_event evs[256];
    char buf[MSG * 4];
    for (;;) {
        double t = now();
        if (t >= end) break;
        if (!start && t >= warm) {
            start = t;
            trips = 0;
            cpu0 = cpu_seconds(pid);
        }
        int k = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < k; i++) {
            gconn *g = evs[i].data.ptr;
            ssize_t r = read(g->fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                fprintf(stderr, "bench_echo: a server closed a connection\n");
                exit(2);
            }
            g->got += (int)r;
            while (g->got >= MSG) {
                g->got -= MSG;
                trips++;
                if (write(g->fd, message, MSG) != MSG) die("write");
            }
        }
    }
    double rate = trips / (now() - start);
    double cpu = cpu_seconds(pid) - cpu0;
    *per_cpu = cpu > 0 ? trips / cpu : 0;
    /* Take the echoes still in flight before closing: closing with unread bytes would reset. */
    int waiting = n;
    for (int i = 0; i < n; i++) c[i].got = MSG - c[i].got;
    double give_up = now() + 5;
    while (waiting > 0 && now() < give_up) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < k; i++) {
            gconn *g = evs[i].data.ptr;
            ssize_t r = read(g->fd, buf, sizeof buf);
            if (r > 0 && g->got > 0 && (g->got -= (int)r) <= 0) waiting--;
        }
    }
    for (int i = 0; i < n; i++) close(c[i].fd);
    close(ep);
    free(c);
    return rate;
}

/* Opens n connections at once, then one round trip on each while all stay open; returns how
 * many completed their round trip, *took the seconds from the first connect. */
static int hold(int port, int n, double *took) {
    int *fds = malloc((size_t)n * sizeof *fds);
    int *got = calloc((size_t)n, sizeof *got);
    int ep = epoll_create1(0);
    double t0 = now();
    int open = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = connect_to(port, 1);
        if (fds[i] < 0) break;
        open++;
        struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (unsigned)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    int echoed = 0, pending = open;
    struct epoll_event evs[512];
    char buf[MSG];
    while (pending > 0 && now() - t0 < 60) {
        int k = epoll_wait(ep, evs, 512, 1000);
        for (int e = 0; e < k; e++) {
            int i = (int)evs[e].data.u32;
            if (evs[e].events & EPOLLOUT) { /* connected: send the message, wait for it back */
                if (write(fds[i], message, MSG) != MSG) {
                    pending--;
                    epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                    continue;
                }
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, fds[i], &ev);
                continue;
            }
            ssize_t r = read(fds[i], buf, sizeof buf);
            if (r > 0) got[i] += (int)r;
            if (r == 0 || (r < 0 && errno != EAGAIN) || got[i] >= MSG) {
                if (got[i] >= MSG) echoed++;
                pending--;
                epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
            }
        }
    }
    *took = now() - t0;
    for (int i = 0; i < open; i++) close(fds[i]);
    close(ep);
    free(fds);
    free(got);
    return echoed;
}

/* ---- statistics and report --------------------------------------------------------------------- */

typedef struct summary {
    double samples[MAX_TRIALS];
    int n;
    double median, p10, p90;
} summary;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summarize(summary *s) {
    double sorted[MAX_TRIALS];
    memcpy(sorted, s->samples, sizeof(double) * (size_t)s->n);
    qsort(sorted, (size_t)s->n, sizeof(double), cmp_double);
    int n = s->n;
    s->median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    s->p10 = sorted[(n - 1) / 10];
    s->p90 = sorted[(n - 1) - (n - 1) / 10];
}

static const char *NAMES[SERVERS] = {"conclab", "libuv", "asyncio"};
static const int CONNS[2] = {1, 100};
static summary results[2][SERVERS], per_cpu[2][SERVERS];
static int held_ok;
static double held_time;

static int met_targets(int c) {
    return results[c][0].median >= 0.9 * results[c][1].median && results[c][0].median >= 3 * results[c][2].median;
}

static void table(summary (*res)[SERVERS], const char *title) {
    printf("%s\n", title);
    printf("%-12s %-26s %-26s %-26s %-10s %-10s %s\n", "connections", "conclab", "plain libuv", "python asyncio",
           "vs libuv", "vs asyncio", "target (>=0.9x, >=3x)");
    for (int c = 0; c < 2; c++) {
        printf("%-12d", CONNS[c]);
        for (int s = 0; s < SERVERS; s++) {
            char cell[64];
            snprintf(cell, sizeof cell, "%.0f [%.0f-%.0f]", res[c][s].median, res[c][s].p10, res[c][s].p90);
            printf(" %-26s", cell);
        }
        int met = res[c][0].median >= 0.9 * res[c][1].median && res[c][0].median >= 3 * res[c][2].median;
        printf(" %-10.2f %-10.2f %s\n", res[c][0].median / res[c][1].median, res[c][0].median / res[c][2].median,
               met ? "met" : "MISSED");
    }
    printf("\n");
}

static void report(void) {
    printf("\nconclab echo benchmark (%s): %d-byte round trips on 127.0.0.1, one load generator, "
           "medians of %d trials [p10-p90]\n\n", opt.quick ? "quick" : "full", MSG, size.trials);
    table(results, "requests/s (the generator shares the 2 cores: it may bound every server alike)");
    table(per_cpu, "requests per CPU second of the server process (what a round trip costs the server)");
    printf("held at once against conclab: %d of %d connections echoed in %.2f s (target: 10000) %s\n\n", held_ok,
           size.held, held_time, held_ok == size.held && size.held >= 10000 ? "met" : opt.quick ? "(quick: fewer)" : "MISSED");
}

static int write_json(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fprintf(f, "{\"benchmark\": \"bench_echo\", \"quick\": %s, \"message_bytes\": %d, \"unit\": \"requests/s\",\n",
            opt.quick ? "true" : "false", MSG);
    fprintf(f, " \"results\": [\n");
    for (int c = 0; c < 2; c++) {
        fprintf(f, "  {\"connections\": %d", CONNS[c]);
        for (int s = 0; s < SERVERS; s++) {
            summary *r = &results[c][s];
            fprintf(f, ", \"%s\": {\"median\": %.1f, \"p10\": %.1f, \"p90\": %.1f, \"samples\": [", NAMES[s], r->median,
                    r->p10, r->p90);
            for (int i = 0; i < r->n; i++) fprintf(f, "%s%.1f", i ? ", " : "", r->samples[i]);
            fprintf(f, "]}");
        }
        for (int s = 0; s < SERVERS; s++)
            fprintf(f, ", \"%s_per_cpu_second\": %.1f", NAMES[s], per_cpu[c][s].median);
        fprintf(f, ", \"ratio_libuv\": %.3f, \"ratio_asyncio\": %.3f, \"met\": %s}%s\n",
                results[c][0].median / results[c][1].median, results[c][0].median / results[c][2].median,
                met_targets(c) ? "true" : "false", c ? "" : ",");
    }
    fprintf(f, " ],\n \"held\": {\"connections\": %d, \"echoed\": %d, \"seconds\": %.3f}}\n", size.held, held_ok, held_time);
    fclose(f);
    return 1;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_echo [--quick] [--json FILE] [--check] [--python-script PATH] [-q]\n"
                    "  --quick        one short trial and 500 held connections: a smoke run\n"
                    "  --json FILE    also write every sample, the medians and the ratios to FILE\n"
                    "  --check        exit 1 when a target is missed\n"
                    "  --python-script PATH  the asyncio anchor (default: bench_echo.py beside the source)\n");
    exit(2);
}

int main(int argc, char **argv) {
    opt.python_script = BENCH_ECHO_PY;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) opt.quick = 1;
        else if (strcmp(argv[i], "--check") == 0) opt.check = 1;
        else if (strcmp(argv[i], "-q") == 0) opt.quiet = 1;
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) opt.json = argv[++i];
        else if (strcmp(argv[i], "--python-script") == 0 && i + 1 < argc) opt.python_script = argv[++i];
        else usage();
    }
    size = opt.quick ? QUICK : FULL;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    void (*runs[SERVERS])(void) = {run_conclab_server, run_libuv_server, NULL};
    server servers[SERVERS];
    for (int s = 0; s < SERVERS; s++) servers[s] = start_server(NAMES[s], runs[s]);
    for (int t = 0; t < size.trials; t++) {
        char what[64];
        snprintf(what, sizeof what, "trial %d of %d", t + 1, size.trials);
        progress(what);
        for (int c = 0; c < 2; c++)
            for (int s = 0; s < SERVERS; s++) {
                summary *r = &results[c][s], *e = &per_cpu[c][s];
                r->samples[r->n++] = drive(servers[s].port, CONNS[c], size.seconds, servers[s].pid, &e->samples[e->n]);
                e->n++;
            }
    }
    for (int c = 0; c < 2; c++)
        for (int s = 0; s < SERVERS; s++) {
            summarize(&results[c][s]);
            summarize(&per_cpu[c][s]);
        }

    progress("holding connections against conclab");
    held_ok = hold(servers[0].port, size.held, &held_time);
    for (int s = 0; s < SERVERS; s++) stop_server(&servers[s]);

    report();
    if (opt.json && !write_json(opt.json)) return 2;
    if (held_ok != size.held) return 2;
    if (opt.check && (!met_targets(0) || !met_targets(1))) return 1;
    return 0;
}
