/* conclab/generator.h — generators two ways: async generators on a stack of their own (Python:
 * `async def` with `yield`, consumed by `async for`), and stackless generators made of a switch
 * on a line number (Python's generators as the state machines they compile to).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 * ---- async generators ------------------------------------------------------------------------
 *
 *     void ticker(void *arg) {                      // async def ticker(n):
 *         long n = (long)arg;
 *         for (long i = 0; i < n; i++) {            //     for i in range(n):
 *             if (cl_async_gen_yield((void *)i) < 0)    //     yield i
 *                 break;                            //   (aclose: clean up and return)
 *             cl_async_sleep(0.1);                  //         await asyncio.sleep(0.1)
 *         }
 *     }
 *     void *main_task(void *arg) {                  // async def main():
 *         cl_async_gen *g = cl_async_gen_new(ticker, (void *)5L);
 *         void *v;
 *         while (cl_async_gen_next(g, &v) == 1)     //     async for v in ticker(5):
 *             printf("%ld\n", (long)v);             //         print(v)
 *         cl_async_gen_free(g);
 *         return NULL;
 *     }
 *
 * The generator's body is an ordinary C function void fn(void *arg). It runs as a task of its
 * own, named after the generator (16 KiB stack by default, as any task's), started by the first
 * cl_async_gen_next, and only ever runs while its consumer waits in cl_async_gen_next, as a
 * Python async generator runs inside `await anext(g)`: the consumer must be a task. Between
 * yields the body may await anything (cl_async_sleep, cl_await, the primitives of
 * <conclab/async_sync.h>); other tasks run meanwhile. A consumer cancelled while its next waits
 * passes the cancellation on to the body (its await returns CANCELLED or -1; Python throws
 * CancelledError into the generator), waits for the body to end, and its next returns -1.
 *
 * cl_async_gen_aclose (Python: await agen.aclose()) resumes a suspended generator with
 * cl_async_gen_yield returning -1 (Python: GeneratorExit at the yield): the body cleans up (it
 * may await) and returns; aclose waits for that. From then on every yield returns -1 at once; a
 * body that yields after a close is reported once ("async generator ignored GeneratorExit") and
 * aclose returns -1. cl_async_gen_free closes a generator suspended in the middle the same way
 * (Python does it when the generator is collected), so its cleanup runs; outside a task it
 * cannot wait, so the body is cancelled and ends on its own.
 *
 * One consumer at a time: a generator whose next is waiting cannot be advanced from another
 * task ("already running", reported).
 *
 * Differences from Python: the body is a task of its own, so cl_task_current() inside it is the
 * generator's task (named like the generator), not the consumer; each value costs a trip
 * through the loop's ready queue (asyncio's anext costs none when the body does not await).
 *
 * ---- stackless generators (protothreads) -----------------------------------------------------
 *
 * A coroutine is a state machine: its "where was I" is a number, and resuming is a jump to it.
 * These macros write that jump as a switch on a line number (Duff's device, as Simon Tatham's
 * coroutines and Adam Dunkels' protothreads do), with no stack of its own: locals do not survive
 * a yield, so keep the state in a struct; the resume point is an int that starts at 0.
 *
 *     typedef struct { int resume; int i; } countdown;   // def countdown(n):
 *     int countdown_next(countdown *g, int *out) {       //
 *         CL_GEN_BEGIN(g->resume);                       //
 *         for (g->i = 3; g->i > 0; g->i--)               //     for i in range(n, 0, -1):
 *             CL_GEN_YIELD(g->resume, (*out = g->i, 1)); //         yield i
 *         CL_GEN_END(g->resume, 0);                      //  (StopIteration: returns 0)
 *     }
 *     countdown g = {0};
 *     int v;
 *     while (countdown_next(&g, &v)) printf("%d\n", v);  // for v in countdown(3): print(v)
 *
 * Rules, since a switch does the jumping: at most one CL_GEN_YIELD / CL_GEN_WAIT_UNTIL per
 * source line; no switch statement of your own around a yield inside the generator function;
 * the function returns a value (the yielded one); after CL_GEN_END every call returns the END
 * value again. They compile under tcc, so a notebook cell can write them. */
#ifndef CONCLAB_GENERATOR_H
#define CONCLAB_GENERATOR_H

#include <stddef.h> /* size_t, NULL */

#ifdef __cplusplus
extern "C" {
#endif

/* An async generator (Python: an async generator object); opaque, freed by cl_async_gen_free. */
typedef struct cl_async_gen cl_async_gen;

/* Creates a suspended async generator that will run fn(arg) when first advanced (calling an async def ... yield); NULL on error. */
cl_async_gen *cl_async_gen_new(void (*fn)(void *arg), void *arg);

/* Like cl_async_gen_new with a name (for errors and stack overflows) and a stack size in bytes (0: the default); NULL on error. */
cl_async_gen *cl_async_gen_new_ex(const char *name, size_t stack_size, void (*fn)(void *arg), void *arg);

/* Runs g until it yields a value (await anext(g)); returns 1 with *value set, 0 once it has finished or was closed, -1 if the task was cancelled meanwhile or on misuse. */
int cl_async_gen_next(cl_async_gen *g, void **value);

/* Inside a generator's body: hands value to the consumer and suspends (yield value); returns 0 when advanced again, -1 when being closed (return then). */
int cl_async_gen_yield(void *value);

/* Closes g (await g.aclose()): a suspended body sees its yield return -1 and runs its cleanup; returns 0, or -1 if it ignored the close or on misuse. */
int cl_async_gen_aclose(cl_async_gen *g);

/* Returns 1 if g has finished (returned, or closed), else 0. */
int cl_async_gen_finished(cl_async_gen *g);

/* Returns g's name ("async_gen-N" unless named). */
const char *cl_async_gen_name(cl_async_gen *g);

/* Closes g if it is suspended in the middle (its cleanup runs), then frees it. NULL is ignored. */
void cl_async_gen_free(cl_async_gen *g);

/* ---- stackless generators ---- */

/* The resume point of a generator that has not started (initialize the state's int to it). */
#define CL_GEN_START 0

/* The resume point of a generator that has reached CL_GEN_END. */
#define CL_GEN_DONE (-1)

/* Opens a stackless generator's body; state is an int lvalue that survives between calls (e.g. g->resume). */
#define CL_GEN_BEGIN(state) switch (state) { case CL_GEN_START:

/* Returns value from the generator and resumes right after this line on the next call (yield value). */
#define CL_GEN_YIELD(state, value) do { (state) = __LINE__; return (value); case __LINE__:; } while (0)

/* Returns value on every call until cond holds, then goes on (protothreads' PT_WAIT_UNTIL: a yield in a loop). */
#define CL_GEN_WAIT_UNTIL(state, cond, value) do { (state) = __LINE__; if (0) { case __LINE__:; } if (!(cond)) return (value); } while (0)

/* Closes the body: the generator is finished and returns value now and on every later call (StopIteration). */
#define CL_GEN_END(state, value) } (state) = CL_GEN_DONE; return (value)

/* Returns non-zero once a stackless generator has reached CL_GEN_END. */
#define CL_GEN_FINISHED(state) ((state) == CL_GEN_DONE)

#ifdef __cplusplus
}
#endif

#endif
