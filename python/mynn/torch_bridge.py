"""mynn <-> PyTorch: nn.Sequential of Linear / activation / Dropout modules.
torch is imported only here, when a bridge function is called."""
import numpy as np

from .errors import ArgumentError

SUPPORTED = "Linear, Identity, Sigmoid, Tanh, ReLU, LeakyReLU(0.01), GELU, Softmax(dim=1), Dropout"


def _torch():
    try:
        import torch
        return torch
    except ImportError as e:
        raise ImportError("mynn.from_torch / Net.to_torch need PyTorch (apt-get install python3-torch): %s"
                          % e) from None


def _activation(torch, i, m):
    nn = torch.nn
    if isinstance(m, nn.Identity):
        return "identity"
    if isinstance(m, nn.Sigmoid):
        return "sigmoid"
    if isinstance(m, nn.Tanh):
        return "tanh"
    if isinstance(m, nn.ReLU):
        return "relu"
    if isinstance(m, nn.LeakyReLU):
        if abs(m.negative_slope - 0.01) > 1e-12:
            raise ArgumentError("from_torch: module %d: LeakyReLU(negative_slope=%g): mynn's leaky_relu has slope 0.01"
                                % (i, m.negative_slope))
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


def from_torch(model, loss=None):
    torch = _torch()
    from .net import Net
    nn = torch.nn
    if not isinstance(model, nn.Sequential):
        raise TypeError("from_torch: a torch.nn.Sequential is needed, got %s" % type(model).__name__)
    mods = list(model.children())
    parts, weights, n_in = [], [], None
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Linear):
            if n_in is None:
                n_in = m.in_features
            act = "identity"
            if i + 1 < len(mods) and _activation(torch, i + 1, mods[i + 1]) is not None:
                act = _activation(torch, i + 1, mods[i + 1])
                i += 1
            parts.append(str(m.out_features) if act == "identity" else "%d:%s" % (m.out_features, act))
            w = m.weight.detach().cpu().to(torch.float32).numpy()
            b = (m.bias.detach().cpu().to(torch.float32).numpy() if m.bias is not None
                 else np.zeros(m.out_features, dtype=np.float32))
            weights += [w, b]
        elif isinstance(m, nn.Dropout):
            if not 0 <= m.p < 1:
                raise ArgumentError("from_torch: module %d: Dropout(p=%g): mynn needs 0 <= p < 1" % (i, m.p))
            parts.append("dropout:%r" % float(m.p))
        elif _activation(torch, i, m) is not None:
            raise ArgumentError("from_torch: module %d (%s) does not follow a Linear: mynn applies activations "
                                "inside dense layers" % (i, type(m).__name__))
        else:
            raise ArgumentError("from_torch: module %d (%s) has no mynn equivalent (supported: %s)"
                                % (i, type(m).__name__, SUPPORTED))
        i += 1
    if n_in is None:
        raise ArgumentError("from_torch: the model has no Linear layer")
    net = Net(inputs=n_in, layers=",".join(parts), loss=loss)
    net.set_weights(weights)
    return net


def to_torch(net):
    """nn.Sequential of Linear (+ activation module) and Dropout.  An input
    transform x' = (x - shift) * scale is folded into the first Linear
    (W' = W diag(scale), b' = b - W' shift), exact at inference; a
    dropout before it then acts on the raw inputs in training."""
    torch = _torch()
    nn = torch.nn
    acts = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
            "leaky_relu": lambda: nn.LeakyReLU(0.01), "gelu": nn.GELU, "softmax": lambda: nn.Softmax(dim=1)}
    weights = iter(net.get_weights())
    transform = net.input_transform
    mods = []
    for d in net.layers:
        if d["kind"] == "dropout":
            mods.append(nn.Dropout(d["rate"]))
            continue
        if d["kind"] != "dense":
            raise ArgumentError("to_torch: layer kind %s has no PyTorch module here" % d["kind"])
        w, b = next(weights), next(weights)
        if transform is not None:
            shift, scale = transform
            w64 = w.astype(np.float64) * scale.astype(np.float64)[None, :]
            b = (b.astype(np.float64) - w64 @ shift.astype(np.float64)).astype(np.float32)
            w = w64.astype(np.float32)
            transform = None
        lin = nn.Linear(d["inputs"], d["outputs"])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
        mods.append(lin)
        if d["activation"] != "identity":
            mods.append(acts[d["activation"]]())
    return nn.Sequential(*mods)
