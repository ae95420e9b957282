/* message.c — typed messages on the byte channels; see message.h. */
#include "message.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>

int cl__message_to_fixed(void *data, size_t got, void *out, size_t size, const char *what,
                         const char *call) {
    if (got != size) {
        cl_report(call, "the message is %zu bytes, not a %s (%zu bytes); it was taken and dropped",
                  got, what, size);
        free(data);
        return -1;
    }
    memcpy(out, data, size);
    free(data);
    return 1;
}

int cl__message_to_string(void *data, size_t size, char **s, const char *call) {
    char *text = realloc(data, size + 1);
    if (!text) {
        cl_report(call, "out of memory for a string of %zu bytes; it was dropped", size);
        free(data);
        return -1;
    }
    text[size] = '\0';
    *s = text;
    return 1;
}
