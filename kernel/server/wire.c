/* wire.c — the Jupyter wire format: frames <-> messages, HMAC-SHA256 signing and verification.
 *
 * Decoding sees bytes straight off the network, from anyone who can reach the port, so every
 * step assumes the worst: the signature is checked before any JSON is parsed, every part must be
 * an object, and every failure path leaves *out empty with nothing allocated. */
#define _GNU_SOURCE
#include "wire.h"
#include "error_text.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define DELIMITER "<IDS|MSG>"
#define DELIMITER_LEN (sizeof DELIMITER - 1)
#define SIGNATURE_HEX_LEN 64
#define PROTOCOL_VERSION "5.3"

/* After the delimiter: signature, then these four JSON parts, then optional buffers. */
enum { PART_HEADER, PART_PARENT, PART_METADATA, PART_CONTENT, N_PARTS };
static const char *const part_names[N_PARTS] = {"header", "parent_header", "metadata", "content"};

static wire_status fail(char **err, wire_status status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static wire_status fail(char **err, wire_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, fmt, ap);
    va_end(ap);
    return status;
}

/* ---- frames ----------------------------------------------------------------------------- */

/* Empty frames still get a one-byte allocation, so data is never NULL in frames we own. */
static int frame_copy(wire_frame *dst, const void *data, size_t size) {
    dst->data = malloc(size ? size : 1);
    if (!dst->data) return -1;
    if (size) memcpy(dst->data, data, size);
    dst->size = size;
    return 0;
}

static int frames_copy(const wire_frame *src, size_t n, wire_frame **dst) {
    *dst = NULL;
    if (n == 0) return 0;
    wire_frame *copy = calloc(n, sizeof *copy);
    if (!copy) return -1;
    for (size_t i = 0; i < n; i++) {
        if (frame_copy(&copy[i], src[i].data, src[i].size) != 0) {
            wire_frames_free(copy, i);
            return -1;
        }
    }
    *dst = copy;
    return 0;
}

void wire_frames_free(wire_frame *frames, size_t n) {
    if (!frames) return;
    for (size_t i = 0; i < n; i++) free(frames[i].data);
    free(frames);
}

/* ---- signing ---------------------------------------------------------------------------- */

void wire_sign(const unsigned char *key, size_t key_len, const wire_frame *parts, size_t n,
               char out[65]) {
    /* HMAC pads a short key with zero bytes, so the empty key and a single zero byte are the same
     * key; OpenSSL refuses a zero-length one, hence the stand-in. */
    static const unsigned char zero_key[1] = {0};
    if (key_len == 0) key = zero_key, key_len = 1;

    out[0] = '\0';  /* stays empty on failure, which no verification accepts */
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    unsigned char digest[32];
    size_t digest_len = 0;
    int ok = ctx && EVP_MAC_init(ctx, key, key_len, params);
    for (size_t i = 0; ok && i < n; i++)
        if (parts[i].size) ok = EVP_MAC_update(ctx, parts[i].data, parts[i].size);
    ok = ok && EVP_MAC_final(ctx, digest, &digest_len, sizeof digest) && digest_len == sizeof digest;
    if (ok) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof digest; i++) {
            out[2 * i] = hex[digest[i] >> 4];
            out[2 * i + 1] = hex[digest[i] & 15];
        }
        out[SIGNATURE_HEX_LEN] = '\0';
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

static wire_status check_signature(const wire_frame *signature, const wire_frame *parts,
                                   const unsigned char *key, size_t key_len, char **err) {
    if (signature->size == 0) return fail(err, WIRE_BAD_SIGNATURE, "missing signature");
    if (signature->size != SIGNATURE_HEX_LEN) return fail(err, WIRE_BAD_SIGNATURE, "bad signature");
    char expected[65];
    wire_sign(key, key_len, parts, N_PARTS, expected);
    if (expected[0] == '\0') return fail(err, WIRE_BAD_SIGNATURE, "cannot compute the signature");
    /* Constant time: how many leading bytes matched must not leak through timing. */
    if (CRYPTO_memcmp(expected, signature->data, SIGNATURE_HEX_LEN) != 0)
        return fail(err, WIRE_BAD_SIGNATURE, "bad signature");
    return WIRE_OK;
}

/* ---- decoding --------------------------------------------------------------------------- */

static int is_delimiter(const wire_frame *f) {
    return f->size == DELIMITER_LEN && memcmp(f->data, DELIMITER, DELIMITER_LEN) == 0;
}

static json_t *parse_part(const wire_frame *f, int which, char **err) {
    if (f->size == 0) {
        fail(err, WIRE_MALFORMED, "%s: empty frame", part_names[which]);
        return NULL;
    }
    /* "\u0000" inside a string is valid JSON (a cell may print one), so allow it; a raw NUL byte
     * in the frame still fails to parse. */
    json_error_t jerr;
    json_t *value = json_loadb((const char *)f->data, f->size, JSON_ALLOW_NUL, &jerr);
    if (!value) {
        fail(err, WIRE_MALFORMED, "%s: invalid JSON at column %d: %s", part_names[which],
             jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(value)) {
        json_decref(value);
        fail(err, WIRE_MALFORMED, "%s: not a JSON object", part_names[which]);
        return NULL;
    }
    return value;
}

static void parts_free(json_t *json[N_PARTS]) {
    for (int i = 0; i < N_PARTS; i++) json_decref(json[i]);
}

static wire_status parse_parts(const wire_frame *parts, json_t *json[N_PARTS], char **err) {
    for (int i = 0; i < N_PARTS; i++) json[i] = NULL;
    for (int i = 0; i < N_PARTS; i++) {
        json[i] = parse_part(&parts[i], i, err);
        if (!json[i]) {
            parts_free(json);
            return WIRE_MALFORMED;
        }
    }
    /* Without a msg_type nothing can be dispatched or replied to. */
    if (!json_is_string(json_object_get(json[PART_HEADER], "msg_type"))) {
        parts_free(json);
        return fail(err, WIRE_MALFORMED, "header: msg_type missing or not a string");
    }
    return WIRE_OK;
}

wire_status wire_decode(const wire_frame *frames, size_t n, const unsigned char *key, size_t key_len,
                        wire_msg *out, char **err) {
    memset(out, 0, sizeof *out);
    if (err) *err = NULL;

    size_t delim = 0;
    while (delim < n && !is_delimiter(&frames[delim])) delim++;
    if (delim == n) return fail(err, WIRE_MALFORMED, "no <IDS|MSG> delimiter");
    size_t after = n - delim - 1;
    if (after < 1 + N_PARTS)
        return fail(err, WIRE_MALFORMED, "truncated: %zu frames after the delimiter, %d needed", after,
                    1 + N_PARTS);

    const wire_frame *signature = &frames[delim + 1];
    const wire_frame *parts = &frames[delim + 2];
    if (key_len > 0) {
        wire_status st = check_signature(signature, parts, key, key_len, err);
        if (st != WIRE_OK) return st;
    }

    json_t *json[N_PARTS];
    wire_status st = parse_parts(parts, json, err);
    if (st != WIRE_OK) return st;

    size_t first_buffer = delim + 2 + N_PARTS;
    wire_msg msg = {
        .header = json[PART_HEADER],
        .parent_header = json[PART_PARENT],
        .metadata = json[PART_METADATA],
        .content = json[PART_CONTENT],
        .n_identities = delim,
        .n_buffers = n - first_buffer,
    };
    if (frames_copy(frames, msg.n_identities, &msg.identities) != 0 ||
        frames_copy(&frames[first_buffer], msg.n_buffers, &msg.buffers) != 0) {
        wire_msg_clear(&msg);
        return fail(err, WIRE_MALFORMED, "out of memory");
    }
    *out = msg;
    return WIRE_OK;
}

/* ---- encoding --------------------------------------------------------------------------- */

static int dump_part(wire_frame *dst, const json_t *value) {
    if (!value) return frame_copy(dst, "{}", 2);
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return -1;
    dst->data = (unsigned char *)text;
    dst->size = strlen(text);
    return 0;
}

long wire_encode(const wire_msg *msg, const unsigned char *key, size_t key_len, wire_frame **frames) {
    *frames = NULL;
    const json_t *json[N_PARTS] = {msg->header, msg->parent_header, msg->metadata, msg->content};
    size_t n = msg->n_identities + 2 + N_PARTS + msg->n_buffers;
    wire_frame *out = calloc(n, sizeof *out);
    if (!out) return -1;

    size_t k = 0;
    int ok = 1;
    for (size_t i = 0; ok && i < msg->n_identities; i++, k++)
        ok = frame_copy(&out[k], msg->identities[i].data, msg->identities[i].size) == 0;
    ok = ok && frame_copy(&out[k++], DELIMITER, DELIMITER_LEN) == 0;
    wire_frame *signature = &out[k++];
    wire_frame *parts = &out[k];
    for (int i = 0; ok && i < N_PARTS; i++, k++) ok = dump_part(&out[k], json[i]) == 0;
    for (size_t i = 0; ok && i < msg->n_buffers; i++, k++)
        ok = frame_copy(&out[k], msg->buffers[i].data, msg->buffers[i].size) == 0;

    if (ok) {
        char hex[65] = "";
        if (key_len > 0) {
            wire_sign(key, key_len, parts, N_PARTS, hex);
            ok = hex[0] != '\0';
        }
        ok = ok && frame_copy(signature, hex, strlen(hex)) == 0;
    }
    if (!ok) {
        wire_frames_free(out, n);  /* calloc'd, so frames never filled are NULL and free is fine */
        return -1;
    }
    *frames = out;
    return (long)n;
}

/* ---- headers ---------------------------------------------------------------------------- */

static int random_fill(unsigned char *buf, size_t n) {
    if (RAND_bytes(buf, (int)n) == 1) return 0;
    return getrandom(buf, n, 0) == (ssize_t)n ? 0 : -1;
}

/* A random (version 4) UUID in its canonical text form. */
static int uuid4(char out[37]) {
    unsigned char b[16];
    if (random_fill(b, sizeof b) != 0) return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);  /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

/* ISO 8601 in UTC with microseconds, e.g. 2024-05-01T12:00:00.123456Z. */
static void iso8601_now(char out[32]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, 32 - k, ".%06ldZ", (long)(ts.tv_nsec / 1000));
}

/* The login name, unless it is unset or not valid UTF-8 (JSON strings must be). */
static json_t *username(void) {
    const char *user = getenv("USER");
    json_t *name = user && *user ? json_string(user) : NULL;
    return name ? name : json_string("conclab");
}

json_t *wire_header_new(const char *msg_type, const char *session) {
    char msg_id[37], date[32];
    if (uuid4(msg_id) != 0) return NULL;
    iso8601_now(date);
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "msg_id", msg_id, "session",
                     session ? session : "", "username", username(), "date", date, "msg_type",
                     msg_type ? msg_type : "", "version", PROTOCOL_VERSION);
}

/* ---- messages --------------------------------------------------------------------------- */

void wire_msg_clear(wire_msg *msg) {
    if (!msg) return;
    wire_frames_free(msg->identities, msg->n_identities);
    wire_frames_free(msg->buffers, msg->n_buffers);
    json_decref(msg->header);
    json_decref(msg->parent_header);
    json_decref(msg->metadata);
    json_decref(msg->content);
    memset(msg, 0, sizeof *msg);
}

const char *wire_msg_type(const wire_msg *msg) {
    const char *type = msg ? json_string_value(json_object_get(msg->header, "msg_type")) : NULL;
    return type ? type : "";
}
