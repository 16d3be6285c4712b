/* progress.h — the CLI's view of a running solve: the progress line on a terminal, the --log
 * JSONL file, and SIGINT/SIGTERM turned into a clean stop. */
#ifndef KN_CLI_PROGRESS_H
#define KN_CLI_PROGRESS_H

#include "base/atomic_file.h"
#include "kernest.h"

typedef struct cli_progress {
    int show;             /* draw the progress line (stderr is a terminal, not --quiet) */
    const char *log_path; /* --log, or NULL */
    kn_atomic_file log;   /* the log, streamed to a temporary file renamed at the end */
    int log_open, log_err;
    double last_draw;     /* clock of the last line drawn */
    int width;            /* characters of the line on screen (0: none) */
    int k_first;          /* first iteration seen, its residual */
    double r_first;
} cli_progress;

/* Opens the log (exit-code-2 error printed when it cannot be created); returns 0 or the code. */
int cli_progress_start(cli_progress *p, int quiet, const char *log_path);
/* The kernest_options progress callback (user = the cli_progress): draws at most ~10 lines a
 * second, appends one JSON object per iteration to the log, and asks to stop once a signal
 * has arrived. */
int cli_progress_callback(void *user, const kernest_progress *pr);
/* Erases the progress line, if one is on screen. */
void cli_progress_clear(cli_progress *p);
/* Renames the log into place (keep != 0) or removes it; returns 0 or the exit code (error
 * printed). */
int cli_progress_finish(cli_progress *p, int keep);

/* SIGINT and SIGTERM set a flag the progress callback sees (the solve then stops after the
 * iteration in progress); a second signal of the same kind ends the process at once. */
void cli_signals_install(void);
/* The signal received (SIGINT, SIGTERM), or 0. */
int cli_signal_received(void);

#endif
