/* mynn_qexport_c: an int8 model as standalone C99 (NAME.h, NAME.c), the
 * same interface as mynn_export_c's and the same generator
 * (io/export_c.c): each quantised node's kind writes its int8 code (the
 * input quantised with the library's rounding, exact integer sums in long,
 * the same float factor in_scale · w_scale[o]), every other node its
 * float code (a batch norm as x·s + t), so the outputs equal
 * mynn_qnet_predict's bit for bit. */
#include "qnet.h"
#include "core/core.h"
#include "io/export_c.h"

mynn_status mynn_qexport_c(const mynn_qnet *q, const char *dir, const char *name)
{
    if (!q || !dir || !name) return mn_error(MYNN_ERR_NULL, "mynn_qexport_c: NULL argument");
    mn_cexport e = {q->net, (const mn_qweights *const *)q->q, MN_QNET_QUANTIZATION, q->calibration};
    return mn_export_c_run(&e, dir, name, "mynn_qexport_c");
}
