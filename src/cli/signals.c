/* signals.c — SIGINT and SIGTERM stop a solve cleanly: the handler only sets a flag that the
 * progress callback reads after each iteration. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "progress.h"

static volatile sig_atomic_t received;

static void on_signal(int sig)
{
    received = sig;
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills at once (nothing saved) */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_signal_received(void)
{
    return received;
}
