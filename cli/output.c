/* Output to stdout or to a file written atomically (io/atomic_file.h):
 * a failed command never leaves a partial file behind. */
#include "cli.h"
#include "emit/atomic_file.h"
#include "core/numparse.h"

#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct cli_out {
    int to_file;
    mn_atomic a;
    const char *opt, *path;
};

int cli_out_open(cli_out **out, const char *opt, const char *path)
{
    cli_out *o = calloc(1, sizeof *o);
    if (!o) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    o->opt = opt;
    o->path = path;
    if (path && strcmp(path, "-") != 0) {
        if (cli_check_writable(opt, path)) {
            free(o);
            return CLI_FAIL;
        }
        if (mn_atomic_open(&o->a, path) != MYNN_OK) {
            cli_error("%s: %s", opt, mynn_last_error());
            mn_atomic_abort(&o->a);
            free(o);
            return CLI_FAIL;
        }
        o->to_file = 1;
    }
    *out = o;
    return CLI_OK;
}

void cli_out_write(cli_out *o, const char *s, size_t n)
{
    if (o->to_file) mn_atomic_write(&o->a, s, n);   /* errors are sticky: seen at commit */
    else fwrite(s, 1, n, stdout);
}

void cli_out_puts(cli_out *o, const char *s) { cli_out_write(o, s, strlen(s)); }

void cli_out_csv_cell(cli_out *o, const char *s)
{
    size_t n = strlen(s);
    int quote = n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
                strpbrk(s, ",;\"\r\n") != NULL;
    if (!quote) {
        cli_out_write(o, s, n);
        return;
    }
    cli_out_write(o, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"') cli_out_write(o, "\"\"", 2);
        else cli_out_write(o, p, 1);
    }
    cli_out_write(o, "\"", 1);
}

void cli_out_printf(cli_out *o, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = cli_vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        cli_out_write(o, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) return;
    va_start(ap, fmt);
    cli_vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    cli_out_write(o, big, (size_t)n);
    free(big);
}

void cli_format_float(char *buf, size_t n, float v) { mn_format_float(buf, n, v); }

/* The "C" locale for this thread while formatting (POSIX uselocale). */
static locale_t c_begin(void)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c ? uselocale(c) : (locale_t)0;
}

static void c_end(locale_t old)
{
    if (!old) return;
    locale_t c = uselocale(old);
    if (c && c != LC_GLOBAL_LOCALE) freelocale(c);
}

int cli_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    locale_t old = c_begin();
    int k = vsnprintf(buf, n, fmt, ap);
    c_end(old);
    return k;
}

static void vfprintf_c(FILE *f, const char *fmt, va_list ap)
{
    locale_t old = c_begin();
    vfprintf(f, fmt, ap);
    c_end(old);
}

void cli_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf_c(stdout, fmt, ap);
    va_end(ap);
}

void cli_fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf_c(f, fmt, ap);
    va_end(ap);
}

void cli_out_float(cli_out *o, float v)
{
    char buf[MN_NUM_BUFSZ];
    int n = mn_format_float(buf, sizeof buf, v);
    if (n > 0) cli_out_write(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

int cli_out_commit(cli_out *o)
{
    if (!o) return CLI_OK;
    int rc = CLI_OK;
    if (o->to_file) {
        if (mn_atomic_commit(&o->a) != MYNN_OK) {
            cli_error("%s: %s", o->opt, mynn_last_error());
            rc = CLI_FAIL;
        }
        mn_atomic_abort(&o->a);
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output");
        rc = CLI_FAIL;
    }
    free(o);
    return rc;
}

void cli_out_abort(cli_out *o)
{
    if (!o) return;
    if (o->to_file) mn_atomic_abort(&o->a);
    free(o);
}
