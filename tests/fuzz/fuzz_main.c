/* fuzz_main.c — runs a libFuzzer entry point without libFuzzer, so every build (gcc included)
 * exercises each fuzz target as a quick ctest test.
 *
 *   fuzz_X_driver [-n ITERATIONS] [-s SEED] [FILE | DIR]...
 *
 * Every file given, and every file in each directory given, is run as is: that is the seed
 * corpus, and also how to replay a crash file that libFuzzer found. Then ITERATIONS inputs are
 * made by mutating the seeds with a fixed pseudo-random sequence, so a failure reproduces exactly
 * with the same arguments. Each input lives in a buffer of exactly its size, so the sanitizers
 * catch a read one byte past the end, as under libFuzzer. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define INPUT_LIMIT 4096
#define DEFAULT_ITERATIONS 20000
#define DEFAULT_SEED 0x5eed5eedULL

typedef struct input {
    uint8_t *data;
    size_t size;
} input;

typedef struct corpus {
    input *items;
    size_t n, cap;
} corpus;

/* ---- seeds ------------------------------------------------------------------------------ */

static int read_file(const char *path, input *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) return -1;
    out->data = buf;
    out->size = n;
    return 0;
}

static void corpus_add(corpus *c, input in) {
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = realloc(c->items, c->cap * sizeof *c->items);
        if (!c->items) abort();
    }
    c->items[c->n++] = in;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Adds a file, or every regular file of a directory in name order (so runs are repeatable). */
static int corpus_load(corpus *c, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz driver: cannot read %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        input in;
        if (read_file(path, &in) != 0) return -1;
        corpus_add(c, in);
        return 0;
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
        input in;
        if (names[i]->d_name[0] != '.' && stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
            read_file(full, &in) == 0)
            corpus_add(c, in);
        free(names[i]);
    }
    free(names);
    return 0;
}

/* ---- mutation --------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void) {  /* xorshift64*: small, fast, and the same everywhere */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n) {
    return n ? (size_t)(rng() % n) : 0;
}

/* Bytes that matter to parsers of text formats: structure, quotes, escapes, line ends, extremes. */
static const uint8_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, '\n', '\r', '\t', ' ', '{', '}', '[', ']',
                                      '"', '\\', ':', ',', '/', '*', '#', '(', ')', ';', '\'', '0', 'u'};

static void mutate_once(uint8_t *buf, size_t *size, const corpus *c) {
    size_t n = *size;
    switch (below(7)) {
    case 0: /* flip a bit */
        if (n) buf[below(n)] ^= (uint8_t)(1u << below(8));
        break;
    case 1: /* overwrite a byte with one that matters */
        if (n) buf[below(n)] = interesting[below(sizeof interesting)];
        break;
    case 2: /* insert a byte */
        if (n < INPUT_LIMIT) {
            size_t at = below(n + 1);
            memmove(buf + at + 1, buf + at, n - at);
            buf[at] = rng() & 1 ? interesting[below(sizeof interesting)] : (uint8_t)rng();
            *size = n + 1;
        }
        break;
    case 3: /* erase a run */
        if (n) {
            size_t at = below(n), len = 1 + below(n - at < 16 ? n - at : 16);
            memmove(buf + at, buf + at + len, n - at - len);
            *size = n - len;
        }
        break;
    case 4: /* duplicate a run somewhere else */
        if (n && n < INPUT_LIMIT) {
            size_t from = below(n), len = 1 + below(n - from);
            if (len > INPUT_LIMIT - n) len = INPUT_LIMIT - n;
            size_t at = below(n + 1);
            uint8_t tmp[INPUT_LIMIT];
            memcpy(tmp, buf + from, len);
            memmove(buf + at + len, buf + at, n - at);
            memcpy(buf + at, tmp, len);
            *size = n + len;
        }
        break;
    case 5: /* cut the tail */
        if (n) *size = below(n);
        break;
    case 6: /* splice in a piece of another seed */
        if (c->n) {
            const input *other = &c->items[below(c->n)];
            if (other->size) {
                size_t from = below(other->size), len = 1 + below(other->size - from);
                size_t at = below(n + 1);
                if (at + len > INPUT_LIMIT) len = INPUT_LIMIT - at;
                memcpy(buf + at, other->data + from, len);
                if (at + len > n) *size = at + len;
            }
        }
        break;
    }
}

/* Runs one input from a buffer of exactly its size. */
static void run(const uint8_t *data, size_t size) {
    uint8_t *exact = malloc(size ? size : 1);
    if (size) memcpy(exact, data, size);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
}

int main(int argc, char **argv) {
    long iterations = DEFAULT_ITERATIONS;
    uint64_t seed = DEFAULT_SEED;
    corpus c = {0};
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) iterations = strtol(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
        else if (corpus_load(&c, argv[i]) != 0) return 2;
    }
    rng_state = seed ? seed : DEFAULT_SEED;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < c.n; i++) run(c.items[i].data, c.items[i].size);

    static uint8_t buf[INPUT_LIMIT];
    for (long i = 0; i < iterations; i++) {
        size_t size = 0;
        if (c.n) {
            const input *base = &c.items[below(c.n)];
            size = base->size < INPUT_LIMIT ? base->size : INPUT_LIMIT;
            memcpy(buf, base->data, size);
        }
        for (size_t k = 1 + below(8); k > 0; k--) mutate_once(buf, &size, &c);
        run(buf, size);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s: %zu seed inputs, %ld mutated inputs, seed %#llx, %.2f s: no failures\n", argv[0], c.n,
           iterations, (unsigned long long)seed, secs);
    for (size_t i = 0; i < c.n; i++) free(c.items[i].data);
    free(c.items);
    return 0;
}
