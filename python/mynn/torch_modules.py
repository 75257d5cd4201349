"""The PyTorch modules Net.to_torch builds beside torch's own: the input
transform, the joins of a graph (Add, Concat) and GraphNet, a whole mynn
graph.  Importing this module imports torch (the bridge does it only when
called)."""
import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.01),
               "gelu": nn.GELU, "softmax": lambda: nn.Softmax(dim=1)}


class InputTransform(nn.Module):
    """x' = (x - shift) * scale, the input normalisation a mynn model stores."""

    def __init__(self, shift, scale):
        super().__init__()
        self.register_buffer("shift", torch.as_tensor(shift))
        self.register_buffer("scale", torch.as_tensor(scale))

    def forward(self, x):
        return (x - self.shift) * self.scale


class Add(nn.Module):
    """mynn's add node: the sum of its inputs in their order, then an
    element-wise activation ("identity", "relu", ...).  flatten: each input
    is flattened first (inputs of one size given as [N, C, 1, 1] and [N, C])."""

    def __init__(self, activation="identity", flatten=False):
        super().__init__()
        if activation != "identity" and activation not in ACTIVATIONS:
            raise ValueError("Add: unknown activation %r" % (activation,))
        self.activation = activation
        self.flatten = bool(flatten)
        self.act = ACTIVATIONS[activation]() if activation != "identity" else nn.Identity()

    def forward(self, *xs):
        if self.flatten:
            xs = [x.flatten(1) for x in xs]
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return self.act(y)

    def extra_repr(self):
        return "activation=%s%s" % (self.activation, ", flatten=True" if self.flatten else "")


class Concat(nn.Module):
    """mynn's concat node: torch.cat(inputs, dim=1) (the channels of
    [N, C, H, W], the features of [N, F]); flatten as Add's."""

    def __init__(self, flatten=False):
        super().__init__()
        self.flatten = bool(flatten)

    def forward(self, *xs):
        if self.flatten:
            xs = [x.flatten(1) for x in xs]
        return torch.cat(xs, dim=1)

    def extra_repr(self):
        return "flatten=True" if self.flatten else ""


class GraphNet(nn.Module):
    """A mynn graph as a PyTorch module (Net.to_torch of a graph): node i is
    nodes[i] applied to the outputs of the nodes inputs[i] (ids; -1 is the
    network input, after input_transform when there is one); the output is
    the last node's.  names[i] is node i's as= name (or None); input_shape
    the sample shape ((C, H, W), (C, L) or (features,)).  Inputs are shaped
    [N, *input_shape]."""

    def __init__(self, nodes, inputs, names=None, input_shape=None, input_transform=None):
        super().__init__()
        nodes = list(nodes)
        if len(inputs) != len(nodes):
            raise ValueError("GraphNet: %d nodes but %d input lists" % (len(nodes), len(inputs)))
        self.input_transform = input_transform
        self.nodes = nn.ModuleList(nodes)
        self.inputs = [[int(j) for j in ids] for ids in inputs]
        for i, ids in enumerate(self.inputs):
            if not ids or any(j < -1 or j >= i for j in ids):
                raise ValueError("GraphNet: node %d reads %r: earlier nodes or -1 (the input)" % (i, ids))
        self.names = list(names) if names is not None else [None] * len(nodes)
        self.input_shape = tuple(input_shape) if input_shape is not None else None

    def forward(self, x):
        if self.input_transform is not None:
            x = self.input_transform(x)
        outs = []
        for node, ids in zip(self.nodes, self.inputs):
            outs.append(node(*[x if j < 0 else outs[j] for j in ids]))
        return outs[-1]

    def extra_repr(self):
        lines = ["input_shape=%s" % (self.input_shape,)]
        for i, ids in enumerate(self.inputs):
            if ids != [i - 1] or self.names[i]:
                lines.append("node %d%s reads %s" % (i, " (%s)" % self.names[i] if self.names[i] else "",
                                                       ", ".join("input" if j < 0 else str(j) for j in ids)))
        return "\n".join(lines)
