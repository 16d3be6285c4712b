/* prior_names.c — the names of kernel models and solvers, as the CLI, reports and Python use them. */
#include <string.h>

#include "kernest.h"

static const char *const model_names[] = {"pixel", "radial", "harmonic", "lowrank"};
static const char *const solver_names[] = {"auto", "cgls", "fista"};

static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

int kernest_model_parse(const char *s)
{
    return lookup(s, model_names, 4);
}

const char *kernest_model_name(kernest_model model)
{
    return (unsigned)model < 4 ? model_names[model] : "?";
}

int kernest_solver_parse(const char *s)
{
    return lookup(s, solver_names, 3);
}

const char *kernest_solver_name(kernest_solver solver)
{
    return (unsigned)solver < 3 ? solver_names[solver] : "?";
}
