/* chaos_trials.h — %%chaos and %lockcheck in the executor (issue 17): the runtime's schedule
 * perturbation and lock-order checking (conclab/chaos.h) turned on around a cell, and a cell run
 * as many throwaway trials, each under its own seed.
 *
 * Trials run in forks of a runner, itself a fork of the holder that never becomes the holder:
 * the notebook's state does not change. Each trial's stdout and stderr are captured (not
 * streamed); it fails when its check fails, it crashes, it exits non-zero, lock-order checking
 * reported a cycle, or it outlives its time limit. chaos_report.c puts the outcome into words. */
#ifndef CONCLAB_CHAOS_TRIALS_H
#define CONCLAB_CHAOS_TRIALS_H

#include <stdbool.h>
#include <stddef.h>

/* ---------------------------------------------------------------- around one ordinary cell */

/* What the cell runs with: lock-order checking (%lockcheck on, or a replay), chaos under a seed
 * (%%chaos --seed N alone: the replay). */
typedef struct cell_checks {
    bool lockcheck;
    bool chaos;
    unsigned long long seed;
} cell_checks;

/* At the executor's start: CONCLAB_CHAOS_SEED and CONCLAB_LOCKCHECK in the kernel's own
 * environment turn nothing on; only the magics do. */
void cell_checks_off(void);

/* Right before the cell's code, and right after it (chaos ends with the cell; lock-order checking
 * stays as the notebook's setting says, keeping the orders seen so far). */
void cell_checks_begin(const cell_checks *checks);
void cell_checks_end(const cell_checks *checks);

/* ---------------------------------------------------------------- trials */

enum { CHAOS_TRIAL_OUTPUT_MAX = 64 << 10 };  /* bytes of a trial's output kept */
#define CHAOS_TRIAL_DEFAULT_LIMIT_S 10.0     /* per trial, when the cell has no time limit */

typedef struct chaos_plan {
    int cell;                  /* its number: cell[N] in reports */
    void (*run)(void);         /* the cell's code */
    int runs;                  /* trials asked for (>= 2) */
    unsigned long long seed;   /* trial i runs under seed + i */
    double limit_s;            /* the cell's time limit, per trial and for them all; 0: none */
} chaos_plan;

/* Why a trial failed. */
typedef enum trial_failure {
    TRIAL_PASSED, TRIAL_CHECK, TRIAL_SIGNAL, TRIAL_EXIT, TRIAL_LOCK_ORDER, TRIAL_HUNG
} trial_failure;

typedef struct chaos_outcome {
    int ran;                   /* trials that ran to a verdict (fewer than asked when stopped early) */
    int failed;
    double seconds;            /* all trials, wall clock */
    unsigned long delays;      /* hold-ups chaos injected, over the trials that finished */
    bool stopped_early;        /* the cell's time limit ended them before all ran */
    /* the first failing trial */
    unsigned long long first_seed;
    int first_index;           /* 0-based */
    trial_failure why;
    int status;                /* TRIAL_SIGNAL: the signal; TRIAL_EXIT: the exit status */
    char *output;              /* what it printed (malloc'd, at most CHAOS_TRIAL_OUTPUT_MAX bytes + a note) */
    char *detail;              /* TRIAL_CHECK: the claim; TRIAL_SIGNAL: where (malloc'd or NULL) */
} chaos_outcome;

/* In the runner: runs the plan's trials, one after another, until all ran or the cell's time
 * limit passed. */
void chaos_trials_run(const chaos_plan *plan, chaos_outcome *out);
void chaos_outcome_clear(chaos_outcome *out);

/* chaos_report.c: the lines the cell prints (malloc'd), and for a failure the error's value
 * (malloc'd; NULL when every trial passed). */
char *chaos_report_text(const chaos_plan *plan, const chaos_outcome *out);
char *chaos_report_error(const chaos_plan *plan, const chaos_outcome *out);

/* The seed a %%chaos without --seed starts from: fresh each time, small enough to type. */
unsigned long long chaos_fresh_seed(void);

#endif
