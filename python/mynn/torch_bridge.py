"""mynn <-> PyTorch: an nn.Sequential of the layers mynn has.  torch is
imported only here, when a bridge function is called."""
import numpy as np

from .errors import ArgumentError

SUPPORTED = ("Linear, Conv1d, Conv2d, BatchNorm1d, BatchNorm2d, MaxPool1d/2d, AvgPool1d/2d, "
             "AdaptiveAvgPool1d/2d(1), Flatten, Dropout, Identity, Sigmoid, Tanh, ReLU, LeakyReLU(0.01), "
             "GELU, Softmax(dim=1)")


def _torch():
    try:
        import torch
        return torch
    except ImportError as e:
        raise ImportError("mynn.from_torch / Net.to_torch need PyTorch (apt-get install python3-torch): %s"
                          % e) from None


def _input_transform_class(torch):
    class InputTransform(torch.nn.Module):
        """x' = (x - shift) * scale, the input normalisation a mynn model stores."""

        def __init__(self, shift, scale):
            super().__init__()
            self.register_buffer("shift", torch.as_tensor(shift))
            self.register_buffer("scale", torch.as_tensor(scale))

        def forward(self, x):
            return (x - self.shift) * self.scale
    return InputTransform


_CACHE = {}


def input_transform_module(shift, scale):
    """A torch module applying mynn's input transform (what to_torch puts
    first when the transform cannot be folded into a Linear)."""
    torch = _torch()
    if "cls" not in _CACHE:
        _CACHE["cls"] = _input_transform_class(torch)
    return _CACHE["cls"](shift, scale)


def _activation(torch, i, m):
    """mynn's name for an activation module, None for any other module."""
    nn = torch.nn
    simple = {nn.Identity: "identity", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.ReLU: "relu"}
    for cls, name in simple.items():
        if type(m) is cls:
            return name
    if isinstance(m, nn.LeakyReLU):
        if abs(m.negative_slope - 0.01) > 1e-12:
            raise ArgumentError("from_torch: module %d: LeakyReLU(negative_slope=%g): mynn's leaky_relu has "
                                "slope 0.01" % (i, m.negative_slope))
        return "leaky_relu"
    if isinstance(m, nn.GELU):
        if getattr(m, "approximate", "none") != "none":
            raise ArgumentError("from_torch: module %d: GELU(approximate=%r): mynn's gelu is the exact erf form"
                                % (i, m.approximate))
        return "gelu"
    if isinstance(m, nn.Softmax):
        if m.dim not in (1, -1):
            raise ArgumentError("from_torch: module %d: Softmax(dim=%r): mynn's softmax is over dim 1" % (i, m.dim))
        return "softmax"
    return None


def _one(i, m, what, v):
    """A kernel/stride/padding that is the same in every direction."""
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(set(v)) != 1 or not isinstance(v[0], int):
        raise ArgumentError("from_torch: module %d (%s): %s %r: mynn needs one value for every direction"
                            % (i, type(m).__name__, what, v))
    return v[0]


def _np(t):
    return t.detach().cpu().float().numpy()


def _conv(torch, i, m):
    name = type(m).__name__
    if m.groups != 1 or _one(i, m, "dilation", m.dilation) != 1 or m.padding_mode != "zeros":
        raise ArgumentError("from_torch: module %d (%s): groups, dilation and padding modes are not in mynn"
                            % (i, name))
    if isinstance(m.padding, str):
        raise ArgumentError("from_torch: module %d (%s): padding=%r: give the padding as a number"
                            % (i, name, m.padding))
    k = m.kernel_size
    ks = "%d" % k[0] if len(k) == 1 or k[0] == k[1] else "%dx%d" % k
    stride, pad = _one(i, m, "stride", m.stride), _one(i, m, "padding", m.padding)
    kind = "conv1d" if isinstance(m, torch.nn.Conv1d) else "conv"
    w = _np(m.weight)
    b = _np(m.bias) if m.bias is not None else np.zeros(m.out_channels, dtype=np.float32)
    return "%s:%d:%s" % (kind, m.out_channels, ks), ":stride=%d:pad=%d" % (stride, pad), [w, b]


def _pool(torch, i, m):
    nn = torch.nn
    name = type(m).__name__
    if _one(i, m, "padding", m.padding) != 0 or m.ceil_mode:
        raise ArgumentError("from_torch: module %d (%s): mynn pools without padding, rounding down" % (i, name))
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)) and _one(i, m, "dilation", m.dilation) != 1:
        raise ArgumentError("from_torch: module %d (%s): dilation is not in mynn" % (i, name))
    if isinstance(m, (nn.AvgPool1d, nn.AvgPool2d)) and getattr(m, "divisor_override", None):
        raise ArgumentError("from_torch: module %d (%s): divisor_override is not in mynn" % (i, name))
    k = _one(i, m, "kernel_size", m.kernel_size)
    s = _one(i, m, "stride", m.stride if m.stride is not None else k)
    kind = "maxpool" if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)) else "avgpool"
    dim = "1d" if isinstance(m, (nn.MaxPool1d, nn.AvgPool1d)) else ""
    return "%s%s:%d:stride=%d" % (kind, dim, k, s)


def _batchnorm(i, m):
    if not (m.affine and m.track_running_stats and m.running_mean is not None):
        raise ArgumentError("from_torch: module %d (%s): mynn's batchnorm is affine with running statistics"
                            % (i, type(m).__name__))
    if abs(m.eps - 1e-5) > 1e-12 or m.momentum is None or abs(m.momentum - 0.1) > 1e-12:
        raise ArgumentError("from_torch: module %d (%s): eps=%g, momentum=%r: mynn's batchnorm has eps 1e-5 and "
                            "momentum 0.1" % (i, type(m).__name__, m.eps, m.momentum))
    return [_np(m.weight), _np(m.bias), _np(m.running_mean), _np(m.running_var)]


def from_torch(model, loss=None, input_shape=None):
    """See mynn.from_torch."""
    torch = _torch()
    from .net import Net
    nn = torch.nn
    if not isinstance(model, nn.Sequential):
        raise TypeError("from_torch: a torch.nn.Sequential is needed, got %s" % type(model).__name__)
    mods = list(model.children())
    parts, weights, transform = [], [], None
    first = None                     # the first module that fixes the input size
    spatial = input_shape is not None and len(input_shape) > 1
    i = 0
    while i < len(mods):
        m = mods[i]
        act_next = _activation(torch, i + 1, mods[i + 1]) if i + 1 < len(mods) else None
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            spatial = True
        elif isinstance(m, (nn.Linear, nn.Flatten)):
            spatial = False
        if spatial and _activation(torch, i, m) == "softmax":
            raise ArgumentError("from_torch: module %d (Softmax) over the channels of a spatial tensor: mynn's "
                                "softmax spans the whole sample (put a Flatten before it)" % i)
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
            head, tail, w = _conv(torch, i, m)
            if act_next == "softmax":
                act_next = None      # a softmax after a conv stays a layer of its own
            i += act_next is not None
            parts.append(head + (":%s" % act_next if act_next else "") + tail)
            weights += w
        elif isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
            parts.append(_pool(torch, i, m))
        elif isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
            if _one(i, m, "output_size", m.output_size) != 1:
                raise ArgumentError("from_torch: module %d (%s): only output_size 1 (mynn's gap)"
                                    % (i, type(m).__name__))
            parts.append("gap")
        elif isinstance(m, nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise ArgumentError("from_torch: module %d (Flatten): only start_dim=1, end_dim=-1" % i)
            parts.append("flatten")
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            parts.append("batchnorm")
            weights += _batchnorm(i, m)
        elif isinstance(m, nn.Dropout):
            if not 0 <= m.p < 1:
                raise ArgumentError("from_torch: module %d: Dropout(p=%g): mynn needs 0 <= p < 1" % (i, m.p))
            parts.append("dropout:%r" % float(m.p))
        elif _activation(torch, i, m) is not None:
            parts.append(_activation(torch, i, m))
        else:
            raise ArgumentError("from_torch: module %d (%s) has no mynn equivalent (supported: %s)"
                                % (i, type(m).__name__, SUPPORTED))
        i += 1
    if first is None:
        raise ArgumentError("from_torch: the model has no Linear or Conv layer")
    if isinstance(first, nn.Linear):
        inputs = tuple(input_shape) if input_shape else first.in_features
    elif input_shape is None:
        raise ArgumentError("from_torch: the first layer is a %s: give input_shape=(C, H, W) or (C, L)"
                            % type(first).__name__)
    else:
        inputs = tuple(input_shape)
    net = Net(inputs=inputs, layers=",".join(parts), loss=loss)
    net.set_weights(weights)
    if transform is not None:
        net.set_input_transform(*transform)
    return net


def to_torch(net):
    """See Net.to_torch."""
    torch = _torch()
    nn = torch.nn
    acts = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.01),
            "gelu": nn.GELU, "softmax": lambda: nn.Softmax(dim=1)}
    weights = iter(net.get_weights())
    shape = net.input_shape
    rank = 2 + (len(shape) - 1 if shape else 0)        # of the tensor flowing through
    mods = []
    transform = net.input_transform
    dense_first = next((d["kind"] for d in net.layers if d["kind"] != "dropout"), None) == "dense"
    if transform is not None and not (dense_first and rank == 2):
        mods.append(input_transform_module(transform[0].reshape(shape or (-1,)),
                                           transform[1].reshape(shape or (-1,))))
        transform = None

    def tensor(a):
        return torch.from_numpy(np.ascontiguousarray(a))

    def activation(a):
        nonlocal rank
        if a == "identity":
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
            if rank > 2:
                mods.append(nn.Flatten())
                rank = 2
            lin = nn.Linear(d["inputs"], d["outputs"])
            with torch.no_grad():
                lin.weight.copy_(tensor(w))
                lin.bias.copy_(tensor(b))
            mods.append(lin)
            activation(d["activation"])
        elif kind == "conv":
            w, b = next(weights), next(weights)
            cls = nn.Conv1d if d["dims"] == 1 else nn.Conv2d
            k = w.shape[2:]
            conv = cls(w.shape[1], w.shape[0], k, stride=d["stride"][1], padding=d["pad"][1])
            with torch.no_grad():
                conv.weight.copy_(tensor(w))
                conv.bias.copy_(tensor(b))
            mods.append(conv)
            activation(d["activation"])
        elif kind in ("maxpool", "avgpool"):
            one = d["dims"] == 1
            cls = {("maxpool", True): nn.MaxPool1d, ("maxpool", False): nn.MaxPool2d,
                   ("avgpool", True): nn.AvgPool1d, ("avgpool", False): nn.AvgPool2d}[(kind, one)]
            mods.append(cls(d["kernel"][1], stride=d["stride"][1]))
        elif kind == "gap":
            mods.append(nn.AdaptiveAvgPool1d(1) if rank == 3 else nn.AdaptiveAvgPool2d(1))
        elif kind == "flatten":
            mods.append(nn.Flatten())
            rank = 2
        elif kind == "batchnorm":
            c = d["output_shape"][0]
            bn = nn.BatchNorm2d(c) if rank == 4 else nn.BatchNorm1d(c)
            with torch.no_grad():
                for t in ("weight", "bias", "running_mean", "running_var"):
                    getattr(bn, t).copy_(tensor(next(weights)))
            mods.append(bn)
        elif kind == "activation":
            activation(d["activation"])
        else:
            raise ArgumentError("to_torch: layer kind %s has no PyTorch module here" % kind)
    if rank > 2:
        mods.append(nn.Flatten())
    return nn.Sequential(*mods)
