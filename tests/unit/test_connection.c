/* test_connection.c — connection files as Jupyter writes them, and the ways they can be broken. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "connection.h"

static char path[64];

static void write_file(const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Loads text as a connection file; returns the error message (malloc'd) or NULL on success. */
static char *load(const char *text, connection_info *ci) {
    write_file(text);
    char *err = NULL;
    int rc = connection_load(path, ci, &err);
    CHECK((rc == 0) == (err == NULL));
    return err;
}

/* What jupyter_client.connect.write_connection_file produces. */
static const char *GOOD =
    "{\n"
    "  \"shell_port\": 50001,\n  \"iopub_port\": 50002,\n  \"stdin_port\": 50003,\n"
    "  \"control_port\": 50004,\n  \"hb_port\": 50005,\n  \"ip\": \"127.0.0.1\",\n"
    "  \"key\": \"a0436f6c-1916-498b-8eb9-e81ab9368e84\",\n  \"transport\": \"tcp\",\n"
    "  \"signature_scheme\": \"hmac-sha256\",\n  \"kernel_name\": \"conclab\"\n"
    "}\n";

static void test_good_file(void) {
    connection_info ci;
    char *err = load(GOOD, &ci);
    CHECK(err == NULL);
    CHECK_STR(ci.transport, "tcp");
    CHECK_STR(ci.ip, "127.0.0.1");
    CHECK_STR(ci.key, "a0436f6c-1916-498b-8eb9-e81ab9368e84");
    CHECK_STR(ci.signature_scheme, "hmac-sha256");
    CHECK(ci.shell_port == 50001 && ci.iopub_port == 50002 && ci.stdin_port == 50003);
    CHECK(ci.control_port == 50004 && ci.hb_port == 50005);

    char ep[64];
    connection_endpoint(&ci, ci.shell_port, ep, sizeof ep);
    CHECK_STR(ep, "tcp://127.0.0.1:50001");
    free(err);
}

static void test_endpoints(void) {
    connection_info ci = {.transport = "ipc", .ip = "/tmp/kernel-1"};
    char ep[64];
    connection_endpoint(&ci, 3, ep, sizeof ep);
    CHECK_STR(ep, "ipc:///tmp/kernel-1-3");
    connection_info v6 = {.transport = "tcp", .ip = "::1"};
    connection_endpoint(&v6, 9000, ep, sizeof ep);
    CHECK_STR(ep, "tcp://[::1]:9000");
    connection_info any = {.transport = "tcp", .ip = "0.0.0.0"};
    char small[12];
    connection_endpoint(&any, 65535, small, sizeof small);
    CHECK_STR(small, "tcp://0.0.0");  /* truncated, still terminated */
}

static void test_unsigned_allowed(void) {
    connection_info ci;
    char *err = load("{\"shell_port\":1,\"iopub_port\":2,\"stdin_port\":3,\"control_port\":4,\"hb_port\":5,"
                     "\"ip\":\"127.0.0.1\",\"key\":\"\",\"transport\":\"tcp\",\"signature_scheme\":\"hmac-sha256\"}",
                     &ci);
    CHECK(err == NULL);
    CHECK_STR(ci.key, "");
    free(err);
    err = load("{\"shell_port\":1,\"iopub_port\":2,\"stdin_port\":3,\"control_port\":4,\"hb_port\":5,"
               "\"ip\":\"127.0.0.1\",\"key\":\"\",\"transport\":\"tcp\",\"signature_scheme\":\"\"}",
               &ci);
    CHECK(err == NULL);
    free(err);
}

static void test_missing_file(void) {
    connection_info ci;
    char *err = NULL;
    CHECK(connection_load("/nonexistent/dir/kernel-x.json", &ci, &err) == -1);
    CHECK(err && strstr(err, "/nonexistent/dir/kernel-x.json") && strstr(err, "No such file"));
    free(err);
}

static void test_bad_json(void) {
    connection_info ci;
    char *err = load("{\n  \"shell_port\": 50001,\n  \"ip\": \n}\n", &ci);
    CHECK(err && strstr(err, "invalid JSON") && strstr(err, "line 4"));
    free(err);
    err = load("", &ci);
    CHECK(err && strstr(err, "invalid JSON"));
    free(err);
    err = load("[1, 2, 3]", &ci);
    CHECK(err && strstr(err, "JSON object"));
    free(err);
}

/* Removes one field from GOOD and checks the error names it. */
static void test_each_field_required(void) {
    const char *fields[] = {"shell_port", "iopub_port", "stdin_port", "control_port", "hb_port",
                            "\"ip\"", "\"key\"", "transport", "signature_scheme"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char text[1024];
        strcpy(text, GOOD);
        char *at = strstr(text, fields[i]);
        char *line_start = at;
        while (line_start > text && line_start[-1] != '\n') line_start--;
        char *line_end = strchr(at, '\n') + 1;
        memmove(line_start, line_end, strlen(line_end) + 1);
        connection_info ci;
        char *err = load(text, &ci);
        char want[64];
        snprintf(want, sizeof want, "missing field %s%s%s", fields[i][0] == '"' ? "" : "\"", fields[i],
                 fields[i][0] == '"' ? "" : "\"");
        CHECK(err && strstr(err, want));
        if (!err || !strstr(err, want)) fprintf(stderr, "  field %s: %s\n", fields[i], err ? err : "(none)");
        free(err);
    }
}

static void replace(char *text, const char *from, const char *to) {
    char *at = strstr(text, from);
    size_t from_len = strlen(from), to_len = strlen(to);
    memmove(at + to_len, at + from_len, strlen(at + from_len) + 1);
    memcpy(at, to, to_len);
}

static char *load_edited(const char *from, const char *to) {
    char text[2048];
    strcpy(text, GOOD);
    replace(text, from, to);
    connection_info ci;
    return load(text, &ci);
}

static void expect_error(const char *from, const char *to, const char *needle) {
    char *err = load_edited(from, to);
    CHECK(err && strstr(err, needle));
    if (!err || !strstr(err, needle))
        fprintf(stderr, "  %s -> %s: got %s, want %s\n", from, to, err ? err : "(none)", needle);
    free(err);
}

static void test_wrong_types_and_values(void) {
    expect_error("50001", "\"50001\"", "\"shell_port\" must be an integer");
    expect_error("50005", "5.5", "\"hb_port\" must be an integer");
    expect_error("50002", "0", "\"iopub_port\" is 0");
    expect_error("50003", "70000", "\"stdin_port\" is 70000");
    expect_error("\"127.0.0.1\"", "127", "\"ip\" must be a string");
    expect_error("\"127.0.0.1\"", "\"\"", "\"ip\" is empty");
    expect_error("\"a0436f6c-1916-498b-8eb9-e81ab9368e84\"", "null", "\"key\" must be a string");
    expect_error("\"tcp\"", "\"udp\"", "unsupported transport \"udp\"");
    expect_error("\"tcp\"", "\"tcp-with-a-very-long-name\"", "\"transport\" is too long");

    char long_key[700] = "\"";
    memset(long_key + 1, 'k', 600);
    strcpy(long_key + 601, "\"");
    expect_error("\"a0436f6c-1916-498b-8eb9-e81ab9368e84\"", long_key, "\"key\" is too long");
}

static void test_bad_scheme(void) {
    expect_error("hmac-sha256", "hmac-md5", "unsupported signature_scheme \"hmac-md5\"");
    expect_error("hmac-sha256", "", "unsupported signature_scheme \"\"");  /* a key, but no scheme */
    expect_error("hmac-sha256", "HMAC-SHA256", "unsupported signature_scheme");
}

int main(void) {
    strcpy(path, "/tmp/conclab-conn-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return perror("mkstemp"), 2;
    close(fd);
    test_good_file();
    test_endpoints();
    test_unsigned_allowed();
    test_missing_file();
    test_bad_json();
    test_each_field_required();
    test_wrong_types_and_values();
    test_bad_scheme();
    unlink(path);
    return check_summary("test_connection");
}
