/* cli_priors.c — parsing of the prior options of `kernest estimate`, and the profile output. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_priors.h"

/* strtod over the whole of s that also accepts inf/-inf; 0 on success */
static int number(const char *s, const char *end_at, double *out, int allow_inf)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || (end_at ? end != end_at : *end != '\0') || errno || isnan(v) || (!allow_inf && !isfinite(v)))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_reg_list(const char *s, kernest_options *opt, int *lambda_given)
{
    char *copy = strdup(s), *save = NULL;
    if (!copy) {
        cli_usage_error("--reg: out of memory");
        return -1;
    }
    int quad = 0, rc = 0;
    opt->reg = KERNEST_REG_NONE;
    opt->l1 = 0.0;
    opt->tv = 0.0;
    *lambda_given = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        double w = 0.0;
        if (colon) {
            *colon = '\0';
            if (strcmp(colon + 1, "auto") && (number(colon + 1, NULL, &w, 0) || w < 0)) {
                rc = cli_usage_error("--reg %s: '%s' is not a weight >= 0", tok, colon + 1);
                break;
            }
        }
        int r = kernest_reg_parse(tok);
        if (r >= 0) {
            if (quad++)
                rc = cli_usage_error("--reg: '%s' lists more than one of none, ridge, grad", s);
            opt->reg = (kernest_reg)r;
            if (colon) {
                opt->lambda = w;
                *lambda_given = 1;
            }
        } else if (!strcmp(tok, "l1") && colon && !strcmp(colon + 1, "auto")) {
            opt->auto_l1 = 1; /* chosen by cross-validation with --lambda auto */
            opt->l1 = 0.0;
        } else if (!strcmp(tok, "l1")) {
            if (!colon)
                rc = cli_usage_error("--reg l1: needs a weight, e.g. l1:1e-3");
            opt->l1 = w;
        } else if (!strcmp(tok, "tv")) {
            if (!colon)
                rc = cli_usage_error("--reg tv: needs a weight, e.g. tv:1e-1");
            opt->tv = w;
        } else
            rc = cli_usage_error("--reg: '%s' is not one of none, ridge, grad, l1, tv (NAME[:LAMBDA],...)", tok);
    }
    free(copy);
    return rc ? -1 : 0;
}

int cli_parse_bounds(const char *s, kernest_options *opt)
{
    const char *comma = strchr(s, ',');
    double lo, hi;
    if (!comma || number(s, comma, &lo, 1) || number(comma + 1, NULL, &hi, 1) || lo > hi ||
        lo == INFINITY || hi == -INFINITY) {
        cli_usage_error("--bounds: '%s' is not LO,HI with LO <= HI (inf and -inf allowed)", s);
        return -1;
    }
    opt->has_bounds = 1;
    opt->lower = lo;
    opt->upper = hi;
    return 0;
}

int cli_parse_support(const char *s, kernest_options *opt, kernest_array **mask)
{
    if (!strncmp(s, "disk:", 5)) {
        double r;
        if (number(s + 5, NULL, &r, 0) || r < 0) {
            cli_usage_error("--support: '%s' is not disk:R with R >= 0", s);
            return -1;
        }
        opt->support = KERNEST_SUPPORT_DISK;
        opt->support_radius = r;
        return 0;
    }
    if (!*s) {
        cli_usage_error("--support: the value is empty (disk:R, box:HxW or MASK.npy)");
        return -1;
    }
    if (!strncmp(s, "box:", 4)) {
        unsigned long long h, w;
        char x, tail;
        if (sscanf(s + 4, "%llu%c%llu%c", &h, &x, &w, &tail) != 3 || (x != 'x' && x != 'X') || !h || !w ||
            h > (1ull << 31) || w > (1ull << 31) || strchr(s + 4, '-') || strchr(s + 4, '+')) {
            cli_usage_error("--support: '%s' is not box:HxW with positive integers (e.g. box:9x9)", s);
            return -1;
        }
        opt->support = KERNEST_SUPPORT_BOX;
        opt->support_h = (size_t)h;
        opt->support_w = (size_t)w;
        return 0;
    }
    if (kernest_format_of_path(s) == KERNEST_FORMAT_UNKNOWN) {
        cli_usage_error("--support: '%s' is not disk:R, box:HxW or a mask file (MASK.npy, or another "
                        "array format by its extension)", s);
        return -1;
    }
    kernest_array_destroy(mask);
    if (cli_read_2d(s, mask))
        return -1;
    opt->support = KERNEST_SUPPORT_MASK;
    opt->support_mask = *mask;
    return 0;
}

int cli_parse_fix(const char *s, kernest_fixed_pixel **list, size_t *n)
{
    char *end;
    errno = 0;
    long row = strtol(s, &end, 10), col = 0;
    int ok = end != s && *end == ',' && !errno;
    if (ok) {
        const char *c = end + 1;
        col = strtol(c, &end, 10);
        ok = end != c && *end == '=' && !errno;
    }
    double v = 0.0;
    if (!ok || number(end + 1, NULL, &v, 0)) {
        cli_usage_error("--fix: '%s' is not ROW,COL=VALUE (offsets from the kernel centre, e.g. 0,0=0)", s);
        return -1;
    }
    kernest_fixed_pixel *l = realloc(*list, (*n + 1) * sizeof *l);
    if (!l) {
        cli_usage_error("--fix: out of memory");
        return -1;
    }
    l[*n] = (kernest_fixed_pixel){row, col, v};
    *list = l;
    (*n)++;
    return 0;
}

int cli_parse_model(const char *s, kernest_options *opt)
{
    const char *colon = strchr(s, ':');
    char name[16];
    size_t len = colon ? (size_t)(colon - s) : strlen(s);
    int m = -1;
    if (len < sizeof name) {
        memcpy(name, s, len);
        name[len] = '\0';
        m = kernest_model_parse(name);
    }
    int lo = 0, hi = 0;
    const int ordered = m >= 0 && kernest_model_order_range((kernest_model)m, &lo, &hi);
    if (m < 0 || (colon && !ordered)) {
        cli_usage_error("--model: '%s' is not pixel, radial, harmonic:M or lowrank:R", s);
        return -1;
    }
    if (ordered) {
        long v;
        const char *letter = m == KERNEST_MODEL_HARMONIC ? "M" : "R";
        char what[48];
        if (!colon) {
            cli_usage_error("--model %s: needs the order, e.g. %s:%d", name, name, m == KERNEST_MODEL_HARMONIC ? 4 : 1);
            return -1;
        }
        snprintf(what, sizeof what, "--model %s:%s", name, letter);
        if (cli_parse_int(what, colon + 1, lo, hi, &v))
            return -1;
        opt->order = (int)v;
    }
    opt->model = (kernest_model)m;
    return 0;
}

int cli_write_profile(const char *path, const kernest_report *rep)
{
    /* per kernel: radial p knots; harmonic (2M+1) × p rows f_0, f_1, g_1, ... (the angular ones
     * 0 at r = 0); channel kernels add the leading C_out × C_in of K */
    const size_t cout = rep->channels_out ? rep->channels_out : 1,
                 cin = rep->kernel_in ? rep->kernel_in : rep->channels_in ? rep->channels_in : 1;
    const size_t nk = cout * cin, per = rep->nprofile / nk;
    const int harmonic = rep->model == KERNEST_MODEL_HARMONIC, lead = rep->kernels_4d ? 2 : 0;
    const size_t rows = harmonic ? 2 * (size_t)rep->order + 1 : 1, p0 = (per + rows - 1) / rows;
    size_t shape[4] = {cout, cin}, nd = 2;
    if (harmonic)
        shape[nd++] = rows;
    shape[nd++] = p0;
    kernest_array *p = NULL;
    int st = kernest_array_create((int)nd - 2 + lead, shape + 2 - lead, &p);
    for (size_t k = 0; !st && k < nk; k++) {
        const double *src = rep->profile + k * per;
        double *dst = p->data + k * rows * p0;
        memcpy(dst, src, p0 * sizeof *dst);
        for (size_t b = 1; b < rows; b++)
            memcpy(dst + b * p0 + 1, src + p0 + (b - 1) * (p0 - 1), (p0 - 1) * sizeof *dst);
    }
    if (!st)
        st = kernest_array_write(path, p, rep->precision);
    kernest_array_destroy(&p);
    return st ? cli_fail(st) : 0;
}

int cli_write_uncertainty(const kernest_report *rep, const char *cov_path, const char *std_path)
{
    kernest_array *c = NULL, *s = NULL;
    int st = kernest_report_uncertainty(rep, &c, &s);
    if (!st && !(st = kernest_array_write(cov_path, c, KERNEST_DOUBLE)) &&
        (st = kernest_array_write(std_path, s, KERNEST_DOUBLE)))
        unlink(cov_path); /* both or neither */
    kernest_array_destroy(&c);
    kernest_array_destroy(&s);
    return st ? cli_fail(st) : 0;
}

int cli_write_bias(const char *path, const kernest_report *rep)
{
    if (!rep->bias || !rep->background)
        return cli_usage_error("--bias-out: the estimate has no bias");
    kernest_array *b = NULL;
    int st = kernest_array_create(1, &rep->nbackground, &b);
    if (!st) {
        memcpy(b->data, rep->background, rep->nbackground * sizeof *b->data);
        st = kernest_array_write(path, b, KERNEST_DOUBLE);
    }
    kernest_array_destroy(&b);
    return st ? cli_fail(st) : 0;
}
