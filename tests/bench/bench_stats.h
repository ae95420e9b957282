/* bench_stats.h — what every C benchmark here reports: the median of its samples with p10 and
 * p90 beside it (nearest rank), and the samples themselves in the --json file. */
#ifndef CONCLAB_BENCH_STATS_H
#define CONCLAB_BENCH_STATS_H

#include <stdio.h>

typedef struct bench_summary {
    int n;                      /* 0: nothing was measured (no counterpart ran) */
    double median, p10, p90;
    double *samples;            /* as measured, in the unit of the result; bench_summary_free */
} bench_summary;

/* Summarizes n samples (copied); exits with status 2 when out of memory. */
bench_summary bench_summarize(const double *samples, int n);

/* Frees the samples of s. */
void bench_summary_free(bench_summary *s);

/* Writes v as a JSON number, or null when it is not finite. */
void bench_json_number(FILE *f, double v);

/* Writes s as {"n", "median", "p10", "p90", "samples"}, or null when nothing was measured. */
void bench_json_summary(FILE *f, const bench_summary *s);

#endif
