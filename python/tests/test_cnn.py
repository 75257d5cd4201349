"""Convolutional networks through the Python API: shapes, weights in
PyTorch's layouts, training, files."""
import numpy as np
import pytest

import mynn



def images(n=120, seed=0):
    r = np.random.default_rng(seed)
    x = r.uniform(0, 1, size=(n, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) > x[:, 0, 4:].mean(axis=(1, 2))).astype(np.int64)
    return x, y


def cnn(**kw):
    return mynn.Net(inputs=(1, 8, 8), layers="conv:4:3:relu:pad=1,batchnorm,maxpool:2,flatten,8:tanh,2:softmax",
                    **kw)


def test_shapes_and_layers():
    net = cnn()
    assert net.inputs == 64 and net.input_shape == (1, 8, 8) and net.outputs == 2
    conv, bn, pool, flat, dense, out = net.layers
    assert conv["kind"] == "conv" and conv["output_shape"] == (4, 8, 8) and conv["kernel"] == (3, 3)
    assert conv["pad"] == (1, 1) and conv["stride"] == (1, 1) and conv["activation"] == "relu"
    assert conv["params"] == 4 * 9 + 4 and bn["eps"] == pytest.approx(1e-5) and bn["momentum"] == pytest.approx(0.1)
    assert pool["output_shape"] == (4, 4, 4) and flat["outputs"] == 64 and dense["inputs"] == 64
    text = net.summary(print_fn=None)
    assert "(None, 4, 8, 8)" in text and "(None, 4, 4, 4)" in text and "(None, 64)" in text
    one = mynn.Net(inputs=(3, 20), layers="conv1d:4:5,maxpool1d:2,flatten,2")
    assert one.input_shape == (3, 20) and one.layers[0]["output_shape"] == (4, 1, 16)
    with pytest.raises(ValueError, match="inputs"):
        mynn.Net(inputs=(1, 2, 3, 4), layers="2")
    with pytest.raises(mynn.ShapeError):
        mynn.Net(inputs=(1, 4, 4), layers="conv:2:5,flatten,2")


def test_weights_in_torch_layout():
    net = cnn()
    w = net.get_weights()
    assert [a.shape for a in w] == [(4, 1, 3, 3), (4,), (4,), (4,), (4,), (4,), (8, 64), (8,), (2, 8), (2,)]
    sd = net.state_dict()
    assert list(sd)[:6] == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                            "layers.1.running_mean", "layers.1.running_var"]
    assert np.array_equal(sd["layers.1.running_var"], np.ones(4)) and np.array_equal(sd["layers.1.weight"], np.ones(4))
    new = [np.full(a.shape, 0.25 * (i + 1), dtype=np.float32) for i, a in enumerate(w)]
    net.set_weights(new)
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), new))


def test_fit_predict_save(tmp_path):
    x, y = images()
    net = cnn(normalize="standard")
    h = net.fit(x, y, epochs=15, batch_size=16, lr=0.01)
    assert h[-1]["loss"] < h[0]["loss"]
    assert net.evaluate(x, y)["accuracy"] >= 0.9
    assert net.get_weights()[4].any()                       # running_mean moved
    flat = x.reshape(len(x), 64)
    assert np.array_equal(net.predict(x), net.predict(flat))
    with pytest.raises(ValueError, match="features"):
        net.predict(x.reshape(len(x), 1, 4, 16)[:, :, :2])
    net.save(tmp_path / "cnn.safetensors")
    back = mynn.load(tmp_path / "cnn.safetensors")
    assert back.input_shape == (1, 8, 8) and back.layers == net.layers
    assert np.array_equal(back.predict(x), net.predict(x))
    net.export_onnx(tmp_path / "cnn.onnx")
    assert b"BatchNormalization" in (tmp_path / "cnn.onnx").read_bytes()
