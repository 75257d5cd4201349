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


@pytest.mark.parametrize("model, text, shape", [
    (nn.Sequential(nn.Linear(6, 4), nn.LayerNorm(4)), r"module 1 \(LayerNorm\) has no mynn equivalent", None),
    (nn.Sequential(nn.Linear(6, 4), nn.LeakyReLU(0.2)), "negative_slope=0.2", None),
    (nn.Sequential(nn.Linear(6, 4), nn.GELU(approximate="tanh")), "approximate", None),
    (nn.Sequential(nn.Linear(6, 4), nn.Softmax(dim=0)), "dim=0", None),
    (nn.Sequential(nn.Dropout(0.1)), "no Linear or Conv", None),
    (nn.Sequential(nn.Linear(6, 4), nn.Dropout(0.1)), "last layer must be dense", None),
    (nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.ReLU()), "last layer must be dense", None),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(32, 2)), "give input_shape", None),
    (nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2), nn.Flatten(), nn.Linear(8, 2)), "dilation", (1, 6, 6)),
    (nn.Sequential(nn.Conv2d(1, 2, 3, padding=(1, 0)), nn.Flatten(), nn.Linear(48, 2)), r"padding \(1, 0\)",
     (1, 6, 6)),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(8, 2)),
     "ceil_mode=True: mynn's pooling rounds down", (1, 6, 6)),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(3, padding=1, count_include_pad=False), nn.Flatten(),
                   nn.Linear(8, 2)), "count_include_pad=False", (1, 6, 6)),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, eps=1e-3), nn.Flatten(), nn.Linear(32, 2)),
     "eps=0.001", (1, 6, 6)),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Softmax(dim=1), nn.Flatten(), nn.Linear(32, 2)),
     r"module 1 \(Softmax\) over the channels", (1, 6, 6)),
])
def test_from_torch_unsupported(model, text, shape):
    with pytest.raises(mynn.Error, match=text):
        mynn.from_torch(model, input_shape=shape)


def test_from_torch_activation_layers():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Tanh(), nn.Linear(6, 8), nn.ReLU(), nn.Sigmoid(), nn.Linear(8, 3))
    net = mynn.from_torch(model)
    assert net.spec == "tanh,8:relu,sigmoid,3"
    x = inputs()
    assert np.abs(net.predict(x) - torch_out(model, x)).max() <= 1e-5


def random_bn(bn, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in (bn.weight, bn.bias, bn.running_mean):
            t.copy_(torch.randn(t.shape, generator=g) * 0.5)
        bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=g) + 0.5)


def test_from_torch_cnn():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(6), nn.MaxPool2d(2),
                          nn.Conv2d(6, 8, (3, 5), stride=1), nn.BatchNorm2d(8), nn.GELU(), nn.AvgPool2d(2, stride=1),
                          nn.Flatten(), nn.Linear(8 * 3 * 2, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Dropout(0.2),
                          nn.Linear(16, 5), nn.Softmax(dim=1))
    random_bn(model[2], 1), random_bn(model[5], 2), random_bn(model[10], 3)
    net = mynn.from_torch(model, input_shape=(1, 12, 14))
    assert net.input_shape == (1, 12, 14) and net.outputs == 5
    assert [d["kind"] for d in net.layers] == ["conv", "batchnorm", "maxpool", "conv", "batchnorm", "activation",
                                               "avgpool", "flatten", "dense", "batchnorm", "activation",
                                               "dropout", "dense"]
    x = inputs(64, 12 * 14)
    want = torch_out(model, x.reshape(64, 1, 12, 14))
    assert np.abs(net.predict(x) - want).max() <= 1e-5
    assert np.abs(net.predict(x.reshape(64, 1, 12, 14)) - want).max() <= 1e-5     # [n, C, H, W] accepted
    back = net.to_torch()
    assert np.abs(torch_out(back, x.reshape(64, 1, 12, 14)) - want).max() <= 1e-5


def test_from_torch_cnn_1d_and_gap():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv1d(3, 4, 5, padding=2), nn.LeakyReLU(0.01), nn.MaxPool1d(2), nn.BatchNorm1d(4),
                          nn.Conv1d(4, 6, 3), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(6, 2))
    random_bn(model[3], 4)
    net = mynn.from_torch(model, input_shape=(3, 20))
    x = inputs(32, 60)
    want = torch_out(model, x.reshape(32, 3, 20))
    assert net.loss == "mse" and np.abs(net.predict(x) - want).max() <= 1e-5
    assert np.abs(torch_out(net.to_torch(), x.reshape(32, 3, 20)) - want).max() <= 1e-5


@pytest.mark.parametrize("normalize", [None, "standard"])
def test_cnn_to_torch_after_training(normalize):
    r = np.random.default_rng(6)
    x = r.uniform(0, 255, size=(200, 64)).astype(np.float32)
    y = (x[:, :32].mean(axis=1) > x[:, 32:].mean(axis=1)).astype(np.int64)
    net = mynn.Net(inputs=(1, 8, 8), layers="conv:4:3:relu:pad=1,batchnorm,maxpool:2,gap,8:relu,2:softmax",
                   normalize=normalize)
    net.fit(x, y, epochs=3, batch_size=20)
    model = net.to_torch()
    if normalize:
        assert type(model[0]).__name__ == "InputTransform"
    want = net.predict(x)
    assert np.abs(torch_out(model, x.reshape(200, 1, 8, 8)) - want).max() <= 1e-5
    back = mynn.from_torch(model, input_shape=(1, 8, 8))
    assert back.normalize == ("custom" if normalize else None)
    assert np.abs(back.predict(x) - want).max() <= 1e-5


def test_from_torch_needs_sequential():
    with pytest.raises(TypeError, match="nn.Sequential is needed, got Linear"):
        mynn.from_torch(nn.Linear(3, 2))
    with pytest.raises(TypeError, match="torch.nn.Module is needed"):
        mynn.from_torch("model")


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
