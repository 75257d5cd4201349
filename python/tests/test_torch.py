"""mynn.from_torch and Net.to_torch against PyTorch's own forward pass."""
import numpy as np
import pytest

import mynn

torch = pytest.importorskip("torch", reason="PyTorch absent (apt-get install python3-torch)")
nn = torch.nn


def inputs(n=256, d=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def torch_out(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("act", [nn.Identity(), nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.01),
                                 nn.GELU(), None])
def test_from_torch_every_activation(act):
    torch.manual_seed(0)
    mods = [nn.Linear(6, 16)] + ([act] if act is not None else []) + [nn.Dropout(0.3), nn.Linear(16, 4),
                                                                      nn.Softmax(dim=1)]
    model = nn.Sequential(*mods)
    net = mynn.from_torch(model)
    assert net.inputs == 6 and net.outputs == 4 and net.loss == "ce"
    x = inputs()
    diff = np.abs(net.predict(x) - torch_out(model, x)).max()
    assert diff <= 1e-5, diff


def test_from_torch_regression_and_no_bias():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 8, bias=False), nn.Tanh(), nn.Linear(8, 2))
    net = mynn.from_torch(model)
    assert net.spec == "8:tanh,2" and net.loss == "mse"
    assert np.array_equal(net.get_weights()[1], np.zeros(8, dtype=np.float32))
    x = inputs()
    assert np.abs(net.predict(x) - torch_out(model, x)).max() <= 1e-5


def test_save_from_torch_then_load(tmp_path):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 1), nn.Sigmoid())
    mynn.from_torch(model).save(tmp_path / "m.safetensors")
    back = mynn.load(tmp_path / "m.safetensors")
    x = inputs()
    assert back.loss == "bce" and np.abs(back.predict(x) - torch_out(model, x)).max() <= 1e-5


@pytest.mark.parametrize("model, text", [
    (nn.Sequential(nn.Linear(6, 4), nn.Conv1d(1, 1, 1)), r"module 1 \(Conv1d\) has no mynn equivalent"),
    (nn.Sequential(nn.ReLU(), nn.Linear(6, 4)), r"module 0 \(ReLU\) does not follow a Linear"),
    (nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.ReLU()), r"module 2 \(ReLU\) does not follow"),
    (nn.Sequential(nn.Linear(6, 4), nn.LeakyReLU(0.2)), "negative_slope=0.2"),
    (nn.Sequential(nn.Linear(6, 4), nn.GELU(approximate="tanh")), "approximate"),
    (nn.Sequential(nn.Linear(6, 4), nn.Softmax(dim=0)), "dim=0"),
    (nn.Sequential(nn.Dropout(0.1)), "no Linear"),
    (nn.Sequential(nn.Linear(6, 4), nn.Dropout(0.1)), "last layer must be dense"),
])
def test_from_torch_unsupported(model, text):
    with pytest.raises(mynn.Error, match=text):
        mynn.from_torch(model)


def test_from_torch_needs_sequential():
    with pytest.raises(TypeError, match="nn.Sequential is needed, got Linear"):
        mynn.from_torch(nn.Linear(3, 2))


@pytest.mark.parametrize("normalize", [None, "scale", "standard"])
def test_to_torch_round_trip(normalize):
    from conftest import make_blobs
    x, y = make_blobs(300, d=6, seed=4)
    x = x * 20 + 3
    net = mynn.Net(inputs=6, layers="dropout:0.1,16:gelu,dropout:0.2,8:leaky_relu,3:softmax", normalize=normalize)
    net.fit(x, y, epochs=5, lr=0.01)
    model = net.to_torch()
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Dropout", "Linear", "GELU", "Dropout", "Linear", "LeakyReLU", "Linear", "Softmax"]
    diff = np.abs(torch_out(model, x) - net.predict(x)).max()
    assert diff <= 1e-5, diff
    back = mynn.from_torch(model)                                   # and back again
    assert np.abs(back.predict(x) - net.predict(x)).max() <= 1e-5
