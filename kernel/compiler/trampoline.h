/* trampoline.h — a stable address per notebook function. Cells call each other through these,
 * so redefining a function in a later cell rebinds every caller, earlier cells included, as a
 * Python name would. A function declared but never defined lands in a handler that names it. */
#ifndef CONCLAB_TRAMPOLINE_H
#define CONCLAB_TRAMPOLINE_H

/* The trampoline for `name`, made on first use (pointing at the "not defined" handler). */
void *trampoline_for(const char *name);

/* Points the trampoline of `name` at `target`. */
void trampoline_bind(const char *name, void *target);

/* The current target of name's trampoline, or NULL when it has none or is unbound. */
void *trampoline_target(const char *name);

#endif
