/* conclab/check.h — check cells: a lab's claim asserted against the run that measured it.
 *
 *     cl_check(with_gil >= 0.85 * sequential, "GIL on: %.2f s, sequential %.2f s", with_gil, sequential);
 *
 * prints "✓ GIL on: 1.01 s, sequential 0.99 s" when the claim holds. When it does not, it prints
 * the same line with ✗ and the cell fails with a CheckFailed error saying it, so Run All stops
 * there and a grader sees it; outside a notebook the program exits with status 1. A cell that
 * runs in place (threads of earlier cells still running) cannot end without the notebook: it
 * goes on, cl_check returns 0, and the cell fails at its end with the first failed claim.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_CHECK_H
#define CONCLAB_CHECK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Prints ✓ and the text when ok is non-zero and returns 1; else prints ✗ and the text and fails the cell (outside a notebook: exit status 1; returns 0 only in a cell that runs in place). */
int cl_check(int ok, const char *format, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
