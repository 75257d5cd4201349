"""The PyTorch bridge for sequences: mynn.from_torch of models using
nn.LSTM, nn.GRU, nn.RNN (batch_first) and nn.Embedding, read through
torch.fx (the output on every step, h_n[-1], torch.cat([h_n[-2], h_n[-1]], 1),
y[:, -1]), Net.to_torch of nets with recurrent and embedding layers, both
within 1e-5 of each other; the settings mynn does not have are refused
with a mynn.Error naming the module.  And the functional API's LSTM, GRU,
RNN and Embedding layers."""
import numpy as np
import pytest

import mynn
from mynn import layers as L

torch = pytest.importorskip("torch", reason="PyTorch absent (apt-get install python3-torch)")
nn = torch.nn

T, F, H, K, N = 6, 3, 5, 2, 4
TOL = 1e-5


def _rec(kind, inputs=F, layers=1, bi=False, **kw):
    args = dict(input_size=inputs, hidden_size=H, num_layers=layers, batch_first=True, bidirectional=bi)
    args.update(kw)
    if kind == "rnn_relu":
        return nn.RNN(nonlinearity="relu", **args)
    return {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](**args)


class EveryStep(nn.Module):
    """nn.Linear on every step of the output: [N, T, K]."""

    def __init__(self, kind, bi, layers):
        super().__init__()
        self.rec = _rec(kind, layers=layers, bi=bi)
        self.fc = nn.Linear(H * (2 if bi else 1), K)

    def forward(self, x):
        y, _ = self.rec(x)
        return self.fc(y)


class LastState(nn.Module):
    """The head on h_n[-1] (both directions' final states when bidirectional)."""

    def __init__(self, kind, bi, layers):
        super().__init__()
        self.rec = _rec(kind, layers=layers, bi=bi)
        self.fc = nn.Linear(H * (2 if bi else 1), K)
        self.lstm, self.bi = kind == "lstm", bi

    def forward(self, x):
        if self.lstm:
            y, (h, c) = self.rec(x)
        else:
            y, h = self.rec(x)
        return self.fc(torch.cat([h[-2], h[-1]], 1) if self.bi else h[-1])


class LastStep(nn.Module):
    """The head on y[:, -1] (one direction: h_n[-1])."""

    def __init__(self, kind, bi, layers):
        super().__init__()
        assert not bi
        self.rec = _rec(kind, layers=layers)
        self.fc = nn.Linear(H, K)

    def forward(self, x):
        y, _ = self.rec(x)
        return torch.tanh(self.fc(y[:, -1, :]))


def _inputs(seed=0, n=N, shape=(T, F)):
    return np.random.default_rng(seed).normal(size=(n,) + shape).astype(np.float32)


def _torch_out(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).reshape(x.shape[0], -1).numpy()


def _assert_close(got, want, tol=TOL):
    assert got.shape == want.shape, (got.shape, want.shape)
    err = np.abs(got - want).max()
    assert err <= tol, err


def _round_trip(net, x, want):
    """to_torch of net gives its outputs, and from_torch of that the same net."""
    back = net.to_torch().eval()
    _assert_close(_torch_out(back, x), want)
    again = mynn.from_torch(back, input_shape=x.shape[1:])
    assert [d["kind"] for d in again.layers] == [d["kind"] for d in net.layers]
    assert all(np.array_equal(a, b) for a, b in zip(again.get_weights(), net.get_weights()))
    _assert_close(again.predict(x.reshape(x.shape[0], -1)), want)


HEADS = {"every": EveryStep, "h_n": LastState, "y_last": LastStep}
CASES = [(k, bi, layers, head) for k in ("rnn", "rnn_relu", "lstm", "gru") for bi in (False, True)
         for layers in (1, 2) for head in HEADS if not (bi and head == "y_last")]


@pytest.mark.parametrize("kind, bi, layers, head", CASES)
def test_from_torch_recurrent(kind, bi, layers, head):
    torch.manual_seed(5)
    model = HEADS[head](kind, bi, layers).eval()
    net = mynn.from_torch(model, input_shape=(T, F))
    item = kind.replace("_relu", "")
    parts = net.spec.split(",")
    assert len(parts) == layers + 1
    assert all(p.startswith("%s:%d" % (item, H)) for p in parts[:-1])
    assert all(":seq" in p for p in parts[:-2])
    assert (":seq" in parts[-2]) == (head == "every")
    assert all((":bi" in p) == bi for p in parts[:-1])
    assert all(p.endswith(":relu") == (kind == "rnn_relu") for p in parts[:-1])
    x = _inputs()
    want = _torch_out(model, x)
    _assert_close(net.predict(x.reshape(N, -1)), want)
    _round_trip(net, x, want)


class LanguageModel(nn.Module):
    """Token ids -> embedding -> LSTM -> logits for every position."""

    def __init__(self, vocab=13, dim=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, H, batch_first=True)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(H, vocab)

    def forward(self, ids):
        y, _ = self.lstm(self.emb(ids))
        return self.head(self.drop(y))


def test_from_torch_language_model():
    torch.manual_seed(6)
    model = LanguageModel().eval()
    net = mynn.from_torch(model, input_shape=(T,))
    assert net.spec == "embedding:13:4,lstm:%d:seq,dropout:0.1,13" % H
    ids = np.random.default_rng(2).integers(0, 13, size=(N, T))
    with torch.no_grad():
        want = model(torch.from_numpy(ids)).reshape(N, -1).numpy()
    _assert_close(net.predict(ids.astype(np.float32)), want)
    back = net.to_torch().eval()
    with torch.no_grad():
        _assert_close(back(torch.from_numpy(ids)).numpy(), want)            # long ids
        _assert_close(back(torch.from_numpy(ids.astype(np.float32))).numpy(), want)   # ids as floats
    again = mynn.from_torch(back)
    assert [d["kind"] for d in again.layers] == ["embedding", "lstm", "dropout", "dense"]
    assert all(np.array_equal(a, b) for a, b in zip(again.get_weights(), net.get_weights()))


class Classifier(nn.Module):
    """Embedding, a bidirectional GRU's final states, a softmax head."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(9, 3)
        self.gru = nn.GRU(3, H, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * H, 3)

    def forward(self, ids):
        _, h = self.gru(self.emb(ids))
        return torch.softmax(self.fc(torch.cat([h[-2], h[-1]], dim=1)), dim=1)


def test_from_torch_embedding_bigru_classifier():
    torch.manual_seed(7)
    model = Classifier().eval()
    net = mynn.from_torch(model, input_shape=(T,))
    assert net.spec == "embedding:9:3,gru:%d:bi,3:softmax" % H
    assert net.loss == "ce"
    ids = np.random.default_rng(3).integers(0, 9, size=(N, T))
    with torch.no_grad():
        want = model(torch.from_numpy(ids)).numpy()
    _assert_close(net.predict(ids.astype(np.float32)), want)


class SoftmaxEveryStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(F, H, batch_first=True)
        self.fc = nn.Linear(H, 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return torch.softmax(self.fc(y), dim=-1)


class FlatHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(F, H, batch_first=True)
        self.fc = nn.Linear(T * H, K)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.fc(y.contiguous().view(x.size(0), -1))


class ConvGru(nn.Module):
    """conv1d features, transposed to steps for the GRU (mynn reads a conv1d's C × L as L steps of C)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3)
        self.gru = nn.GRU(4, H, batch_first=True)
        self.fc = nn.Linear(H, K)

    def forward(self, x):
        y, h = self.gru(torch.relu(self.conv(x)).transpose(1, 2))
        return self.fc(h.squeeze(0))


class ConvGruPermute(ConvGru):
    def forward(self, x):
        out = self.gru(self.conv(x).permute(0, 2, 1).contiguous())
        return self.fc(out[1][-1])


class TwoModules(nn.Module):
    """Two stacked modules, the second reading the first's every step."""

    def __init__(self):
        super().__init__()
        self.a = nn.LSTM(F, H, batch_first=True, bidirectional=True)
        self.b = nn.GRU(2 * H, 3, batch_first=True)
        self.fc = nn.Linear(3, K)

    def forward(self, x):
        y, _ = self.a(x)
        _, h = self.b(torch.tanh(y))
        return self.fc(h[-1])


@pytest.mark.parametrize("cls, shape, spec", [
    (SoftmaxEveryStep, (T, F), "rnn:%d:seq:tanh,3:softmax" % H),
    (FlatHead, (T, F), "gru:%d:seq,flatten,%d" % (H, K)),
    (ConvGru, (2, 10), "conv1d:4:3:relu:stride=1:pad=0,gru:%d,%d" % (H, K)),
    (ConvGruPermute, (2, 10), "conv1d:4:3:stride=1:pad=0,gru:%d,%d" % (H, K)),
    (TwoModules, (T, F), "lstm:%d:seq:bi,tanh,gru:3,%d" % (H, K)),
])
def test_from_torch_patterns(cls, shape, spec):
    torch.manual_seed(8)
    model = cls().eval()
    net = mynn.from_torch(model, input_shape=shape)
    x = _inputs(4, shape=shape)
    want = _torch_out(model, x)
    _assert_close(net.predict(x.reshape(N, -1)), want)
    canonical = mynn.Net(shape, spec)
    assert [d["kind"] for d in net.layers] == [d["kind"] for d in canonical.layers]
    assert [d["params"] for d in net.layers] == [d["params"] for d in canonical.layers]
    _round_trip(net, x, want)


# ---- to_torch of mynn nets ----------------------------------------------------------------------

@pytest.mark.parametrize("inputs, spec", [
    ((T, F), "rnn:4:seq:relu,dropout:0.2,gru:3:bi,3:softmax"),
    ((T, F), "lstm:4:seq:bi,5:relu,gru:3:seq,2:softmax"),        # softmax on every step
    ((T, F), "gru:4:seq,flatten,3"),
    (T, "lstm:4,2"),                                              # a flat row: T steps of one feature
    (T, "embedding:11:4,lstm:4:seq,sigmoid,11"),
    ((2, 12), "conv1d:4:3:relu,maxpool1d:2,gru:5,3"),             # C × L read as L steps of C
    ((T, F), "lstm:4:seq:as=a,tanh,add:from=a+-1,rnn:3,2"),       # a graph on sequences
    ((T, F), "gru:4:as=a,rnn:4:from=input,concat:from=a+-1,2"),    # two branches joined
    ((T, F), "lstm:4:seq:as=a,relu,add:from=a+-1,dropout:0.5,3:softmax"),   # a graph's head on every step
])
def test_to_torch(inputs, spec):
    net = mynn.Net(inputs, spec, seed=3)
    rng = np.random.default_rng(5)
    if spec.startswith("embedding"):
        x = rng.integers(0, 11, size=(N, T)).astype(np.float32)
    else:
        x = rng.normal(size=(N, net.inputs)).astype(np.float32)
    want = net.predict(x)
    shape = (N,) + (net.input_shape or (net.inputs,))
    model = net.to_torch().eval()
    _assert_close(_torch_out(model, x.reshape(shape)), want)
    back = mynn.from_torch(model, input_shape=net.input_shape or (net.inputs,))
    assert [d["kind"] for d in back.layers] == [d["kind"] for d in net.layers]
    _assert_close(back.predict(x), want)
    for a, b in zip(back.get_weights(), net.get_weights()):
        assert np.array_equal(a, b)


class Wrapped(nn.Module):
    """A traced model holding the modules to_torch makes."""

    def __init__(self):
        super().__init__()
        from mynn import torch_modules as tm
        self.emb = tm.Embedding(7, 3, T)
        self.rec = tm.Recurrent("gru", 3, 4, T, bidirectional=True, sequences=True)
        self.fc = nn.Linear(8, 2)

    def forward(self, ids):
        return torch.softmax(self.fc(self.rec(self.emb(ids))), dim=-1)


def test_from_torch_traced_wrappers():
    torch.manual_seed(9)
    model = Wrapped().eval()
    net = mynn.from_torch(model, input_shape=(T,))
    assert net.spec == "embedding:7:3,gru:4:seq:bi,2:softmax"
    ids = np.random.default_rng(4).integers(0, 7, size=(N, T))
    _assert_close(net.predict(ids.astype(np.float32)), _torch_out(model, ids))


def test_to_torch_tensor_names():
    net = mynn.Net((T, F), "lstm:4:seq:bi,gru:3,2")
    model = net.to_torch()
    sd = model.state_dict()
    assert sd["0.rnn.weight_ih_l0_reverse"].shape == (16, F)
    assert np.array_equal(sd["1.rnn.weight_hh_l0"].numpy(), net.state_dict()["layers.1.weight_hh_l0"])
    assert isinstance(model[0].rnn, nn.LSTM) and model[0].rnn.batch_first


# ---- what mynn does not have -----------------------------------------------------------------

class Wrap(nn.Module):
    def __init__(self, rec, bi=False, head="h"):
        super().__init__()
        self.rec, self.head = rec, head
        self.fc = nn.Linear(H * (2 if bi else 1), K)

    def forward(self, x):
        y, state = self.rec(x)
        if self.head == "y_last":
            return self.fc(y[:, -1])
        if self.head == "h_rev":
            return self.fc(torch.cat([state[-1], state[-1]], 1))
        if self.head == "h0":
            return self.fc(state[0])
        return self.fc(y)


class CellState(nn.Module):
    def __init__(self):
        super().__init__()
        self.rec = nn.LSTM(F, H, batch_first=True)
        self.fc = nn.Linear(H, K)

    def forward(self, x):
        y, (h, c) = self.rec(x)
        return self.fc(c[-1])


class InitialState(nn.Module):
    def __init__(self):
        super().__init__()
        self.rec = nn.GRU(F, H, batch_first=True)
        self.fc = nn.Linear(H, K)
        self.register_buffer("h0", torch.zeros(1, N, H))

    def forward(self, x):
        y, _ = self.rec(x, self.h0)
        return self.fc(y)


class NoTranspose(nn.Module):
    """A conv1d's [N, C, L] straight into a GRU: PyTorch reads C steps of L, mynn L steps of C."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3)
        self.rec = nn.GRU(8, H, batch_first=True)
        self.fc = nn.Linear(H, K)

    def forward(self, x):
        _, h = self.rec(self.conv(x))
        return self.fc(h[-1])


class BothOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.rec = nn.GRU(F, H, batch_first=True)
        self.fc = nn.Linear(H, K)

    def forward(self, x):
        y, h = self.rec(x)
        return self.fc(y) + self.fc(h[-1]).unsqueeze(1)


@pytest.mark.parametrize("make, match", [
    (lambda: Wrap(nn.LSTM(F, H, batch_first=True, bias=False)), r"node 'rec' \(LSTM\): bias=False"),
    (lambda: Wrap(nn.GRU(F, H)), r"node 'rec' \(GRU\): batch_first=False"),
    (lambda: Wrap(nn.LSTM(F, H, num_layers=2, dropout=0.2, batch_first=True)),
     r"node 'rec' \(LSTM\): dropout=0.2 between its layers"),
    (lambda: Wrap(nn.LSTM(F, H, batch_first=True, proj_size=2)), r"proj_size=2"),
    (lambda: Wrap(nn.LSTM(F, H, batch_first=True, bidirectional=True), bi=True, head="y_last"),
     r"y\[:, -1\] of a bidirectional layer .* torch.cat\(\[h_n\[-2\], h_n\[-1\]\], 1\)"),
    (lambda: Wrap(nn.GRU(F, H, batch_first=True, bidirectional=True), bi=True, head="h_rev"),
     r"forward then reverse"),
    (lambda: Wrap(nn.GRU(F, H, num_layers=2, batch_first=True), head="h0"),
     r"h_n\[0\] is layer 0's final state: mynn gives the last layer's, h_n\[-1\]"),
    (CellState, r"cell state c_n"),
    (InitialState, r"initial state"),
    (BothOutputs, r"both on every step and at its last step"),
])
def test_refusals(make, match):
    with pytest.raises(mynn.Error, match=match):
        mynn.from_torch(make().eval(), input_shape=(T, F))


def test_refusal_conv_without_transpose():
    with pytest.raises(mynn.ArgumentError, match=r"node 'rec' \(GRU\): reads 'conv' \[N, C, L\] as C steps of L.*"
                                                 r"x.transpose\(1, 2\)"):
        mynn.from_torch(NoTranspose().eval(), input_shape=(2, 10))


def test_refusals_sequential_and_shape():
    with pytest.raises(mynn.ArgumentError, match=r"module 0 \(LSTM\) returns \(output, state\)"):
        mynn.from_torch(nn.Sequential(nn.LSTM(F, H, batch_first=True), nn.Linear(H, K)))
    with pytest.raises(mynn.ArgumentError, match=r"LSTM: give input_shape=\(T, F\)"):
        mynn.from_torch(Wrap(nn.LSTM(F, H, batch_first=True)))
    with pytest.raises(mynn.ArgumentError, match=r"Embedding: give input_shape=\(T,\)"):
        mynn.from_torch(LanguageModel())


# ---- the functional API ----------------------------------------------------------------------

def test_functional_layers_spec():
    x = mynn.Input((T, F))
    h = L.LSTM(8, return_sequences=True, bidirectional=True, name="enc")(x)
    h = L.GRU(6, return_sequences=True)(h)
    h = L.Dense(4, activation="relu")(h)             # on every step
    h = L.RNN(5, nonlinearity="relu")(h)
    y = L.Dense(3, activation="softmax")(h)
    assert mynn.layers.describe(x, y) == "lstm:8:seq:bi:as=enc,gru:6:seq,4:relu,rnn:5:relu,3:softmax"
    net = mynn.Model(x, y, seed=2)
    twin = mynn.Net((T, F), "lstm:8:seq:bi:as=enc,gru:6:seq,4:relu,rnn:5:relu,3:softmax", seed=2)
    xs = _inputs(9, n=5).reshape(5, -1)
    assert np.array_equal(net.predict(xs), twin.predict(xs))
    kinds = [(d["kind"], d.get("hidden"), d.get("sequences"), d.get("bidirectional"), d.get("steps"))
             for d in net.layers]
    assert kinds == [("lstm", 8, True, True, T), ("gru", 6, True, False, T), ("dense", None, None, None, T),
                     ("rnn", 5, False, False, 0), ("dense", None, None, None, None)]
    assert net.layers[3]["nonlinearity"] == "relu"


def test_functional_embedding_model_trains():
    ids = mynn.Input(T)
    h = L.Embedding(7, 4)(ids)
    h = L.LSTM(6)(h)
    y = L.Dense(2, activation="softmax")(h)
    net = mynn.Model(ids, y, seed=1)
    assert net.spec == "embedding:7:4,lstm:6,2:softmax"
    assert net.layers[0]["vocab"] == 7 and net.layers[0]["dim"] == 4
    rng = np.random.default_rng(0)
    x = rng.integers(0, 7, size=(64, T)).astype(np.float32)
    y_true = (x[:, -1] >= 3).astype(np.int32)          # the class is in the last token
    hist = net.fit(x, y_true, epochs=30, batch_size=16, optimizer="adam", lr=0.02)
    assert hist[-1]["loss"] < hist[0]["loss"] * 0.5
    model = net.to_torch().eval()
    _assert_close(_torch_out(model, x), net.predict(x))


def test_functional_graph_of_sequences():
    x = mynn.Input((T, F))
    a = L.GRU(4, return_sequences=True)(x)
    b = L.RNN(4, return_sequences=True)(x)
    h = mynn.add([a, b], activation="tanh")
    y = L.Dense(2)(L.LSTM(3)(h))
    net = mynn.Model(x, y)
    assert net.spec == "gru:4:seq,rnn:4:seq:from=input,add:tanh:from=0+1,lstm:3,2"
    xs = _inputs(1).reshape(N, -1)
    _assert_close(_torch_out(net.to_torch().eval(), xs.reshape(N, T, F)), net.predict(xs))


@pytest.mark.parametrize("make, match", [
    (lambda: L.LSTM(0), "LSTM hidden must be >= 1"),
    (lambda: L.GRU(2.5), "GRU hidden must be an integer"),
    (lambda: L.RNN(4, nonlinearity="sigmoid"), "RNN nonlinearity 'sigmoid'"),
    (lambda: L.Embedding(0, 3), "Embedding vocab must be >= 1"),
])
def test_functional_layer_arguments(make, match):
    with pytest.raises(mynn.ArgumentError, match=match):
        make()
