/* display_bridge.h — what a cell shows (conclab/display.h) and cl_clear_output reach the
 * notebook: the runtime's display and clear hooks (conclab_host.h) send requests on the display
 * socket (display_socket.h), from the cell, its threads and the processes it forks alike. */
#ifndef CONCLAB_DISPLAY_BRIDGE_H
#define CONCLAB_DISPLAY_BRIDGE_H

/* Takes the display socket the executor was started with (DISPLAY_SOCKET_FD), moved out of a
 * cell's way; without one, displays are refused with a reason. */
void display_bridge_open(void);

/* The display socket's number if the cell closed it or put something else there (later cells
 * could show nothing), or -1 when it is as it was (or there never was one). */
int display_bridge_lost(void);

/* The hooks to install with cl_host_set_hooks. */
int display_bridge_show(void *ctx, const char *bundle, unsigned long size, const char *id, int update, char *why,
                        unsigned long why_size);
void display_bridge_clear(void *ctx, int wait);

#endif
