"""mynn <-> PyTorch.  A plain sequence of layers is an nn.Sequential both
ways; a graph becomes a GraphNet (mynn/torch_modules.py) and comes back
from one, or from any module torch.fx can trace into the modules and
functions mynn has.  torch is imported only here, when a bridge function
is called."""
import dis
import inspect
import operator

import numpy as np

from .errors import ArgumentError

SUPPORTED = ("Linear, Conv1d, Conv2d, BatchNorm1d, BatchNorm2d, MaxPool1d/2d, AvgPool1d/2d, "
             "AdaptiveAvgPool1d/2d(1), Flatten, Dropout, Identity, Sigmoid, Tanh, ReLU, LeakyReLU(0.01), "
             "GELU, Softmax(dim=1)")
SUPPORTED_FX = ("the modules " + SUPPORTED + ", LSTM, GRU, RNN (batch_first) and Embedding; the functions +, +=, "
                "torch.add, torch.cat(dim=1), relu, sigmoid, tanh, gelu, leaky_relu(0.01), softmax(dim=1), dropout, "
                "torch.flatten(x, 1), x.view(x.size(0), -1), adaptive_avg_pool(1), max_pool, avg_pool, "
                "x.mean((2, 3)); of a recurrent module's (y, h_n): y, y[:, -1], h_n[-1], "
                "torch.cat([h_n[-2], h_n[-1]], 1)")


def _torch():
    try:
        import torch
        return torch
    except ImportError as e:
        raise ImportError("mynn.from_torch / Net.to_torch need PyTorch (apt-get install python3-torch): %s"
                          % e) from None


def _modules():
    _torch()
    from . import torch_modules
    return torch_modules


def input_transform_module(shift, scale):
    """A torch module applying mynn's input transform (what to_torch puts
    first when the transform cannot be folded into a Linear)."""
    return _modules().InputTransform(shift, scale)


# ---- one module -> one mynn item ----------------------------------------------------------
# w names the module in messages: "module 3" (a Sequential's child), "node 'layer1.0.conv1'".

def _activation(torch, w, m):
    """mynn's name for an activation module, None for any other module."""
    if isinstance(w, int):
        w = "module %d" % w
    nn = torch.nn
    simple = {nn.Identity: "identity", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu"}
    for cls, name in simple.items():
        if type(m) is cls:
            return name
    if isinstance(m, nn.LeakyReLU):
        return _leaky(w, "LeakyReLU", m.negative_slope)
    if isinstance(m, nn.GELU):
        return _gelu(w, "GELU", getattr(m, "approximate", "none"))
    if isinstance(m, nn.Softmax):
        return _softmax(w, "Softmax", m.dim)
    return None


def _leaky(w, what, slope):
    if abs(slope - 0.01) > 1e-12:
        raise ArgumentError("from_torch: %s: %s(negative_slope=%g): mynn's leaky_relu has slope 0.01"
                            % (w, what, slope))
    return "leaky_relu"


def _gelu(w, what, approximate):
    if approximate != "none":
        raise ArgumentError("from_torch: %s: %s(approximate=%r): mynn's gelu is the exact erf form"
                            % (w, what, approximate))
    return "gelu"


def _softmax(w, what, dim):
    if dim not in (1, -1):
        raise ArgumentError("from_torch: %s: %s(dim=%r): mynn's softmax is over dim 1" % (w, what, dim))
    return "softmax"


def _one(w, m, what, v):
    """A kernel/stride/padding that is the same in every direction."""
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(set(v)) != 1 or not isinstance(v[0], int):
        raise ArgumentError("from_torch: %s (%s): %s %r: mynn needs one value for every direction"
                            % (w, m if isinstance(m, str) else type(m).__name__, what, v))
    return v[0]


def _np(t):
    return t.detach().cpu().float().numpy()


def _conv(torch, w, m):
    """("conv:F:K", ":stride=S:pad=P", [weight, bias]): the activation goes between."""
    name = type(m).__name__
    if m.groups != 1 or _one(w, m, "dilation", m.dilation) != 1 or m.padding_mode != "zeros":
        raise ArgumentError("from_torch: %s (%s): groups, dilation and padding modes are not in mynn" % (w, name))
    k = m.kernel_size
    ks = "%d" % k[0] if len(k) == 1 or k[0] == k[1] else "%dx%d" % k
    stride = _one(w, m, "stride", m.stride)
    if isinstance(m.padding, str):
        if m.padding == "valid":
            pad = "0"
        elif all(v % 2 == 1 for v in k) and stride == 1:
            pad = "same"
        else:
            raise ArgumentError("from_torch: %s (%s): padding='same' with an even kernel %s pads unevenly: mynn's "
                                "same needs an odd kernel" % (w, name, tuple(k)))
    else:
        pad = "%d" % _one(w, m, "padding", m.padding)
    kind = "conv1d" if isinstance(m, torch.nn.Conv1d) else "conv"
    wt = _np(m.weight)
    b = _np(m.bias) if m.bias is not None else np.zeros(m.out_channels, dtype=np.float32)
    return "%s:%d:%s" % (kind, m.out_channels, ks), ":stride=%d:pad=%s" % (stride, pad), [wt, b]


def _pool_item(w, what, max_pool, one_d, kernel, stride, padding, ceil_mode, dilation=1, count_include_pad=True,
               divisor_override=None):
    if ceil_mode:
        raise ArgumentError("from_torch: %s (%s): ceil_mode=True: mynn's pooling rounds down" % (w, what))
    if _one(w, what, "dilation", dilation) != 1:
        raise ArgumentError("from_torch: %s (%s): dilation is not in mynn" % (w, what))
    if divisor_override:
        raise ArgumentError("from_torch: %s (%s): divisor_override is not in mynn" % (w, what))
    k = _one(w, what, "kernel_size", kernel)
    s = _one(w, what, "stride", stride if stride not in (None, (), []) else k)
    p = _one(w, what, "padding", padding)
    if p and not max_pool and not count_include_pad:
        raise ArgumentError("from_torch: %s (%s): count_include_pad=False: mynn's avgpool counts the padding "
                            "(PyTorch's default)" % (w, what))
    if 2 * p > k:
        raise ArgumentError("from_torch: %s (%s): padding %d is more than half the window %d" % (w, what, p, k))
    item = "%s%s:%d:stride=%d" % ("maxpool" if max_pool else "avgpool", "1d" if one_d else "", k, s)
    return item + (":pad=%d" % p if p else "")


def _pool(torch, w, m):
    nn = torch.nn
    max_pool = isinstance(m, (nn.MaxPool1d, nn.MaxPool2d))
    if max_pool and m.return_indices:
        raise ArgumentError("from_torch: %s (%s): return_indices is not in mynn" % (w, type(m).__name__))
    return _pool_item(w, type(m).__name__, max_pool, isinstance(m, (nn.MaxPool1d, nn.AvgPool1d)), m.kernel_size,
                      m.stride, m.padding, m.ceil_mode, getattr(m, "dilation", 1),
                      getattr(m, "count_include_pad", True), getattr(m, "divisor_override", None))


def _batchnorm(w, m):
    if not (m.affine and m.track_running_stats and m.running_mean is not None):
        raise ArgumentError("from_torch: %s (%s): mynn's batchnorm is affine with running statistics"
                            % (w, type(m).__name__))
    if abs(m.eps - 1e-5) > 1e-12 or m.momentum is None or abs(m.momentum - 0.1) > 1e-12:
        raise ArgumentError("from_torch: %s (%s): eps=%g, momentum=%r: mynn's batchnorm has eps 1e-5 and "
                            "momentum 0.1" % (w, type(m).__name__, m.eps, m.momentum))
    return [_np(m.weight), _np(m.bias), _np(m.running_mean), _np(m.running_var)]


def _dropout(w, m):
    if not 0 <= m.p < 1:
        raise ArgumentError("from_torch: %s: Dropout(p=%g): mynn needs 0 <= p < 1" % (w, m.p))
    return "dropout:%r" % float(m.p)


def _flatten(w, m):
    if m.start_dim != 1 or m.end_dim != -1:
        raise ArgumentError("from_torch: %s (Flatten): only start_dim=1, end_dim=-1" % w)
    return "flatten"


def _gap(w, m):
    if _one(w, m, "output_size", m.output_size) != 1:
        raise ArgumentError("from_torch: %s (%s): only output_size 1 (mynn's gap)" % (w, type(m).__name__))
    return "gap"


def _sequence(torch, mods, spatial, where):
    """The items and weights of a list of modules in sequence (an activation
    right after a Linear or Conv fused into it): (parts, weights, first
    module fixing the input size, transform or None).  where(i) names
    module i in messages."""
    nn = torch.nn
    tm = _modules()
    parts, weights, transform, first = [], [], None, None
    seq = False          # a sequence [N, T, F] flows (after Embedding, a Recurrent with sequences)
    i = 0
    while i < len(mods):
        m, w = mods[i], where(i)
        act_next = _step_activation(torch, where(i + 1), mods[i + 1], seq) if i + 1 < len(mods) else None
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            spatial, seq = True, False
        elif isinstance(m, nn.Flatten):
            spatial, seq = False, False
        elif isinstance(m, (nn.Linear, tm.Recurrent, tm.Embedding)):
            spatial = False
        if spatial and _activation(torch, w, m) == "softmax":
            raise ArgumentError("from_torch: %s (Softmax) over the channels of a spatial tensor: mynn's "
                                "softmax spans the whole sample (put a Flatten before it)" % w)
        if type(m).__name__ == "InputTransform" and i == 0:
            transform = (_np(m.shift).reshape(-1), _np(m.scale).reshape(-1))
        elif isinstance(m, nn.Linear):
            first = first or m
            act = act_next or "identity"
            i += act_next is not None
            parts.append(str(m.out_features) if act == "identity" else "%d:%s" % (m.out_features, act))
            b = _np(m.bias) if m.bias is not None else np.zeros(m.out_features, dtype=np.float32)
            weights += [_np(m.weight), b]
        elif isinstance(m, (nn.Conv1d, nn.Conv2d)):
            first = first or m
            head, tail, wb = _conv(torch, w, m)
            if act_next == "softmax":
                act_next = None      # a softmax after a conv stays a layer of its own
            i += act_next is not None
            parts.append(head + (":%s" % act_next if act_next else "") + tail)
            weights += wb
        elif isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
            parts.append(_pool(torch, w, m))
        elif isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
            parts.append(_gap(w, m))
        elif isinstance(m, nn.Flatten):
            parts.append(_flatten(w, m))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            parts.append("batchnorm")
            weights += _batchnorm(w, m)
        elif isinstance(m, nn.Dropout):
            parts.append(_dropout(w, m))
        elif isinstance(m, tm.Recurrent):
            first = first or m
            parts.append(_wrapped_recurrent_item(m))
            weights += [_np(getattr(m.rnn, t)) for t in _rec_names(m.rnn.bidirectional)]
            seq = m.sequences
        elif isinstance(m, tm.Embedding):
            first = first or m
            parts.append("embedding:%d:%d" % (m.embedding.num_embeddings, m.embedding.embedding_dim))
            weights.append(_np(m.embedding.weight))
            seq = True
        elif _step_activation(torch, w, m, seq) is not None:
            parts.append(_step_activation(torch, w, m, seq))
        elif isinstance(m, (nn.LSTM, nn.GRU, nn.RNN)):
            raise ArgumentError("from_torch: %s (%s) returns (output, state), which an nn.Sequential passes on "
                                "whole: write a module whose forward picks the output, as "
                                "`y, _ = self.rnn(x); return self.fc(y[:, -1])` (docs/python.md)"
                                % (w, type(m).__name__))
        else:
            raise ArgumentError("from_torch: %s (%s) has no mynn equivalent (supported: %s)"
                                % (w, type(m).__name__, SUPPORTED))
        i += 1
    return parts, weights, first, transform


def _step_activation(torch, w, m, seq):
    """_activation, but on a sequence a softmax is mynn's over each step's
    values: Softmax(dim=-1) (or 2)."""
    if seq and isinstance(m, torch.nn.Softmax):
        if m.dim not in (2, -1):
            raise ArgumentError("from_torch: %s: Softmax(dim=%r) on a sequence [N, T, F]: mynn's is over each "
                                "step's values (dim=-1)" % (w if isinstance(w, str) else "module %d" % w, m.dim))
        return "softmax"
    return _activation(torch, w, m)


def _wrapped_recurrent_item(m):
    """The item of a mynn.torch_modules.Recurrent (what to_torch made)."""
    r = m.rnn
    item = "%s:%d%s%s" % (m.kind, r.hidden_size, ":seq" if m.sequences else "", ":bi" if r.bidirectional else "")
    return item + (":relu" if m.kind == "rnn" and r.nonlinearity == "relu" else "")


def _builtin_leaf(torch, m):
    """A module of torch.nn that is not a container (or mynn's InputTransform,
    Recurrent, Embedding)."""
    nn = torch.nn
    tm = _modules()
    if isinstance(m, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
        return False
    return (type(m).__module__.startswith("torch.nn") or type(m).__name__ == "InputTransform"
            or isinstance(m, (tm.Recurrent, tm.Embedding)))


def from_torch(model, loss=None, input_shape=None):
    """See mynn.from_torch."""
    torch = _torch()
    nn = torch.nn
    if not isinstance(model, nn.Module):
        raise TypeError("from_torch: a torch.nn.Module is needed (an nn.Sequential, or a model torch.fx can "
                        "trace), got %s" % type(model).__name__)
    tm = _modules()
    if isinstance(model, tm.GraphNet):
        return _from_graphnet(torch, model, loss)
    if isinstance(model, nn.Sequential) and all(_builtin_leaf(torch, m) for m in model.children()):
        return _from_sequential(torch, model, loss, input_shape)
    if _builtin_leaf(torch, model):
        raise TypeError("from_torch: a torch.nn.Sequential is needed, got %s on its own (put it in an "
                        "nn.Sequential)" % type(model).__name__)
    return _from_fx(torch, model, loss, input_shape)


def _from_sequential(torch, model, loss, input_shape):
    from .net import Net
    nn = torch.nn
    mods = list(model.children())
    if len(mods) > 1 and isinstance(mods[-1], nn.Flatten):
        mods = mods[:-1]         # a reshape to predict's flat output (to_torch's, after a head on every step)
    spatial = input_shape is not None and len(input_shape) > 1
    parts, weights, first, transform = _sequence(torch, mods, spatial, lambda i: "module %d" % i)
    if first is None:
        raise ArgumentError("from_torch: the model has no Linear or Conv layer")
    tm = _modules()
    if isinstance(first, nn.Linear):
        inputs = tuple(input_shape) if input_shape else first.in_features
    elif isinstance(first, tm.Embedding):
        inputs = tuple(input_shape) if input_shape else first.steps
    elif isinstance(first, tm.Recurrent) and not first.channel_major:
        inputs = tuple(input_shape) if input_shape else (first.steps, first.rnn.input_size)
    elif input_shape is None:
        raise ArgumentError("from_torch: the first layer is a %s: give input_shape=(C, H, W) or (C, L)"
                            % type(first).__name__)
    else:
        inputs = tuple(input_shape)
    if isinstance(inputs, tuple) and len(inputs) == 1:
        inputs = inputs[0]                      # (T,): T token ids
    net = Net(inputs=inputs, layers=",".join(parts), loss=loss)
    net.set_weights(weights)
    if transform is not None:
        net.set_input_transform(*transform)
    return net


def _items_to_net(torch, nodes, inputs, loss, transform):
    """A Net from nodes (dicts: item, name, inputs (ids, -1 the input),
    weights) in order."""
    from .net import Net
    items, weights = [], []
    for i, nd in enumerate(nodes):
        item = nd["item"]
        if nd.get("name"):
            item += ":as=%s" % nd["name"]
        if nd["inputs"] != [i - 1]:
            item += ":from=" + "+".join("input" if j < 0 else str(j) for j in nd["inputs"])
        items.append(item)
        weights += nd["weights"]
    net = Net(inputs=inputs, layers=",".join(items), loss=loss)
    net.set_weights(weights)
    if transform is not None:
        net.set_input_transform(*transform)
    return net


def _from_graphnet(torch, model, loss):
    """A GraphNet (Net.to_torch of a graph) back: one item per node."""
    nn = torch.nn
    tm = _modules()
    nodes = []
    for i, (node, ids) in enumerate(zip(model.nodes, model.inputs)):
        w = "node %d" % i
        weights = []
        if isinstance(node, tm.Add):
            item = "add" if node.activation == "identity" else "add:%s" % node.activation
        elif isinstance(node, tm.Concat):
            item = "concat"
        else:
            mods = list(node.children()) if isinstance(node, nn.Sequential) else [node]
            # the reshapes to_torch adds around a node: mynn's dense flattens, its
            # gap gives [N, C], its softmax spans the sample, a flat [N, C] feeds a conv
            if len(mods) > 1 and isinstance(mods[0], nn.Flatten) and isinstance(mods[1], (nn.Linear, nn.Softmax)):
                mods = mods[1:]
            if len(mods) > 1 and isinstance(mods[0], nn.Unflatten):
                mods = mods[1:]
            if (len(mods) == 2 and isinstance(mods[0], (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d))
                    and isinstance(mods[1], nn.Flatten)):
                mods = mods[:1]
            if i == len(model.nodes) - 1 and len(mods) > 1 and isinstance(mods[-1], nn.Flatten):
                mods = mods[:-1]             # the last node's flat [N, T·K] of a head on every step
            parts, weights, _, _ = _sequence(torch, mods, False, lambda k: "%s module %d" % (w, k))
            if len(parts) != 1:
                raise ArgumentError("from_torch: %s (%s) is %d mynn layers, a node must be one"
                                    % (w, type(node).__name__, len(parts)))
            item = parts[0]
        nodes.append({"item": item, "name": model.names[i] if i < len(model.names) else None,
                      "inputs": list(ids), "weights": weights})
    transform = None
    if model.input_transform is not None:
        t = model.input_transform
        transform = (_np(t.shift).reshape(-1), _np(t.scale).reshape(-1))
    shape = model.input_shape
    if not shape:
        raise ArgumentError("from_torch: the GraphNet has no input_shape")
    return _items_to_net(torch, nodes, shape if len(shape) > 1 else shape[0], loss, transform)


# ---- any module, through torch.fx -----------------------------------------------------------

def _fx_tracer(torch):
    import torch.fx
    tm = _modules()

    class Proxy(torch.fx.Proxy):
        def __iter__(self):
            """`y, (h, c) = self.lstm(x)`: torch.fx 1.13 finds the unpacking
            by indexing the caller's instructions with f_lasti // 2, which
            Python 3.11's inline caches break; match the offset instead."""
            frame = inspect.currentframe().f_back
            for inst in dis.get_instructions(frame.f_code):
                if inst.offset == frame.f_lasti and inst.opname == "UNPACK_SEQUENCE":
                    return (self[i] for i in range(inst.argval))
            return self.tracer.iter(self)

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            if isinstance(m, (tm.InputTransform, tm.Add, tm.Concat, tm.Recurrent, tm.Embedding)):
                return True
            return super().is_leaf_module(m, qualname)

        def proxy(self, node):
            return Proxy(node, self)
    return Tracer()


_ADD_METHODS = ("add", "add_", "__add__", "__iadd__", "__radd__")


def _fn_name(torch, n):
    """The name of a call_function's target when it is one of torch's ("relu"), else None."""
    fn = n.target
    if fn in (operator.add, operator.iadd):
        return "add"
    if fn is getattr:
        return "getattr"
    if fn is operator.getitem:
        return "getitem"
    mod = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__name__", None)
    if name and (mod.startswith("torch") or fn is getattr(torch, name, None)):
        return name.lstrip("_")
    return None


def _RNNS(nn):
    return (nn.LSTM, nn.GRU, nn.RNN)


# What a value of the recurrent modules' (output, state) stands for, and why
# it cannot be a mynn tensor as it is (the output y can: every step).
_REC_WHY = {
    "rec": "uses the (output, state) tuple whole: take the output (y, _ = rnn(x)) or the final state h_n",
    "rec_state": "uses the LSTM's state (h_n, c_n) whole: mynn gives h_n[-1] (y, (h, c) = lstm(x))",
    "rec_h": "uses h_n [layers·directions, N, H] whole: mynn gives the last layer's, h_n[-1] "
             "(torch.cat([h_n[-2], h_n[-1]], 1) when bidirectional)",
    "rec_c": "the cell state c_n has no mynn equivalent (use the output or h_n)",
    "rec_dir": "uses one direction of a bidirectional layer's final state: mynn's last-step output is both, "
               "torch.cat([h_n[-2], h_n[-1]], 1)",
    "transposed": "x.transpose(1, 2) has a mynn equivalent only as a recurrent layer's input (mynn reads a conv1d "
                  "output C × L as L steps of C)",
}


def _marker(v):
    """The kind of a recurrent marker value, or None."""
    if isinstance(v, tuple) and v and (v[0] in _REC_WHY or v[0] == "rec_y"):
        return v[0]
    return None


def _full(x):
    return isinstance(x, slice) and x == slice(None)


def _arg(n, i, key, default):
    """Argument i (positional) or key of fx node n."""
    if len(n.args) > i:
        return n.args[i]
    return n.kwargs.get(key, default)


class _FxGraph:
    """The fx graph of a module read node by node into mynn nodes."""

    def __init__(self, torch, model, input_shape):
        self.torch, self.model = torch, model
        tracer = _fx_tracer(torch)
        try:
            self.graph = tracer.trace(model)
        except Exception as e:
            raise ArgumentError("from_torch: torch.fx cannot trace %s (%s: %s); mynn takes models whose forward "
                                "is a fixed graph of modules and functions" % (type(model).__name__,
                                                                              type(e).__name__, e)) from None
        self.modules = dict(model.named_modules())
        self.nodes = []         # mynn nodes: dicts item, act, tail, kind, inputs, weights, where
        self.val = {}           # fx node -> mynn node id (-1: the input), or ("batch",) / ("shape",) markers
        self.transform = None
        self.input_shape = tuple(input_shape) if input_shape else None
        self.called = {}
        self.raw = set()        # fx nodes that are the input before an input transform

    # -- helpers --
    def where(self, n):
        if n.op == "call_module":
            return "node '%s' (%s)" % (n.target, type(self.modules[n.target]).__name__)
        if n.op == "call_method":
            return "node '%s' (method .%s)" % (n.name, n.target)
        if n.op == "call_function":
            return "node '%s' (%s)" % (n.name, getattr(n.target, "__name__", n.target))
        return "node '%s' (%s)" % (n.name, n.op)

    def fail(self, n, why):
        raise ArgumentError("from_torch: %s: %s" % (self.where(n), why))

    def rank(self, n):
        meta = n.meta.get("tensor_meta") if hasattr(n, "meta") else None
        shape = getattr(meta, "shape", None)
        return len(shape) if shape is not None else None

    def tensor(self, n, a):
        """The mynn node id an argument of n stands for."""
        fxn = self.torch.fx.Node
        if not isinstance(a, fxn):
            self.fail(n, "argument %r is a constant: mynn's nodes take tensors of the graph" % (a,))
        v = self.val.get(a)
        mark = _marker(v)
        if mark == "rec_y":                     # a recurrent layer's every step
            return self.settle(n, v[1], True)
        if mark is not None:
            self.fail(n, "%s: %s" % (v[1]["where"] if mark != "transposed" else "argument '%s'" % a.name,
                                     _REC_WHY[mark]))
        if not isinstance(v, int):
            self.fail(n, "argument '%s' is not a tensor mynn has" % a.name)
        if a in self.raw and self.transform is not None:
            self.fail(n, "reads the input before its InputTransform: mynn transforms it for every layer")
        return v

    def alias(self, n, a):
        """n computes what a does (Identity, identity activations)."""
        self.val[n] = self.tensor(n, a)
        if a in self.raw:
            self.raw.add(n)

    def new(self, n, kind, item, inputs, weights=(), tail="", fusable=False):
        # a sequence: an embedding's output, and dense, activation, dropout, add on every step
        # (a recurrent node's is settled by its reader: settle)
        seq = kind == "embedding" or (kind in ("dense", "activation", "dropout", "add")
                                      and any(j >= 0 and self.nodes[j]["seq"] for j in inputs))
        self.nodes.append({"item": item, "act": None, "tail": tail, "kind": kind, "inputs": inputs,
                           "weights": list(weights), "where": self.where(n), "fusable": fusable, "seq": seq})
        self.val[n] = len(self.nodes) - 1

    def is_seq(self, a):
        """Whether fx node a is a sequence [N, T, F] in mynn."""
        v = self.val.get(a)
        return _marker(v) == "rec_y" or (isinstance(v, int) and v >= 0 and self.nodes[v]["seq"] is True)

    def shape(self, a):
        meta = a.meta.get("tensor_meta") if hasattr(a, "meta") else None
        shape = getattr(meta, "shape", None)
        return tuple(shape) if shape is not None else None

    # -- recurrent modules: nn.LSTM, nn.GRU, nn.RNN return (output, state); the values the
    # model takes from them are markers (_REC_WHY) until one is read as a tensor --
    def recurrent(self, n, m):
        """One mynn node per layer, each but the last with :seq; the last
        one's output (every step or the last) is settled by its reader."""
        nn = self.torch.nn
        src = self.rec_input(n, n.args[0])
        kind = "lstm" if isinstance(m, nn.LSTM) else "gru" if isinstance(m, nn.GRU) else "rnn"
        bi = m.bidirectional
        extra = (":bi" if bi else "") + (":relu" if kind == "rnn" and m.nonlinearity == "relu" else "")
        for layer in range(m.num_layers):
            weights = [_np(getattr(m, "%s_l%d%s" % (t, layer, sfx)))
                       for sfx in ("", "_reverse")[:2 if bi else 1]
                       for t in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            self.new(n, kind, "%s:%d" % (kind, m.hidden_size), [src], weights, tail=":seq" + extra)
            self.nodes[-1]["seq"] = True
            src = len(self.nodes) - 1
        node = self.nodes[src]
        node["seq"], node["extra"] = None, extra            # the last layer: settle()
        self.val[n] = ("rec", {"node": src, "bi": bi, "layers": m.num_layers, "lstm": kind == "lstm",
                               "where": self.where(n)})

    def rec_settings(self, n, m):
        """What mynn's recurrent layers do not have (checked before the
        model runs on zeros: a projection or a state breaks that run)."""
        if not m.batch_first:
            self.fail(n, "batch_first=False: mynn's sequences are [N, T, F] (create it with batch_first=True)")
        if not m.bias:
            self.fail(n, "bias=False: mynn's recurrent layers have the biases b_ih and b_hh")
        if m.num_layers > 1 and m.dropout > 0:
            self.fail(n, "dropout=%g between its layers: mynn's layers stack without it (a dropout layer would go "
                         "between two modules of one layer each)" % m.dropout)
        if getattr(m, "proj_size", 0):
            self.fail(n, "proj_size=%d: mynn's LSTM has no projection" % m.proj_size)
        if len(n.args) != 1 or n.kwargs:
            self.fail(n, "given an initial state: mynn's recurrent layers start from zero (call it on the input "
                         "only)")

    def rec_input(self, n, a):
        """The node a recurrent module reads: the network input [N, T, F], a
        sequence, or a conv1d/pooling output transposed to [N, L, C]."""
        v = self.val.get(a)
        if _marker(v) == "transposed":
            return v[1]
        src = self.tensor(n, a)
        if self.rank(a) != 3:
            self.fail(n, "reads a tensor of shape %s: a recurrent layer reads [N, T, F]" % (self.shape(a),))
        if src >= 0 and not self.nodes[src]["seq"]:
            self.fail(n, "reads '%s' [N, C, L] as C steps of L: mynn reads a conv1d or pooling output as L steps "
                         "of C, as PyTorch does after x.transpose(1, 2)" % a.name)
        return src

    def settle(self, n, r, seq):
        """The last layer of recurrent module r gives every step (seq) or
        the last: the first reader decides, the others must agree."""
        node = self.nodes[r["node"]]
        if node["seq"] is None:
            node["seq"] = seq
            node["tail"] = (":seq" if seq else "") + node["extra"]
        elif node["seq"] != seq:
            self.fail(n, "%s's output is read both on every step and at its last step: a mynn layer gives one "
                         "of them" % r["where"])
        return r["node"]

    def rec_getitem(self, n, v, idx):
        """Indexing a recurrent module's value: out[0] / out[1], state[0],
        h_n[-1], y[:, -1]."""
        mark, r = v[0], v[1]
        if mark == "rec" and idx in (0, 1):
            self.val[n] = ("rec_y", r) if idx == 0 else ("rec_state", r) if r["lstm"] else ("rec_h", r)
        elif mark == "rec_state" and idx in (0, 1):
            self.val[n] = ("rec_h", r) if idx == 0 else ("rec_c", r)
        elif mark == "rec_h":
            self.rec_state_index(n, r, idx)
        elif mark == "rec_y":
            self.rec_step_index(n, r, idx)
        else:
            self.fail(n, "%s: %s" % (r["where"], _REC_WHY.get(mark, "this indexing has no mynn equivalent")))

    def rec_state_index(self, n, r, idx):
        """h_n[k] (or h_n[k, :, :]): the last layer's final state."""
        if isinstance(idx, tuple) and idx and all(_full(x) or x is Ellipsis for x in idx[1:]):
            idx = idx[0]
        d = 2 if r["bi"] else 1
        total = r["layers"] * d
        if isinstance(idx, bool) or not isinstance(idx, int) or not -total <= idx < total:
            self.fail(n, "%s: h_n[%r]: mynn gives h_n[-1] (torch.cat([h_n[-2], h_n[-1]], 1) when bidirectional)"
                      % (r["where"], idx))
        k = idx % total
        if k < total - d:
            self.fail(n, "%s: h_n[%d] is layer %d's final state: mynn gives the last layer's, %s"
                      % (r["where"], idx, k // d, "h_n[-2] and h_n[-1]" if r["bi"] else "h_n[-1]"))
        if r["bi"]:
            self.val[n] = ("rec_dir", r, k - (total - d))
        else:
            self.val[n] = self.settle(n, r, False)

    def rec_step_index(self, n, r, idx):
        """y[:, -1] (or y[:, -1, :]): the last step, h_n[-1] when unidirectional."""
        steps = (self.shape(n.args[0]) or (0, 0))[1]
        ok = (isinstance(idx, tuple) and len(idx) in (2, 3) and _full(idx[0]) and isinstance(idx[1], int)
              and not isinstance(idx[1], bool) and all(_full(x) for x in idx[2:]))
        if not ok or idx[1] % max(steps, 1) != steps - 1:
            self.fail(n, "%s: only the last step y[:, -1] of its output has a mynn equivalent (or the whole "
                         "output: every step)" % r["where"])
        if r["bi"]:
            self.fail(n, "%s: y[:, -1] of a bidirectional layer is the reverse direction's first step, not its "
                         "final state: mynn's last-step output is torch.cat([h_n[-2], h_n[-1]], 1)" % r["where"])
        self.val[n] = self.settle(n, r, False)

    def rec_cat(self, n, ts, dim):
        """torch.cat([h_n[-2], h_n[-1]], 1): a bidirectional layer's last step."""
        vals = [self.val.get(a) for a in ts]
        ok = (len(vals) == 2 and all(_marker(v) == "rec_dir" for v in vals) and vals[0][1] is vals[1][1]
              and (vals[0][2], vals[1][2]) == (0, 1) and dim in (1, -1))
        if not ok:
            self.fail(n, "joins a bidirectional layer's final states otherwise than mynn's last-step output, "
                         "torch.cat([h_n[-2], h_n[-1]], 1) (forward then reverse)")
        self.val[n] = self.settle(n, vals[0][1], False)

    def seq_softmax(self, n, a, dim):
        if dim not in (2, -1):
            self.fail(n, "softmax(dim=%r) on a sequence [N, T, F]: mynn's is over each step's values (dim=-1)"
                      % (dim,))
        self.new(n, "activation", "softmax", [self.tensor(n, a)])

    def embedding(self, n, m):
        if m.max_norm is not None:
            self.fail(n, "max_norm renormalises the rows it looks up: not in mynn")
        if m.scale_grad_by_freq or m.sparse:
            self.fail(n, "scale_grad_by_freq and sparse gradients are not in mynn")
        if len(n.args) != 1 or n.kwargs:
            self.fail(n, "takes one tensor here, got %d arguments" % (len(n.args) + len(n.kwargs)))
        if self.tensor(n, n.args[0]) != -1 or len(self.input_shape) != 1:
            self.fail(n, "mynn's embedding reads the network input, T token ids per sample (input_shape=(T,))")
        self.new(n, "embedding", "embedding:%d:%d" % (m.num_embeddings, m.embedding_dim), [-1], [_np(m.weight)])

    def activation(self, n, a, act):
        if act == "identity":
            self.alias(n, a)
            return
        src = self.tensor(n, a)
        r = self.rank(n)
        if act == "softmax" and r is not None and r > 2:
            self.fail(n, "softmax over the channels of a spatial tensor: mynn's softmax spans the whole sample "
                         "(flatten first)")
        self.new(n, "activation", act, [src])

    # -- the walk --
    def read(self):
        torch = self.torch
        out = [n for n in self.graph.nodes if n.op == "output"]
        live, stack = set(), list(out)
        while stack:
            n = stack.pop()
            if n in live:
                continue
            live.add(n)
            stack.extend(n.all_input_nodes)
        self.live = [n for n in self.graph.nodes if n in live]
        placeholders = [n for n in self.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise ArgumentError("from_torch: %s's forward takes %d inputs: a mynn net has one"
                                % (type(self.model).__name__, len(placeholders)))
        for n in self.live:
            if n.op == "call_module" and isinstance(self.modules[n.target], _RNNS(torch.nn)):
                self.rec_settings(n, self.modules[n.target])
        self.shapes()
        for n in self.live:
            if n.op == "placeholder":
                self.val[n] = -1
                self.raw.add(n)
            elif n.op == "call_module":
                self.call_module(n)
            elif n.op == "call_function":
                self.call_function(n, _fn_name(torch, n))
            elif n.op == "call_method":
                self.call_function(n, n.target)
            elif n.op == "output":
                res = n.args[0]
                if not isinstance(res, torch.fx.Node):
                    raise ArgumentError("from_torch: the model returns %s: a mynn net has one output tensor"
                                        % type(res).__name__)
                self.output = self.tensor(n, res)
                if self.output < 0:
                    raise ArgumentError("from_torch: the model returns its input: there is no layer")
            else:
                self.fail(n, "a tensor attribute used directly has no mynn equivalent (use modules)")

    def shapes(self):
        """Every node's shape (tensor_meta), from a run on a batch of 2."""
        torch = self.torch
        nn = torch.nn
        mods = [self.modules[n.target] for n in self.live if n.op == "call_module"]
        ids = any(isinstance(m, nn.Embedding) for m in mods)      # the input is token ids
        if self.input_shape is None:
            kinds = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding) + _RNNS(nn)
            first = next((m for m in mods if isinstance(m, kinds)), None)
            if isinstance(first, nn.Linear):
                self.input_shape = (first.in_features,)
            elif isinstance(first, _RNNS(nn) + (nn.Embedding,)):
                raise ArgumentError("from_torch: the first layer is a %s: give input_shape=%s"
                                    % (type(first).__name__, "(T,), the ids per sample" if ids else
                                       "(T, F), steps and features per sample"))
            else:
                raise ArgumentError("from_torch: the first layer is %s: give input_shape=(C, H, W) or (C, L)"
                                    % ("a %s" % type(first).__name__ if first is not None else "not a Linear"))
        from torch.fx.passes.shape_prop import ShapeProp
        gm = torch.fx.GraphModule(self.model, self.graph)
        flags = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        try:
            with torch.no_grad():
                ShapeProp(gm).propagate(torch.zeros((2,) + tuple(self.input_shape),
                                                    dtype=torch.long if ids else torch.float32))
        except Exception as e:
            raise ArgumentError("from_torch: %s does not run on inputs shaped %s (%s: %s)"
                                % (type(self.model).__name__, (2,) + tuple(self.input_shape), type(e).__name__,
                                   e)) from None
        finally:
            for m, t in flags:
                m.training = t

    def call_module(self, n):
        torch = self.torch
        nn = torch.nn
        tm = _modules()
        m = self.modules[n.target]
        w = self.where(n)
        if any(True for _ in m.parameters(recurse=False)) or any(True for _ in m.buffers(recurse=False)):
            if n.target in self.called:
                self.fail(n, "called a second time: mynn shares no weights between layers")
            self.called[n.target] = n
        if isinstance(m, tm.InputTransform):
            src = n.args[0] if n.args else None
            if self.nodes or src not in self.raw or self.transform is not None:
                self.fail(n, "an input transform must come first, on the input")
            self.transform = (_np(m.shift).reshape(-1), _np(m.scale).reshape(-1))
            self.val[n] = -1
            return
        if isinstance(m, tm.Add):
            ins = [self.tensor(n, a) for a in n.args]
            self.new(n, "add", "add", ins, fusable=True)
            if m.activation != "identity":
                self.nodes[-1]["act"] = m.activation
            return
        if isinstance(m, tm.Concat):
            self.new(n, "concat", "concat", [self.tensor(n, a) for a in n.args])
            return
        if isinstance(m, _RNNS(nn)):
            self.recurrent(n, m)
            return
        if isinstance(m, nn.Embedding):
            self.embedding(n, m)
            return
        if len(n.args) != 1 or n.kwargs:
            self.fail(n, "takes one tensor here, got %d arguments" % (len(n.args) + len(n.kwargs)))
        if isinstance(m, nn.Softmax) and self.is_seq(n.args[0]):
            self.seq_softmax(n, n.args[0], m.dim)
            return
        act = _activation(torch, w, m)
        if act is not None:
            self.activation(n, n.args[0], act)
            return
        src = self.tensor(n, n.args[0])
        if isinstance(m, tm.Recurrent):         # what to_torch made: its output is settled
            self.new(n, m.kind, _wrapped_recurrent_item(m), [src],
                     [_np(getattr(m.rnn, t)) for t in _rec_names(m.rnn.bidirectional)])
            self.nodes[-1]["seq"] = m.sequences
        elif isinstance(m, tm.Embedding):
            self.new(n, "embedding", "embedding:%d:%d" % (m.embedding.num_embeddings, m.embedding.embedding_dim),
                     [src], [_np(m.embedding.weight)])
        elif isinstance(m, nn.Linear):
            r = self.rank(n.args[0])
            if r is not None and r > 2 and not (r == 3 and self.nodes[src]["seq"]):
                self.fail(n, "on a tensor of %d dimensions: PyTorch's Linear reads the last one, mynn's dense the "
                             "whole sample (flatten first)" % r)
            b = _np(m.bias) if m.bias is not None else np.zeros(m.out_features, dtype=np.float32)
            self.new(n, "dense", str(m.out_features), [src], [_np(m.weight), b], fusable=True)
        elif isinstance(m, (nn.Conv1d, nn.Conv2d)):
            head, tail, wb = _conv(torch, w, m)
            self.new(n, "conv", head, [src], wb, tail=tail, fusable=True)
        elif isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
            self.new(n, "pool", _pool(torch, w, m), [src])
        elif isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
            self.new(n, "gap", _gap(w, m), [src])
        elif isinstance(m, nn.Flatten):
            self.new(n, "flatten", _flatten(w, m), [src])
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            self.new(n, "batchnorm", "batchnorm", [src], _batchnorm(w, m))
        elif isinstance(m, nn.Dropout):
            self.new(n, "dropout", _dropout(w, m), [src])
        else:
            self.fail(n, "has no mynn equivalent (supported: %s)" % SUPPORTED_FX)

    def call_function(self, n, name):
        torch = self.torch
        what = self.where(n)
        if name == "getattr":
            if len(n.args) == 2 and n.args[1] == "shape":
                self.val[n] = ("shape",)
                return
            self.fail(n, "reads attribute %r: mynn has no equivalent" % (n.args[1:],))
        if name == "getitem" and _marker(self.val.get(n.args[0])):
            self.rec_getitem(n, self.val[n.args[0]], n.args[1])
            return
        if name == "squeeze" and _marker(self.val.get(n.args[0])) == "rec_h":
            r = self.val[n.args[0]][1]
            if _arg(n, 1, "dim", None) != 0 or r["layers"] > 1 or r["bi"]:
                self.fail(n, "%s: only h_n.squeeze(0) of one layer, one direction (or h_n[-1]) has a mynn "
                             "equivalent" % r["where"])
            self.val[n] = self.settle(n, r, False)
            return
        if name == "contiguous":
            self.val[n] = self.val.get(n.args[0])       # markers stay what they are
            if self.val[n] is None:
                self.fail(n, "argument '%s' is not a tensor mynn has" % n.args[0].name)
            if n.args[0] in self.raw:
                self.raw.add(n)
            return
        if name in ("transpose", "permute"):
            self.transpose(n, name)
            return
        if name == "getitem":
            if self.val.get(n.args[0]) == ("shape",) and n.args[1] == 0:
                self.val[n] = ("batch",)
                return
            self.fail(n, "indexing has no mynn equivalent (only x.shape[0] in x.view(x.shape[0], -1))")
        if name == "size":
            if _arg(n, 1, "dim", None) == 0:
                self.val[n] = ("batch",)
                return
            self.fail(n, "only x.size(0) in x.view(x.size(0), -1) has a mynn equivalent")
        if name == "add" or name in _ADD_METHODS:
            if len(n.args) != 2 or set(n.kwargs) - {"alpha"} or n.kwargs.get("alpha", 1) != 1:
                self.fail(n, "only the sum of two tensors has a mynn equivalent")
            self.new(n, "add", "add", [self.tensor(n, a) for a in n.args], fusable=True)
            return
        if name in ("cat", "concat", "concatenate"):
            ts = n.args[0] if n.args else n.kwargs.get("tensors")
            dim = _arg(n, 1, "dim", 0)
            if isinstance(ts, (list, tuple)) and any(_marker(self.val.get(a)) == "rec_dir" for a in ts):
                self.rec_cat(n, ts, dim)
                return
            r = self.rank(n)
            if not isinstance(ts, (list, tuple)) or r is None or dim % r != 1:
                self.fail(n, "only torch.cat of tensors along dim 1 (channels or features) is mynn's concat")
            if len(ts) < 2:
                self.fail(n, "concatenates %d tensor(s): mynn's concat takes 2 or more" % len(ts))
            self.new(n, "concat", "concat", [self.tensor(n, a) for a in ts])
            return
        src_arg = n.args[0] if n.args else n.kwargs.get("input")
        acts = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh",
                "tanh_": "tanh"}
        if name in acts:
            self.activation(n, src_arg, acts[name])
            return
        if name in ("gelu",):
            self.activation(n, src_arg, _gelu(what, name, n.kwargs.get("approximate", "none")))
            return
        if name in ("leaky_relu", "leaky_relu_"):
            self.activation(n, src_arg, _leaky(what, name, _arg(n, 1, "negative_slope", 0.01)))
            return
        if name in ("softmax",):
            if self.is_seq(src_arg):
                self.seq_softmax(n, src_arg, _arg(n, 1, "dim", None))
                return
            self.activation(n, src_arg, _softmax(what, name, _arg(n, 1, "dim", None)))
            return
        if name == "flatten":
            start = _arg(n, 1, "start_dim", 0)
            end = _arg(n, 2, "end_dim", -1)
            if start != 1 or end != -1:
                self.fail(n, "only flatten(x, 1) (start_dim=1, end_dim=-1) is mynn's flatten")
            self.new(n, "flatten", "flatten", [self.tensor(n, src_arg)])
            return
        if name in ("view", "reshape"):
            dims = list(n.args[1:])
            if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
                dims = list(dims[0])
            if len(dims) == 2 and self.val.get(dims[0]) == ("batch",) and dims[1] == -1:
                self.new(n, "flatten", "flatten", [self.tensor(n, src_arg)])
                return
            self.fail(n, "only x.view(x.size(0), -1) (a flatten) has a mynn equivalent")
        if name == "mean":
            dim = _arg(n, 1, "dim", None)
            r = self.rank(src_arg) if isinstance(src_arg, torch.fx.Node) else None
            dims = tuple(sorted(d % r for d in (dim if isinstance(dim, (list, tuple)) else (dim,)))) \
                if r and dim is not None else None
            if r in (3, 4) and dims == tuple(range(2, r)):
                self.new(n, "gap", "gap", [self.tensor(n, src_arg)])
                return
            self.fail(n, "only the mean over the plane (dims 2, 3 of [N, C, H, W]) is mynn's gap")
        if name == "dropout":
            p = _arg(n, 1, "p", 0.5)
            if not isinstance(p, (int, float)) or not 0 <= p < 1:
                self.fail(n, "dropout p=%r: mynn needs 0 <= p < 1" % (p,))
            self.new(n, "dropout", "dropout:%r" % float(p), [self.tensor(n, src_arg)])
            return
        if name in ("adaptive_avg_pool1d", "adaptive_avg_pool2d"):
            size = _arg(n, 1, "output_size", None)
            if _one(what, name, "output_size", size) != 1:
                self.fail(n, "only output_size 1 (mynn's gap)")
            self.new(n, "gap", "gap", [self.tensor(n, src_arg)])
            return
        if name in ("max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices"):
            if _arg(n, 6, "return_indices", False) or "indices" in name:
                self.fail(n, "return_indices is not in mynn")
            item = _pool_item(what, name, True, "1d" in name, _arg(n, 1, "kernel_size", None),
                              _arg(n, 2, "stride", None), _arg(n, 3, "padding", 0), _arg(n, 5, "ceil_mode", False),
                              _arg(n, 4, "dilation", 1))
            self.new(n, "pool", item, [self.tensor(n, src_arg)])
            return
        if name in ("avg_pool1d", "avg_pool2d"):
            item = _pool_item(what, name, False, "1d" in name, _arg(n, 1, "kernel_size", None),
                              _arg(n, 2, "stride", None), _arg(n, 3, "padding", 0), _arg(n, 4, "ceil_mode", False),
                              1, _arg(n, 5, "count_include_pad", True), _arg(n, 6, "divisor_override", None))
            self.new(n, "pool", item, [self.tensor(n, src_arg)])
            return
        self.fail(n, "has no mynn equivalent (supported: %s)" % SUPPORTED_FX)

    def transpose(self, n, name):
        """x.transpose(1, 2) of a conv1d or pooling output [N, C, L]: what a
        recurrent layer reading it needs (mynn reads it as L steps of C)."""
        a = n.args[0]
        given = n.args[1] if len(n.args) == 2 and isinstance(n.args[1], (tuple, list)) else n.args[1:]
        dims = tuple(d % 3 for d in given if isinstance(d, int))
        if name == "transpose" and len(n.args) == 1:
            dims = tuple(d % 3 for d in (n.kwargs.get("dim0", 0), n.kwargs.get("dim1", 0)))
        swap = dims in ((1, 2), (2, 1)) if name == "transpose" else dims == (0, 2, 1)
        if not swap or self.rank(a) != 3:
            self.fail(n, "only x.transpose(1, 2) of [N, C, L] (before a recurrent layer) has a mynn equivalent")
        src = self.tensor(n, a)
        if src < 0 or self.nodes[src]["seq"]:
            self.fail(n, "transposes %s: mynn reads the network input as [T, F] and a sequence as it is; only a "
                         "conv1d or pooling output is read transposed" % ("the input" if src < 0 else "a sequence"))
        self.val[n] = ("transposed", src)

    def fuse(self):
        """An activation node right after a dense, conv or add node that
        nothing else reads becomes that node's activation; the nodes are
        renumbered."""
        readers = [0] * len(self.nodes)
        for nd in self.nodes:
            for j in nd["inputs"]:
                if j >= 0:
                    readers[j] += 1
        readers[self.output] += 1
        alias = list(range(len(self.nodes)))
        for i, nd in enumerate(self.nodes):
            nd["inputs"] = [alias[j] if j >= 0 else j for j in nd["inputs"]]
            if nd["kind"] != "activation" or nd["inputs"][0] < 0:
                continue
            p = self.nodes[nd["inputs"][0]]
            if (p["fusable"] and p["act"] is None and readers[nd["inputs"][0]] == 1
                    and not (nd["item"] == "softmax" and p["kind"] != "dense")):
                p["act"] = nd["item"]
                alias[i] = nd["inputs"][0]
                nd["dead"] = True
        output = alias[self.output]
        for nd in self.nodes:
            if nd["seq"] is None:               # a recurrent module whose output nothing reads as a tensor
                raise ArgumentError("from_torch: %s: its output is not read as a tensor (y, h_n[-1] or "
                                    "y[:, -1])" % nd["where"])
        keep = [i for i, nd in enumerate(self.nodes) if not nd.get("dead")]
        new_id = {old: k for k, old in enumerate(keep)}
        nodes = []
        for old in keep:
            nd = self.nodes[old]
            item = nd["item"] + (":%s" % nd["act"] if nd["act"] else "") + nd["tail"]
            nodes.append({"item": item, "inputs": [new_id[j] if j >= 0 else -1 for j in nd["inputs"]],
                          "weights": nd["weights"], "where": nd["where"]})
        if new_id[output] != len(nodes) - 1:
            raise ArgumentError("from_torch: the output is not the last layer computed")
        return nodes


def _from_fx(torch, model, loss, input_shape):
    g = _FxGraph(torch, model, input_shape)
    g.read()
    nodes = g.fuse()
    shape = g.input_shape
    return _items_to_net(torch, nodes, shape if len(shape) > 1 else shape[0], loss, g.transform)


# ---- mynn -> PyTorch ---------------------------------------------------------------------------

def to_torch(net):
    """See Net.to_torch."""
    if net.is_graph:
        return _to_torch_graph(net)
    torch = _torch()
    nn = torch.nn
    acts = _modules().ACTIVATIONS
    weights = iter(net.get_weights())
    shape = net.input_shape
    rank = 2 + (len(shape) - 1 if shape else 0)        # of the tensor flowing through
    mods = []
    seq = False                                         # a sequence [N, T, F] flows
    transform = net.input_transform
    dense_first = next((d["kind"] for d in net.layers if d["kind"] != "dropout"), None) == "dense"
    if transform is not None and not (dense_first and rank == 2):
        mods.append(input_transform_module(transform[0].reshape(shape or (-1,)),
                                           transform[1].reshape(shape or (-1,))))
        transform = None

    def activation(a):
        nonlocal rank
        if a == "identity":
            return
        if a == "softmax" and seq:              # mynn's softmax on a sequence: over each step's values
            mods.append(nn.Softmax(dim=-1))
            return
        if a == "softmax" and rank > 2:
            mods.append(nn.Flatten())
            rank = 2
        mods.append(acts[a]())

    for d in net.layers:
        kind = d["kind"]
        if kind == "dropout":
            mods.append(nn.Dropout(d["rate"]))
        elif kind == "dense":
            w, b = next(weights), next(weights)
            if transform is not None:           # fold (x - shift) * scale into the first Linear
                shift, scale = transform
                w64 = w.astype(np.float64) * scale.astype(np.float64)[None, :]
                b = (b.astype(np.float64) - w64 @ shift.astype(np.float64)).astype(np.float32)
                w = w64.astype(np.float32)
                transform = None
            if rank > 2 and not seq:            # on a sequence nn.Linear applies to every step
                mods.append(nn.Flatten())
                rank = 2
            mods.append(_linear(torch, d, w, b))
            activation(d["activation"])
        elif kind == "conv":
            mods.append(_conv_module(torch, d, next(weights), next(weights)))
            activation(d["activation"])
        elif kind in ("maxpool", "avgpool"):
            mods.append(_pool_module(torch, d))
        elif kind == "gap":
            mods.append(nn.AdaptiveAvgPool1d(1) if rank == 3 else nn.AdaptiveAvgPool2d(1))
        elif kind == "flatten":
            mods.append(nn.Flatten())
            rank, seq = 2, False
        elif kind in _RECURRENT:
            mods.append(_recurrent_module(torch, d, [next(weights) for _ in _rec_names(d["bidirectional"])]))
            seq = d["sequences"]
            rank = 3 if seq else 2
        elif kind == "embedding":
            mods.append(_embedding_module(torch, d, next(weights)))
            rank, seq = 3, True
        elif kind == "batchnorm":
            mods.append(_bn_module(torch, d, rank, [next(weights) for _ in range(4)]))
        elif kind == "activation":
            activation(d["activation"])
        else:
            raise ArgumentError("to_torch: layer kind %s has no PyTorch module here" % kind)
    if rank > 2:
        mods.append(nn.Flatten())
    return nn.Sequential(*mods)


def _tensor(torch, a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _linear(torch, d, w, b):
    lin = torch.nn.Linear(w.shape[1], w.shape[0])      # (d's inputs count every step of a sequence)
    with torch.no_grad():
        lin.weight.copy_(_tensor(torch, w))
        lin.bias.copy_(_tensor(torch, b))
    return lin


def _conv_module(torch, d, w, b):
    nn = torch.nn
    cls = nn.Conv1d if d["dims"] == 1 else nn.Conv2d
    conv = cls(w.shape[1], w.shape[0], w.shape[2:], stride=d["stride"][1], padding=d["pad"][1])
    with torch.no_grad():
        conv.weight.copy_(_tensor(torch, w))
        conv.bias.copy_(_tensor(torch, b))
    return conv


_RECURRENT = ("lstm", "gru", "rnn")
_REC_TENSORS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _rec_names(bi):
    """A recurrent layer's tensors in mynn's (and nn.LSTM's) order."""
    return list(_REC_TENSORS) + ([t + "_reverse" for t in _REC_TENSORS] if bi else [])


def _rec_geometry(d):
    """(steps, features, channel_major) of a recurrent layer's input as
    mynn reads it (recurrent.c's mn_rec_geometry): a sequence; the network
    input as T × F row-major; any other layer's C × 1 × L as L steps of C."""
    c, h, w = d["input_shape"]
    if d["input_steps"]:
        return d["input_steps"], c * h * w, False
    if d["inputs_from"][0] < 0 or h != 1:
        return c, h * w, False
    return w, c, True


def _recurrent_module(torch, d, arrays):
    steps, features, channel_major = _rec_geometry(d)
    m = _modules().Recurrent(d["kind"], features, d["hidden"], steps, d["bidirectional"], d["sequences"],
                             d.get("nonlinearity", "tanh"), channel_major)
    with torch.no_grad():
        for name, a in zip(_rec_names(d["bidirectional"]), arrays):
            getattr(m.rnn, name).copy_(_tensor(torch, a))
    return m


def _embedding_module(torch, d, weight):
    m = _modules().Embedding(d["vocab"], d["dim"], d["steps"])
    with torch.no_grad():
        m.embedding.weight.copy_(_tensor(torch, weight))
    return m


def _pool_module(torch, d):
    nn = torch.nn
    one = d["dims"] == 1
    cls = {("maxpool", True): nn.MaxPool1d, ("maxpool", False): nn.MaxPool2d,
           ("avgpool", True): nn.AvgPool1d, ("avgpool", False): nn.AvgPool2d}[(d["kind"], one)]
    return cls(d["kernel"][1], stride=d["stride"][1], padding=d["pad"][1])


def _bn_module(torch, d, rank, tensors):
    nn = torch.nn
    c = d["output_shape"][0]
    bn = nn.BatchNorm2d(c) if rank == 4 else nn.BatchNorm1d(c)
    with torch.no_grad():
        for t, v in zip(("weight", "bias", "running_mean", "running_var"), tensors):
            getattr(bn, t).copy_(_tensor(torch, v))
    return bn


def _to_torch_graph(net):
    """A GraphNet: one module per node (an nn.Sequential where the node
    needs a reshape or a fused activation beside its layer)."""
    torch = _torch()
    nn = torch.nn
    tm = _modules()
    sd = net.state_dict()
    layers = net.layers
    shape = net.input_shape
    in_rank = 2 + (len(shape) - 1 if shape else 0)
    in_shape = (shape if len(shape) == 3 else (shape[0], 1, shape[1])) if shape else (net.inputs, 1, 1)
    transform = net.input_transform
    tmod = None
    if transform is not None:
        tmod = tm.InputTransform(transform[0].reshape(shape or (-1,)), transform[1].reshape(shape or (-1,)))
    ranks, seqs, nodes = [], [], []

    def act_module(a, seq=False):
        if a == "softmax" and seq:          # over each step's values
            return nn.Softmax(dim=-1)
        return tm.ACTIVATIONS[a]() if a != "identity" else nn.Identity()

    for i, d in enumerate(layers):
        kind, src = d["kind"], d["inputs_from"]
        r_in = [in_rank if j < 0 else ranks[j] for j in src]
        r = r_in[0]
        seq = src[0] >= 0 and seqs[src[0]]     # a sequence [N, T, F] comes in
        c, h, w = in_shape if src[0] < 0 else layers[src[0]]["output_shape"]
        mods = []

        def unflatten(one_d):                   # a flat [N, C] into the sample's shape
            mods.append(nn.Unflatten(1, (c, w) if one_d else (c, h, w)))

        def get(t):
            return sd["layers.%d.%s" % (i, t)]

        if kind == "dense":
            if r > 2 and not seq:
                mods.append(nn.Flatten())
            mods.append(_linear(torch, d, get("weight"), get("bias")))
            if d["activation"] != "identity":
                mods.append(act_module(d["activation"], seq))
            out = 3 if seq else 2
        elif kind == "conv":
            if r == 2:
                unflatten(d["dims"] == 1)
            mods.append(_conv_module(torch, d, get("weight"), get("bias")))
            if d["activation"] != "identity":
                mods.append(act_module(d["activation"]))
            out = 3 if d["dims"] == 1 else 4
        elif kind in ("maxpool", "avgpool"):
            if r == 2:
                unflatten(d["dims"] == 1)
            mods.append(_pool_module(torch, d))
            out = 3 if d["dims"] == 1 else 4
        elif kind == "gap":
            if r == 2:
                unflatten(False)
            mods += [nn.AdaptiveAvgPool1d(1) if r == 3 else nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            out = 2
        elif kind == "flatten":
            mods.append(nn.Flatten())
            out, seq = 2, False
        elif kind in _RECURRENT:
            mods.append(_recurrent_module(torch, d, [get(t) for t in _rec_names(d["bidirectional"])]))
            seq = d["sequences"]
            out = 3 if seq else 2
        elif kind == "embedding":
            mods.append(_embedding_module(torch, d, get("weight")))
            out, seq = 3, True
        elif kind == "batchnorm":
            mods.append(_bn_module(torch, d, r, [get(t) for t in ("weight", "bias", "running_mean", "running_var")]))
            out = r
        elif kind == "activation":
            a = d["activation"]
            out = r
            if a == "softmax" and r > 2 and not seq:
                mods.append(nn.Flatten())
                out = 2
            mods.append(act_module(a, seq))
        elif kind == "dropout":
            mods.append(nn.Dropout(d["rate"]))
            out = r
        elif kind in ("add", "concat"):
            mixed = len(set(r_in)) > 1
            mods.append(tm.Add(d["activation"], flatten=mixed) if kind == "add" else tm.Concat(flatten=mixed))
            out = 2 if mixed else r
        else:
            raise ArgumentError("to_torch: layer %d: kind %s has no PyTorch module here" % (i, kind))
        if i == len(layers) - 1 and out > 2:
            mods.append(nn.Flatten())           # predict's [N, T·K] for a head on every step
        ranks.append(out)
        seqs.append(seq)
        nodes.append(mods[0] if len(mods) == 1 else nn.Sequential(*mods))
    return tm.GraphNet(nodes, [d["inputs_from"] for d in layers], [d["name"] for d in layers],
                       shape if shape else (net.inputs,), tmod)
