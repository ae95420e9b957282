/* bench_stats.c — medians and percentiles of benchmark samples; see bench_stats.h. */
#include "bench_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank on sorted values. */
static double rank(const double *sorted, int n, double p) {
    int i = (int)ceil(p * n) - 1;
    return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static double *copy_of(const double *samples, int n) {
    double *copy = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (!copy) {
        fprintf(stderr, "benchmark: out of memory\n");
        exit(2);
    }
    if (n > 0) memcpy(copy, samples, sizeof(double) * (size_t)n);
    return copy;
}

bench_summary bench_summarize(const double *samples, int n) {
    bench_summary s = {n, 0, 0, 0, NULL};
    if (n <= 0) return s;
    s.samples = copy_of(samples, n);
    double *sorted = copy_of(samples, n);
    qsort(sorted, (size_t)n, sizeof(double), by_value);
    s.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    s.p10 = rank(sorted, n, 0.10);
    s.p90 = rank(sorted, n, 0.90);
    free(sorted);
    return s;
}

void bench_summary_free(bench_summary *s) {
    free(s->samples);
    s->samples = NULL;
    s->n = 0;
}

void bench_json_number(FILE *f, double v) {
    if (isnan(v) || isinf(v)) fprintf(f, "null");
    else fprintf(f, "%.9g", v);
}

void bench_json_summary(FILE *f, const bench_summary *s) {
    if (!s->n) {
        fprintf(f, "null");
        return;
    }
    fprintf(f, "{\"n\": %d, \"median\": ", s->n);
    bench_json_number(f, s->median);
    fprintf(f, ", \"p10\": ");
    bench_json_number(f, s->p10);
    fprintf(f, ", \"p90\": ");
    bench_json_number(f, s->p90);
    fprintf(f, ", \"samples\": [");
    for (int i = 0; i < s->n; i++) {
        if (i) fprintf(f, ", ");
        bench_json_number(f, s->samples[i]);
    }
    fprintf(f, "]}");
}
