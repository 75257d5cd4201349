/* Helpers for writing standalone C99 source (mynn_export_c and the int8
 * exporter in src/quant/): exact float literals, arrays, the activation
 * functions the generated code calls.  Everything here prints integers and
 * strings only, so the generated files do not depend on the C locale.
 * Not part of the public API. */
#ifndef MN_CGEN_H
#define MN_CGEN_H

#include "atomic_file.h"
#include "mynn.h"

#include <stddef.h>

/* Longest name accepted for the generated files and their symbols. */
#define MN_CGEN_NAME_MAX 64
/* Room for one float literal from mn_cgen_hexf. */
#define MN_CGEN_FLOAT_BUFSZ 32

/* Non-zero if name is a C identifier of at most MN_CGEN_NAME_MAX characters. */
int mn_cgen_name_ok(const char *name);
/* v as a C99 hexadecimal float literal with the 'f' suffix ("0x1.8p+1f",
 * "-0x0.000002p-126f", "0.0f"): the exact bit pattern, whatever the
 * locale.  v must be finite. */
void mn_cgen_hexf(char *buf, size_t n, float v);
/* "static const float NAME[n] = { ... };" with exact literals, a few per line. */
mynn_status mn_cgen_floats(mn_atomic *a, const char *name, const float *v, size_t n);
/* The same for signed 8-bit and 32-bit integers. */
mynn_status mn_cgen_int8s(mn_atomic *a, const char *name, const signed char *v, size_t n);
mynn_status mn_cgen_int32s(mn_atomic *a, const char *name, const int *v, size_t n);
/* "static void act_<name>(float *v, int n)": f applied in place, the same
 * float expressions as the library's (src/activations/activation.c).
 * Nothing for identity. */
mynn_status mn_cgen_act_fn(mn_atomic *a, mynn_activation act);
/* The statement calling it on n values at v ("" for identity). */
mynn_status mn_cgen_act_call(mn_atomic *a, mynn_activation act, const char *v, int n);
/* The same on steps rows of n values at v (a sequence): one call over
 * them all for an element-wise f, a loop over the rows (variable j) for
 * softmax, which normalises each step on its own. */
mynn_status mn_cgen_act_steps(mn_atomic *a, mynn_activation act, const char *v, int steps, int n);
/* Rough code bytes of an activation's libm call(s), for the header's
 * flash estimate. */
size_t mn_cgen_act_code_bytes(mynn_activation act);
/* "DIR/NAME.EXT" into buf; MYNN_ERR_ARG when it does not fit. */
mynn_status mn_cgen_path(char *buf, size_t n, const char *dir, const char *name, const char *ext);
/* The include guard / macro prefix: name in upper case. */
void mn_cgen_upper(char *dst, const char *name);

#endif
