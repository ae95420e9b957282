/* grade_run.h — running a restored submission through the engine and scoring each question
 * (grade_run.c), for `conclab grade` (grade.c). */
#ifndef CONCLAB_GRADE_RUN_H
#define CONCLAB_GRADE_RUN_H

#include <stdbool.h>

#include "grading.h"

/* Whether the cells run in the engine's sandbox (bubblewrap). AUTO, the default: in the sandbox
 * where it can start, otherwise without it, saying so in the report's notes and on stderr. */
typedef enum grade_sandbox { GRADE_SANDBOX_AUTO, GRADE_SANDBOX_REQUIRED, GRADE_SANDBOX_OFF } grade_sandbox;

typedef struct grade_run_options {
    const char *submission, *source;  /* as given on the command line, for replay commands */
    double timeout_s;                 /* per cell */
    bool stderr_fails;
    int repeat;                       /* --repeat N for every test cell; 0: as the cells ask */
    unsigned long long seed;          /* first chaos seed */
    bool seed_given;
    bool seed_used;                   /* out: some test ran under chaos */
    bool quiet;
    grade_sandbox sandbox;
    bool sandboxed;                   /* out: the cells ran in the sandbox */
} grade_run_options;

enum { GRADE_RUN_STOPPED = -2 };

/* Runs every code cell of plan->notebook in order (each with the time limit; a crash or hang
 * costs that cell only), records outputs into the notebook and scores plan->items. 0; -1 with
 * *err when the engine cannot run at all; GRADE_RUN_STOPPED when SIGINT, SIGTERM or SIGHUP
 * stopped it (the running cell is interrupted with its processes). */
int grade_run(grade_plan *plan, grade_run_options *o, char **err);

#endif
