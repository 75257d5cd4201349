"""ctypes bindings of libmynn: finding the library, the C structures of
include/mynn.h, and the prototypes of the functions the package calls.

The library is looked for, in order: $MYNN_LIBRARY; libmynn.so bundled in
the installed package (copied from build/ by pip install); build/libmynn.so
of the source tree this file lies in; libmynn.so.0 on the system's library
path (make install).  Internal: use the names in mynn/__init__.py.
"""
import ctypes
import ctypes.util
import os

from . import errors

c_int, c_float, c_double, c_char_p, c_void_p = (ctypes.c_int, ctypes.c_float, ctypes.c_double,
                                                ctypes.c_char_p, ctypes.c_void_p)
c_size_t, c_uint64 = ctypes.c_size_t, ctypes.c_uint64
P = ctypes.POINTER
c_float_p, c_int_p = P(c_float), P(c_int)


class OptimConfig(ctypes.Structure):
    _fields_ = [("kind", c_int), ("lr", c_float), ("momentum", c_float), ("nesterov", c_int),
                ("beta1", c_float), ("beta2", c_float), ("eps", c_float), ("alpha", c_float),
                ("weight_decay", c_float), ("clip_norm", c_float), ("eta_plus", c_float),
                ("eta_minus", c_float), ("delta0", c_float), ("delta_min", c_float),
                ("delta_max", c_float), ("history", c_int), ("tolerance_grad", c_float),
                ("tolerance_change", c_float), ("max_evals", ctypes.c_long)]


class Schedule(ctypes.Structure):
    _fields_ = [("kind", c_int), ("step_size", c_int), ("gamma", c_float), ("min_lr", c_float),
                ("total_epochs", c_int), ("warmup_epochs", c_int)]


class EpochStats(ctypes.Structure):
    _fields_ = [("epoch", c_int), ("lr", c_float), ("train_loss", c_float), ("train_acc", c_float),
                ("val_loss", c_float), ("val_acc", c_float), ("seconds", c_double),
                ("converged", c_int)]


EPOCH_CALLBACK = ctypes.CFUNCTYPE(c_int, P(EpochStats), c_void_p)
BATCH_CALLBACK = ctypes.CFUNCTYPE(c_int, c_int, c_int, c_int, c_float, c_void_p)
EMIT_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_void_p)   # mynn_emit_fn: bytes, n, user


class Augment(ctypes.Structure):
    _fields_ = [("crop", c_int), ("flip", c_int)]


class AutoCandidate(ctypes.Structure):
    _fields_ = [("kind", c_int), ("weight_decay", c_float), ("epochs", c_int), ("trained", c_int),
                ("folds", c_int), ("budget", c_int), ("val_loss", c_float)]


AUTO_MAX_CANDIDATES = 16


class AutoReport(ctypes.Structure):
    _fields_ = [("n_candidates", c_int), ("candidates", AutoCandidate * AUTO_MAX_CANDIDATES),
                ("chosen", c_int), ("kind", c_int), ("weight_decay", c_float), ("epochs", c_int),
                ("folds", c_int), ("n_fit", c_int), ("n_val", c_int), ("refit", c_int),
                ("seconds", c_double)]


AUTO_CHOSEN_CALLBACK = ctypes.CFUNCTYPE(c_int, P(AutoReport), c_void_p)


class AutoOptions(ctypes.Structure):
    _fields_ = [("fix_weight_decay", c_int), ("fix_epochs", c_int), ("refit", c_int), ("lbfgs_rows", c_int),
                ("report", P(AutoReport)), ("on_chosen", AUTO_CHOSEN_CALLBACK)]


class FitOptions(ctypes.Structure):
    _fields_ = [("epochs", c_int), ("batch_size", c_int), ("seed", c_uint64), ("shuffle", c_int),
                ("optim", OptimConfig), ("schedule", Schedule), ("patience", c_int),
                ("on_epoch", EPOCH_CALLBACK), ("on_batch", BATCH_CALLBACK), ("user", c_void_p),
                ("checkpoint_path", c_char_p), ("resume", c_int), ("reducer", c_void_p),
                ("augment", Augment), ("search", AutoOptions)]


class Dataset(ctypes.Structure):
    _fields_ = [("n", c_int), ("n_inputs", c_int), ("n_outputs", c_int), ("n_classes", c_int),
                ("x", c_float_p), ("y", c_float_p), ("labels", c_int_p), ("owned", c_int),
                ("shape", c_int * 3), ("shape_dims", c_int),
                ("encoding", ctypes.c_void_p), ("n_unseen", c_int), ("unseen_first", ctypes.c_char * 160)]


class LoadOptions(ctypes.Structure):
    _fields_ = [("label_column", c_int), ("n_targets", c_int), ("header", c_int),
                ("separator", ctypes.c_char), ("n_classes", c_int), ("skip_nonfinite", c_int),
                ("no_labels", c_int), ("shape", c_int * 3), ("shape_dims", c_int),
                ("categorical", c_char_p), ("missing", c_int), ("encoding", ctypes.c_void_p),
                ("strict", c_int), ("npz_x", c_char_p), ("npz_y", c_char_p)]


class Metrics(ctypes.Structure):
    _fields_ = [("loss", c_float), ("accuracy", c_float), ("mse", c_float), ("mae", c_float),
                ("n", c_int)]


class LayerInfo(ctypes.Structure):
    _fields_ = [("kind", c_int), ("kind_name", c_char_p), ("n_inputs", c_int), ("n_outputs", c_int),
                ("activation", c_int), ("rate", c_float), ("n_params", c_size_t),
                ("in_shape", c_int * 3), ("out_shape", c_int * 3), ("dims", c_int),
                ("kernel", c_int * 2), ("stride", c_int * 2), ("pad", c_int * 2),
                ("momentum", c_float), ("eps", c_float), ("in_steps", c_int), ("out_steps", c_int)]


# The structures a test compares with the C compiler's sizeof/offsetof.
STRUCTS = {"mynn_optim_config": OptimConfig, "mynn_schedule": Schedule, "mynn_augment": Augment,
           "mynn_epoch_stats": EpochStats, "mynn_fit_options": FitOptions,
           "mynn_auto_candidate": AutoCandidate, "mynn_auto_report": AutoReport,
           "mynn_auto_options": AutoOptions,
           "mynn_dataset": Dataset, "mynn_load_options": LoadOptions, "mynn_metrics": Metrics,
           "mynn_layer_info": LayerInfo}

NetP = c_void_p
STATUS = c_int

# name: (restype, argtypes); STATUS results are checked by call().
PROTOTYPES = {
    "mynn_last_error": (c_char_p, []),
    "mynn_status_name": (c_char_p, [c_int]),
    "mynn_activation_from_name": (STATUS, [c_char_p, c_int_p]),
    "mynn_activation_name": (c_char_p, [c_int]),
    "mynn_loss_from_name": (STATUS, [c_char_p, c_int_p]),
    "mynn_loss_name": (c_char_p, [c_int]),
    "mynn_optimizer_from_name": (STATUS, [c_char_p, c_int_p]),
    "mynn_optimizer_name": (c_char_p, [c_int]),
    "mynn_create": (STATUS, [P(NetP), c_int]),
    "mynn_free": (None, [NetP]),
    "mynn_add_layers": (STATUS, [NetP, c_char_p]),
    "mynn_set_loss": (STATUS, [NetP, c_int]),
    "mynn_build": (STATUS, [NetP, c_int, c_int, c_uint64]),
    "mynn_set_input_transform": (STATUS, [NetP, c_char_p, c_float_p, c_float_p]),
    "mynn_fit_input_transform": (STATUS, [NetP, c_char_p, c_float_p, c_int]),
    "mynn_get_input_transform": (c_char_p, [NetP, P(c_float_p), P(c_float_p)]),
    "mynn_predict": (STATUS, [NetP, c_float_p, c_int, c_float_p]),
    "mynn_n_inputs": (c_int, [NetP]),
    "mynn_n_outputs": (c_int, [NetP]),
    "mynn_n_layers": (c_int, [NetP]),
    "mynn_max_batch": (c_int, [NetP]),
    "mynn_get_loss": (c_int, [NetP]),
    "mynn_layer_get_info": (STATUS, [NetP, c_int, P(LayerInfo)]),
    "mynn_layer_inputs": (c_int, [NetP, c_int, c_int_p, c_int]),
    "mynn_layer_describe": (STATUS, [NetP, c_int, c_char_p, c_size_t, c_char_p, c_size_t, P(c_char_p)]),
    "mynn_add_node": (STATUS, [NetP, c_char_p, c_int_p, c_int, c_int_p]),
    "mynn_params": (c_float_p, [NetP, P(c_size_t)]),
    "mynn_grads": (c_float_p, [NetP, P(c_size_t)]),
    "mynn_compute_gradients": (STATUS, [NetP, c_float_p, c_float_p, c_int, c_float_p]),
    "mynn_layer_weight": (c_float_p, [NetP, c_int]),
    "mynn_layer_bias": (c_float_p, [NetP, c_int]),
    "mynn_layer_tensor": (c_float_p, [NetP, c_int, c_char_p, c_int_p, P(c_size_t)]),
    "mynn_layer_tensor_name": (c_char_p, [NetP, c_int, c_int]),
    "mynn_n_targets": (c_int, [NetP]),
    "mynn_generate": (STATUS, [NetP, c_char_p, c_int, c_float, c_int, ctypes.c_uint64, EMIT_FN, c_void_p]),
    "mynn_vocab_build": (STATUS, [c_char_p, c_size_t, c_int, P(c_void_p)]),
    "mynn_read_text": (STATUS, [c_char_p, P(c_void_p), P(c_size_t)]),
    "mynn_vocab_size": (c_int, [c_void_p]),
    "mynn_vocab_free": (None, [c_void_p]),
    "mynn_vocab_encode": (STATUS, [c_void_p, c_char_p, c_size_t, c_float_p, P(c_size_t)]),
    "mynn_vocab_decode": (c_int, [c_void_p, c_int, c_char_p]),
    "mynn_set_vocab": (STATUS, [NetP, c_void_p]),
    "mynn_set_input_shape": (STATUS, [NetP, c_int, c_int, c_int]),
    "mynn_set_input_shape_1d": (STATUS, [NetP, c_int, c_int]),
    "mynn_input_shape": (c_int, [NetP, c_int_p]),
    "mynn_set_threads": (None, [c_int]),
    "mynn_get_threads": (c_int, []),
    "mynn_load_options_default": (None, [P(LoadOptions)]),
    "mynn_dataset_load": (STATUS, [P(P(Dataset)), c_char_p, P(LoadOptions), c_int]),
    "mynn_dataset_free": (None, [P(Dataset)]),
    "mynn_dataset_split": (STATUS, [P(Dataset), c_float, c_uint64, P(P(Dataset))]),
    "mynn_optim_config_default": (None, [P(OptimConfig), c_int]),
    "mynn_fit_options_default": (None, [P(FitOptions)]),
    "mynn_fit": (STATUS, [NetP, P(Dataset), P(Dataset), P(FitOptions)]),
    "mynn_evaluate": (STATUS, [NetP, P(Dataset), P(Metrics), c_int_p]),
    "mynn_save": (STATUS, [NetP, c_char_p]),
    "mynn_load": (STATUS, [P(NetP), c_char_p, c_int]),
    "mynn_metadata": (c_char_p, [NetP, c_char_p]),
    "mynn_export_onnx": (STATUS, [NetP, c_char_p]),
}


def _candidates():
    env = os.environ.get("MYNN_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    found = ctypes.util.find_library("mynn")
    return [os.path.join(here, "libmynn.so"),
            os.path.join(os.path.dirname(os.path.dirname(here)), "build", "libmynn.so"),
            "libmynn.so.0"] + ([found] if found else [])


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (absent)")
            continue
        try:
            lib = ctypes.CDLL(path)   # CDLL: every call releases the GIL
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        missing = [name for name in PROTOTYPES if not hasattr(lib, name)]
        if missing:
            tried.append("%s (lacks %s: an older build?)" % (path, ", ".join(missing[:3])))
            continue
        for name, (res, args) in PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        lib.path = path
        return lib
    raise ImportError("mynn: cannot load libmynn (build it with make, or set MYNN_LIBRARY): tried "
                      + "; ".join(tried))


lib = _load()


def last_error():
    return (lib.mynn_last_error() or b"").decode("utf-8", "replace")


def call(fn, *args):
    """Call a status-returning library function; raise the matching
    mynn.Error with the library's message when it fails."""
    status = fn(*args)
    if status != 0:
        raise errors.from_status(status, last_error())
    return status


def enum_from_name(fn, name, what):
    """An enum value from its library name (activation, loss, optimizer)."""
    if not isinstance(name, str):
        raise TypeError("%s must be a string, got %r" % (what, name))
    out = c_int()
    call(fn, name.encode(), ctypes.byref(out))
    return out.value
