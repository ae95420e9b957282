/* runtime_paths.h — where the runtime's header, conclab.h, lives: installed beside the binary
 * (bin/../include), or in the source tree when running from a build directory.
 * CONCLAB_RUNTIME_INCLUDE overrides. The JIT compiles against it; completion and inspection read
 * its documentation. */
#ifndef CONCLAB_RUNTIME_PATHS_H
#define CONCLAB_RUNTIME_PATHS_H

/* The directory holding conclab.h (a static buffer, found once). */
const char *runtime_include_dir(void);

#endif
