/* connection.c — reads the JSON connection file Jupyter writes before starting a kernel.
 *
 * Every field is required and checked for its type, so a broken file fails at start with a
 * message naming the field, rather than as a silent bind to the wrong place or unsigned traffic. */
#define _GNU_SOURCE
#include "connection.h"
#include "error_text.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copies a required string field into a fixed buffer; too long is an error, never a truncation
 * (a truncated key would make every signature wrong with no hint why). */
static int read_string(json_t *root, const char *path, const char *name, char *buf, size_t size,
                       char **err) {
    json_t *v = json_object_get(root, name);
    if (!v) return fail(err, "%s: missing field \"%s\"", path, name);
    if (!json_is_string(v)) return fail(err, "%s: field \"%s\" must be a string", path, name);
    size_t len = json_string_length(v);
    if (len >= size)
        return fail(err, "%s: field \"%s\" is too long (%zu bytes, at most %zu)", path, name, len,
                    size - 1);
    memcpy(buf, json_string_value(v), len + 1);
    return 0;
}

static int read_port(json_t *root, const char *path, const char *name, int *port, char **err) {
    json_t *v = json_object_get(root, name);
    if (!v) return fail(err, "%s: missing field \"%s\"", path, name);
    if (!json_is_integer(v)) return fail(err, "%s: field \"%s\" must be an integer", path, name);
    json_int_t p = json_integer_value(v);
    if (p < 1 || p > 65535)
        return fail(err, "%s: field \"%s\" is %lld, not a port in 1..65535", path, name, (long long)p);
    *port = (int)p;
    return 0;
}

static int read_fields(json_t *root, const char *path, connection_info *ci, char **err) {
    if (read_string(root, path, "transport", ci->transport, sizeof ci->transport, err) ||
        read_string(root, path, "ip", ci->ip, sizeof ci->ip, err) ||
        read_string(root, path, "key", ci->key, sizeof ci->key, err) ||
        read_string(root, path, "signature_scheme", ci->signature_scheme, sizeof ci->signature_scheme, err) ||
        read_port(root, path, "shell_port", &ci->shell_port, err) ||
        read_port(root, path, "iopub_port", &ci->iopub_port, err) ||
        read_port(root, path, "stdin_port", &ci->stdin_port, err) ||
        read_port(root, path, "control_port", &ci->control_port, err) ||
        read_port(root, path, "hb_port", &ci->hb_port, err))
        return -1;
    if (strcmp(ci->transport, "tcp") != 0 && strcmp(ci->transport, "ipc") != 0)
        return fail(err, "%s: unsupported transport \"%s\" (expected \"tcp\" or \"ipc\")", path,
                    ci->transport);
    if (ci->ip[0] == '\0') return fail(err, "%s: field \"ip\" is empty", path);
    /* With no key nothing is signed, so the scheme does not matter if it is left empty. */
    int unsigned_ok = ci->key[0] == '\0' && ci->signature_scheme[0] == '\0';
    if (strcmp(ci->signature_scheme, "hmac-sha256") != 0 && !unsigned_ok)
        return fail(err, "%s: unsupported signature_scheme \"%s\" (only \"hmac-sha256\")", path,
                    ci->signature_scheme);
    return 0;
}

int connection_load(const char *path, connection_info *out, char **err) {
    if (err) *err = NULL;
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return fail(err, "cannot open connection file %s: %s", path, strerror(errno));
    json_error_t jerr;
    json_t *root = json_loadf(f, 0, &jerr);
    fclose(f);
    if (!root)
        return fail(err, "%s: invalid JSON at line %d, column %d: %s", path, jerr.line, jerr.column,
                    jerr.text);
    int rc = json_is_object(root) ? read_fields(root, path, out, err)
                                  : fail(err, "%s: expected a JSON object", path);
    json_decref(root);
    if (rc != 0) memset(out, 0, sizeof *out);
    return rc;
}

void connection_endpoint(const connection_info *ci, int port, char *buf, int size) {
    if (size <= 0) return;
    if (strcmp(ci->transport, "ipc") == 0)
        snprintf(buf, (size_t)size, "ipc://%s-%d", ci->ip, port);
    else if (strchr(ci->ip, ':') && ci->ip[0] != '[')  /* a bare IPv6 address needs brackets */
        snprintf(buf, (size_t)size, "tcp://[%s]:%d", ci->ip, port);
    else
        snprintf(buf, (size_t)size, "tcp://%s:%d", ci->ip, port);
}
