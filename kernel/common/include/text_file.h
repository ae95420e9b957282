/* text_file.h — writing a string to a file, whole, with one answer for every way it can fail. */
#ifndef CONCLAB_TEXT_FILE_H
#define CONCLAB_TEXT_FILE_H

/* Writes text to path (created or truncated); 0, or -1 with errno set when opening, writing or
 * closing failed. */
int text_file_write(const char *path, const char *text);

/* The same for the file `name` in the folder `dir`. */
int text_file_write_in(const char *dir, const char *name, const char *text);

#endif
