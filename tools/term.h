/*
 * tools/term.h — what volctl does only on a terminal: colour (never when
 * the stream is not a tty, when NO_COLOR is set to anything non-empty, or
 * when TERM=dumb) and a progress line on stderr for requests that take a
 * while.
 */
#ifndef VOLFS_TOOLS_TERM_H
#define VOLFS_TOOLS_TERM_H

#include <stdio.h>

enum term_colour { TERM_PLAIN, TERM_RED, TERM_GREEN, TERM_YELLOW };

/* May f carry colour? */
int term_colour_ok(FILE *f);
/* The colour of a STATUS value (Bound green, Pending yellow, Failed red, ...). */
enum term_colour term_status_colour(const char *status);
/* Write s in colour c if f may carry colour, plain otherwise. */
void term_put(FILE *f, enum term_colour c, const char *s);

/* A line on stderr, "what... 3s", refreshed while a request runs, when
 * stderr is a terminal; term_progress_end() erases it. Honest: it shows
 * elapsed time, not a made-up fraction done. */
struct term_progress;
struct term_progress *term_progress_start(const char *what);
void term_progress_end(struct term_progress *p);

#endif
