/* timeline_svg.c — the timeline picture (timeline_svg.h).
 *
 * Top to bottom: the title; the lanes, grouped by process, each a row of spans coloured by
 * state; the CPU rows when asked; the time axis; the legend; a note on what was measured.
 * Hand-off arrows and marks are drawn over the lanes. The lanes are written to a text of their
 * own first, because the grid lines behind them can only be drawn once their height is known.
 *
 * Spans narrower than half a pixel cannot be seen one by one, and 10 000 of them would make a
 * picture browsers choke on, so runs of them are merged into pieces about a pixel wide. A piece
 * is honest about it: its height is split between the states by the share of time each took
 * (the mix stays visible, not just the state that won), and its hover text counts the intervals
 * and gives the percentages. Neighbouring pieces with the same mix are drawn as one band. */
#include "timeline_svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axis.h"
#include "cpu_chart.h"
#include "svg.h"

#define LABEL_X 12
#define PLOT_LEFT 190
#define RIGHT_MARGIN 28
#define TITLE_HEIGHT 40
#define GROUP_HEADER_HEIGHT 20
#define MORE_LANES_HEIGHT 20
#define AXIS_HEIGHT 44
#define LEGEND_ROW_HEIGHT 20
#define NOTE_LINE_HEIGHT 15
#define LANES_TARGET_HEIGHT 440.0 /* few lanes grow up to the tallest row, many shrink to the smallest */
#define TALLEST_LANE 30.0
#define SMALLEST_LANE 13.0
#define NARROWEST_ALONE_PX 0.5     /* narrower spans are merged with their neighbours */
/* A run of merged spans is drawn once it is this wide: 2 px, 4 px past 16 lanes, which keeps
 * the picture to a few megabytes even when every lane is a fine mix of states. */
#define MERGED_PIECE_PX 2.0
#define MERGED_PIECE_MANY_LANES_PX 4.0
#define MANY_LANES 16
#define MOST_ARROWS 400            /* past this, arrows hide the lanes; the note says how many were left out */
#define SMALLEST_WIDTH 320.0

/* One colour per state from the fixed palette (svg.h); running, the state students look for
 * first, gets the darkest, most saturated one. */
static const struct state_style {
    const char *key;     /* class "state-KEY", legend data-state */
    const char *color;
    const char *legend;
    const char *verb;    /* "lock \"forks[2]\" — waited 12.3 ms" */
} states[TL_STATE_COUNT] = {
    [TL_RUNNING] = {"running", CL_SVG_GREEN, "running", "ran"},
    [TL_LOCK] = {"lock", CL_SVG_RED, "waiting for a lock or semaphore", "waited"},
    [TL_WAIT] = {"wait", CL_SVG_YELLOW, "waiting on a condition, event or queue", "waited"},
    [TL_SLEEP] = {"sleep", CL_SVG_GREY, "sleeping", "slept"},
    [TL_IO] = {"io", CL_SVG_CYAN, "waiting for I/O", "waited"},
    [TL_GIL] = {"gil", CL_SVG_PURPLE, "waiting for the GIL", "waited"},
    [TL_JOIN] = {"join", CL_SVG_BLUE, "blocked on join", "waited"},
};

typedef struct layout {
    const tl_model *m;
    double width;
    cl__scale x;           /* seconds since m->start to pixels */
    cl__axis axis;
    cl__time_unit unit;
    size_t *order;         /* lanes in drawing order: grouped by process */
    size_t shown;          /* how many of them are drawn */
    double *lane_top;      /* by lane index; negative when the lane is not drawn */
    double lane_height;
    double merged_piece_px;
    int used[TL_STATE_COUNT]; /* states some drawn span has: the legend lists these */
    int merged;            /* some spans were merged */
    size_t arrows;         /* hand-offs drawn */
} layout;

static int valid_state(tl_state s) { return (int)s >= 0 && s < TL_STATE_COUNT; }

/* ---------------------------------------------------------------- text helpers */

/* "0.104–0.116 s": a span's times since the start, two digits finer than the axis. */
static void span_times(char *out, size_t size, const layout *L, double start, double end) {
    char a[48], b[48];
    int decimals = L->unit.decimals + 2;
    snprintf(out, size, "%s\xE2\x80\x93%s %s", cl__svg_fixed(a, sizeof a, (start - L->m->start) / L->unit.seconds, decimals),
             cl__svg_fixed(b, sizeof b, (end - L->m->start) / L->unit.seconds, decimals), L->unit.name);
}

static char *lane_label(char *out, size_t size, const tl_lane *lane) {
    const char *name = lane->name ? lane->name : "?";
    char pid[32];
    snprintf(pid, sizeof pid, "%d", lane->pid);
    if (lane->kind == TL_LANE_PROCESS && !strstr(name, pid))
        snprintf(out, size, "%s (pid %d)", name, lane->pid);
    else if (lane->kind == TL_LANE_TASK && strncmp(name, "task", 4) != 0)
        snprintf(out, size, "task %s", name);
    else
        snprintf(out, size, "%s", name);
    return out;
}

static const char *lane_kind_name(tl_lane_kind kind) {
    return kind == TL_LANE_PROCESS ? "process" : kind == TL_LANE_TASK ? "task" : "thread";
}

/* ---------------------------------------------------------------- layout */

static int several_processes(const tl_model *m) {
    for (size_t i = 1; i < m->n_lanes; i++)
        if (m->lanes[i].pid != m->lanes[0].pid) return 1;
    return 0;
}

/* A lane's place in the drawing order: by `group`, then by index. */
typedef struct lane_key {
    long long group;
    size_t index;
} lane_key;

static int by_group_then_index(const void *a, const void *b) {
    const lane_key *x = a, *y = b;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Lanes grouped by process, processes in the order they first appear, lanes in model order.
 * Sorting twice keeps it fast for the 10 000 tasks of an event-loop lab: first by pid, to find
 * where each process first appears, then by that. */
static size_t *lanes_by_process(const tl_model *m) {
    size_t n = m->n_lanes;
    lane_key *keys = malloc((n ? n : 1) * sizeof *keys);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!keys || !order) {
        free(keys);
        free(order);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) keys[i] = (lane_key){m->lanes[i].pid, i};
    qsort(keys, n, sizeof *keys, by_group_then_index);
    for (size_t i = 0, first = 0; i < n; i++) {
        if (i > 0 && keys[i].group != keys[i - 1].group) first = i;
        order[keys[i].index] = keys[first].index; /* where its process first appears */
    }
    for (size_t i = 0; i < n; i++) keys[i] = (lane_key){(long long)order[i], i};
    qsort(keys, n, sizeof *keys, by_group_then_index);
    for (size_t i = 0; i < n; i++) order[i] = keys[i].index;
    free(keys);
    return order;
}

static int layout_init(layout *L, const tl_model *m, const cl__timeline_options *o) {
    memset(L, 0, sizeof *L);
    L->m = m;
    L->width = o && o->width > 0 ? o->width : CL_TIMELINE_DEFAULT_WIDTH;
    if (L->width < SMALLEST_WIDTH) L->width = SMALLEST_WIDTH;
    int max_lanes = o && o->max_lanes > 0 ? o->max_lanes : CL_TIMELINE_DEFAULT_MAX_LANES;
    double duration = m->end > m->start ? m->end - m->start : 0;
    cl__axis_nice(&L->axis, 0, duration > 0 ? duration : 1e-3, 8, 0);
    cl__time_unit_for(&L->unit, L->axis.hi, L->axis.step);
    L->x = (cl__scale){0, L->axis.hi, PLOT_LEFT, L->width - RIGHT_MARGIN};
    L->order = lanes_by_process(m);
    L->lane_top = malloc((m->n_lanes ? m->n_lanes : 1) * sizeof *L->lane_top);
    if (!L->order || !L->lane_top) return -1;
    for (size_t i = 0; i < m->n_lanes; i++) L->lane_top[i] = -1;
    L->shown = m->n_lanes < (size_t)max_lanes ? m->n_lanes : (size_t)max_lanes;
    double h = L->shown ? LANES_TARGET_HEIGHT / (double)L->shown : TALLEST_LANE;
    L->lane_height = h > TALLEST_LANE ? TALLEST_LANE : h < SMALLEST_LANE ? SMALLEST_LANE : h;
    L->merged_piece_px = L->shown > MANY_LANES ? MERGED_PIECE_MANY_LANES_PX : MERGED_PIECE_PX;
    return 0;
}

static void layout_free(layout *L) {
    free(L->order);
    free(L->lane_top);
}

/* The pixel of an absolute time, clipped to the plot. */
static double time_px(const layout *L, double t) {
    double since = t - L->m->start;
    if (since < 0) since = 0;
    if (since > L->axis.hi) since = L->axis.hi;
    return cl__scale_at(&L->x, since);
}

/* ---------------------------------------------------------------- spans */

static void draw_span(cl_text *t, layout *L, const tl_span *s, double start, double end, double y) {
    char times[128], length[48], title[640], class_name[64];
    span_times(times, sizeof times, L, start, end);
    cl__format_duration(length, sizeof length, end - start);
    const struct state_style *st = &states[s->state];
    if (s->what && *s->what)
        snprintf(title, sizeof title, "%s \xE2\x80\x94 %s %s, %s", s->what, st->verb, length, times);
    else
        snprintf(title, sizeof title, "%s \xE2\x80\x94 %s, %s", st->legend, length, times);
    snprintf(class_name, sizeof class_name, "span state-%s", st->key);
    double x0 = time_px(L, start), x1 = time_px(L, end);
    cl__svg_rect(t, class_name, x0, y + 2, x1 - x0, L->lane_height - 4, st->color, title);
    L->used[s->state] = 1;
}

/* A run of spans too narrow to draw one by one. */
typedef struct piece {
    double start, end;
    double time_in[TL_STATE_COUNT];
    size_t count;
    const tl_span *first;
} piece;

static void piece_add(piece *p, const tl_span *s, double start, double end) {
    if (p->count == 0) {
        p->start = start;
        p->first = s;
    }
    p->end = end;
    p->time_in[s->state] += end - start;
    p->count++;
}

static double piece_total(const piece *p) {
    double total = 0;
    for (int s = 0; s < TL_STATE_COUNT; s++) total += p->time_in[s];
    return total;
}

/* Two merged runs look alike when each state's share of the lane's height rounds to the same
 * pixel: then they are drawn as one (a lock passed to and fro 10 000 times is one band). */
static int look_alike(const layout *L, const piece *a, const piece *b) {
    double ta = piece_total(a), tb = piece_total(b), h = L->lane_height - 4;
    for (int s = 0; s < TL_STATE_COUNT; s++)
        if (lround(h * a->time_in[s] / ta) != lround(h * b->time_in[s] / tb)) return 0;
    return 1;
}

/* A merged run, split top to bottom by the share of its time each state took: a mix of running
 * and waiting for a lock shows as both colours, in proportion, not as whichever won. Its parts
 * share one hover text, on the group around them. */
static void draw_merged(cl_text *t, layout *L, const piece *p, double y) {
    double total = piece_total(p);
    if (!(total > 0)) return;
    char times[128], percent[48], class_name[64];
    span_times(times, sizeof times, L, p->start, p->end);
    cl_text title = {0};
    cl__text_addf(&title, "%zu intervals merged, %s:", p->count, times);
    for (int s = 0; s < TL_STATE_COUNT; s++)
        if (p->time_in[s] > 0)
            cl__text_addf(&title, " %s %s%%", states[s].legend,
                          cl__svg_fixed(percent, sizeof percent, 100 * p->time_in[s] / total, 0));
    cl__text_add(t, "<g class=\"merged\">", 18);
    cl__svg_title(t, title.data ? title.data : "merged intervals");
    free(title.data);
    double x0 = time_px(L, p->start), x1 = time_px(L, p->end), top = y + 2, height = L->lane_height - 4;
    for (int s = 0; s < TL_STATE_COUNT; s++) {
        if (!(p->time_in[s] > 0)) continue;
        double h = height * p->time_in[s] / total;
        snprintf(class_name, sizeof class_name, "span state-%s merged", states[s].key);
        cl__svg_rect(t, class_name, x0, top, x1 - x0, h, states[s].color, NULL);
        top += h;
        L->used[s] = 1;
    }
    cl__svg_close(t, "g");
    L->merged = 1;
}

/* The run of look-alike merged pieces waiting to be drawn as one, and the piece being filled. */
typedef struct merging {
    piece band, piece;
} merging;

static void band_flush(cl_text *t, layout *L, merging *g, double y) {
    if (g->band.count) draw_merged(t, L, &g->band, y);
    memset(&g->band, 0, sizeof g->band);
}

/* A piece wide enough to draw: alone when it is one span, else joined to the band if alike. */
static void piece_flush(cl_text *t, layout *L, merging *g, double y) {
    piece *p = &g->piece;
    if (p->count == 1) {
        band_flush(t, L, g, y);
        draw_span(t, L, p->first, p->start, p->end, y);
    } else if (p->count > 1) {
        if (g->band.count && look_alike(L, &g->band, p)) {
            for (int s = 0; s < TL_STATE_COUNT; s++) g->band.time_in[s] += p->time_in[s];
            g->band.count += p->count;
            g->band.end = p->end;
        } else {
            band_flush(t, L, g, y);
            g->band = *p;
        }
    }
    memset(p, 0, sizeof *p);
}

static void draw_spans(cl_text *t, layout *L, const tl_lane *lane, double y) {
    merging g;
    memset(&g, 0, sizeof g);
    for (size_t i = 0; i < lane->n_spans; i++) {
        const tl_span *s = &lane->spans[i];
        double start = s->start > L->m->start ? s->start : L->m->start;
        double end = s->end < L->m->end ? s->end : L->m->end;
        if (!(end > start) || !valid_state(s->state)) continue;
        if (time_px(L, end) - time_px(L, start) >= NARROWEST_ALONE_PX) {
            piece_flush(t, L, &g, y);
            band_flush(t, L, &g, y);
            draw_span(t, L, s, start, end, y);
            continue;
        }
        piece_add(&g.piece, s, start, end);
        if (time_px(L, g.piece.end) - time_px(L, g.piece.start) >= L->merged_piece_px) piece_flush(t, L, &g, y);
    }
    piece_flush(t, L, &g, y);
    band_flush(t, L, &g, y);
}

/* ---------------------------------------------------------------- lanes */

static void draw_lane(cl_text *t, layout *L, const tl_lane *lane, double y) {
    char label[256], pid[32];
    lane_label(label, sizeof label - 4, lane);
    snprintf(pid, sizeof pid, "%d", lane->pid);
    cl__svg_begin(t, "g");
    cl__svg_attr(t, "class", "lane");
    cl__svg_attr(t, "data-lane", lane->name ? lane->name : "?");
    cl__svg_attr(t, "data-kind", lane_kind_name(lane->kind));
    cl__svg_attr(t, "data-pid", pid);
    cl__svg_attr(t, "shape-rendering", "crispEdges"); /* no hairline seams between neighbours */
    cl__svg_end_open(t);
    cl__text_add(t, "\n", 1);
    double size = L->lane_height - 3 < 12 ? L->lane_height - 3 : 12;
    char full[256];
    snprintf(full, sizeof full, "%s", label);
    cl__svg_fit_text(label, PLOT_LEFT - LABEL_X - 8, size);
    cl__svg_begin(t, "text");
    cl__svg_attr(t, "class", "lane-label");
    cl__svg_attr_num(t, "x", LABEL_X);
    cl__svg_attr_num(t, "y", y + L->lane_height / 2 + size * 0.35);
    cl__svg_attr_num(t, "font-size", size);
    if (lane->kind == TL_LANE_TASK) cl__svg_attr(t, "font-style", "italic");
    cl__svg_attr(t, "fill", CL_SVG_INK);
    cl__svg_end_open(t);
    cl__svg_title(t, full);
    cl__svg_escape(t, label);
    cl__svg_close(t, "text");
    /* A faint track across the whole plot, so the eye can follow a row with gaps. */
    cl__svg_line(t, L->x.p0, y + L->lane_height / 2, L->x.p1, y + L->lane_height / 2, "#EEEEEE", 1);
    draw_spans(t, L, lane, y);
    cl__svg_close(t, "g");
}

static void draw_group_header(cl_text *t, const layout *L, int pid, double y) {
    char text[64];
    snprintf(text, sizeof text, "process %d", pid);
    cl__svg_line(t, LABEL_X, y + 4, L->x.p1, y + 4, "#999999", 1);
    cl__svg_label(t, "process-header", LABEL_X, y + 16, "start", 11, "bold", "#555555", text);
}

/* Draws the lanes from y; returns where they end. */
static double draw_lanes(cl_text *t, layout *L, double y) {
    const tl_model *m = L->m;
    int grouped = several_processes(m);
    for (size_t k = 0; k < L->shown; k++) {
        const tl_lane *lane = &m->lanes[L->order[k]];
        if (grouped && (k == 0 || m->lanes[L->order[k - 1]].pid != lane->pid)) {
            draw_group_header(t, L, lane->pid, y);
            y += GROUP_HEADER_HEIGHT;
        }
        L->lane_top[L->order[k]] = y;
        draw_lane(t, L, lane, y);
        y += L->lane_height;
    }
    if (m->n_lanes > L->shown) {
        char text[96];
        snprintf(text, sizeof text, "%zu more lanes not shown", m->n_lanes - L->shown);
        cl__svg_label(t, "more-lanes", LABEL_X, y + 14, "start", 12, "bold", "#555555", text);
        y += MORE_LANES_HEIGHT;
    }
    return y;
}

/* ---------------------------------------------------------------- arrows and marks */

static void add_point(cl_text *t, double x, double y) {
    char a[48], b[48];
    cl__text_addf(t, "%s,%s ", cl__svg_fixed(a, sizeof a, x, 2), cl__svg_fixed(b, sizeof b, y, 2));
}

static void draw_arrow(cl_text *t, double x1, double y1, double x2, double y2, const char *title) {
    double dx = x2 - x1, dy = y2 - y1, length = sqrt(dx * dx + dy * dy);
    if (length < 1) return;
    dx /= length;
    dy /= length;
    cl__svg_begin(t, "g");
    cl__svg_attr(t, "class", "flow");
    cl__svg_attr(t, "opacity", "0.7");
    cl__svg_end_open(t);
    cl__svg_title(t, title);
    cl__svg_line(t, x1, y1, x2 - dx * 5, y2 - dy * 5, CL_SVG_INK, 1);
    cl__svg_begin(t, "polygon");
    cl__text_add(t, " points=\"", 9);
    add_point(t, x2, y2);
    add_point(t, x2 - dx * 7 - dy * 3.5, y2 - dy * 7 + dx * 3.5);
    add_point(t, x2 - dx * 7 + dy * 3.5, y2 - dy * 7 - dx * 3.5);
    cl__text_add(t, "\"", 1);
    cl__svg_attr(t, "fill", CL_SVG_INK);
    cl__svg_end_empty(t);
    cl__svg_close(t, "g");
}

static void draw_flows(cl_text *t, layout *L) {
    const tl_model *m = L->m;
    for (size_t i = 0; i < m->n_flows && L->arrows < MOST_ARROWS; i++) {
        const tl_flow *f = &m->flows[i];
        if (f->from_lane >= m->n_lanes || f->to_lane >= m->n_lanes) continue;
        if (L->lane_top[f->from_lane] < 0 || L->lane_top[f->to_lane] < 0) continue;
        char from[48], to[48], later[48], title[512];
        const char *giver = m->lanes[f->from_lane].name, *taker = m->lanes[f->to_lane].name;
        snprintf(title, sizeof title, "hand-off: %s released at %s s, %s acquired %s later (at %s s)",
                 giver ? giver : "?", cl__svg_fixed(from, sizeof from, f->from_time - m->start, 6), taker ? taker : "?",
                 cl__format_duration(later, sizeof later, f->to_time - f->from_time),
                 cl__svg_fixed(to, sizeof to, f->to_time - m->start, 6));
        double half = L->lane_height / 2;
        draw_arrow(t, time_px(L, f->from_time), L->lane_top[f->from_lane] + half, time_px(L, f->to_time),
                   L->lane_top[f->to_lane] + half, title);
        L->arrows++;
    }
}

static void draw_instants(cl_text *t, const layout *L) {
    const tl_model *m = L->m;
    double *label_end = calloc(m->n_lanes ? m->n_lanes : 1, sizeof *label_end); /* labels must not overlap */
    for (size_t i = 0; i < m->n_instants; i++) {
        const tl_instant *mark = &m->instants[i];
        if (mark->lane >= m->n_lanes || L->lane_top[mark->lane] < 0) continue;
        if (mark->time < m->start || mark->time > m->end) continue;
        double x = time_px(L, mark->time), y = L->lane_top[mark->lane];
        char at[48], title[512];
        snprintf(title, sizeof title, "mark \"%s\" at %s s", mark->name ? mark->name : "",
                 cl__svg_fixed(at, sizeof at, mark->time - m->start, 6));
        cl__svg_begin(t, "g");
        cl__svg_attr(t, "class", "instant");
        cl__svg_end_open(t);
        cl__svg_title(t, title);
        cl__svg_line(t, x, y, x, y + L->lane_height, CL_SVG_INK, 2);
        const char *name = mark->name ? mark->name : "";
        double w = cl__svg_text_width(name, 9);
        if (label_end && *name && L->lane_height >= 14 && x + 3 >= label_end[mark->lane] && x + 3 + w < L->width) {
            cl__svg_begin(t, "text");
            cl__svg_attr(t, "class", "instant-label");
            cl__svg_attr_num(t, "x", x + 3);
            cl__svg_attr_num(t, "y", y + 10);
            cl__svg_attr_num(t, "font-size", 9);
            cl__svg_attr(t, "font-weight", "bold");
            cl__svg_attr(t, "fill", CL_SVG_INK);
            /* a white halo: the label reads over any state's colour */
            cl__svg_attr(t, "stroke", "#FFFFFF");
            cl__svg_attr(t, "stroke-width", "2.5");
            cl__svg_attr(t, "paint-order", "stroke");
            cl__svg_end_open(t);
            cl__svg_escape(t, name);
            cl__svg_close(t, "text");
            label_end[mark->lane] = x + 3 + w + 4;
        }
        cl__svg_close(t, "g");
    }
    free(label_end);
}

/* ---------------------------------------------------------------- legend and note */

/* Returns where the legend ends. */
static double draw_legend(cl_text *t, const layout *L, double y) {
    double x = PLOT_LEFT;
    int any = 0;
    for (int s = 0; s < TL_STATE_COUNT; s++) {
        if (!L->used[s]) continue;
        double w = 18 + cl__svg_text_width(states[s].legend, 11) + 18;
        if (any && x + w > L->width - RIGHT_MARGIN) {
            x = PLOT_LEFT;
            y += LEGEND_ROW_HEIGHT;
        }
        any = 1;
        cl__svg_begin(t, "g");
        cl__svg_attr(t, "class", "legend-entry");
        cl__svg_attr(t, "data-state", states[s].key);
        cl__svg_end_open(t);
        cl__svg_rect(t, NULL, x, y + 2, 12, 12, states[s].color, NULL);
        cl__svg_label(t, NULL, x + 17, y + 12, "start", 11, NULL, CL_SVG_INK, states[s].legend);
        cl__svg_close(t, "g");
        x += w;
    }
    return any ? y + LEGEND_ROW_HEIGHT : y;
}

static void note_line(cl_text *t, double y, const char *text, const char *color) {
    cl__svg_label(t, "note", LABEL_X, y, "start", 11, NULL, color, text);
}

/* "8 lanes (7 threads, 1 task)": only the kinds there are. */
static void describe_lanes(cl_text *t, const tl_model *m) {
    static const char *const singular[] = {"thread", "process", "task"}, *const plural[] = {"threads", "processes", "tasks"};
    size_t kinds[3] = {0, 0, 0};
    for (size_t i = 0; i < m->n_lanes; i++) kinds[m->lanes[i].kind <= TL_LANE_TASK ? m->lanes[i].kind : 0]++;
    cl__text_addf(t, "%zu lane%s", m->n_lanes, m->n_lanes == 1 ? "" : "s");
    const char *separator = " (";
    for (int k = 0; k < 3; k++) {
        if (!kinds[k]) continue;
        cl__text_addf(t, "%s%zu %s", separator, kinds[k], kinds[k] == 1 ? singular[k] : plural[k]);
        separator = ", ";
    }
    if (*separator == ',') cl__text_add(t, ")", 1);
}

/* What was measured, in words: returns where the note ends. */
static double draw_note(cl_text *t, const layout *L, double y) {
    const tl_model *m = L->m;
    char length[48], line[512];
    cl_text first = {0};
    cl__format_duration(length, sizeof length, m->end > m->start ? m->end - m->start : 0);
    cl__text_addf(&first, "Traced %s: ", length);
    describe_lanes(&first, m);
    cl__text_addf(&first, "; %zu hand-off%s drawn.", L->arrows, L->arrows == 1 ? "" : "s");
    note_line(t, y += NOTE_LINE_HEIGHT, first.data ? first.data : "", "#555555");
    free(first.data);
    if (m->n_flows > L->arrows) {
        snprintf(line, sizeof line, "%zu more hand-offs not drawn (on hidden lanes, or past %d arrows).",
                 m->n_flows - L->arrows, MOST_ARROWS);
        note_line(t, y += NOTE_LINE_HEIGHT, line, "#555555");
    }
    if (L->merged)
        note_line(t, y += NOTE_LINE_HEIGHT,
                  "Intervals under half a pixel are merged: a merged run is split top to bottom by each state's "
                  "share of its time (hover for the numbers).", "#555555");
    if (m->dropped > 0) {
        snprintf(line, sizeof line, "%llu events dropped (a trace buffer was full): some waits are missing.",
                 m->dropped);
        note_line(t, y += NOTE_LINE_HEIGHT, line, "#B00020");
    }
    return y + 8;
}

/* ---------------------------------------------------------------- the picture */

static char *assemble(layout *L, const cl__timeline_options *o) {
    const tl_model *m = L->m;
    cl_text lanes = {0}, below = {0};
    double y = TITLE_HEIGHT;
    if (m->n_lanes == 0)
        cl__svg_label(&lanes, "empty", PLOT_LEFT, y + 20, "start", 12, NULL, "#555555", "Nothing was traced.");
    double lanes_end = m->n_lanes ? draw_lanes(&lanes, L, y) : y + 30;
    draw_flows(&lanes, L);
    draw_instants(&lanes, L);
    y = lanes_end;
    if (o && o->show_cpu && m->cpu && m->cpu->n_samples > 1)
        y += 8 + cl__cpu_rows_draw(&lanes, m->cpu, &L->x, m->start, LABEL_X, y + 8);
    double axis_y = y + 4;
    cl__axis_draw_time(&below, &L->axis, &L->unit, &L->x, TITLE_HEIGHT, axis_y);
    y = draw_legend(&lanes, L, axis_y + AXIS_HEIGHT);
    y = draw_note(&lanes, L, y);

    const char *title = o && o->title ? o->title : m->title ? m->title : "Timeline";
    return cl__svg_picture(L->width, y, "conclab-timeline", LABEL_X, title, &below, &lanes);
}

char *cl__timeline_svg(const tl_model *m, const cl__timeline_options *o) {
    if (!m) return NULL;
    layout L;
    char *svg = layout_init(&L, m, o) == 0 ? assemble(&L, o) : NULL;
    layout_free(&L);
    return svg;
}
