"""Recurrent layers against PyTorch on the same weights: nn.RNN, nn.LSTM and
nn.GRU (batch_first), one and both directions, one and two layers, every
step and the last, followed by nn.Linear on every step (or the last):
outputs within 1e-5, and one Adam step on the MSE within 1e-4."""
import numpy as np
import pytest

import mynn

torch = pytest.importorskip("torch", reason="PyTorch absent (apt-get install python3-torch)")
nn = torch.nn

T, F, H, K, N = 7, 3, 5, 2, 3


class Model(nn.Module):
    def __init__(self, kind, bi, layers, every):
        super().__init__()
        args = dict(input_size=F, hidden_size=H, num_layers=layers, batch_first=True, bidirectional=bi)
        if kind == "rnn_relu":
            self.rec = nn.RNN(nonlinearity="relu", **args)
        else:
            self.rec = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](**args)
        self.every = every
        self.bi = bi
        self.out = nn.Linear(H * (2 if bi else 1), K)

    def forward(self, x):
        y, state = self.rec(x)
        if self.every:
            return self.out(y).reshape(x.shape[0], -1)
        h = state[0] if isinstance(state, tuple) else state   # h_n: [layers·D, N, H]
        last = torch.cat([h[-2], h[-1]], dim=1) if self.bi else h[-1]
        return self.out(last)


def mynn_twin(model, kind, bi, layers, every):
    item = {"rnn": "rnn:%d", "rnn_relu": "rnn:%d:relu", "lstm": "lstm:%d", "gru": "gru:%d"}[kind] % H
    parts = []
    for i in range(layers):
        seq = every or i < layers - 1
        parts.append(item.replace(":relu", "") + (":seq" if seq else "") + (":bi" if bi else "")
                     + (":relu" if kind == "rnn_relu" else ""))
    net = mynn.Net((T, F), ",".join(parts + [str(K)]), loss="mse")
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    weights = []
    for i in range(layers):
        for suffix in ([""] + (["_reverse"] if bi else [])):
            for t in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                weights.append(sd["rec.%s_l%d%s" % (t, i, suffix)])
    weights += [sd["out.weight"], sd["out.bias"]]
    net.set_weights(weights)
    return net


CASES = [(k, bi, layers, every) for k in ("rnn", "rnn_relu", "lstm", "gru") for bi in (False, True)
         for layers in (1, 2) for every in (False, True)]


@pytest.mark.parametrize("kind, bi, layers, every", CASES)
def test_recurrent_matches_torch(kind, bi, layers, every):
    torch.manual_seed(3)
    model = Model(kind, bi, layers, every)
    net = mynn_twin(model, kind, bi, layers, every)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, T * F)).astype(np.float32)
    xt = torch.from_numpy(x.reshape(N, T, F))
    with torch.no_grad():
        want = model(xt).numpy()
    got = net.predict(x)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-5, np.abs(got - want).max()

    # one Adam step on the mean squared error of the same batch
    y = rng.normal(size=want.shape).astype(np.float32)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    opt.zero_grad()
    nn.functional.mse_loss(model(xt), torch.from_numpy(y)).backward()
    opt.step()
    net.fit(x, y, epochs=1, batch_size=N, optimizer="adam", lr=0.01, shuffle=False)
    twin = mynn_twin(model, kind, bi, layers, every)
    for a, b in zip(net.get_weights(), twin.get_weights()):
        assert np.abs(a - b).max() <= 1e-4, np.abs(a - b).max()


def test_embedding_matches_torch():
    torch.manual_seed(4)
    emb, lstm, lin = nn.Embedding(11, 4), nn.LSTM(4, H, batch_first=True), nn.Linear(H, K)
    net = mynn.Net(T, "embedding:11:4,lstm:%d:seq,%d" % (H, K), loss="mse")
    net.set_weights([emb.weight.detach().numpy()] + [p.detach().numpy() for p in lstm.parameters()]
                    + [lin.weight.detach().numpy(), lin.bias.detach().numpy()])
    ids = np.random.default_rng(1).integers(0, 11, size=(N, T))
    with torch.no_grad():
        want = lin(lstm(emb(torch.from_numpy(ids)))[0]).reshape(N, -1).numpy()
    got = net.predict(ids.astype(np.float32))
    assert np.abs(got - want).max() <= 1e-5
    with pytest.raises(mynn.Error, match="token id 11 is not an integer in 0..10"):
        net.predict(np.full((1, T), 11, dtype=np.float32))


def test_state_dict_names():
    net = mynn.Net((T, F), "gru:4:seq:bi,lstm:3,2")
    names = list(net.state_dict())
    assert names[:4] == ["layers.0.weight_ih_l0", "layers.0.weight_hh_l0", "layers.0.bias_ih_l0",
                         "layers.0.bias_hh_l0"]
    assert names[4] == "layers.0.weight_ih_l0_reverse"
    assert net.state_dict()["layers.1.weight_ih_l0"].shape == (12, 8)
