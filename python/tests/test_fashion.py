"""A short Fashion-MNIST fit from Python reaches the demo's accuracy."""
import numpy as np

import mynn


def test_fashion_mnist_fit(fashion, tmp_path):
    (x, y), (xt, yt) = fashion
    assert x.shape == (60000, 784) and xt.shape == (10000, 784) and y.dtype == np.int32
    net = mynn.Net(inputs=784, layers="128:relu,10:softmax", loss="ce", normalize="scale")
    h = net.fit(x, y, epochs=2, batch_size=64, lr=0.001, validation_data=(xt, yt))
    m = net.evaluate(xt, yt)
    print("Fashion-MNIST from Python: test accuracy %.2f%% (loss %.4f), %.1f s/epoch"
          % (100 * m["accuracy"], m["loss"], h[-1]["seconds"]))
    assert m["accuracy"] >= 0.84, m
    assert h[-1]["val_accuracy"] == m["accuracy"]
    assert m["confusion"].sum() == 10000
    net.save(tmp_path / "fm.safetensors")
    assert mynn.load(tmp_path / "fm.safetensors").evaluate(xt, yt)["accuracy"] == m["accuracy"]
