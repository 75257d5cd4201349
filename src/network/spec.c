/* The one-argument architecture description: "256:relu,dropout:0.2,10:softmax".
 * Each comma-separated item is UNITS[:ACTIVATION] or dropout:RATE. */
#include "core/core.h"
#include "io/numparse.h"
#include "network.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MN_SPEC_MAX 4096

mynn_status mynn_add_layers(mynn_net *net, const char *spec)
{
    if (!net || !spec) return mn_error(MYNN_ERR_NULL, "mynn_add_layers: NULL argument");
    size_t len = strlen(spec);
    if (len == 0) return mn_error(MYNN_ERR_ARG, "layer list is empty");
    if (len >= MN_SPEC_MAX) return mn_error(MYNN_ERR_ARG, "layer list longer than %d characters", MN_SPEC_MAX);
    char buf[MN_SPEC_MAX];
    memcpy(buf, spec, len + 1);
    int index = 0;
    for (char *item = buf, *next; item; item = next, index++) {
        next = strchr(item, ',');
        if (next) *next++ = '\0';
        while (isspace((unsigned char)*item)) item++;
        char *end = item + strlen(item);
        while (end > item && isspace((unsigned char)end[-1])) *--end = '\0';
        char *colon = strchr(item, ':');
        char *arg = colon ? colon + 1 : NULL;
        if (colon) *colon = '\0';
        if (*item == '\0')
            return mn_error(MYNN_ERR_ARG, "layer %d: empty item in \"%s\"", index + 1, spec);
        mynn_status s;
        if (strcmp(item, "dropout") == 0) {
            double rate = -1.0; /* parsed without the C locale: "0.2" everywhere */
            if (!arg || mn_parse_double_str(arg, &rate) != 0 || !(rate >= 0.0 && rate < 1.0))
                return mn_error(MYNN_ERR_ARG, "layer %d: dropout needs a rate in [0, 1), as dropout:0.2",
                                index + 1);
            s = mynn_add_dropout(net, (float)rate);
        } else {
            char *e;
            errno = 0;
            long units = strtol(item, &e, 10);
            if (e == item || *e || errno || units < 1 || units > (1 << 24))
                return mn_error(MYNN_ERR_ARG, "layer %d: \"%s\" is not a unit count (as 128:relu)",
                                index + 1, item);
            mynn_activation act = MYNN_ACT_IDENTITY;
            if (arg && mynn_activation_from_name(arg, &act) != MYNN_OK)
                return mn_error(MYNN_ERR_ARG,
                                "layer %d: unknown activation \"%s\" (identity, sigmoid, tanh, relu, "
                                "leaky_relu, gelu, softmax)", index + 1, arg);
            s = mynn_add_dense(net, (int)units, act);
        }
        if (s) return s;
    }
    return MYNN_OK;
}
