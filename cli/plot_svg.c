/* Learning curves as a self-contained SVG document: a loss panel and, for
 * classification, an accuracy panel; train / validation / test series,
 * axes, ticks, labels and a legend.  Every number is written with
 * locale-independent formatting. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_history_add(cli_history *h, float tl, float ta, float vl, float va, float xl, float xa)
{
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 64;
        float **arrs[6] = {&h->train_loss, &h->train_acc, &h->val_loss,
                           &h->val_acc, &h->test_loss, &h->test_acc};
        for (int i = 0; i < 6; i++) {
            float *p = realloc(*arrs[i], (size_t)cap * sizeof(float));
            if (!p) return -1;
            *arrs[i] = p;
        }
        h->cap = cap;
    }
    h->train_loss[h->n] = tl;
    h->train_acc[h->n] = ta;
    h->val_loss[h->n] = vl;
    h->val_acc[h->n] = va;
    h->test_loss[h->n] = xl;
    h->test_acc[h->n] = xa;
    h->n++;
    return 0;
}

void cli_history_free(cli_history *h)
{
    free(h->train_loss);
    free(h->train_acc);
    free(h->val_loss);
    free(h->val_acc);
    free(h->test_loss);
    free(h->test_acc);
    memset(h, 0, sizeof *h);
}

/* v with d decimals, '.' as the point, using integer arithmetic only. */
static const char *fixed(char *buf, double v, int d)
{
    static const double pow10[] = {1, 10, 100, 1000, 10000, 100000};
    if (d < 0) d = 0;
    if (d > 5) d = 5;
    long long s = llround(fabs(v) * pow10[d]);
    long long ip = s / (long long)pow10[d], fp = s % (long long)pow10[d];
    const char *sign = v < 0 && s != 0 ? "-" : "";
    if (d == 0) snprintf(buf, 32, "%s%lld", sign, ip);
    else snprintf(buf, 32, "%s%lld.%0*lld", sign, ip, d, fp);
    return buf;
}

static void escape_text(cli_out *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': cli_out_puts(o, "&amp;"); break;
        case '<': cli_out_puts(o, "&lt;"); break;
        case '>': cli_out_puts(o, "&gt;"); break;
        case '"': cli_out_puts(o, "&quot;"); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t') cli_out_write(o, s, 1);
        }
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks. */
static double nice_step(double range, int n)
{
    double raw = range / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static int decimals_for(double step)
{
    int d = 0;
    while (d < 5 && fabs(step * pow(10.0, d) - llround(step * pow(10.0, d))) > 1e-6) d++;
    return d;
}

typedef struct series {
    const char *name, *color, *dash;
    const float *v;
} series;

typedef struct panel {
    double x, y, w, h;          /* plot area */
    double xmin, xmax, ymin, ymax, ystep, xstep;
} panel;

static double px(const panel *p, double x) { return p->x + (x - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double py(const panel *p, double y) { return p->y + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h; }

static void draw_panel(cli_out *o, double left, double top, double width, double height,
                       const char *title, const char *ylabel, const series *s, int ns, int n,
                       double scale)
{
    char a[32], b[32], c[32], d[32];
    panel p = {left + 64, top + 34, width - 84, height - 84, 1, (double)(n > 1 ? n : 2), 0, 0, 0, 0};
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < n; i++)
            if (s[k].v[i] >= 0 && isfinite(s[k].v[i])) {
                double v = s[k].v[i] * scale;
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-9) {
        double pad = fabs(hi) > 1e-9 ? fabs(hi) * 0.1 : 0.5;
        lo -= pad;
        hi += pad;
    }
    p.ystep = nice_step(hi - lo, 5);
    p.ymin = floor(lo / p.ystep) * p.ystep;
    p.ymax = ceil(hi / p.ystep) * p.ystep;
    if (scale > 1 && p.ymax > 100 && hi <= 100) p.ymax = 100;
    p.xstep = n <= 10 ? 1 : ceil(nice_step(p.xmax - p.xmin, 8));

    /* Frame, title, grid and ticks. */
    cli_out_printf(o, "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"#fff\" stroke=\"#444\"/>\n",
                   fixed(a, p.x, 1), fixed(b, p.y, 1), fixed(c, p.w, 1), fixed(d, p.h, 1));
    cli_out_printf(o, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">",
                   fixed(a, p.x + p.w / 2, 1), fixed(b, top + 20, 1));
    escape_text(o, title);
    cli_out_puts(o, "</text>\n");
    int yd = decimals_for(p.ystep);
    for (double y = p.ymin; y <= p.ymax + p.ystep * 1e-6; y += p.ystep) {
        double yy = py(&p, y);
        cli_out_printf(o, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"#ddd\"/>\n",
                       fixed(a, p.x, 1), fixed(b, yy, 1), fixed(c, p.x + p.w, 1), fixed(d, yy, 1));
        cli_out_printf(o, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"#444\"/>\n",
                       fixed(a, p.x - 5, 1), fixed(b, yy, 1), fixed(c, p.x, 1), fixed(d, yy, 1));
        cli_out_printf(o, "<text x=\"%s\" y=\"%s\" text-anchor=\"end\" font-size=\"11\">%s</text>\n",
                       fixed(a, p.x - 8, 1), fixed(b, yy + 4, 1), fixed(c, y, yd));
    }
    for (double x = p.xmin; x <= p.xmax + 1e-9; x += p.xstep) {
        double xx = px(&p, x);
        cli_out_printf(o, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"#444\"/>\n",
                       fixed(a, xx, 1), fixed(b, p.y + p.h, 1), fixed(c, xx, 1), fixed(d, p.y + p.h + 5, 1));
        cli_out_printf(o, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"11\">%s</text>\n",
                       fixed(a, xx, 1), fixed(b, p.y + p.h + 18, 1), fixed(c, x, 0));
    }
    cli_out_printf(o, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"12\">epoch</text>\n",
                   fixed(a, p.x + p.w / 2, 1), fixed(b, p.y + p.h + 36, 1));
    cli_out_printf(o, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"12\" "
                      "transform=\"rotate(-90 %s %s)\">%s</text>\n",
                   fixed(a, left + 16, 1), fixed(b, p.y + p.h / 2, 1), fixed(c, left + 16, 1),
                   fixed(d, p.y + p.h / 2, 1), ylabel);

    /* The series: a polyline through the defined points, and markers. */
    int shown = 0, legend = 0;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < n; i++)
            if (s[k].v[i] >= 0 && isfinite(s[k].v[i])) {
                legend++;
                break;
            }
    double lx0 = p.x + p.w - 116, ly0 = p.y + 4;
    for (int k = 0; k < ns; k++) {
        int any = 0;
        for (int i = 0; i < n; i++) any |= s[k].v[i] >= 0 && isfinite(s[k].v[i]);
        if (!any) continue;
        cli_out_printf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                       s[k].color, s[k].dash);
        for (int i = 0; i < n; i++)
            if (s[k].v[i] >= 0 && isfinite(s[k].v[i]))
                cli_out_printf(o, "%s,%s ", fixed(a, px(&p, i + 1), 2), fixed(b, py(&p, s[k].v[i] * scale), 2));
        cli_out_puts(o, "\"/>\n");
        if (n <= 60)
            for (int i = 0; i < n; i++)
                if (s[k].v[i] >= 0 && isfinite(s[k].v[i]))
                    cli_out_printf(o, "<circle cx=\"%s\" cy=\"%s\" r=\"2.5\" fill=\"%s\"/>\n",
                                   fixed(a, px(&p, i + 1), 2), fixed(b, py(&p, s[k].v[i] * scale), 2),
                                   s[k].color);
        if (shown == 0)   /* the legend's box, top right inside the panel */
            cli_out_printf(o, "<rect x=\"%s\" y=\"%s\" width=\"108\" height=\"%s\" fill=\"#fff\" "
                              "fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n",
                           fixed(a, lx0, 1), fixed(b, ly0, 1), fixed(c, 16.0 * legend + 6, 1));
        /* Legend entry. */
        double ly = p.y + 14 + 16 * shown, lx = p.x + p.w - 110;
        cli_out_printf(o, "<line x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                       fixed(a, lx, 1), fixed(b, ly - 4, 1), fixed(c, lx + 22, 1), fixed(d, ly - 4, 1),
                       s[k].color, s[k].dash);
        cli_out_printf(o, "<text x=\"%s\" y=\"%s\" font-size=\"11\">%s</text>\n",
                       fixed(a, lx + 28, 1), fixed(b, ly, 1), s[k].name);
        shown++;
    }
}

void cli_plot_svg(cli_out *o, const cli_history *h, const char *title)
{
    int n = h->n, has_acc = 0;
    for (int i = 0; i < n; i++) has_acc |= h->train_acc[i] >= 0 || h->test_acc[i] >= 0 || h->val_acc[i] >= 0;
    double pw = 480, ph = 360, W = has_acc ? 2 * pw : pw, H = ph + 30;
    char a[32], b[32];
    cli_out_printf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" height=\"%s\" "
                      "viewBox=\"0 0 %s %s\" font-family=\"sans-serif\">\n",
                   fixed(a, W, 0), fixed(b, H, 0), fixed(a, W, 0), fixed(b, H, 0));
    cli_out_printf(o, "<rect width=\"%s\" height=\"%s\" fill=\"#fafafa\"/>\n", fixed(a, W, 0), fixed(b, H, 0));
    cli_out_printf(o, "<text x=\"%s\" y=\"20\" text-anchor=\"middle\" font-size=\"13\" fill=\"#333\">",
                   fixed(a, W / 2, 1));
    escape_text(o, title);
    cli_out_puts(o, "</text>\n");
    series loss[3] = {{"training", "#1f77b4", "", h->train_loss},
                      {"validation", "#ff7f0e", " stroke-dasharray=\"6 3\"", h->val_loss},
                      {"test", "#2ca02c", " stroke-dasharray=\"2 2\"", h->test_loss}};
    series acc[3] = {{"training", "#1f77b4", "", h->train_acc},
                     {"validation", "#ff7f0e", " stroke-dasharray=\"6 3\"", h->val_acc},
                     {"test", "#2ca02c", " stroke-dasharray=\"2 2\"", h->test_acc}};
    draw_panel(o, 0, 26, pw, ph, "Loss", "loss", loss, 3, n, 1.0);
    if (has_acc) draw_panel(o, pw, 26, pw, ph, "Accuracy", "accuracy (%)", acc, 3, n, 100.0);
    cli_out_puts(o, "</svg>\n");
}
