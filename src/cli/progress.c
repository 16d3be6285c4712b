/* progress.c — the progress line on a terminal and the --log JSONL file of a running solve. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli.h"
#include "progress.h"

enum { LINE_MAX_CHARS = 120 };
static const double DRAW_INTERVAL = 0.1; /* seconds: at most ~10 lines a second */

int cli_progress_start(cli_progress *p, int quiet, const char *log_path)
{
    memset(p, 0, sizeof *p);
    p->show = !quiet && isatty(STDERR_FILENO);
    p->k_first = -1;
    p->log_path = log_path;
    if (log_path) {
        if (kn_atomic_open(&p->log, log_path))
            return cli_usage_error("--log: %s", kernest_last_error());
        p->log_open = 1;
    }
    return CLI_OK;
}

/* "1:02:03", "2:03" or "45 s" */
static void format_duration(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || s > 360000)
        snprintf(buf, cap, "?");
    else if (s < 60)
        snprintf(buf, cap, "%.0f s", s);
    else if (s < 3600)
        snprintf(buf, cap, "%d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, cap, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}

/*
 * Time left: the residual has fallen geometrically from the first iteration seen to this one
 * (slope of log r per iteration); the iterations still needed to reach tol at that slope, capped
 * by maxiter, at the rate so far. Only maxiter counts while the residual does not fall.
 */
static double time_left(const cli_progress *p, const kernest_progress *pr, double rate)
{
    double left = (double)(pr->maxiter - pr->iteration);
    const int dk = pr->iteration - p->k_first;
    if (dk > 0 && pr->residual > 0 && p->r_first > 0 && pr->tol > 0 && pr->residual > pr->tol) {
        const double slope = (log(pr->residual) - log(p->r_first)) / dk;
        if (slope < 0)
            left = fmin(left, log(pr->tol / pr->residual) / slope);
    }
    return rate > 0 ? left / rate : NAN;
}

static void draw(cli_progress *p, const kernest_progress *pr)
{
    const int done = pr->iteration - pr->first_iteration;
    const double rate = pr->elapsed > 0 ? done / pr->elapsed : 0.0;
    char eta[32], line[LINE_MAX_CHARS + 1];
    format_duration(time_left(p, pr, rate), eta, sizeof eta);
    /* the phase first (the automatic choice's candidate, λ and fold; the final solve; a sample),
     * then this solve's own progress; the line is cut at LINE_MAX_CHARS */
    int n = snprintf(line, sizeof line, "kernest: %s%s%s iteration %d/%d  residual %.3e  %.1f it/s  ~%s left",
                     pr->phase ? pr->phase : "", pr->phase ? " | " : "", pr->solver, pr->iteration, pr->maxiter,
                     pr->residual, rate, eta);
    if (n < 0)
        return;
    if (n > LINE_MAX_CHARS)
        n = LINE_MAX_CHARS;
    /* pad over what a longer previous line left on screen */
    fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
    fflush(stderr);
    p->width = n;
}

static void log_line(cli_progress *p, const kernest_progress *pr)
{
    if (!p->log_open || p->log_err)
        return;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddNumberToObject(o, "iter", pr->iteration) &&
        cJSON_AddNumberToObject(o, "residual", pr->residual) &&
        cJSON_AddNumberToObject(o, "elapsed", pr->elapsed) &&
        cJSON_AddStringToObject(o, "solver", pr->solver) &&
        (!pr->phase || cJSON_AddStringToObject(o, "phase", pr->phase)))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text || fputs(text, p->log.fp) < 0 || fputc('\n', p->log.fp) < 0)
        p->log_err = errno ? errno : ENOMEM;
    cJSON_free(text);
}

int cli_progress_callback(void *user, const kernest_progress *pr)
{
    cli_progress *p = user;
    if (p->k_first < 0) {
        p->k_first = pr->iteration;
        p->r_first = pr->residual;
    }
    log_line(p, pr);
    if (p->show) {
        const double now = kn_now();
        if (now - p->last_draw >= DRAW_INTERVAL) {
            draw(p, pr);
            p->last_draw = now;
        }
    }
    return cli_signal_received() != 0;
}

void cli_progress_clear(cli_progress *p)
{
    if (p->width > 0) {
        fprintf(stderr, "\r%*s\r", p->width, "");
        fflush(stderr);
        p->width = 0;
    }
}

int cli_progress_finish(cli_progress *p, int keep)
{
    cli_progress_clear(p);
    if (!p->log_open)
        return CLI_OK;
    p->log_open = 0;
    if (!keep) {
        kn_atomic_abort(&p->log);
        return CLI_OK;
    }
    if (p->log_err) {
        kn_atomic_abort(&p->log);
        fprintf(stderr, "kernest: --log: %s: write failed: %s\n", p->log_path, strerror(p->log_err));
        return CLI_RUNTIME;
    }
    if (kn_atomic_commit(&p->log)) {
        fprintf(stderr, "kernest: --log: %s\n", kernest_last_error());
        return CLI_RUNTIME;
    }
    return CLI_OK;
}
