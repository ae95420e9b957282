/* chaos_report.c — what %%chaos trials found, in words (chaos_trials.h): one summary line, the
 * first failing run's output and why it failed, and how to replay it. */
#define _GNU_SOURCE
#include "chaos_trials.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void add_summary_line(strbuf *b, const chaos_plan *plan, const chaos_outcome *out) {
    if (out->failed)
        strbuf_addf(b, "chaos: failed %d of %d runs; first failing seed %llu\n", out->failed, out->ran, out->first_seed);
    else if (out->ran)
        strbuf_addf(b, "chaos: passed %d of %d runs (seeds %llu..%llu)\n", out->ran, out->ran, plan->seed,
                    plan->seed + (unsigned long long)out->ran - 1);
    else
        strbuf_addf(b, "chaos: no run finished (seed %llu)\n", plan->seed);
    if (out->stopped_early)
        strbuf_addf(b, "  stopped after %d of the %d runs asked for: the cell's time limit of %g s was reached\n",
                    out->ran, plan->runs, plan->limit_s);
    if (out->ran)
        strbuf_addf(b, "  (%.3f s per run; chaos held threads up %.1f times per run on average; lock orders checked)\n",
                    out->seconds / out->ran, (double)out->delays / out->ran);
}

static void add_why(strbuf *b, const chaos_plan *plan, const chaos_outcome *out) {
    double limit = plan->limit_s > 0 ? plan->limit_s : CHAOS_TRIAL_DEFAULT_LIMIT_S;
    switch (out->why) {
    case TRIAL_CHECK: strbuf_addf(b, "why it failed: its check did not hold: %s\n", out->detail ? out->detail : "?"); break;
    case TRIAL_SIGNAL:
        strbuf_addf(b, "why it failed: it was stopped by signal %d (SIG%s: %s)%s%s\n", out->status,
                    sigabbrev_np(out->status) ? sigabbrev_np(out->status) : "?", strsignal(out->status),
                    out->detail ? " at " : "", out->detail ? out->detail : "");
        break;
    case TRIAL_EXIT: strbuf_addf(b, "why it failed: it ended the process with exit status %d\n", out->status); break;
    case TRIAL_LOCK_ORDER:
        strbuf_add(b, "why it failed: lock-order checking saw threads take the same locks in opposite orders (the "
                      "report above): they can deadlock, even though this run did not\n");
        break;
    case TRIAL_HUNG:
        strbuf_addf(b, "why it failed: it did not finish within its time limit of %g s and was stopped (a deadlock? "
                       "a wait that nothing ends?)\n", limit);
        break;
    case TRIAL_PASSED: break;
    }
}

char *chaos_report_text(const chaos_plan *plan, const chaos_outcome *out) {
    strbuf b = {0};
    add_summary_line(&b, plan, out);
    if (out->failed) {
        const char *output = out->output ? out->output : "";
        strbuf_addf(&b, "--- what run %d (seed %llu) printed ---\n", out->first_index + 1, out->first_seed);
        strbuf_add(&b, output);
        if (output[0] && output[strlen(output) - 1] != '\n') strbuf_add(&b, "\n");
        if (!output[0]) strbuf_add(&b, "(nothing)\n");
        strbuf_add(&b, "--- end of its output ---\n");
        add_why(&b, plan, out);
        strbuf_addf(&b, "replay it: %%%%chaos --seed %llu\n", out->first_seed);
    }
    return strbuf_take(&b);
}

char *chaos_report_error(const chaos_plan *plan, const chaos_outcome *out) {
    (void)plan;
    char *text = NULL;
    if (!out->failed) return NULL;
    if (asprintf(&text, "%d of %d runs failed under chaos; the first failing seed was %llu "
                        "(replay it: %%%%chaos --seed %llu)", out->failed, out->ran, out->first_seed,
                 out->first_seed) < 0)
        return NULL;
    return text;
}
