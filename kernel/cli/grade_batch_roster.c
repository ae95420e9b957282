/* grade_batch_roster.c — which submissions a batch grades: listing, shards, --only, resume. */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "grade_batch.h"
#include "xalloc.h"

/* Names the batch itself writes in OUTDIR: a student cannot be called that. */
static const char *const reserved_names[] = {"summary.csv", "summary.json", "overview.html"};

char *student_file(const char *outdir, const char *student, const char *name) {
    return xasprintf("%s/%s/%s", outdir, student, name);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return xstrdup(slash ? slash + 1 : path);
}

static void add(roster *r, char *student, char *path, char *error) {
    r->items = xrealloc(r->items, (r->count + 1) * sizeof *r->items);
    r->items[r->count++] = (submission){
        .student = student,
        .path = path,
        .error = error,
        .state = error ? SUBMISSION_BROKEN : SUBMISSION_TO_GRADE,
    };
}

/* nbgrader's layout: the folder's notebook named like the assignment (the source), else its
 * only notebook. Returns the chosen path, or NULL with *error saying why none. */
static char *notebook_in_folder(const char *folder, const char *source, char **error) {
    DIR *d = opendir(folder);
    if (!d) {
        *error = xasprintf("cannot read the folder: %s", strerror(errno));
        return NULL;
    }
    char *wanted = base_name(source), *only = NULL, *match = NULL;
    int notebooks = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".ipynb")) continue;
        notebooks++;
        if (strcmp(e->d_name, wanted) == 0) match = xasprintf("%s/%s", folder, e->d_name);
        else if (!only) only = xasprintf("%s/%s", folder, e->d_name);
    }
    closedir(d);
    char *chosen = NULL;
    if (match) chosen = match;
    else if (notebooks == 1) chosen = only, only = NULL;
    else if (notebooks == 0) *error = xstrdup("the folder holds no notebook (.ipynb)");
    else *error = xasprintf("the folder holds %d notebooks and none is named %s", notebooks, wanted);
    if (chosen != only) free(only);
    free(wanted);
    return chosen;
}

static bool is_reserved(const char *student) {
    for (size_t i = 0; i < sizeof reserved_names / sizeof *reserved_names; i++)
        if (strcmp(student, reserved_names[i]) == 0) return true;
    return false;
}

/* One directory entry: a submission, a folder of one, or something to skip (outdir). */
static void add_entry(roster *r, const char *dir, const char *name, const char *source,
                      const struct stat *outdir_st) {
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    if (stat(path, &st) != 0) {
        add(r, xstrdup(name), path, xasprintf("cannot read it: %s", strerror(errno)));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (outdir_st && st.st_dev == outdir_st->st_dev && st.st_ino == outdir_st->st_ino) {
            free(path);
            return;
        }
        char *error = NULL, *notebook = notebook_in_folder(path, source, &error);
        add(r, xstrdup(name), notebook, error);
        free(path);
        return;
    }
    char *student = xstrdup(name);
    if (ends_with(student, ".ipynb") && strlen(student) > strlen(".ipynb"))
        student[strlen(student) - strlen(".ipynb")] = '\0';
    if (!S_ISREG(st.st_mode))
        add(r, student, path, xstrdup("not a regular file"));
    else if (is_reserved(student))
        add(r, student, path, xasprintf("a submission cannot be named %s (the batch writes that file)", student));
    else
        add(r, student, path, NULL);
}

static int by_student(const void *a, const void *b) {
    return strcmp(((const submission *)a)->student, ((const submission *)b)->student);
}

/* Two entries naming one student (alice.ipynb and alice/): the later one is an error, since
 * both would write the same report. */
static void mark_duplicates(roster *r) {
    for (size_t i = 1; i < r->count; i++) {
        submission *s = &r->items[i];
        if (strcmp(s->student, r->items[i - 1].student) != 0 || s->state == SUBMISSION_BROKEN) continue;
        s->state = SUBMISSION_BROKEN;
        s->error = xasprintf("another submission is also named %s (%s)", s->student, r->items[i - 1].path
                                                                                        ? r->items[i - 1].path
                                                                                        : "a folder");
    }
}

int roster_list(roster *r, const char *dir, const char *source, const char *outdir) {
    memset(r, 0, sizeof *r);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "conclab grade: cannot read the folder %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct stat outdir_st;
    bool have_outdir = stat(outdir, &outdir_st) == 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., .ipynb_checkpoints, editors' files */
        add_entry(r, dir, e->d_name, source, have_outdir ? &outdir_st : NULL);
    }
    closedir(d);
    if (r->count) qsort(r->items, r->count, sizeof *r->items, by_student);
    mark_duplicates(r);
    return 0;
}

void roster_free(roster *r) {
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].student);
        free(r->items[i].path);
        free(r->items[i].error);
    }
    free(r->items);
    memset(r, 0, sizeof *r);
}

void roster_keep_shard(roster *r, int index, int count) {
    size_t first = r->count * (size_t)(index - 1) / (size_t)count;
    size_t end = r->count * (size_t)index / (size_t)count;
    for (size_t i = 0; i < r->count; i++)
        if (i < first || i >= end) r->items[i].state = SUBMISSION_NOT_MINE;
}

int roster_keep_only(roster *r, char **names, size_t count) {
    int rc = 0;
    for (size_t n = 0; n < count; n++) {
        bool found = false;
        for (size_t i = 0; i < r->count; i++) found |= strcmp(r->items[i].student, names[n]) == 0;
        if (!found) {
            fprintf(stderr, "conclab grade: --only %s: no such student in the folder\n", names[n]);
            rc = -1;
        }
    }
    for (size_t i = 0; i < r->count; i++) {
        bool named = false;
        for (size_t n = 0; n < count; n++) named |= strcmp(r->items[i].student, names[n]) == 0;
        if (!named) r->items[i].state = SUBMISSION_NOT_MINE;
    }
    return rc;
}

static bool newer(const struct stat *a, const struct stat *b) {
    return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
           (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec > b->st_mtim.tv_nsec);
}

/* ---- the options a report was graded with ------------------------------------------------ */

#define OPTIONS_FILE "batch-options.json"

static json_t *options_array(char **args, size_t argc) {
    json_t *a = json_array();
    for (size_t i = 0; i < argc; i++) json_array_append_new(a, json_string(args[i]));
    return a;
}

int grader_options_write(const char *outdir, const char *student, char **args, size_t argc) {
    char *path = student_file(outdir, student, OPTIONS_FILE);
    json_t *j = json_pack("{s:s, s:o}", "schema", "conclab-grade-batch-options/1", "grader_options",
                          options_array(args, argc));
    int rc = j && json_dump_file(j, path, JSON_INDENT(1)) == 0 ? 0 : -1;
    if (rc != 0) fprintf(stderr, "conclab grade: cannot write %s\n", path);
    json_decref(j);
    free(path);
    return rc;
}

/* A report graded with other grader options (--timeout, --repeat, --seed, --stderr-fails, the
 * sandbox's) is not the one this run would write. A report without the record (graded by hand,
 * or by an older batch) counts as graded with none. */
static bool options_differ(const char *outdir, const char *student, char **args, size_t argc) {
    char *path = student_file(outdir, student, OPTIONS_FILE);
    json_t *j = json_load_file(path, 0, NULL);
    free(path);
    json_t *recorded = json_object_get(j, "grader_options");
    json_t *now = options_array(args, argc);
    bool differ = recorded ? !json_equal(recorded, now) : argc > 0;
    json_decref(now);
    json_decref(j);
    return differ;
}

void roster_skip_graded(roster *r, const char *source, const char *outdir, char **args, size_t argc) {
    struct stat source_st, sub_st, report_st;
    if (stat(source, &source_st) != 0) return;
    for (size_t i = 0; i < r->count; i++) {
        submission *s = &r->items[i];
        if (s->state != SUBMISSION_TO_GRADE || stat(s->path, &sub_st) != 0) continue;
        char *report = student_file(outdir, s->student, "results.json");
        if (stat(report, &report_st) == 0 && newer(&report_st, &sub_st) && newer(&report_st, &source_st)) {
            if (options_differ(outdir, s->student, args, argc)) s->options_changed = true;
            else s->state = SUBMISSION_ALREADY_GRADED;
        }
        free(report);
    }
}
