/* bench_cells.c — what a cell costs as a notebook grows (issue 10, item 8), one run, medians:
 *
 *   trivial cell      `trivial_count++;` through the engine (client -> executor -> compiler ->
 *                     the cell's own process -> reply)
 *                     in notebooks holding 0, 1000 and 5000 definitions, measured in turns so a
 *                     burst of load hits all three; targets: at 1000 and 5000 <= 1.3x at 0.
 *   memory per cell   growth of the executor's resident memory over 200 trivial cells, per cell;
 *                     target <= 20 KB whatever the notebook's size.
 *   large cell        a 5000-line cell (functions, globals, types) run in a fresh notebook, then
 *                     run again, against standalone `tcc -c` of the same code as a C file;
 *                     targets: first run <= 4x tcc -c, re-run no slower than the first run.
 *   large state       a trivial cell after a cell that filled 4 GB of memory (every cell runs in
 *                     a fork of the state) beside the same cell in an empty notebook, in turns;
 *                     target <= 5 ms.
 *
 *   bench_cells [--quick] [--json FILE] [--skip-large-state]
 *
 * The binary doubles as the executor (`bench_cells executor FD`), as `conclab executor` does. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "engine.h"
#include "executor.h"
#include "strbuf.h"

typedef struct options {
    bool quick, skip_large_state;
    const char *json;
} options;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- notebooks */

typedef struct notebook {
    engine *eng;
    int next_cell;
    int definitions;
} notebook;

static void no_output(void *ctx, const char *name, const char *text, size_t len) {
    (void)ctx, (void)name, (void)text, (void)len;
}

/* Runs a cell that must succeed; returns its round trip in seconds. */
static double run_cell(notebook *nb, const char *code) {
    engine_callbacks cb = {.on_stream = no_output};
    engine_request req = {.code = code, .cell_number = ++nb->next_cell};
    engine_outcome out = {0};
    double start = now_s();
    engine_execute(nb->eng, &req, &cb, &out);
    double took = now_s() - start;
    if (!out.ok) {
        fprintf(stderr, "bench_cells: a cell failed: %s: %s\n%.300s\n", out.ename, out.evalue, code);
        exit(2);
    }
    engine_outcome_clear(&out);
    return took;
}

static notebook open_notebook(size_t memory_limit) {
    char *err = NULL;
    engine_options opts = {.memory_limit = memory_limit};
    notebook nb = {engine_start(&opts, &err), 0, 0};
    if (!nb.eng) {
        fprintf(stderr, "bench_cells: cannot start the engine: %s\n", err ? err : "?");
        exit(2);
    }
    run_cell(&nb, "int trivial_count;");
    return nb;
}

/* Definition number k: a global, a function using it, a struct type or a macro, in turn. */
static void add_definition(strbuf *code, int k) {
    switch (k % 4) {
    case 0: strbuf_addf(code, "int global_%d = %d;\n", k, k); break;
    case 1: strbuf_addf(code, "int function_%d(int x) { return x * %d + global_%d; }\n", k, k, k - 1); break;
    case 2: strbuf_addf(code, "struct record_%d { int id; double weight; };\n", k); break;
    default: strbuf_addf(code, "#define LIMIT_%d (%d + 1)\n", k, k); break;
    }
}

/* Grows the notebook to `total` definitions, 100 per cell. */
static void grow_to(notebook *nb, int total) {
    while (nb->definitions < total) {
        strbuf code = {0};
        for (int i = 0; i < 100 && nb->definitions < total; i++) add_definition(&code, nb->definitions++);
        run_cell(nb, code.data);
        strbuf_free(&code);
    }
}

static long resident_kb(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

/* ---------------------------------------------------------------- measurements */

static const char trivial[] = "trivial_count++;";

/* A short pause between timed cells: what a cell leaves to finish in the background (its old
 * holder exiting) should not be charged to the next notebook's cell. */
static void settle(void) {
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

/* Each round takes the notebooks in a different order, so that none is always first. */
static void trivial_cells(notebook *books, int n_books, int rounds, bench_summary *out) {
    double *samples = calloc((size_t)(n_books * rounds), sizeof *samples);
    for (int b = 0; b < n_books; b++)
        for (int w = 0; w < 5; w++) run_cell(&books[b], trivial);  /* warm up */
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < n_books; k++) {
            int b = (r + k) % n_books;
            settle();
            samples[b * rounds + r] = run_cell(&books[b], trivial) * 1e3;
        }
    for (int b = 0; b < n_books; b++) out[b] = bench_summarize(samples + b * rounds, rounds);
    free(samples);
}

/* KB of resident memory the executor gains per trivial cell, over `cells` cells. */
static double memory_per_cell(notebook *nb, int cells) {
    for (int i = 0; i < 20; i++) run_cell(nb, trivial);
    long before = resident_kb(engine_executor_pid(nb->eng));
    for (int i = 0; i < cells; i++) run_cell(nb, trivial);
    long after = resident_kb(engine_executor_pid(nb->eng));
    return (double)(after - before) / cells;
}

/* A cell of `lines` lines of definitions that is also a valid C file. */
static char *large_cell(int lines) {
    strbuf code = {0};
    for (int k = 0; k < lines; k++) {
        switch (k % 3) {
        case 0: strbuf_addf(&code, "int cell_global_%d = %d;\n", k, k); break;
        case 1: strbuf_addf(&code, "int cell_function_%d(int x) { return x + cell_global_%d; }\n", k, k - 1); break;
        default: strbuf_addf(&code, "struct cell_record_%d { int id; double weight; };\n", k); break;
        }
    }
    return strbuf_take(&code);
}

static double tcc_compile_file(const char *path) {
    char out[256];
    snprintf(out, sizeof out, "%s.o", path);
    double start = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        execl(CONCLAB_TCC_BINARY, "tcc", "-c", path, "-o", out, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    double took = now_s() - start;
    unlink(out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_cells: %s -c %s failed\n", CONCLAB_TCC_BINARY, path);
        exit(2);
    }
    return took;
}

typedef struct large_cell_result {
    bench_summary tcc, first, rerun;
} large_cell_result;

static large_cell_result measure_large_cell(int lines, int trials) {
    char *code = large_cell(lines);
    char path[] = "/tmp/bench_cells_XXXXXX.c";
    int fd = mkstemps(path, 2);
    if (fd < 0 || write(fd, code, strlen(code)) != (ssize_t)strlen(code)) exit(2);
    close(fd);
    double tcc[16], first[16], rerun[16];
    for (int t = 0; t < trials; t++) {
        tcc[t] = tcc_compile_file(path) * 1e3;
        notebook nb = open_notebook(0);
        first[t] = run_cell(&nb, code) * 1e3;
        rerun[t] = run_cell(&nb, code) * 1e3;
        engine_free(nb.eng);
    }
    unlink(path);
    free(code);
    return (large_cell_result){bench_summarize(tcc, trials), bench_summarize(first, trials),
                               bench_summarize(rerun, trials)};
}

/* The trivial cell after the notebook filled `bytes` of memory, beside one that did not. */
static void measure_large_state(size_t bytes, int rounds, bench_summary *empty, bench_summary *full) {
    notebook books[2] = {open_notebook(0), open_notebook(bytes + ((size_t)1 << 30))};
    char code[256];
    snprintf(code, sizeof code, "char *state = malloc(%zuUL);\nmemset(state, 1, %zuUL);", bytes, bytes);
    run_cell(&books[1], code);  /* the prelude declares malloc and memset for this cell alone */
    bench_summary both[2];
    trivial_cells(books, 2, rounds, both);
    *empty = both[0];
    *full = both[1];
    engine_free(books[0].eng);
    engine_free(books[1].eng);
}

/* ---------------------------------------------------------------- report */

static void print_row(const char *what, const bench_summary *s, const char *unit) {
    printf("  %-44s median %9.3f %s  (p10 %.3f, p90 %.3f, n=%d)\n", what, s->median, unit, s->p10, s->p90, s->n);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "executor") == 0) return executor_main(atoi(argv[2]));
    options opt = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) opt.quick = true;
        else if (strcmp(argv[i], "--skip-large-state") == 0) opt.skip_large_state = true;
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) opt.json = argv[++i];
        else {
            fprintf(stderr, "usage: bench_cells [--quick] [--json FILE] [--skip-large-state]\n");
            return 2;
        }
    }
    int sizes[3] = {0, 1000, 5000};
    int rounds = opt.quick ? 10 : 60, memory_cells = opt.quick ? 40 : 200, trials = opt.quick ? 2 : 7;
    if (opt.quick) sizes[2] = 2000;
    if (getenv("SIZES_ZERO")) sizes[1] = sizes[2] = 0;

    notebook books[3];
    for (int b = 0; b < 3; b++) {
        books[b] = open_notebook(0);
        grow_to(&books[b], sizes[b]);
    }
    bench_summary trivial_ms[3];
    trivial_cells(books, 3, rounds, trivial_ms);
    double memory_kb[3];
    for (int b = 0; b < 3; b++) memory_kb[b] = memory_per_cell(&books[b], memory_cells);
    for (int b = 0; b < 3; b++) engine_free(books[b].eng);

    large_cell_result large = measure_large_cell(5000, trials);
    bench_summary state_empty = {0}, state_full = {0};
    size_t state_bytes = opt.quick ? (size_t)256 << 20 : (size_t)4000000000UL;
    if (!opt.skip_large_state) measure_large_state(state_bytes, opt.quick ? 10 : 40, &state_empty, &state_full);

    printf("bench_cells: what a cell costs as the notebook grows (medians)\n");
    for (int b = 0; b < 3; b++) {
        char what[64];
        snprintf(what, sizeof what, "trivial cell at %d definitions", sizes[b]);
        print_row(what, &trivial_ms[b], "ms");
    }
    for (int b = 1; b < 3; b++)
        printf("  ratio at %d / at 0: %.2f (target <= 1.3)\n", sizes[b], trivial_ms[b].median / trivial_ms[0].median);
    for (int b = 0; b < 3; b++)
        printf("  executor memory per trivial cell at %d definitions: %.1f KB (target <= 20)\n", sizes[b], memory_kb[b]);
    print_row("5000-line cell: standalone tcc -c", &large.tcc, "ms");
    print_row("5000-line cell: first run in a notebook", &large.first, "ms");
    print_row("5000-line cell: run again", &large.rerun, "ms");
    printf("  first run / tcc -c: %.2f (target <= 4); re-run / first run: %.2f (target <= 1)\n",
           large.first.median / large.tcc.median, large.rerun.median / large.first.median);
    if (!opt.skip_large_state) {
        char what[64];
        snprintf(what, sizeof what, "trivial cell after a %.1f GB state", (double)state_bytes / 1e9);
        print_row("trivial cell, empty notebook", &state_empty, "ms");
        print_row(what, &state_full, "ms");
        printf("  (target <= 5 ms after 4 GB)\n");
    }

    if (opt.json) {
        FILE *f = fopen(opt.json, "w");
        if (!f) return 2;
        fprintf(f, "{\"trivial_ms\": {");
        for (int b = 0; b < 3; b++) {
            fprintf(f, "%s\"%d\": ", b ? ", " : "", sizes[b]);
            bench_json_summary(f, &trivial_ms[b]);
        }
        fprintf(f, "}, \"memory_kb_per_cell\": {");
        for (int b = 0; b < 3; b++) {
            fprintf(f, "%s\"%d\": ", b ? ", " : "", sizes[b]);
            bench_json_number(f, memory_kb[b]);
        }
        fprintf(f, "}, \"large_cell_ms\": {\"tcc_c\": ");
        bench_json_summary(f, &large.tcc);
        fprintf(f, ", \"first\": ");
        bench_json_summary(f, &large.first);
        fprintf(f, ", \"rerun\": ");
        bench_json_summary(f, &large.rerun);
        fprintf(f, "}, \"large_state\": {\"bytes\": %zu, \"empty_ms\": ", state_bytes);
        bench_json_summary(f, &state_empty);
        fprintf(f, ", \"full_ms\": ");
        bench_json_summary(f, &state_full);
        fprintf(f, "}}\n");
        fclose(f);
    }
    for (int b = 0; b < 3; b++) bench_summary_free(&trivial_ms[b]);
    bench_summary_free(&large.tcc);
    bench_summary_free(&large.first);
    bench_summary_free(&large.rerun);
    bench_summary_free(&state_empty);
    bench_summary_free(&state_full);
    return 0;
}
