/* The standalone C generator behind mynn_export_c and mynn_qexport_c
 * (export_c.c).  Internal. */
#ifndef MN_EXPORT_C_H
#define MN_EXPORT_C_H

#include "network/network.h"

/* What to write: the net (an int8 model's float view for int8), and for
 * an int8 model q[i], node i's int8 form (NULL for a node that runs in
 * float), with the header's two lines about the quantisation. */
typedef struct mn_cexport {
    const mynn_net *net;
    const mn_qweights *const *q;    /* NULL: a float model */
    const char *quantization, *calibration;
} mn_cexport;

/* dir/name.h and dir/name.c, each written atomically.  who names the
 * caller in messages ("mynn_export_c"). */
mynn_status mn_export_c_run(const mn_cexport *e, const char *dir, const char *name, const char *who);

#endif
