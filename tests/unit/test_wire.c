/* test_wire.c — the wire format from the outside: round trips, signatures against known answers,
 * and every way a frame list can be wrong. Run under ASan to prove the failure paths leak nothing. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "wire.h"

#define KEY "c0ffee-key"
#define KEYLEN (sizeof KEY - 1)
#define K ((const unsigned char *)KEY)

/* Frames that point at string literals or test buffers; never freed. */
static wire_frame fr(const char *s) {
    return (wire_frame){(unsigned char *)s, strlen(s)};
}

static wire_frame frn(const void *p, size_t n) {
    return (wire_frame){(unsigned char *)p, n};
}

static const char *HEADER =
    "{\"msg_id\":\"a1\",\"msg_type\":\"kernel_info_request\",\"session\":\"s1\",\"username\":\"u\","
    "\"date\":\"2024-01-01T00:00:00.000000Z\",\"version\":\"5.3\"}";

/* Computed offline with: printf '%s%s%s%s' "$HEADER" '{}' '{}' '{}' | openssl dgst -sha256 -hmac c0ffee-key */
static const char *HEADER_SIG = "9081b8e4b8bda3547af3e7945b5a6e43372ea3bd611573c65ae10dd628254217";

/* Decodes and expects failure with the given status; checks *out is left empty and err is set. */
static void expect_fail(const wire_frame *frames, size_t n, const unsigned char *key, size_t key_len,
                        wire_status want, const char *err_part, int line) {
    wire_msg m;
    memset(&m, 0xAB, sizeof m);  /* garbage in, so "left empty" is really checked */
    char *err = NULL;
    wire_status st = wire_decode(frames, n, key, key_len, &m, &err);
    if (st != want || !err || (err_part && !strstr(err, err_part)))
        fprintf(stderr, "  (from line %d: status %d, err %s)\n", line, st, err ? err : "(null)");
    CHECK(st == want);
    CHECK(err != NULL);
    if (err_part) CHECK(err && strstr(err, err_part));
    CHECK(m.header == NULL && m.parent_header == NULL && m.metadata == NULL && m.content == NULL);
    CHECK(m.identities == NULL && m.n_identities == 0 && m.buffers == NULL && m.n_buffers == 0);
    free(err);
    wire_msg_clear(&m);
}
#define EXPECT_FAIL(frames, n, key, klen, want, part) expect_fail(frames, n, key, klen, want, part, __LINE__)

static wire_msg sample_msg(void) {
    static const unsigned char ident_with_nul[] = {'i', 0, 'd', 0xff};
    static const unsigned char buffer[] = {0, 1, 2, 0, 0xfe};
    wire_msg m = {0};
    m.identities = calloc(2, sizeof *m.identities);
    m.identities[0].data = malloc(sizeof ident_with_nul);
    memcpy(m.identities[0].data, ident_with_nul, sizeof ident_with_nul);
    m.identities[0].size = sizeof ident_with_nul;
    m.identities[1].data = malloc(1);
    m.identities[1].size = 0;  /* an empty routing frame survives too */
    m.n_identities = 2;
    m.header = wire_header_new("execute_request", "session-x");
    m.parent_header = json_object();
    m.metadata = json_pack("{s:b}", "deletedCells", 0);
    m.content = json_pack("{s:s, s:b, s:[i,f,n], s:s#}", "code", "printf(\"h\u00e9\\n\");", "silent", 0,
                          "mixed", 3, 2.5, "nul", "a\0b", (int)3);
    m.buffers = calloc(1, sizeof *m.buffers);
    m.buffers[0].data = malloc(sizeof buffer);
    memcpy(m.buffers[0].data, buffer, sizeof buffer);
    m.buffers[0].size = sizeof buffer;
    m.n_buffers = 1;
    return m;
}

static int frames_equal(const wire_frame *a, const wire_frame *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i].size != b[i].size || (a[i].size && memcmp(a[i].data, b[i].data, a[i].size) != 0))
            return 0;
    return 1;
}

static void round_trip(const unsigned char *key, size_t key_len) {
    wire_msg m = sample_msg();
    CHECK(m.header && m.content && m.metadata);
    wire_frame *frames = NULL;
    long n = wire_encode(&m, key, key_len, &frames);
    CHECK(n == 2 + 2 + 4 + 1);
    CHECK(frames[2].size == 9 && memcmp(frames[2].data, "<IDS|MSG>", 9) == 0);
    CHECK(frames[3].size == (key_len ? 64u : 0u));

    wire_msg back;
    char *err = NULL;
    CHECK(wire_decode(frames, (size_t)n, key, key_len, &back, &err) == WIRE_OK);
    CHECK(err == NULL);
    CHECK(back.n_identities == 2 && frames_equal(back.identities, m.identities, 2));
    CHECK(back.n_buffers == 1 && frames_equal(back.buffers, m.buffers, 1));
    CHECK(json_equal(back.header, m.header));
    CHECK(json_equal(back.parent_header, m.parent_header));
    CHECK(json_equal(back.metadata, m.metadata));
    CHECK(json_equal(back.content, m.content));
    CHECK_STR(wire_msg_type(&back), "execute_request");
    /* the identities and buffers are copies, not views into the frames */
    CHECK(back.identities[0].data != frames[0].data);
    wire_frames_free(frames, (size_t)n);
    CHECK_STR(json_string_value(json_object_get(back.content, "code")), "printf(\"h\u00e9\\n\");");
    free(err);
    wire_msg_clear(&back);
    wire_msg_clear(&m);
    CHECK(m.header == NULL && m.identities == NULL && m.n_buffers == 0);
}

static void test_round_trip(void) {
    round_trip(K, KEYLEN);
    round_trip(NULL, 0);
}

static void test_encode_null_parts_are_empty_objects(void) {
    wire_msg m = {.header = wire_header_new("status", "s")};
    wire_frame *frames;
    long n = wire_encode(&m, K, KEYLEN, &frames);
    CHECK(n == 6);
    for (int i = 3; i < 6; i++) CHECK(frames[i].size == 2 && memcmp(frames[i].data, "{}", 2) == 0);
    wire_msg back;
    CHECK(wire_decode(frames, (size_t)n, K, KEYLEN, &back, NULL) == WIRE_OK);
    CHECK(back.n_identities == 0 && back.n_buffers == 0);
    wire_msg_clear(&back);
    wire_frames_free(frames, (size_t)n);
    wire_msg_clear(&m);
}

/* HMAC-SHA256 test case 2 of RFC 4231, split across parts: signing covers their concatenation. */
static void test_sign_known_answers(void) {
    char out[65];
    wire_frame rfc[] = {fr("what do ya "), fr(""), fr("want for "), fr("nothing?")};
    wire_sign((const unsigned char *)"Jefe", 4, rfc, 4, out);
    CHECK_STR(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    wire_frame parts[] = {fr(HEADER), fr("{}"), fr("{}"), fr("{}")};
    wire_sign(K, KEYLEN, parts, 4, out);
    CHECK_STR(out, HEADER_SIG);

    /* empty key, checked with Python's hmac.new(b'', b'abc', hashlib.sha256) */
    wire_frame abc[] = {fr("abc")};
    wire_sign((const unsigned char *)"", 0, abc, 1, out);
    CHECK_STR(out, "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
}

/* A message signed by someone else (the KAT above) decodes, identities and all. */
static void test_decode_foreign_signed_message(void) {
    wire_frame frames[] = {fr("client-7"), fr("<IDS|MSG>"), fr(HEADER_SIG), fr(HEADER), fr("{}"),
                           fr("{}"), fr("{}")};
    wire_msg m;
    CHECK(wire_decode(frames, 7, K, KEYLEN, &m, NULL) == WIRE_OK);
    CHECK_STR(wire_msg_type(&m), "kernel_info_request");
    CHECK(m.n_identities == 1 && m.identities[0].size == 8 && memcmp(m.identities[0].data, "client-7", 8) == 0);
    wire_msg_clear(&m);

    /* The signature covers the bytes as sent, not a re-serialization: spaces are fine. */
    const char *spaced = "{ \"msg_type\" : \"x\" }";
    wire_frame p[] = {fr(spaced), fr("{ }"), fr("{}"), fr("{\"a\": 1}")};
    char sig[65];
    wire_sign(K, KEYLEN, p, 4, sig);
    wire_frame spaced_frames[] = {fr("<IDS|MSG>"), fr(sig), p[0], p[1], p[2], p[3]};
    CHECK(wire_decode(spaced_frames, 6, K, KEYLEN, &m, NULL) == WIRE_OK);
    CHECK(json_integer_value(json_object_get(m.content, "a")) == 1);
    wire_msg_clear(&m);
}

static void test_bad_signatures(void) {
    char sig[65];
    strcpy(sig, HEADER_SIG);
    wire_frame frames[] = {fr("<IDS|MSG>"), fr(sig), fr(HEADER), fr("{}"), fr("{}"), fr("{}")};

    sig[63] = sig[63] == '7' ? '8' : '7';  /* last character wrong */
    EXPECT_FAIL(frames, 6, K, KEYLEN, WIRE_BAD_SIGNATURE, "bad signature");
    strcpy(sig, HEADER_SIG);
    sig[0] = 'f';  /* first character wrong ('9' in the real one) */
    EXPECT_FAIL(frames, 6, K, KEYLEN, WIRE_BAD_SIGNATURE, "bad signature");

    char upper[65];
    for (int i = 0; i < 65; i++) upper[i] = (char)(HEADER_SIG[i] >= 'a' ? HEADER_SIG[i] - 32 : HEADER_SIG[i]);
    frames[1] = fr(upper);  /* the digest is lowercase hex, exactly */
    EXPECT_FAIL(frames, 6, K, KEYLEN, WIRE_BAD_SIGNATURE, NULL);

    frames[1] = frn(HEADER_SIG, 63);  /* truncated */
    EXPECT_FAIL(frames, 6, K, KEYLEN, WIRE_BAD_SIGNATURE, "bad signature");
    char longer[70];
    snprintf(longer, sizeof longer, "%s00", HEADER_SIG);
    frames[1] = fr(longer);
    EXPECT_FAIL(frames, 6, K, KEYLEN, WIRE_BAD_SIGNATURE, "bad signature");

    frames[1] = fr("");  /* missing while a key is set */
    EXPECT_FAIL(frames, 6, K, KEYLEN, WIRE_BAD_SIGNATURE, "missing signature");

    frames[1] = fr(HEADER_SIG);  /* right signature, wrong key */
    EXPECT_FAIL(frames, 6, (const unsigned char *)"c0ffee-kez", KEYLEN, WIRE_BAD_SIGNATURE, "bad signature");

    frames[5] = fr("{\"x\":1}");  /* right signature, tampered content */
    EXPECT_FAIL(frames, 6, K, KEYLEN, WIRE_BAD_SIGNATURE, "bad signature");

    /* Signature checked before parsing: a bad signature on garbage is a bad signature. */
    wire_frame garbage[] = {fr("<IDS|MSG>"), fr(HEADER_SIG), fr("{not json"), fr("{}"), fr("{}"), fr("{}")};
    EXPECT_FAIL(garbage, 6, K, KEYLEN, WIRE_BAD_SIGNATURE, NULL);
}

static void test_empty_key_accepts_any_signature(void) {
    const char *sigs[] = {"", "nonsense", HEADER_SIG};
    for (int i = 0; i < 3; i++) {
        wire_frame frames[] = {fr("<IDS|MSG>"), fr(sigs[i]), fr(HEADER), fr("{}"), fr("{}"), fr("{}")};
        wire_msg m;
        CHECK(wire_decode(frames, 6, NULL, 0, &m, NULL) == WIRE_OK);
        CHECK_STR(wire_msg_type(&m), "kernel_info_request");
        wire_msg_clear(&m);
    }
}

static void test_malformed(void) {
    /* no delimiter at all, or one that is almost right */
    wire_frame no_delim[] = {fr("id"), fr(HEADER_SIG), fr(HEADER), fr("{}"), fr("{}"), fr("{}")};
    EXPECT_FAIL(no_delim, 6, NULL, 0, WIRE_MALFORMED, "delimiter");
    wire_frame near_delim[] = {fr("<IDS|MSG> "), fr(""), fr(HEADER), fr("{}"), fr("{}"), fr("{}")};
    EXPECT_FAIL(near_delim, 6, NULL, 0, WIRE_MALFORMED, "delimiter");
    wire_frame nul_delim[] = {frn("<IDS|MSG>\0", 10), fr(""), fr(HEADER), fr("{}"), fr("{}"), fr("{}")};
    EXPECT_FAIL(nul_delim, 6, NULL, 0, WIRE_MALFORMED, "delimiter");
    EXPECT_FAIL(NULL, 0, NULL, 0, WIRE_MALFORMED, "delimiter");

    /* truncated: every length short of the five frames after the delimiter */
    wire_frame full[] = {fr("id"), fr("<IDS|MSG>"), fr(""), fr(HEADER), fr("{}"), fr("{}"), fr("{}")};
    for (size_t n = 1; n < 7; n++) EXPECT_FAIL(full, n, NULL, 0, WIRE_MALFORMED, n < 2 ? "delimiter" : "truncated");
    for (size_t n = 2; n < 7; n++) EXPECT_FAIL(full, n, K, KEYLEN, WIRE_MALFORMED, "truncated");

    /* each JSON part in turn: invalid, empty, not an object, embedded NUL */
    const char *bad_parts[] = {"{", "", "[]", "\"text\"", "42", "null", "true", "{}{}", "{\"a\":1} x",
                               "{\"a\":\"\xff\"}", "{\"a\":\"\\ud800\"}"};
    for (int part = 0; part < 4; part++) {
        for (size_t b = 0; b < sizeof bad_parts / sizeof bad_parts[0]; b++) {
            wire_frame frames[] = {fr("<IDS|MSG>"), fr(""), fr(HEADER), fr("{}"), fr("{}"), fr("{}")};
            frames[2 + part] = fr(bad_parts[b]);
            EXPECT_FAIL(frames, 6, NULL, 0, WIRE_MALFORMED, NULL);
            /* signed correctly, still malformed: the signature does not make JSON valid */
            char sig[65];
            wire_sign(K, KEYLEN, &frames[2], 4, sig);
            frames[1] = fr(sig);
            EXPECT_FAIL(frames, 6, K, KEYLEN, WIRE_MALFORMED, NULL);
        }
        wire_frame nul[] = {fr("<IDS|MSG>"), fr(""), fr(HEADER), fr("{}"), fr("{}"), fr("{}")};
        nul[2 + part] = frn("{}\0{}", 5);
        EXPECT_FAIL(nul, 6, NULL, 0, WIRE_MALFORMED, NULL);
    }

    /* the header must say what it is */
    const char *headers[] = {"{}", "{\"msg_type\":7}", "{\"msg_type\":null}", "{\"msg_type\":[\"x\"]}"};
    for (int i = 0; i < 4; i++) {
        wire_frame frames[] = {fr("<IDS|MSG>"), fr(""), fr(headers[i]), fr("{}"), fr("{}"), fr("{}")};
        EXPECT_FAIL(frames, 6, NULL, 0, WIRE_MALFORMED, "msg_type");
    }
}

/* Unknown message types are not the wire's business: they decode, the kernel answers them. */
static void test_unknown_type_decodes(void) {
    wire_frame frames[] = {fr("<IDS|MSG>"), fr(""), fr("{\"msg_type\":\"no_such_request\"}"), fr("{}"),
                           fr("{}"), fr("{}"), fr("buf")};
    wire_msg m;
    CHECK(wire_decode(frames, 7, NULL, 0, &m, NULL) == WIRE_OK);
    CHECK_STR(wire_msg_type(&m), "no_such_request");
    CHECK(m.n_buffers == 1 && m.buffers[0].size == 3);
    wire_msg_clear(&m);
}

static void test_big_frames(void) {
    size_t big = 8u << 20;
    char *content = malloc(big + 16);
    memset(content, ' ', big + 16);
    memcpy(content, "{\"s\":\"", 6);
    memset(content + 6, 'x', big);
    memcpy(content + 6 + big, "\"}", 3);
    wire_frame frames[] = {fr("<IDS|MSG>"), fr(""), fr(HEADER), fr("{}"), fr("{}"), fr(content)};
    wire_msg m;
    CHECK(wire_decode(frames, 6, NULL, 0, &m, NULL) == WIRE_OK);
    CHECK(json_string_length(json_object_get(m.content, "s")) == big);
    wire_msg_clear(&m);

    content[6 + big] = 'x';  /* unterminated string, 8 MB long */
    frames[5] = frn(content, big + 6);
    EXPECT_FAIL(frames, 6, NULL, 0, WIRE_MALFORMED, "content");

    /* deep nesting must be refused, not recursed into until the stack runs out */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 8);
    memcpy(deep, "{\"a\":", 5);
    memset(deep + 5, '[', depth);
    memset(deep + 5 + depth, ']', depth);
    memcpy(deep + 5 + 2 * depth, "}", 2);
    frames[5] = fr(deep);
    EXPECT_FAIL(frames, 6, NULL, 0, WIRE_MALFORMED, "content");
    free(deep);
    free(content);
}

static int is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_header_new(void) {
    json_t *h = wire_header_new("kernel_info_reply", "sess-1");
    json_t *h2 = wire_header_new("kernel_info_reply", "sess-1");
    CHECK(h && h2);
    CHECK_STR(json_string_value(json_object_get(h, "msg_type")), "kernel_info_reply");
    CHECK_STR(json_string_value(json_object_get(h, "session")), "sess-1");
    CHECK_STR(json_string_value(json_object_get(h, "version")), "5.3");
    CHECK(json_is_string(json_object_get(h, "username")));

    const char *id = json_string_value(json_object_get(h, "msg_id"));
    CHECK(id && strlen(id) == 36);
    for (int i = 0; id && i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) CHECK(id[i] == '-');
        else CHECK(is_hex(id[i]));
    }
    CHECK(id && id[14] == '4');                 /* version 4 */
    CHECK(id && strchr("89ab", id[19]) != NULL); /* RFC 4122 variant */
    CHECK(strcmp(id, json_string_value(json_object_get(h2, "msg_id"))) != 0);

    const char *date = json_string_value(json_object_get(h, "date"));
    CHECK(date && strlen(date) == 27 && date[10] == 'T' && date[19] == '.' && date[26] == 'Z');
    struct tm tm = {0};
    int usec = -1;
    CHECK(date && sscanf(date, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                         &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &usec) == 7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t when = timegm(&tm), now = time(NULL);
    CHECK(usec >= 0 && usec < 1000000);
    /* UTC, not local time. time() reads a coarse clock that can trail the one the header was
     * stamped from by a tick, so a header stamped just after a second turned may be 1 s ahead. */
    CHECK(when <= now + 1 && now - when < 5);
    json_decref(h);
    json_decref(h2);

    json_t *no_session = wire_header_new("x", NULL);
    CHECK_STR(json_string_value(json_object_get(no_session, "session")), "");
    json_decref(no_session);
}

static void test_msg_type_of_empty(void) {
    wire_msg m = {0};
    CHECK_STR(wire_msg_type(&m), "");
    m.header = json_pack("{s:i}", "msg_type", 3);
    CHECK_STR(wire_msg_type(&m), "");
    wire_msg_clear(&m);
    wire_msg_clear(&m);  /* clearing twice is harmless */
    wire_frames_free(NULL, 3);
}

int main(void) {
    test_round_trip();
    test_encode_null_parts_are_empty_objects();
    test_sign_known_answers();
    test_decode_foreign_signed_message();
    test_bad_signatures();
    test_empty_key_accepts_any_signature();
    test_malformed();
    test_unknown_type_decodes();
    test_big_frames();
    test_header_new();
    test_msg_type_of_empty();
    return check_summary("test_wire");
}
