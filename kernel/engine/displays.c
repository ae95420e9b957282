/* displays.c — what a cell shows with conclab/display.h, and its clears, on their way from the
 * display socket (display_socket.h) to the front end. Each request is taken after everything the
 * cell printed before it, checked (a JSON object of representations), counted against the
 * cell's output limit when it is a new display, passed on, and only then answered, so the thread
 * that made it goes on with its place in the output kept. */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Requests taken in one go before the other descriptors get a look. */
enum { REQUESTS_PER_ROUND = 64 };

static bool is_json_type(const char *type) {
    size_t n = strlen(type);
    return strcmp(type, "application/json") == 0 || (n > 5 && strcmp(type + n - 5, "+json") == 0);
}

/* What is wrong with a bundle, or NULL: every key a MIME type, every value text, except JSON kinds. */
static const char *check_bundle(json_t *bundle) {
    if (!json_is_object(bundle) || json_object_size(bundle) == 0) return "a display needs at least one representation";
    const char *type;
    json_t *value;
    json_object_foreach(bundle, type, value) {
        if (!strchr(type, '/')) return "a representation without a MIME type";
        if (!is_json_type(type) && !json_is_string(value)) return "a representation that is not text";
    }
    return NULL;
}

/* The bundle as JSON; bytes that are not UTF-8 (a cell's text may hold any) become U+FFFD. */
static json_t *parse_bundle(const display_request *req, char *why, size_t why_size) {
    json_error_t error;
    json_t *bundle = json_loadb(req->bundle, req->size, 0, &error);
    if (!bundle) {
        char *valid = malloc(3 * req->size + 1);
        size_t length = 0;
        if (valid) {
            utf8_sanitize((const unsigned char *)req->bundle, req->size, 1, valid, &length);
            bundle = json_loadb(valid, length, 0, &error);
            free(valid);
        }
    }
    if (!bundle) snprintf(why, why_size, "not valid JSON (%s)", error.text);
    return bundle;
}

/* A new display past the output limit stops the cell, as text past it does. An update replaces
 * what is shown rather than adding to it, so it is not counted, but none may be bigger than
 * the whole limit. Both are decided before the bundle is parsed, which costs memory. */
static bool within_limit(engine *eng, const engine_callbacks *cb, const display_request *req, bool counted) {
    size_t size = req->size;
    if (req->kind == DISPLAY_UPDATE) return size <= eng->opts.output_limit;
    if (!counted) return size <= eng->opts.output_limit;
    if (eng->cell_output > eng->opts.output_limit) return false;
    if (eng->cell_output + size <= eng->opts.output_limit) {
        eng->cell_output += size;
        return true;
    }
    eng->cell_output = eng->opts.output_limit + 1;
    engine_cut_off(eng, cb);
    return false;
}

/* The ids of every display shown: an update must name one of them (Jupyter would drop it
 * silently, and the cell would believe it was shown). */
static bool known_id(engine *eng, const char *id) { return json_object_get(eng->display_ids, id) != NULL; }

static void show(engine *eng, const engine_callbacks *cb, display_request *req, bool counted) {
    bool update = req->kind == DISPLAY_UPDATE;
    if (update && !known_id(eng, req->id)) {
        display_request_answer(req, "no display with that id was shown");
        return;
    }
    if (!within_limit(eng, cb, req, counted)) {
        display_request_answer(req, "the cell's output limit was reached");
        return;
    }
    char why[200] = "";
    json_t *bundle = parse_bundle(req, why, sizeof why);
    const char *wrong = bundle ? check_bundle(bundle) : why;
    if (wrong) {
        display_request_answer(req, wrong);
    } else {
        if (!update && req->id[0]) json_object_set_new(eng->display_ids, req->id, json_true());
        if (cb && cb->on_display) cb->on_display(cb->ctx, bundle, NULL, req->id[0] ? req->id : NULL, update);
        display_request_answer(req, NULL);
    }
    json_decref(bundle);
}

static void serve(engine *eng, const engine_callbacks *cb, display_request *req, bool counted) {
    if (req->malformed) {
        display_request_answer(req, req->malformed);
        return;
    }
    engine_drain_streams(eng, cb, counted);  /* what was printed before it goes first */
    if (req->kind == DISPLAY_CLEAR || req->kind == DISPLAY_CLEAR_WAIT) {
        if (cb && cb->on_clear) cb->on_clear(cb->ctx, req->kind == DISPLAY_CLEAR_WAIT);
        display_request_answer(req, NULL);
        return;
    }
    show(eng, cb, req, counted);
}

void engine_serve_while_waiting(engine *eng, const engine_callbacks *cb) { engine_serve_displays(eng, cb, true); }

void engine_serve_displays(engine *eng, const engine_callbacks *cb, bool counted) {
    for (int i = 0; i < REQUESTS_PER_ROUND && eng->displays >= 0; i++) {
        display_request req;
        if (display_request_receive(eng->displays, &req) <= 0) return;
        serve(eng, cb, &req, counted);
        display_request_clear(&req);
    }
}
