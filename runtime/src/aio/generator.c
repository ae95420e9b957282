/* generator.c — async generators as tasks that hand values over through futures; see
 * conclab/generator.h.
 *
 * The body runs as a task of its own (named after the generator), started by the first
 * cl_async_gen_next. Two futures pass control back and forth, so the body only ever runs while
 * its consumer waits in next, as an async generator runs inside `await anext()`:
 *   - item:  made by next, awaited by next; completed by the body at a yield or at its end;
 *   - go_on: made by the body at a yield, awaited there; completed by the next next (or aclose).
 * Whatever the body awaits in between is an ordinary await of its task, so the loop runs other
 * tasks meanwhile, and a consumer cancelled while it waits passes the cancellation on to the
 * body's task (Python throws CancelledError into the generator) and waits for it to end.
 * Between two nexts the body is always parked at a yield, which is what aclose resumes.
 *
 * The loop only lets a task's own coroutine await, so the body cannot simply be a coroutine
 * that the consumer resumes directly; the price is a trip through the loop's ready queue per
 * value, and a body whose cl_task_current() is its own task. The struct is shared by the
 * consumer and the body's task and freed when both have let go of it.
 *
 * The stackless macros of the header need no code. */
#include "conclab/generator.h"

#include <stdio.h>
#include <stdlib.h>

#include "conclab/loop.h"
#include "report.h"

#define CL__GEN_NAME_CAP 64

struct cl_async_gen {
    cl_future *task;        /* the body's task, once started */
    cl_future *item;        /* see the header comment */
    cl_future *go_on;
    void (*fn)(void *arg);
    void *arg;
    size_t stack_size;
    void *value;            /* what the last yield handed over */
    int has_value;
    int started, finished;
    int closing;            /* yields return -1 at once from now on */
    int aclosed;            /* closing because of aclose: a yield then is reported */
    int ignored_close;
    int running;            /* a consumer is inside next or aclose */
    int refs;               /* the consumer's, and the body task's while it lives */
    struct cl_async_gen *next_live; /* this thread's generators whose bodies run */
    char name[CL__GEN_NAME_CAP];
};

/* The generators of this thread whose body task has started and not ended: how a yield finds
 * its generator from the task it runs in. */
static __thread cl_async_gen *live_gens;

static unsigned long gen_counter; /* for "async_gen-N" names; updated atomically */

static void gen_release(cl_async_gen *g) {
    if (--g->refs > 0) return;
    cl_future_free(g->task);
    cl_future_free(g->item);
    free(g);
}

static void live_remove(cl_async_gen *g) {
    for (cl_async_gen **p = &live_gens; *p; p = &(*p)->next_live)
        if (*p == g) {
            *p = g->next_live;
            return;
        }
}

static cl_async_gen *gen_of_current_task(void) {
    cl_future *task = cl_task_current();
    if (!task) return NULL;
    for (cl_async_gen *g = live_gens; g; g = g->next_live)
        if (g->task == task) return g;
    return NULL;
}

/* The body's task. */
static void *gen_task(void *arg) {
    cl_async_gen *g = arg;
    if (!g->closing) g->fn(g->arg);
    return NULL;
}

/* The body's task is over (returned, or cancelled before it ever ran): the consumer's pending
 * next learns it is the end, and the task lets go of g. */
static void gen_body_ended(cl_future *task, void *arg) {
    (void)task;
    cl_async_gen *g = arg;
    g->finished = 1;
    live_remove(g);
    if (g->item && !cl_future_done(g->item)) cl_future_set_result(g->item, NULL);
    gen_release(g);
}

cl_async_gen *cl_async_gen_new_ex(const char *name, size_t stack_size, void (*fn)(void *arg), void *arg) {
    if (!fn) {
        cl_report("cl_async_gen_new", "no function to run (fn is NULL)");
        return NULL;
    }
    cl_async_gen *g = calloc(1, sizeof *g);
    if (!g) {
        cl_report("cl_async_gen_new", "out of memory");
        return NULL;
    }
    if (name) snprintf(g->name, sizeof g->name, "%s", name);
    else snprintf(g->name, sizeof g->name, "async_gen-%lu", __atomic_add_fetch(&gen_counter, 1, __ATOMIC_RELAXED));
    g->fn = fn;
    g->arg = arg;
    g->stack_size = stack_size;
    g->refs = 1;
    return g;
}

cl_async_gen *cl_async_gen_new(void (*fn)(void *arg), void *arg) {
    return cl_async_gen_new_ex(NULL, 0, fn, arg);
}

static int gen_usable(cl_async_gen *g, const char *call) {
    if (!g) {
        cl_report(call, "generator is NULL");
        return 0;
    }
    if (g->running) {
        cl_report(call, "async generator '%s' is already running (Python: RuntimeError)", g->name);
        return 0;
    }
    return 1;
}

/* Awaits the end of the body's task, passing on cancellations of the consumer meanwhile. */
static void gen_await_end(cl_async_gen *g) {
    while (cl_await(g->task, NULL) == CL_FUTURE_CANCELLED && !cl_future_done(g->task))
        cl_task_cancel(g->task);
}

/* Lets the body run until its next yield or its end: starts it, or releases its yield. */
static int gen_resume(cl_async_gen *g, const char *call) {
    cl_future_free(g->item);
    g->item = cl_future_new();
    g->has_value = 0;
    if (!g->item) return -1;
    if (g->started) return cl_future_set_result(g->go_on, NULL) == 0 ? 0 : -1;
    g->task = cl_async_create_task_ex(g->name, g->stack_size, gen_task, g);
    if (!g->task) {
        cl_report(call, "cannot start async generator '%s'", g->name);
        return -1;
    }
    g->started = 1;
    g->refs++;                       /* the body's task holds g until it ends */
    g->next_live = live_gens;
    live_gens = g;
    if (cl_future_add_done_callback(g->task, gen_body_ended, g) != 0) {
        cl_report(call, "out of memory");
        return -1;
    }
    return 0;
}

int cl_async_gen_next(cl_async_gen *g, void **value) {
    if (!gen_usable(g, "cl_async_gen_next")) return -1;
    if (g->finished) return 0; /* StopAsyncIteration, again */
    if (!cl_task_current()) {
        cl_report("cl_async_gen_next", "waits only inside a task (start one with cl_async_run or cl_async_create_task)");
        return -1;
    }
    g->running = 1;
    int outcome = -1;
    if (gen_resume(g, "cl_async_gen_next") == 0) {
        if (cl_await(g->item, NULL) == CL_FUTURE_OK) {
            outcome = g->has_value ? 1 : 0;
            if (outcome == 1 && value) *value = g->value;
        } else {
            /* This task was cancelled while the body worked: the body gets the cancellation
             * and ends (its yields return -1 from now on); so does the iteration. */
            g->closing = 1;
            cl_task_cancel(g->task);
            gen_await_end(g);
        }
    }
    g->running = 0;
    return outcome;
}

int cl_async_gen_yield(void *value) {
    cl_async_gen *g = gen_of_current_task();
    if (!g) {
        cl_report("cl_async_gen_yield", "called outside an async generator's body");
        return -1;
    }
    if (g->closing) {
        if (g->aclosed && !g->ignored_close) {
            g->ignored_close = 1;
            cl_report("cl_async_gen_yield", "async generator '%s' ignored GeneratorExit (it yielded while being closed)", g->name);
        }
        return -1;
    }
    g->go_on = cl_future_new();
    if (!g->go_on) return -1;
    g->value = value;
    g->has_value = 1;
    cl_future_set_result(g->item, NULL);
    cl_future_status status = cl_await(g->go_on, NULL);
    cl_future_free(g->go_on);
    g->go_on = NULL;
    return status == CL_FUTURE_OK && !g->closing ? 0 : -1;
}

int cl_async_gen_aclose(cl_async_gen *g) {
    if (!gen_usable(g, "cl_async_gen_aclose")) return -1;
    if (g->finished) return 0;
    if (!g->started) { /* never ran: nothing to clean up */
        g->finished = 1;
        return 0;
    }
    if (!cl_task_current()) {
        cl_report("cl_async_gen_aclose", "waits only inside a task (start one with cl_async_run or cl_async_create_task)");
        return -1;
    }
    g->running = 1;
    g->closing = 1;
    g->aclosed = 1;
    int outcome = gen_resume(g, "cl_async_gen_aclose");
    if (outcome == 0) gen_await_end(g);
    g->running = 0;
    return outcome == 0 && !g->ignored_close ? 0 : -1;
}

int cl_async_gen_finished(cl_async_gen *g) {
    if (!g) {
        cl_report("cl_async_gen_finished", "generator is NULL");
        return 0;
    }
    return g->finished;
}

const char *cl_async_gen_name(cl_async_gen *g) {
    if (!g) {
        cl_report("cl_async_gen_name", "generator is NULL");
        return NULL;
    }
    return g->name;
}

void cl_async_gen_free(cl_async_gen *g) {
    if (!g) return;
    if (g->running) {
        cl_report("cl_async_gen_free", "async generator '%s' is running; not freed", g->name);
        return;
    }
    if (g->started && !g->finished) {
        if (cl_task_current()) {
            cl_async_gen_aclose(g);
        } else {
            /* Not in a task, so we cannot wait: the body is told to stop and ends on its own
             * when its loop runs it next (its yield returns -1). */
            g->closing = 1;
            cl_task_cancel(g->task);
        }
    }
    gen_release(g);
}
