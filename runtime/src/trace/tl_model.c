/* tl_model.c — freeing a timeline model (charts/timeline_model.h), whoever built it. */
#include "timeline_model.h"

#include <stdlib.h>

void tl_lane_free(tl_lane *l) {
    for (size_t j = 0; j < l->n_spans; j++) free(l->spans[j].what);
    free(l->spans);
    free(l->name);
}

void tl_model_free(tl_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_lanes; i++) tl_lane_free(&m->lanes[i]);
    free(m->lanes);
    free(m->flows);
    for (size_t i = 0; i < m->n_instants; i++) free(m->instants[i].name);
    free(m->instants);
    if (m->cpu) {
        free(m->cpu->times);
        free(m->cpu->per_core);
        free(m->cpu->process);
        free(m->cpu);
    }
    free(m->title);
    free(m);
}
