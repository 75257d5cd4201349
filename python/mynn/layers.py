"""A Keras-functional way to build a mynn network graph:

    import mynn
    from mynn import layers as L

    x = mynn.Input((3, 32, 32))
    h = L.Conv2d(16, 3, padding="same", name="stem")(x)
    h = L.BatchNorm()(h)
    h = L.ReLU()(h)
    r = L.Conv2d(16, 3, padding="same")(h)
    r = L.BatchNorm()(r)
    h = mynn.add([r, h], activation="relu")        # a residual join
    y = L.Dense(10, activation="softmax")(L.GlobalAvgPool()(h))
    net = mynn.Model(inputs=x, outputs=y)           # a mynn.Net

Each layer object is one node of the graph: calling it on a symbolic
tensor (what mynn.Input or another layer returned) gives a new symbolic
tensor.  mynn.Model turns the nodes the output depends on, in the order
they were created, into the flat layer description mynn_add_layers reads
(one item per node, as=NAME for a named layer, from=REF+REF where a node
reads other than the node before: Net.spec shows it) and builds a
mynn.Net from it.  A layer object is one node: calling it twice is an
error (mynn shares no weights between nodes).
"""
import itertools
import numbers
import re

from .errors import ArgumentError

_ACTS = ("identity", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "gelu", "softmax")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,30}$")
_counter = itertools.count()
MAX_INPUTS = 8      # inputs of one add or concat node (the library's limit)


def _int(what, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ArgumentError("%s must be an integer, got %r" % (what, v))
    if v < lo:
        raise ArgumentError("%s must be >= %d, got %d" % (what, lo, v))
    return int(v)


def _one(what, v, lo=1):
    """One value for every direction: 3, or (3, 3)."""
    if isinstance(v, (tuple, list)):
        if not v or len(set(v)) != 1:
            raise ArgumentError("%s %r: mynn takes one value for every direction" % (what, tuple(v)))
        v = v[0]
    return _int(what, v, lo)


def _act(activation):
    if activation is None:
        return None
    if not isinstance(activation, str) or activation not in _ACTS:
        raise ArgumentError("activation %r: one of %s" % (activation, ", ".join(_ACTS)))
    return None if activation in ("identity", "linear") else activation


class SymbolicTensor:
    """A value of the graph being built: the network input (mynn.Input) or
    a layer's output.  shape is the sample shape for an Input, else None
    (the library computes the shapes when mynn.Model builds the net)."""

    def __init__(self, layer, inputs, root, shape=None):
        self.layer = layer          # the Layer that made it, None for an Input
        self.inputs = inputs        # the SymbolicTensors it was made from
        self.root = root            # the Input tensor it derives from
        self.shape = shape
        self._order = next(_counter)

    def __repr__(self):
        if self.layer is None:
            return "<mynn Input %r>" % (self.shape,)
        return "<mynn SymbolicTensor of %r>" % (self.layer,)


def Input(shape):
    """The network input: a feature count n (T token ids for an
    Embedding), or a sample's shape (C, H, W) (images), (C, L) (1-D
    signals) or (T, F) (a sequence of T steps of F features, for LSTM, GRU
    and RNN).  Returns a symbolic tensor (a
    description's from= calls it "input")."""
    if isinstance(shape, (tuple, list)):
        if len(shape) not in (1, 2, 3):
            raise ArgumentError("Input: a feature count, (C, H, W), (C, L) or (T, F), got %r" % (shape,))
        shape = tuple(_int("Input shape", v) for v in shape)
        if len(shape) == 1:
            shape = shape[0]
    else:
        shape = _int("Input shape", shape)
    t = SymbolicTensor(None, [], None, shape)
    t.root = t
    return t


class Layer:
    """One node: a description item as `mynn train --layers` takes it
    ("conv:32:3:pad=same", "batchnorm", "add:relu", ...; no commas, '|',
    parentheses, as= or from=).  name: the node's as= name (a letter or _
    then letters, digits or _, at most 31; not "input").  Called on a
    symbolic tensor (or a list of them, for a node of several inputs), it
    returns the node's output."""

    min_inputs, max_inputs = 1, 1

    def __init__(self, item, name=None):
        if not isinstance(item, str) or not item.strip():
            raise ArgumentError("Layer: a description item such as \"conv:32:3:pad=same\" is needed, got %r"
                                % (item,))
        item = item.strip()
        bad = [c for c in ",|()" if c in item]
        if bad:
            raise ArgumentError("Layer(%r): one item, without %s (blocks are built by calling layers; "
                                "joins with mynn.add / mynn.concat)" % (item, " ".join(repr(c) for c in bad)))
        for field in item.split(":")[1:]:
            key = field.split("=", 1)[0].strip() if "=" in field else None
            if key in ("as", "from"):
                raise ArgumentError("Layer(%r): %s= is set by the graph (use name= for as=)" % (item, key))
        if name is not None and (not isinstance(name, str) or not _NAME.match(name) or name == "input"):
            raise ArgumentError("name=%r: a letter or _ then letters, digits or _ (at most 31), not \"input\""
                                % (name,))
        if item.split(":", 1)[0].strip() in ("add", "concat"):
            self.min_inputs, self.max_inputs = 2, MAX_INPUTS
        self.item = item
        self.name = name
        self.output = None          # set by the one call

    def __repr__(self):
        return "%s(%r%s)" % (type(self).__name__, self.item, ", name=%r" % self.name if self.name else "")

    def __call__(self, inputs):
        many = isinstance(inputs, (list, tuple))
        tensors = list(inputs) if many else [inputs]
        for t in tensors:
            if not isinstance(t, SymbolicTensor):
                raise ArgumentError("%r called on %s: it takes the symbolic tensors mynn.Input and the layers "
                                    "return" % (self, type(t).__name__))
        if not (self.min_inputs <= len(tensors) <= self.max_inputs):
            want = ("one input" if self.max_inputs == 1 else
                    "%d to %d inputs" % (self.min_inputs, self.max_inputs))
            raise ArgumentError("%r takes %s, got %d" % (self, want, len(tensors)))
        if self.output is not None:
            raise ArgumentError("%r is already in a graph (called once before): mynn shares no weights between "
                                "nodes, so each call needs a layer object of its own" % (self,))
        roots = {id(t.root) for t in tensors}
        if len(roots) > 1:
            raise ArgumentError("%r: its inputs come from different mynn.Input tensors (a net has one input)"
                                % (self,))
        self.output = SymbolicTensor(self, tensors, tensors[0].root)
        return self.output


class Dense(Layer):
    """A fully connected layer of units outputs (a spatial input is
    flattened first; on a sequence it applies to every step, as nn.Linear
    on [N, T, F]): "UNITS[:ACT]"."""

    def __init__(self, units, activation=None, name=None):
        act = _act(activation)
        units = _int("Dense units", units)
        super().__init__("%d:%s" % (units, act) if act else "%d" % units, name)


class _Conv(Layer):
    kind = "conv"

    def __init__(self, filters, kernel_size, stride=1, padding=0, activation=None, name=None):
        filters = _int("%s filters" % type(self).__name__, filters)
        ks = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
        ks = tuple(_int("kernel_size", k) for k in ks)
        if self.kind == "conv1d" and len(ks) != 1:
            raise ArgumentError("Conv1d: kernel_size %r: one size" % (kernel_size,))
        if len(ks) not in (1, 2):
            raise ArgumentError("Conv2d: kernel_size %r: K or (KH, KW)" % (kernel_size,))
        k = "%d" % ks[0] if len(ks) == 1 or ks[0] == ks[1] else "%dx%d" % ks
        stride = _one("stride", stride)
        if isinstance(padding, str):
            if padding == "valid":
                pad = "0"
            elif padding == "same":
                pad = "same"
            else:
                raise ArgumentError("padding %r: a number, \"same\" or \"valid\"" % (padding,))
        else:
            pad = "%d" % _one("padding", padding, 0)
        act = _act(activation)
        item = "%s:%d:%s%s:stride=%d:pad=%s" % (self.kind, filters, k, ":" + act if act else "", stride, pad)
        super().__init__(item, name)


class Conv2d(_Conv):
    """2-D convolution (nn.Conv2d): filters output channels, kernel_size
    K or (KH, KW), one stride, padding P or "same" (stride 1, odd kernel)
    or "valid", an optional fused activation (not softmax)."""
    kind = "conv"


class Conv1d(_Conv):
    """1-D convolution over (C, L) samples (nn.Conv1d)."""
    kind = "conv1d"


class BatchNorm(Layer):
    """Batch normalisation per channel (BatchNorm1d/2d: momentum 0.1, eps 1e-5)."""

    def __init__(self, name=None):
        super().__init__("batchnorm", name)


class Activation(Layer):
    """An activation on its own: identity, sigmoid, tanh, relu,
    leaky_relu, gelu or softmax (over the whole sample)."""

    def __init__(self, activation, name=None):
        if not isinstance(activation, str) or activation not in _ACTS:
            raise ArgumentError("Activation %r: one of %s" % (activation, ", ".join(_ACTS)))
        super().__init__(activation, name)


class ReLU(Activation):
    def __init__(self, name=None):
        super().__init__("relu", name)


class _Pool(Layer):
    kind = "maxpool"

    def __init__(self, pool_size, stride=None, padding=0, name=None):
        k = _one("pool_size", pool_size)
        item = "%s:%d" % (self.kind, k)
        if stride is not None:
            item += ":stride=%d" % _one("stride", stride)
        pad = _one("padding", padding, 0)
        if pad:
            item += ":pad=%d" % pad
        super().__init__(item, name)


class MaxPool(_Pool):
    """Max pooling over K × K windows (stride: K unless given; padding P
    counts as -infinity, at most K/2; floor rounding): nn.MaxPool2d."""
    kind = "maxpool"


class AvgPool(_Pool):
    """Average pooling (the padding counts as zeros, as nn.AvgPool2d's
    count_include_pad=True)."""
    kind = "avgpool"


class MaxPool1d(_Pool):
    kind = "maxpool1d"


class AvgPool1d(_Pool):
    kind = "avgpool1d"


class GlobalAvgPool(Layer):
    """The mean of each channel: (C, H, W) -> C (AdaptiveAvgPool2d(1) then Flatten)."""

    def __init__(self, name=None):
        super().__init__("gap", name)


class Flatten(Layer):
    def __init__(self, name=None):
        super().__init__("flatten", name)


class Dropout(Layer):
    """Inverted dropout: in training, each value zeroed with probability
    rate (0 <= rate < 1), the rest scaled by 1/(1 - rate)."""

    def __init__(self, rate, name=None):
        try:
            r = float(rate)
        except (TypeError, ValueError):
            raise ArgumentError("Dropout rate must be a number, got %r" % (rate,)) from None
        if not 0 <= r < 1:
            raise ArgumentError("Dropout rate must be in [0, 1), got %r" % (rate,))
        super().__init__("dropout:%r" % r, name)


class _Recurrent(Layer):
    kind = "lstm"

    def __init__(self, hidden, return_sequences=False, bidirectional=False, extra="", name=None):
        hidden = _int("%s hidden" % type(self).__name__, hidden)
        item = "%s:%d%s%s%s" % (self.kind, hidden, ":seq" if return_sequences else "",
                                ":bi" if bidirectional else "", extra)
        super().__init__(item, name)


class LSTM(_Recurrent):
    """An LSTM over a sequence (nn.LSTM(batch_first=True), one layer):
    hidden units; return_sequences: every step's output [T, D·hidden]
    (PyTorch's output), else the last step's (h_n[-1]; bidirectional:
    torch.cat([h_n[-2], h_n[-1]], 1)).  It reads the network input
    mynn.Input((T, F)) as T steps of F, a sequence (Embedding, a layer
    with return_sequences, a Dense on every step), or a Conv1d's C × L as
    L steps of C.  Stack two by giving the first return_sequences=True."""
    kind = "lstm"

    def __init__(self, hidden, return_sequences=False, bidirectional=False, name=None):
        super().__init__(hidden, return_sequences, bidirectional, "", name)


class GRU(_Recurrent):
    """A GRU (nn.GRU), otherwise as LSTM."""
    kind = "gru"

    def __init__(self, hidden, return_sequences=False, bidirectional=False, name=None):
        super().__init__(hidden, return_sequences, bidirectional, "", name)


class RNN(_Recurrent):
    """An Elman RNN (nn.RNN): nonlinearity "tanh" or "relu", otherwise as LSTM."""
    kind = "rnn"

    def __init__(self, hidden, nonlinearity="tanh", return_sequences=False, bidirectional=False, name=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError("RNN nonlinearity %r: \"tanh\" or \"relu\"" % (nonlinearity,))
        # tanh is the default: the item says relu only
        super().__init__(hidden, return_sequences, bidirectional, ":relu" if nonlinearity == "relu" else "", name)


class Embedding(Layer):
    """Token ids to vectors (nn.Embedding): vocab ids 0..vocab-1, dim
    values each.  It reads the network input, mynn.Input(T): T ids per
    sample stored as floats, and gives a sequence of T steps."""

    def __init__(self, vocab, dim, name=None):
        vocab = _int("Embedding vocab", vocab)
        dim = _int("Embedding dim", dim)
        super().__init__("embedding:%d:%d" % (vocab, dim), name)


class Add(Layer):
    """The element-wise sum of 2 to 8 inputs of one shape, then an
    optional element-wise activation (not softmax)."""

    def __init__(self, activation=None, name=None):
        act = _act(activation)
        if act == "softmax":
            raise ArgumentError("Add: the activation after a sum must be element-wise (not softmax)")
        super().__init__("add:%s" % act if act else "add", name)


class Concat(Layer):
    """The concatenation of 2 to 8 inputs along the channels (C × H × W,
    equal H × W) or the features (vectors)."""

    def __init__(self, name=None):
        super().__init__("concat", name)


def add(inputs, activation=None, name=None):
    """Add(activation, name)(inputs): the sum of a list of symbolic tensors."""
    if not isinstance(inputs, (list, tuple)):
        raise ArgumentError("add: a list of two or more symbolic tensors is needed, got %r" % (inputs,))
    return Add(activation, name)(inputs)


def concat(inputs, name=None):
    """Concat(name)(inputs): the concatenation of a list of symbolic tensors."""
    if not isinstance(inputs, (list, tuple)):
        raise ArgumentError("concat: a list of two or more symbolic tensors is needed, got %r" % (inputs,))
    return Concat(name)(inputs)


def _single(what, v):
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise ArgumentError("Model: %s: a mynn net has one %s, got %d" % (what, what[:-1], len(v)))
        v = v[0]
    if not isinstance(v, SymbolicTensor):
        raise ArgumentError("Model: %s must be a symbolic tensor (from mynn.Input or a layer), got %s"
                            % (what, type(v).__name__))
    return v


def describe(inputs, outputs):
    """The flat layer description of the graph from inputs (a mynn.Input
    tensor) to outputs: one item per node the output depends on, in
    creation order, with as= and from= as needed."""
    x = _single("inputs", inputs)
    y = _single("outputs", outputs)
    if x.layer is not None:
        raise ArgumentError("Model: inputs must be the tensor mynn.Input returned, got the output of %r" % (x.layer,))
    if y.layer is None:
        raise ArgumentError("Model: the output is an Input: the model has no layers")
    if y.root is not x:
        raise ArgumentError("Model: the output was built from another mynn.Input than inputs")
    seen, stack = {}, [y]
    while stack:
        t = stack.pop()
        if id(t) in seen or t.layer is None:
            continue
        seen[id(t)] = t
        stack.extend(t.inputs)
    nodes = sorted(seen.values(), key=lambda t: t._order)
    index = {id(t): i for i, t in enumerate(nodes)}
    items = []
    for i, t in enumerate(nodes):
        refs = [-1 if s is x else index[id(s)] for s in t.inputs]
        item = t.layer.item
        if t.layer.name:
            item += ":as=%s" % t.layer.name
        if refs != [i - 1]:
            item += ":from=" + "+".join("input" if r < 0 else str(r) for r in refs)
        items.append(item)
    return ",".join(items)


def Model(inputs, outputs, loss=None, seed=1, normalize=None, max_batch=256, init="auto"):
    """A mynn.Net computing outputs from inputs (a graph built with
    mynn.Input and the layers of mynn.layers).  The other arguments are
    mynn.Net's.  The net's spec is the description the graph gives."""
    from .errors import Error
    from .net import Net
    spec = describe(inputs, outputs)
    x = _single("inputs", inputs)
    try:
        return Net(inputs=x.shape, layers=spec, loss=loss, init=init, seed=seed, normalize=normalize,
                   max_batch=max_batch)
    except Error as e:
        raise type(e)("%s (the graph's layer description: %s)" % (e.message, spec)) from None
