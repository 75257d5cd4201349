"""The PyTorch modules Net.to_torch builds beside torch's own: the input
transform, the joins of a graph (Add, Concat), the recurrent and
embedding layers (Recurrent, Embedding: torch's own inside, with the
reshapes mynn does implicitly) and GraphNet, a whole mynn graph.
Importing this module imports torch (the bridge does it only when
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


class Recurrent(nn.Module):
    """A mynn recurrent layer: one layer of nn.LSTM, nn.GRU or nn.RNN
    (batch_first; the module `rnn`, with PyTorch's tensor names) reading
    its input as mynn does: [N, steps, input_size] (any tensor of that
    many values per sample: a flat network input is reshaped), or with
    channel_major a 1-D feature map [N, input_size, steps] (a conv1d's
    C × L, transposed to L steps of C).  Output: every step's
    [N, steps, D·H] with sequences, else the last step's [N, D·H] (h_n's
    last layer, forward then reverse)."""

    def __init__(self, kind, input_size, hidden_size, steps, bidirectional=False, sequences=False,
                 nonlinearity="tanh", channel_major=False):
        super().__init__()
        kinds = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
        if kind not in kinds:
            raise ValueError("Recurrent: kind %r: lstm, gru or rnn" % (kind,))
        extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
        self.rnn = kinds[kind](input_size, hidden_size, batch_first=True, bidirectional=bidirectional, **extra)
        self.kind, self.steps = kind, int(steps)
        self.sequences, self.channel_major = bool(sequences), bool(channel_major)

    def forward(self, x):
        n = x.shape[0]
        if self.channel_major:
            x = x.reshape(n, self.rnn.input_size, self.steps).transpose(1, 2)
        else:
            x = x.reshape(n, self.steps, self.rnn.input_size)
        y, state = self.rnn(x)
        if self.sequences:
            return y
        h = state[0] if self.kind == "lstm" else state
        return torch.cat([h[-2], h[-1]], 1) if self.rnn.bidirectional else h[-1]

    def extra_repr(self):
        return "steps=%d%s%s" % (self.steps, ", sequences=True" if self.sequences else "",
                                 ", channel_major=True" if self.channel_major else "")


class Embedding(nn.Module):
    """mynn's embedding: the network input's token ids (stored as floats,
    steps per sample) through nn.Embedding (the module `embedding`):
    [N, steps] -> [N, steps, dim]."""

    def __init__(self, vocab, dim, steps):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.steps = int(steps)

    def forward(self, x):
        return self.embedding(x.reshape(x.shape[0], self.steps).long())

    def extra_repr(self):
        return "steps=%d" % self.steps


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
