"""mynn.Net: a network of libmynn behind a Keras/PyTorch-shaped API."""
import ctypes
import os
import signal
import tempfile
import threading

import numpy as np

from . import _lib
from ._lib import call, enum_from_name, lib
from .data import as_inputs, dataset_struct, targets_for

_INITS = {"auto": 0, "xavier": 1, "he": 2, "uniform": 3}
_SCHEDULES = {"constant": 0, "step": 1, "cosine": 2}
_NORMALIZE = (None, "none", "scale", "standard")


def _path(p):
    if not isinstance(p, (str, bytes, os.PathLike)):
        raise TypeError("a path must be a str or os.PathLike, got %r" % (p,))
    return os.fsencode(p)


def _positive_int(name, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError("%s must be an integer, got %r" % (name, v))
    if v < lo or v > 2**31 - 1:
        raise ValueError("%s must be >= %d, got %d" % (name, lo, v))
    return int(v)


def _number(name, v, lo=0.0, strict=False):
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError("%s must be a number, got %r" % (name, v)) from None
    if not np.isfinite(f) or f < lo or (strict and f == lo):
        raise ValueError("%s must be a finite number %s %g, got %r" % (name, ">" if strict else ">=", lo, v))
    return f


class History(list):
    """The per-epoch records fit returns: a list of dicts with the keys
    epoch (1-based), lr, loss, accuracy, val_loss, val_accuracy, seconds
    (accuracy None for regression, val_* None without validation data).
    .history gives the same as a dict of lists, as Keras' History.
    .auto: optimizer="auto"'s choice (see Net.fit), else None."""

    auto = None

    @property
    def history(self):
        keys = ("epoch", "lr", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")
        return {k: [r[k] for r in self] for k in keys}


def _record(s):
    def opt(v):
        return None if v < 0 else float(v)
    return {"epoch": s.epoch + 1, "lr": float(s.lr), "loss": float(s.train_loss),
            "accuracy": opt(s.train_acc), "val_loss": opt(s.val_loss), "val_accuracy": opt(s.val_acc),
            "seconds": float(s.seconds)}


class Net:
    """A feed-forward network: a sequence of layers, or a graph of them.

    Net(inputs=784, layers="256:relu,dropout:0.2,10:softmax", loss="ce")

    inputs: features per sample, or a sample's shape: (C, H, W) for
    images, (C, L) for 1-D signals (samples are stored channel-major, as
    PyTorch's NCHW), (T, F) for sequences of T steps of F features
    (stored step by step, batch_first).  layers: a mynn layer description (as `mynn train
    --layers`: "conv:32:3:relu:pad=1,maxpool:2,flatten,128:relu,10:softmax";
    graphs with res(A | B)[:ACT], cat(A | B), (A)xN, as=NAME and
    from=REF+REF: "conv:16:3:pad=same,res(conv:16:3:pad=same,batchnorm):relu,gap,10:softmax"),
    or a list of its comma-separated parts (mynn.Model builds one from
    mynn.Input and mynn.layers instead).  loss:
    "mse", "bce" or "ce"; default as the tool: ce after softmax, bce after
    sigmoid, else mse.  init: "auto", "xavier", "he" or "uniform".  seed:
    initialisation (and, by default, fit's shuffling: `mynn train --seed`).
    normalize: None (no input transform), "scale" or "standard": computed
    from the training inputs by the first fit and stored with the model
    (`mynn train --normalize`; the tool's default is "scale").  max_batch:
    the largest batch the buffers hold (fit enlarges it as needed; predict
    takes any number of samples).
    """

    def __init__(self, inputs, layers, loss=None, init="auto", seed=1, normalize=None, max_batch=256):
        shape = None
        if isinstance(inputs, (tuple, list)):
            if len(inputs) not in (2, 3):
                raise ValueError("inputs: a feature count, (C, H, W), (C, L) or (T, F), got %r" % (inputs,))
            shape = tuple(_positive_int("inputs", v) for v in inputs)
            inputs = int(np.prod(shape))
        inputs = _positive_int("inputs", inputs)
        if isinstance(layers, (list, tuple)):
            if not all(isinstance(p, str) for p in layers):
                raise TypeError("layers: a list of strings such as ['128:relu', '10:softmax']")
            layers = ",".join(layers)
        if not isinstance(layers, str):
            raise TypeError("layers must be a string such as '128:relu,10:softmax', got %r" % (layers,))
        if init not in _INITS:
            raise ValueError("init: unknown initialisation %r (%s)" % (init, ", ".join(_INITS)))
        if normalize not in _NORMALIZE:
            raise ValueError("normalize: unknown kind %r (None, 'scale', 'standard')" % (normalize,))
        self._seed = _positive_int("seed", seed, 0)
        max_batch = _positive_int("max_batch", max_batch)
        self._handle = None
        h = _lib.NetP()
        call(lib.mynn_create, ctypes.byref(h), inputs)
        self._handle = h
        if shape is not None and len(shape) == 3:
            call(lib.mynn_set_input_shape, h, *shape)
        elif shape is not None:
            call(lib.mynn_set_input_shape_1d, h, *shape)
        call(lib.mynn_add_layers, h, layers.encode())
        self._spec = layers
        if loss is None:
            act = self._output_activation()
            loss = "ce" if act == "softmax" else "bce" if act == "sigmoid" else "mse"
        call(lib.mynn_set_loss, h, enum_from_name(lib.mynn_loss_from_name, loss, "loss"))
        self._init = _INITS[init]
        call(lib.mynn_build, h, max_batch, self._init, self._seed)
        self._normalize = None if normalize == "none" else normalize
        self.history = History()

    @classmethod
    def _wrap(cls, handle):
        net = cls.__new__(cls)
        net._handle, net._seed, net._init, net._normalize = handle, 1, 0, None
        net._spec = net.metadata("layers")
        net.history = History()
        return net

    def __del__(self):
        h = getattr(self, "_handle", None)
        if h:
            lib.mynn_free(h)
            self._handle = None

    # ---- pickling and copying: through the model file -------------------
    def __getstate__(self):
        fd, tmp = tempfile.mkstemp(suffix=".safetensors")
        os.close(fd)
        try:
            self.save(tmp)
            with open(tmp, "rb") as f:
                blob = f.read()
        finally:
            os.unlink(tmp)
        return {"model": blob, "seed": self._seed, "init": self._init, "normalize": self._normalize,
                "max_batch": self.max_batch}

    def __setstate__(self, state):
        fd, tmp = tempfile.mkstemp(suffix=".safetensors")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(state["model"])
            h = _lib.NetP()
            call(lib.mynn_load, ctypes.byref(h), _path(tmp), state["max_batch"])
        finally:
            os.unlink(tmp)
        self._handle, self._seed, self._init = h, state["seed"], state["init"]
        self._normalize = state["normalize"]
        self._spec = self.metadata("layers")
        self.history = History()

    # ---- introspection ----------------------------------------------------
    @property
    def inputs(self):
        return lib.mynn_n_inputs(self._handle)

    @property
    def outputs(self):
        return lib.mynn_n_outputs(self._handle)

    @property
    def input_shape(self):
        """(C, H, W), (C, L), or None for plain feature vectors."""
        sh = (ctypes.c_int * 3)()
        d = lib.mynn_input_shape(self._handle, sh)
        return (sh[0], sh[1], sh[2]) if d == 2 else (sh[0], sh[2]) if d == 1 else None

    @property
    def max_batch(self):
        return lib.mynn_max_batch(self._handle)

    @property
    def loss(self):
        return lib.mynn_loss_name(lib.mynn_get_loss(self._handle)).decode()

    @property
    def normalize(self):
        """The stored input transform's kind ("scale", "standard", ...) or None."""
        k = lib.mynn_get_input_transform(self._handle, None, None)
        return k.decode() if k is not None else None

    @property
    def input_transform(self):
        """(shift, scale) copies, x' = (x - shift) * scale, or None."""
        sh, sc = _lib.c_float_p(), _lib.c_float_p()
        if lib.mynn_get_input_transform(self._handle, ctypes.byref(sh), ctypes.byref(sc)) is None:
            return None
        n = self.inputs
        return (np.ctypeslib.as_array(sh, (n,)).copy(), np.ctypeslib.as_array(sc, (n,)).copy())

    def set_input_transform(self, shift, scale, kind="custom"):
        """Store x' = (x - shift) * scale (arrays of `inputs` values) as the
        net's input transform; shift=None removes it."""
        if shift is None:
            call(lib.mynn_set_input_transform, self._handle, None, None, None)
            return
        sh = np.ascontiguousarray(shift, dtype=np.float32).reshape(-1)
        sc = np.ascontiguousarray(scale, dtype=np.float32).reshape(-1)
        if sh.size != self.inputs or sc.size != self.inputs:
            raise ValueError("set_input_transform: shift and scale need %d values each, got %d and %d"
                             % (self.inputs, sh.size, sc.size))
        call(lib.mynn_set_input_transform, self._handle, kind.encode(), sh.ctypes.data_as(_lib.c_float_p),
             sc.ctypes.data_as(_lib.c_float_p))

    @property
    def layers(self):
        """One dict per layer (graph node, in the order of the model file's
        layers.<i>): kind, inputs, outputs (features per sample),
        output_shape (C, H, W), params, name (its as= name, or None),
        inputs_from (the node ids it reads, -1 for the network input), and
        activation (dense, conv, activation, add), rate (dropout),
        kernel/stride/pad (conv, pooling; [height, width]) or eps/momentum
        (batchnorm).  Layers on sequences (recurrent, embedding, and any
        layer reading or giving a sequence) add input_shape (C, H, W) of
        the first input, steps and input_steps (a sequence's steps, the
        shapes then being one step's; 0: not a sequence); hidden,
        sequences (every step's output), bidirectional (lstm, gru, rnn) and
        nonlinearity (rnn); vocab and dim (embedding)."""
        out = []
        for i in range(lib.mynn_n_layers(self._handle)):
            li = _lib.LayerInfo()
            call(lib.mynn_layer_get_info, self._handle, i, ctypes.byref(li))
            d = {"kind": li.kind_name.decode(), "inputs": li.n_inputs, "outputs": li.n_outputs,
                 "output_shape": tuple(li.out_shape), "params": li.n_params}
            kind = d["kind"]
            if kind in ("dense", "conv", "activation", "add"):
                d["activation"] = lib.mynn_activation_name(li.activation).decode()
            if kind == "dropout":
                d["rate"] = float(np.float32(li.rate))
            if kind in ("conv", "maxpool", "avgpool"):
                d.update(dims=li.dims, kernel=tuple(li.kernel), stride=tuple(li.stride), pad=tuple(li.pad))
            if kind == "batchnorm":
                d.update(eps=float(np.float32(li.eps)), momentum=float(np.float32(li.momentum)))
            if kind in ("lstm", "gru", "rnn", "embedding") or li.in_steps or li.out_steps:
                d.update(input_shape=tuple(li.in_shape), steps=li.out_steps, input_steps=li.in_steps)
            if kind in ("lstm", "gru", "rnn", "embedding"):
                d.update(_sequence_fields(kind, self._node_item(i)))
            d["name"] = self._node_name(i)
            d["inputs_from"] = self._node_inputs(i)
            out.append(d)
        return out

    def _node_item(self, i):
        """Node i's description item ("lstm:64:seq:bi")."""
        buf = ctypes.create_string_buffer(256)
        call(lib.mynn_layer_describe, self._handle, i, buf, len(buf), None, 0, None)
        return buf.value.decode()

    def _node_inputs(self, i):
        """Node i's inputs: node ids, -1 for the network input."""
        n = lib.mynn_layer_inputs(self._handle, i, None, 0)
        ids = (ctypes.c_int * max(n, 1))()
        lib.mynn_layer_inputs(self._handle, i, ids, n)
        return [ids[k] for k in range(n)]

    def _node_name(self, i):
        name = ctypes.c_char_p()
        call(lib.mynn_layer_describe, self._handle, i, None, 0, None, 0, ctypes.byref(name))
        return name.value.decode() if name.value else None

    @property
    def is_graph(self):
        """True when some node reads other than the node before it (a
        residual join, a concatenation, a branch)."""
        return any(ins != [i - 1] for i, ins in
                   enumerate(self._node_inputs(i) for i in range(lib.mynn_n_layers(self._handle))))

    @property
    def spec(self):
        """The layer description: as given to Net(layers=...), or the model
        file's canonical form (every option spelled out) for a loaded net."""
        return self._spec

    @property
    def n_params(self):
        n = ctypes.c_size_t()
        lib.mynn_params(self._handle, ctypes.byref(n))
        return n.value

    def metadata(self, key):
        """A metadata value of a loaded model file ("" if absent)."""
        return (lib.mynn_metadata(self._handle, key.encode()) or b"").decode()

    def _output_activation(self):
        acts = [d.get("activation") for d in self.layers if d["kind"] == "dense"]
        return acts[-1] if acts else None

    def __repr__(self):
        return "mynn.Net(inputs=%d, layers=%r, loss=%r)" % (self.inputs, self.spec, self.loss)

    def summary(self, print_fn=print):
        """A table of the layers (as `mynn info`), with the layers each
        reads ("Connected to": names where given, else node indices;
        "input" for the network input); printed with print_fn (None: not
        printed) and returned."""
        layers = self.layers
        names = [d["kind"] + (" " + d["name"] if d["name"] else "") for d in layers]
        kw = max([10] + [len(n) for n in names])
        width = 70 + kw - 10 + 14
        rule = "_" * width
        head = " %-4s %-*s %-20s %-12s %12s  %s" % ("#", kw, "Layer", "Output shape", "Activation", "Params",
                                                    "Connected to")
        lines = [rule, head, "=" * width]
        total = 0
        for i, d in enumerate(layers):
            what = d.get("activation") or ("rate %s" % d["rate"] if "rate" in d else "")
            c, h, w = d["output_shape"]
            shape = (c, h, w) if h > 1 else (c, w) if w > 1 else (c,)
            if d.get("steps"):                  # a sequence: steps of one step's shape
                shape = (d["steps"],) + shape
            src = ", ".join("input" if j < 0 else layers[j]["name"] or str(j) for j in d["inputs_from"])
            out_shape = "(None, %s)" % ", ".join(map(str, shape))
            lines.append(" %-4d %-*s %-20s %-12s %12d  %s" % (i, kw, names[i], out_shape, what, d["params"], src))
            total += d["params"]
        lines += ["=" * width, "Total params: %d (%.1f KiB as float32)" % (total, total * 4 / 1024),
                  "Inputs: %d" % self.inputs, "Outputs: %d" % self.outputs, "Loss: %s" % self.loss,
                  "Normalisation: %s" % (self.normalize or "none")]
        text = "\n".join(lines)
        if print_fn:
            print_fn(text)
        return text

    # ---- weights in PyTorch's layouts --------------------------------------
    def _targets_for(self, y, n):
        """(y float32, labels or None, n_classes) for n samples: a language
        model's (a softmax on every step of a sequence) targets are one class
        id per step, [n, steps] (mynn_n_targets); else data.targets_for."""
        steps = lib.mynn_n_targets(self._handle)
        if steps == self.outputs:
            return targets_for(y, n, self.outputs, self._output_activation())
        y = np.asarray(y)
        if y.shape != (n, steps):
            raise ValueError("y: a language model takes one class id per step, shape (%d, %d), got %s"
                             % (n, steps, y.shape))
        vocab = self.outputs // steps
        if not np.all((y >= 0) & (y < vocab) & (y == np.round(y))):
            raise ValueError("y: class ids must be whole numbers in 0..%d" % (vocab - 1))
        return np.ascontiguousarray(y, dtype=np.float32), None, 0

    def generate(self, prompt="", length=200, temperature=1.0, top_k=0, seed=1):
        """Text from a language model trained on a mynn.Text (or by `mynn
        train --text`): prompt, then length characters drawn one at a time
        (temperature 0: the most likely; top_k: among the k most likely),
        the same seed giving the same text; as `mynn generate`."""
        out = []

        def emit(data, n, user):
            out.append(ctypes.string_at(data, n))
            return 0

        cb = _lib.EMIT_FN(emit)
        call(lib.mynn_generate, self._handle, prompt.encode() if prompt else None, _positive_int("length", length, 0),
             float(temperature), _positive_int("top_k", top_k, 0), _positive_int("seed", seed, 0), cb, None)
        return prompt + b"".join(out).decode("utf-8", errors="replace")

    def _views(self, names=False):
        """numpy views of every layer's tensors, in PyTorch's layouts, in
        the model file's order (the library names them)."""
        views = []
        rank, dims = ctypes.c_int(), (ctypes.c_size_t * 4)()
        for i in range(lib.mynn_n_layers(self._handle)):
            k = 0
            while True:
                t = lib.mynn_layer_tensor_name(self._handle, i, k)
                if not t:
                    break
                k += 1
                p = lib.mynn_layer_tensor(self._handle, i, t, ctypes.byref(rank), dims)
                if p:
                    v = np.ctypeslib.as_array(p, tuple(dims[j] for j in range(rank.value)))
                    views.append(("layers.%d.%s" % (i, t.decode()), v) if names else v)
        return views

    def get_weights(self):
        """Every layer's tensors in order, as copies in PyTorch's layouts:
        dense W [out, in] and b [out] (nn.Linear), conv W [out, in, kh, kw]
        ([out, in, k] for 1-D) and b (nn.Conv2d/1d), batchnorm weight,
        bias, running_mean, running_var [C] (nn.BatchNorm*d)."""
        return [v.copy() for v in self._views()]

    def set_weights(self, weights):
        """Set every dense layer's weight and bias from a list shaped as
        get_weights returns it (any float arrays; finite values only)."""
        views = self._views()
        weights = list(weights)
        if len(weights) != len(views):
            raise ValueError("set_weights: %d arrays given, the network has %d (as get_weights returns them)"
                             % (len(weights), len(views)))
        arrays = []
        for k, (v, w) in enumerate(zip(views, weights)):
            try:
                a = np.asarray(w, dtype=np.float32)
            except (TypeError, ValueError) as e:
                raise TypeError("set_weights: array %d cannot be read as float32 (%s)" % (k, e)) from None
            if a.shape != v.shape:
                raise ValueError("set_weights: array %d has shape %s, want %s" % (k, a.shape, v.shape))
            if not np.all(np.isfinite(a)):
                raise ValueError("set_weights: array %d holds NaN or infinity" % k)
            arrays.append(a)
        for v, a in zip(views, arrays):
            np.copyto(v, a)

    def state_dict(self):
        """{"layers.<i>.weight": W, "layers.<i>.bias": b, ...}: copies, named as
        in the model file."""
        return {k: v.copy() for k, v in self._views(names=True)}

    # ---- inference ----------------------------------------------------------
    def predict(self, x):
        """Outputs for x [n, inputs] as float32 [n, outputs]."""
        x = as_inputs(x, self.inputs)
        y = np.empty((x.shape[0], self.outputs), dtype=np.float32)
        call(lib.mynn_predict, self._handle, x.ctypes.data_as(_lib.c_float_p), x.shape[0],
             y.ctypes.data_as(_lib.c_float_p))
        return y

    def evaluate(self, x, y):
        """Metrics on (x, y): a dict with loss, accuracy (None for
        regression), mse, mae, n and, for classification, the confusion
        matrix (row: true class, column: predicted)."""
        x = as_inputs(x, self.inputs)
        yf, labels, k = self._targets_for(y, x.shape[0])
        ds, keep = dataset_struct(x, yf, labels, k)
        m = _lib.Metrics()
        conf = np.zeros((k, k), dtype=np.int32) if k else None
        call(lib.mynn_evaluate, self._handle, ctypes.byref(ds), ctypes.byref(m),
             conf.ctypes.data_as(_lib.c_int_p) if k else None)
        del keep
        out = {"loss": float(m.loss), "accuracy": float(m.accuracy) if m.accuracy >= 0 else None,
               "mse": float(m.mse), "mae": float(m.mae), "n": m.n}
        if k:
            out["confusion"] = conf
        return out

    # ---- training -------------------------------------------------------------
    def compute_gradients(self, x, y):
        """The mean loss on one batch (x, y as fit takes them) and its
        gradient, as mynn_compute_gradients computes them: (loss, grads)
        with grads a dict {"layers.<i>.weight": ..., "layers.<i>.bias": ...}
        of copies named and shaped as state_dict's trainable tensors.  The
        forward pass is a training one (as fit's): batch norm uses the
        batch's statistics and updates its running ones, dropout draws its
        masks.  The weights are not changed."""
        x = as_inputs(x, self.inputs)
        yf, labels, k = self._targets_for(y, x.shape[0])
        n = x.shape[0]
        if n > self.max_batch:
            self._rebuild(n)
        loss = ctypes.c_float()
        call(lib.mynn_compute_gradients, self._handle, x.ctypes.data_as(_lib.c_float_p),
             yf.ctypes.data_as(_lib.c_float_p), n, ctypes.byref(loss))
        count = ctypes.c_size_t()
        base = ctypes.cast(lib.mynn_params(self._handle, ctypes.byref(count)), ctypes.c_void_p).value
        gp = lib.mynn_grads(self._handle, None)
        grads = np.ctypeslib.as_array(gp, (count.value,)) if count.value else np.zeros(0, np.float32)
        out = {}
        for name, v in self._views(names=True):
            at = (v.ctypes.data - base) // 4 if base else -1
            if 0 <= at and at + v.size <= count.value:
                out[name] = grads[at:at + v.size].reshape(v.shape).copy()
        return float(loss.value), out

    def _rebuild(self, max_batch):
        """Buffers for max_batch samples, keeping the weights."""
        if max_batch == self.max_batch:
            return
        saved = self.get_weights()
        call(lib.mynn_build, self._handle, max_batch, self._init, self._seed)
        self.set_weights(saved)

    def fit(self, x, y, epochs=None, batch_size=None, optimizer="adam", lr=None, momentum=0.0,
            nesterov=False, weight_decay=None, clip_norm=0.0, schedule="constant", step_size=10,
            gamma=0.1, min_lr=0.0, warmup=0, validation_data=None, validation_split=0.0, patience=0,
            seed=None, shuffle=True, threads=None, callback=None, checkpoint=None, resume=False,
            augment=None):
        """Train on x [n, inputs] and y: class indices [n] (a softmax or
        multi-output classifier), or targets [n, outputs] / [n] (one output).

        The options are `mynn train`'s, with the same defaults: epochs 10,
        batch_size 32 (irprop: the whole set), lr the optimizer's default,
        weight_decay 0, seed the net's seed.

        optimizer="auto" (`mynn train`'s default; mynn_fit's MYNN_OPT_AUTO)
        chooses on held-out rows of (x, y) among L-BFGS weight decays (and
        above 5000 rows Adam with a cosine schedule), early-stopped on
        the held-out loss, then trains the choice on all of (x, y):
        weight_decay and epochs, when given, fix theirs; batch_size is
        Adam's; lr, momentum, nesterov, clip_norm, a schedule or warmup
        are refused (auto picks each optimizer's own).  The choice is
        history.auto (a dict: optimizer, weight_decay, epochs, val_loss,
        folds, candidates, ...) and the model's metadata ("auto",
        "auto_search"; see docs/small-data.md).

        validation_data=(xv, yv), or validation_split=f to
        hold out a seeded fraction f of (x, y) as --val f does; patience=N
        stops after N epochs without a better validation loss and keeps
        the best weights.  threads sets the library's thread count (for
        the whole process).  callback(record) is called after every epoch
        with the record the history gets; returning False stops training.
        checkpoint=PATH, resume=True: mynn_fit's checkpoints.  augment:
        data augmentation of training images (a net with an input shape
        (C, H, W)), as `mynn train --augment`: "crop=4,flip" or a dict
        {"crop": 4, "flip": True}; crop=N moves each image by a random
        offset in [-N, N]² with zero fill (RandomCrop with padding N),
        flip mirrors half of them left-right; the draws follow the seed.

        Returns the History (a list of per-epoch dicts; also in
        self.history).  The library runs without the GIL, so other Python
        threads keep running.  Ctrl-C stops at the next batch and raises
        KeyboardInterrupt (with patience, the best weights are kept)."""
        x = as_inputs(x, self.inputs)
        yf, labels, k = self._targets_for(y, x.shape[0])
        opt_kind = enum_from_name(lib.mynn_optimizer_from_name, optimizer, "optimizer")
        o = _lib.FitOptions()
        lib.mynn_fit_options_default(ctypes.byref(o))
        lib.mynn_optim_config_default(ctypes.byref(o.optim), opt_kind)
        auto = opt_kind == _AUTO
        if auto:
            _check_auto(lr, momentum, nesterov, clip_norm, schedule, warmup)
            o.search.fix_epochs = 0 if epochs is None else 1
            o.search.fix_weight_decay = 0 if weight_decay is None else 1
        o.epochs = _positive_int("epochs", 10 if epochs is None else epochs)
        o.seed = self._seed if seed is None else _positive_int("seed", seed, 0)
        o.shuffle = 1 if shuffle else 0
        if lr is not None:
            o.optim.lr = _number("lr", lr, 0.0, strict=True)
        o.optim.momentum = _number("momentum", momentum)
        o.optim.nesterov = 1 if nesterov else 0
        if nesterov and (opt_kind != 0 or not o.optim.momentum > 0):
            raise ValueError("nesterov: only for optimizer 'sgd' with momentum > 0")
        o.optim.weight_decay = _number("weight_decay", 0.0 if weight_decay is None else weight_decay)
        o.optim.clip_norm = _number("clip_norm", clip_norm)
        if schedule not in _SCHEDULES:
            raise ValueError("schedule: unknown schedule %r (%s)" % (schedule, ", ".join(_SCHEDULES)))
        o.schedule.kind = _SCHEDULES[schedule]
        o.schedule.step_size = _positive_int("step_size", step_size)
        o.schedule.gamma = _number("gamma", gamma, 0.0, strict=True)
        o.schedule.min_lr = _number("min_lr", min_lr)
        o.schedule.warmup_epochs = _positive_int("warmup", warmup, 0)
        o.patience = _positive_int("patience", patience, 0)
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable, got %r" % (callback,))
        if threads is not None:
            _positive_int("threads", threads)
        o.augment.crop, o.augment.flip = _augment(augment)

        train = (x, yf, labels)
        val = None
        if validation_data is not None:
            if validation_split:
                raise ValueError("give validation_data or validation_split, not both")
            try:
                xv, yv = validation_data
            except (TypeError, ValueError):
                raise TypeError("validation_data must be a pair (x, y)") from None
            xv = as_inputs(xv, self.inputs, "validation x")
            val = (xv,) + self._targets_for(yv, xv.shape[0])[:2]
        elif validation_split:
            frac = _number("validation_split", validation_split, 0.0, strict=True)
            if frac >= 1:
                raise ValueError("validation_split must be below 1, got %r" % (validation_split,))
            train, val = _split(x, yf, labels, k, frac, o.seed)
        if o.patience and val is None:
            raise ValueError("patience needs validation data (validation_data or validation_split)")
        n = train[0].shape[0]
        o.batch_size = n if batch_size is None and opt_kind == 4 else \
            _positive_int("batch_size", 32 if batch_size is None else batch_size)
        # auto's L-BFGS trains on the whole set in one batch (up to its search's size)
        build = max(n, o.batch_size) if auto and n <= _AUTO_SEARCH_ROWS else o.batch_size
        report = _lib.AutoReport()
        if auto:
            o.search.report = ctypes.pointer(report)
        if checkpoint is not None:
            o.checkpoint_path = _path(checkpoint)
            o.resume = 1 if resume else 0

        if self._normalize and self.normalize is None:
            call(lib.mynn_fit_input_transform, self._handle, self._normalize.encode(),
                 train[0].ctypes.data_as(_lib.c_float_p), n)
        self._rebuild(build)
        if threads is not None:
            lib.mynn_set_threads(int(threads))

        history = History()
        self.history = history
        state = {"error": None, "interrupted": False}

        def on_epoch(stats, user):
            try:
                rec = _record(stats.contents)
                history.append(rec)
                if callback is not None and callback(rec) is False:
                    return 1
                return 0
            except BaseException as e:   # never let an exception cross the C frames
                state["error"] = e
                return 1

        def on_batch(epoch, batch, n_batches, loss, user):
            return 1 if state["interrupted"] else 0

        def on_sigint(signum, frame):
            state["interrupted"] = True

        o.on_epoch = _lib.EPOCH_CALLBACK(on_epoch)
        in_main = threading.current_thread() is threading.main_thread()
        o.on_batch = _lib.BATCH_CALLBACK(on_batch) if in_main else _lib.BATCH_CALLBACK()
        tds, keep_t = dataset_struct(train[0], train[1], train[2], k)
        vds, keep_v = dataset_struct(val[0], val[1], val[2], k) if val is not None else (None, None)
        old = signal.signal(signal.SIGINT, on_sigint) if in_main else None
        try:
            status = lib.mynn_fit(self._handle, ctypes.byref(tds), ctypes.byref(vds) if vds else None,
                                  ctypes.byref(o))
        finally:
            if in_main:
                signal.signal(signal.SIGINT, old)
        del keep_t, keep_v
        if state["interrupted"]:
            raise KeyboardInterrupt("mynn: training interrupted after %d complete epochs" % len(history))
        if state["error"] is not None:
            raise state["error"]
        if status not in (0, 9):   # MYNN_ERR_STOPPED: a callback asked to stop
            raise _lib.errors.from_status(status, _lib.last_error())
        if auto:
            history.auto = _auto_record(report)
        return history

    # ---- files --------------------------------------------------------------
    def save(self, path):
        """Save as a safetensors model file (atomically), readable by
        mynn.load, the mynn tool, the C library and PyTorch's safetensors."""
        call(lib.mynn_save, self._handle, _path(path))

    def export_onnx(self, path):
        """Write the inference graph as an ONNX model (opset 13): see
        `mynn export` in docs/cli.md."""
        call(lib.mynn_export_onnx, self._handle, _path(path))

    def to_torch(self):
        """An equivalent PyTorch module (see mynn.from_torch): an
        nn.Sequential for a plain sequence of layers, a GraphNet
        (mynn.torch_modules: a module per node and the inputs of each)
        for a graph.  Recurrent and embedding layers become
        mynn.torch_modules.Recurrent (an nn.LSTM/GRU/RNN of one layer,
        batch_first, as its `rnn`) and Embedding (an nn.Embedding); a head
        on every step ends with a Flatten, giving predict's [N, T·K]."""
        from .torch_bridge import to_torch
        return to_torch(self)


def _sequence_fields(kind, item):
    """The settings of a recurrent or embedding layer, from its canonical
    item: "lstm:64:seq:bi", "rnn:8:relu", "embedding:100:16"."""
    fields = item.split(":")
    if kind == "embedding":
        return {"vocab": int(fields[1]), "dim": int(fields[2])}
    d = {"hidden": int(fields[1]), "sequences": "seq" in fields[2:], "bidirectional": "bi" in fields[2:]}
    if kind == "rnn":
        d["nonlinearity"] = "relu" if "relu" in fields[2:] else "tanh"
    return d


_AUTO = 6                    # MYNN_OPT_AUTO
_AUTO_SEARCH_ROWS = 20000    # MYNN_AUTO_SEARCH_ROWS


def _check_auto(lr, momentum, nesterov, clip_norm, schedule, warmup):
    """optimizer="auto" picks each optimizer's own settings: refuse others."""
    given = [name for name, v, default in (("lr", lr, None), ("momentum", momentum, 0.0),
                                             ("nesterov", nesterov, False), ("clip_norm", clip_norm, 0.0),
                                             ("schedule", schedule, "constant"), ("warmup", warmup, 0))
             if v != default]
    if given:
        raise ValueError("%s: optimizer 'auto' chooses its optimizers' own settings; name an optimizer "
                         "('lbfgs', 'adam', ...) to set %s" % (given[0], given[0]))


def _auto_record(r):
    """mynn_auto_report as a dict."""
    def name(kind):
        return lib.mynn_optimizer_name(kind).decode()

    cands = [{"optimizer": name(c.kind), "weight_decay": float(c.weight_decay), "epochs": c.epochs,
              "val_loss": float(c.val_loss), "folds": c.folds, "trained": c.trained, "budget": c.budget}
             for c in r.candidates[:r.n_candidates]]
    return {"optimizer": name(r.kind), "weight_decay": float(r.weight_decay), "epochs": r.epochs,
            "val_loss": cands[r.chosen]["val_loss"] if r.chosen >= 0 else None, "chosen": r.chosen,
            "candidates": cands, "folds": r.folds, "n_fit": r.n_fit, "n_val": r.n_val,
            "refit": bool(r.refit), "seconds": float(r.seconds)}


def _augment(augment):
    """(crop, flip) from fit's augment: None, "crop=4,flip" or {"crop": 4, "flip": True}."""
    if augment is None or augment is False or augment == "":
        return 0, 0
    if isinstance(augment, str):
        spec = {}
        for part in augment.split(","):
            part = part.strip()
            key, eq, val = part.partition("=")
            key = key.strip()
            if key == "flip" and not eq:
                spec["flip"] = True
            elif key in ("crop", "flip") and eq:
                spec[key] = val.strip()
            else:
                raise ValueError("augment: unknown %r (crop=N, flip, as augment=\"crop=4,flip\")" % part)
        augment = spec
    if not isinstance(augment, dict):
        raise TypeError("augment must be a string such as \"crop=4,flip\" or a dict {\"crop\": 4, \"flip\": True}, "
                        "got %r" % (augment,))
    unknown = set(augment) - {"crop", "flip"}
    if unknown:
        raise ValueError("augment: unknown key(s) %s (crop, flip)" % ", ".join(sorted(map(str, unknown))))
    crop = augment.get("crop", 0) or 0
    if isinstance(crop, str):
        try:
            crop = int(crop)
        except ValueError:
            raise ValueError("augment: crop must be an integer, got %r" % augment["crop"]) from None
    crop = _positive_int("augment crop", crop, 0)
    flip = augment.get("flip", False)
    if isinstance(flip, str):
        if flip.lower() not in ("0", "1", "true", "false"):
            raise ValueError("augment: flip must be true or false, got %r" % flip)
        flip = flip.lower() in ("1", "true")
    if flip not in (True, False, 0, 1):
        raise ValueError("augment: flip must be True or False, got %r" % (flip,))
    return crop, 1 if flip else 0


def _split(x, yf, labels, k, frac, seed):
    """mynn_dataset_split on copies (the library shuffles rows in place)."""
    x, yf = x.copy(), yf.copy()
    labels = labels.copy() if labels is not None else None
    ds, keep = dataset_struct(x, yf, labels, k)
    v = ctypes.POINTER(_lib.Dataset)()
    call(lib.mynn_dataset_split, ctypes.byref(ds), frac, seed, ctypes.byref(v))
    try:
        vd = v.contents
        xv = np.ctypeslib.as_array(vd.x, (vd.n, vd.n_inputs)).copy()
        yv = np.ctypeslib.as_array(vd.y, (vd.n, vd.n_outputs)).copy()
        lv = np.ctypeslib.as_array(vd.labels, (vd.n,)).copy() if vd.labels else None
    finally:
        lib.mynn_dataset_free(v)
    nt = ds.n
    del keep
    train = (x[:nt], yf[:nt], labels[:nt] if labels is not None else None)
    return train, (xv, yv, lv)


def load(path, max_batch=256):
    """A model saved by Net.save, `mynn train --save` or the C library."""
    h = _lib.NetP()
    call(lib.mynn_load, ctypes.byref(h), _path(path), _positive_int("max_batch", max_batch))
    return Net._wrap(h)
