"""Every call of the Net API and its error paths."""
import ctypes
import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest

import mynn
from mynn.data import as_inputs
from conftest import make_blobs


def small(seed=1, **kw):
    return mynn.Net(inputs=2, layers="16:relu,3:softmax", seed=seed, **kw)


# ---- construction ------------------------------------------------------------
def test_construct_and_introspect():
    net = mynn.Net(inputs=5, layers=["7:tanh", "dropout:0.25", "3:softmax"])
    assert (net.inputs, net.outputs, net.loss) == (5, 3, "ce")
    assert net.spec == "7:tanh,dropout:0.25,3:softmax"
    assert net.layers == [
        {"kind": "dense", "inputs": 5, "outputs": 7, "output_shape": (7, 1, 1), "params": 42, "activation": "tanh",
         "name": None, "inputs_from": [-1]},
        {"kind": "dropout", "inputs": 7, "outputs": 7, "output_shape": (7, 1, 1), "params": 0, "rate": 0.25,
         "name": None, "inputs_from": [0]},
        {"kind": "dense", "inputs": 7, "outputs": 3, "output_shape": (3, 1, 1), "params": 24,
         "activation": "softmax", "name": None, "inputs_from": [1]}]
    assert net.n_params == 66 and net.normalize is None and net.input_transform is None
    assert net.input_shape is None
    assert "mynn.Net(inputs=5" in repr(net)
    assert mynn.Net(inputs=3, layers="1:sigmoid").loss == "bce"
    assert mynn.Net(inputs=3, layers="4:relu,2").loss == "mse"
    assert mynn.Net(inputs=3, layers="4:relu,2:softmax", loss="mse").loss == "mse"


def test_summary():
    lines = []
    text = mynn.Net(inputs=784, layers="128:relu,10:softmax").summary(print_fn=lines.append)
    assert lines == [text]
    assert "dense      (None, 128)          relu               100480" in text
    assert "Total params: 101770 (397.5 KiB as float32)" in text
    assert "Loss: ce" in text and "Normalisation: none" in text


@pytest.mark.parametrize("kwargs, exc, text", [
    (dict(inputs=0, layers="3"), ValueError, "inputs must be >= 1"),
    (dict(inputs="2", layers="3"), TypeError, "inputs must be an integer"),
    (dict(inputs=2, layers=3), TypeError, "layers must be a string"),
    (dict(inputs=2, layers=["3", 4]), TypeError, "a list of strings"),
    (dict(inputs=2, layers="4:swish,3"), mynn.ArgumentError, "swish"),
    (dict(inputs=2, layers="4:relu,dropout:0.5"), mynn.StateError, "last layer must be dense"),
    (dict(inputs=2, layers="3:relu", loss="hinge"), mynn.ArgumentError, "hinge"),
    (dict(inputs=2, layers="3:relu", loss="ce"), mynn.Error, "softmax"),
    (dict(inputs=2, layers="3", init="glorot"), ValueError, "glorot"),
    (dict(inputs=2, layers="3", normalize="minmax"), ValueError, "minmax"),
    (dict(inputs=2, layers="3", max_batch=0), ValueError, "max_batch"),
])
def test_construct_errors(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        mynn.Net(**kwargs)


def test_error_classes():
    assert issubclass(mynn.ArgumentError, ValueError) and issubclass(mynn.ArgumentError, mynn.Error)
    assert issubclass(mynn.FileError, OSError) and issubclass(mynn.OutOfMemoryError, MemoryError)
    assert issubclass(mynn.StateError, RuntimeError) and issubclass(mynn.NumericError, ValueError)
    for cls in (mynn.NullError, mynn.ShapeError, mynn.FormatError, mynn.StoppedError):
        assert issubclass(cls, mynn.Error)
    with pytest.raises(mynn.ArgumentError) as e:
        mynn.Net(inputs=2, layers="4:swish,3")
    assert e.value.status == "MYNN_ERR_ARG" and "swish" in e.value.message


# ---- inputs ------------------------------------------------------------------------
def test_inputs_no_copy_and_conversion():
    x = np.zeros((4, 3), dtype=np.float32)
    assert as_inputs(x, 3) is x                                 # passed as is
    xd = np.arange(12, dtype=np.float64).reshape(4, 3)
    c = as_inputs(xd, 3)
    assert c.dtype == np.float32 and c.flags.c_contiguous and np.array_equal(c, xd)
    f = np.asfortranarray(np.ones((4, 3), dtype=np.float32))
    assert as_inputs(f, 3) is not f and as_inputs(f, 3).flags.c_contiguous
    assert as_inputs([[1, 2, 3]], 3).shape == (1, 3)


@pytest.mark.parametrize("x, exc, text", [
    (np.zeros(3), ValueError, "must be 2-D"),
    (np.zeros((2, 4)), ValueError, "4 features per sample, the network takes 2"),
    (np.zeros((0, 2)), ValueError, "1 to"),
    (np.array([["a", "b"]]), TypeError, "cannot be read as float32"),
    (np.zeros((2, 2), dtype=complex), TypeError, "complex"),
    ([[1, 2], [3]], TypeError, "cannot be read as float32"),
])
def test_predict_bad_inputs(x, exc, text):
    with pytest.raises(exc, match=text):
        small().predict(x)


def test_predict_nan_names_the_sample():
    x = np.zeros((3, 2), dtype=np.float32)
    x[2, 1] = np.nan
    with pytest.raises(mynn.NumericError, match="sample 2.*feature 1"):
        small().predict(x)


def test_predict_values():
    net = small()
    x = np.random.default_rng(0).normal(size=(1000, 2)).astype(np.float32)
    p = net.predict(x)
    assert p.shape == (1000, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-6)
    w0, b0, w1, b1 = net.get_weights()
    h = np.maximum(x.astype(np.float64) @ w0.T + b0, 0)
    z = h @ w1.T + b1
    want = np.exp(z - z.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p, want, atol=1e-6)


# ---- weights -----------------------------------------------------------------------
def test_get_set_weights_and_state_dict():
    net = mynn.Net(inputs=3, layers="4:tanh,dropout:0.1,2")
    w = net.get_weights()
    assert [a.shape for a in w] == [(4, 3), (4,), (2, 4), (2,)]
    new = [np.full(a.shape, i + 0.5) for i, a in enumerate(w)]     # float64 accepted
    net.set_weights(new)
    got = net.get_weights()
    assert all(np.array_equal(g, n) and g.dtype == np.float32 for g, n in zip(got, new))
    got[0][:] = 9                                                  # copies, not views
    assert net.get_weights()[0][0, 0] == 0.5
    sd = net.state_dict()
    assert list(sd) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    x = np.ones((1, 3), dtype=np.float32)
    assert np.allclose(net.predict(x), 3.5 + 2.5 * 4 * np.tanh(0.5 * 3 + 1.5))


def test_set_weights_errors():
    net = mynn.Net(inputs=3, layers="4:tanh,2")
    w = net.get_weights()
    with pytest.raises(ValueError, match="3 arrays given, the network has 4"):
        net.set_weights(w[:3])
    with pytest.raises(ValueError, match=r"array 2 has shape \(4, 2\), want \(2, 4\)"):
        net.set_weights([w[0], w[1], w[2].T, w[3]])
    bad = [a.copy() for a in w]
    bad[1][0] = np.inf
    with pytest.raises(ValueError, match="array 1 holds NaN or infinity"):
        net.set_weights(bad)
    with pytest.raises(TypeError, match="array 0 cannot be read"):
        net.set_weights([[["x"]], w[1], w[2], w[3]])
    assert all(np.array_equal(a, b) for a, b in zip(w, net.get_weights()))   # unchanged


# ---- training -----------------------------------------------------------------------
def test_fit_history_and_evaluate(blobs):
    x, y = blobs
    net = small()
    h = net.fit(x, y, epochs=30, lr=0.02, batch_size=16)
    assert isinstance(h, mynn.History) and len(h) == 30 and net.history is h
    assert [r["epoch"] for r in h] == list(range(1, 31))
    assert h[-1]["loss"] < h[0]["loss"] and h[-1]["accuracy"] == 1.0
    assert h[0]["val_loss"] is None and h[0]["lr"] == pytest.approx(0.02)
    assert h.history["loss"] == [r["loss"] for r in h]
    m = net.evaluate(x, y)
    assert m["accuracy"] == 1.0 and m["n"] == 150
    assert m["confusion"].tolist() == [[50, 0, 0], [0, 50, 0], [0, 0, 50]]
    onehot = np.eye(3, dtype=np.float32)[y]
    m2 = net.evaluate(x, onehot)                                  # one-hot rows: the same
    assert m2["accuracy"] == 1.0 and m2["loss"] == pytest.approx(m["loss"])


def test_fit_deterministic(blobs):
    x, y = blobs
    a, b, c = small(seed=5), small(seed=5), small(seed=6)
    for n in (a, b, c):
        n.fit(x, y, epochs=3, threads=1)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_fit_regression():
    r = np.random.default_rng(1)
    x = r.uniform(-1, 1, size=(400, 3)).astype(np.float32)
    y = (x[:, 0] - 2 * x[:, 1] + 0.5 * x[:, 2]).astype(np.float32)
    net = mynn.Net(inputs=3, layers="1")
    h = net.fit(x, y, epochs=60, lr=0.05)
    assert h[0]["accuracy"] is None
    m = net.evaluate(x, y)
    assert m["accuracy"] is None and "confusion" not in m and m["mse"] < 1e-4
    np.testing.assert_allclose(net.get_weights()[0], [[1, -2, 0.5]], atol=0.01)
    two = mynn.Net(inputs=3, layers="8:tanh,2")
    two.fit(x, np.stack([y, -y], axis=1), epochs=2)


def test_fit_validation_patience_keeps_best(blobs):
    x, y = blobs
    xv, yv = make_blobs(60, seed=0)[0] + 1.5, make_blobs(60, seed=0)[1]
    snaps = []
    net = small()
    h = net.fit(x, y, epochs=200, lr=0.05, validation_data=(xv, yv), patience=3,
                callback=lambda r: snaps.append((r["val_loss"], net.get_weights())))
    assert len(h) < 200 and all(r["val_loss"] is not None for r in h)
    best = min(snaps, key=lambda s: s[0])
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), best[1]))


def test_fit_validation_split(blobs):
    x, y = blobs
    h = small().fit(x, y, epochs=2, validation_split=0.2)
    assert h[0]["val_loss"] is not None and h[0]["val_accuracy"] is not None
    x0 = x.copy()
    small().fit(x, y, epochs=1, validation_split=0.5)
    assert np.array_equal(x, x0)                                  # the caller's arrays untouched


def test_callback_stops_and_exceptions_propagate(blobs):
    x, y = blobs
    seen = []
    h = small().fit(x, y, epochs=50, callback=lambda r: (seen.append(r["epoch"]), r["epoch"] < 3)[1])
    assert seen == [1, 2, 3] and len(h) == 3

    def boom(r):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        small().fit(x, y, epochs=5, callback=boom)


@pytest.mark.parametrize("kwargs, exc, text", [
    (dict(epochs=0), ValueError, "epochs must be >= 1"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(optimizer="adamax"), mynn.ArgumentError, "adamax"),
    (dict(lr=-1), ValueError, "lr must be"),
    (dict(lr="fast"), TypeError, "lr must be a number"),
    (dict(schedule="linear"), ValueError, "linear"),
    (dict(nesterov=True), ValueError, "nesterov"),
    (dict(patience=2), ValueError, "patience needs validation data"),
    (dict(validation_split=1.5), ValueError, "below 1"),
    (dict(validation_data=(1, 2, 3)), TypeError, "pair"),
    (dict(callback=3), TypeError, "callable"),
    (dict(threads=0), ValueError, "threads"),
])
def test_fit_bad_options(blobs, kwargs, exc, text):
    x, y = blobs
    with pytest.raises(exc, match=text):
        small().fit(x, y, **kwargs)


@pytest.mark.parametrize("y, exc, text", [
    (np.zeros(10), ValueError, "y has 10 rows, x has 150"),
    (np.full(150, 3), ValueError, "sample 0 has class 3, but the network has 3 outputs"),
    (np.full(150, 0.5), ValueError, "whole numbers"),
    (np.zeros((150, 2)), ValueError, "2 target columns, the network has 3"),
    (np.zeros((150, 3, 1)), ValueError, "must be 1-D"),
    (np.array(["a"] * 150), TypeError, "cannot be read as numbers"),
])
def test_fit_bad_targets(blobs, y, exc, text):
    with pytest.raises(exc, match=text):
        small().fit(blobs[0], y)


def test_fit_nan_stops_with_numeric_error(blobs):
    x, y = blobs
    x = x.copy()
    x[7, 0] = np.nan
    with pytest.raises(mynn.NumericError, match="not finite|NaN"):
        small().fit(x, y, epochs=1)


def test_normalize_and_larger_batch(blobs):
    x, y = blobs
    x = x * 100 + 50
    net = small(normalize="standard", max_batch=8)
    net.fit(x, y, epochs=20, batch_size=32, lr=0.02)                # enlarges the buffers
    assert net.max_batch == 32 and net.normalize == "standard"
    shift, scale = net.input_transform
    np.testing.assert_allclose(shift, x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(scale, 1 / x.std(axis=0), rtol=1e-5)
    assert net.evaluate(x, y)["accuracy"] == 1.0
    before = net.input_transform
    net.fit(x + 1000, y, epochs=1)                                  # kept on later fits
    assert np.array_equal(before[0], net.input_transform[0])


def test_gil_released_during_fit():
    x, y = make_blobs(8000, d=20, seed=3)
    net = mynn.Net(inputs=20, layers="256:relu,256:relu,3:softmax")
    ticks, stop = [0], threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1
    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        start = ticks[0]
        t0 = time.perf_counter()
        net.fit(x, y, epochs=1, batch_size=2000, threads=1)         # few callbacks: long C calls
        elapsed = time.perf_counter() - t0
        during = ticks[0] - start
    finally:
        stop.set()
        t.join()
    assert elapsed > 0.05 and during > 10000, (elapsed, during)


def test_ctrl_c_stops_at_next_batch_keeping_best(blobs):
    x, y = blobs
    xv, yv = make_blobs(60, seed=0)[0] + 1.5, make_blobs(60, seed=0)[1]
    snaps = []
    net = small()
    before = signal.getsignal(signal.SIGINT)   # SIG_IGN where the runner ignores Ctrl-C (CI)

    def cb(r):
        snaps.append((r["val_loss"], net.get_weights()))
        if r["epoch"] == 4:
            os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="after 4 complete epochs"):
        net.fit(x, y, epochs=100, batch_size=8, validation_data=(xv, yv), patience=50, callback=cb)
    assert len(net.history) == 4
    best = min(snaps, key=lambda s: s[0])
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), best[1]))
    assert signal.getsignal(signal.SIGINT) is before   # handler restored


def test_fit_in_a_thread(blobs):
    x, y = blobs
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("h", small().fit(x, y, epochs=2)))
    t.start()
    t.join()
    assert len(out["h"]) == 2


# ---- files ------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path, blobs):
    x, y = blobs
    net = small(normalize="scale")
    net.fit(x, y, epochs=2)
    p = tmp_path / "m.safetensors"
    net.save(p)
    back = mynn.load(str(p))
    assert back.spec == net.spec and back.loss == "ce" and back.normalize == "scale"
    assert back.metadata("format") == "mynn" and back.metadata("nope") == ""
    assert np.array_equal(back.predict(x), net.predict(x))
    back.fit(x, y, epochs=1)                                        # a loaded net trains on


def test_file_errors(tmp_path):
    with pytest.raises(mynn.FileError, match="nope.safetensors"):
        mynn.load(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(mynn.FormatError):
        mynn.load(bad)
    with pytest.raises(mynn.FileError, match="missing"):
        small().save(tmp_path / "missing" / "m.safetensors")
    with pytest.raises(TypeError, match="path"):
        small().save(3)
    assert sorted(os.listdir(tmp_path)) == ["bad.safetensors"]      # nothing half-written


def test_pickle_and_copy(blobs):
    import copy
    x, y = blobs
    net = small()
    net.fit(x, y, epochs=2)
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert np.array_equal(clone.predict(x), net.predict(x))


def test_export_onnx(tmp_path):
    net = mynn.Net(inputs=4, layers="8:gelu,2:softmax")
    net.export_onnx(tmp_path / "m.onnx")
    data = (tmp_path / "m.onnx").read_bytes()
    assert data[:2] == b"\x08\x07" and b"Gemm" in data and b"Erf" in data
    try:
        import onnx
    except ImportError:
        return
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")), full_check=True)


def test_load_dataset(tmp_path):
    (tmp_path / "c.csv").write_text("a,b,label\n1,2,0\n3,4,2\n5,6,1\n")
    x, y = mynn.load_dataset(tmp_path / "c.csv")
    assert x.tolist() == [[1, 2], [3, 4], [5, 6]] and y.tolist() == [0, 2, 1] and y.dtype == np.int32
    x, y = mynn.load_dataset(tmp_path / "c.csv", targets=1)
    assert y.shape == (3, 1) and y.dtype == np.float32
    x, y = mynn.load_dataset(tmp_path / "c.csv", labels=False)
    assert x.shape == (3, 3) and y is None
    (tmp_path / "s.csv").write_text("1;2;0\n3;4;1\n")
    assert mynn.load_dataset(tmp_path / "s.csv", separator=None)[0].shape == (2, 2)
    (tmp_path / "bad.csv").write_text("1,2,0\n3,x,1\n")
    with pytest.raises(mynn.FormatError, match=r"bad.csv:2"):
        mynn.load_dataset(tmp_path / "bad.csv")
    (tmp_path / "names.csv").write_text("1,2,setosa\n3,4,virginica\n")
    with pytest.raises(mynn.FormatError, match=r"names.csv: its label column holds class names"):
        mynn.load_dataset(tmp_path / "names.csv")
    with pytest.raises(mynn.FileError):
        mynn.load_dataset(tmp_path / "none.csv")
    with pytest.raises(ValueError, match="which"):
        mynn.load_dataset(tmp_path / "c.csv", which="val")
    with pytest.raises(ValueError, match="separator"):
        mynn.load_dataset(tmp_path / "c.csv", separator=";;")


def test_threads():
    mynn.set_threads(1)
    assert mynn.get_threads() == 1
    mynn.set_threads(0)
    assert mynn.get_threads() >= 1


def test_ctrl_c_from_outside_during_training(blobs):
    x, y = blobs
    net = small()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            net.fit(x, y, epochs=100000, batch_size=4)
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 5 and 0 < len(net.history) < 100000
    assert np.all(np.isfinite(net.predict(x)))                     # the net is intact and usable


def test_fit_auto():
    """optimizer="auto": history.auto and the metadata; refuses an optimizer's own settings."""
    x, y = make_blobs(90, seed=2)
    net = mynn.Net(inputs=2, layers="8:tanh,3:softmax", seed=3, normalize="scale")
    h = net.fit(x, y, optimizer="auto", threads=1)
    a = h.auto
    assert a["optimizer"] == "lbfgs" and a["folds"] == 5 and a["n_val"] == 18 and a["n_fit"] == 72
    assert len(h) == a["epochs"] or len(h) < a["epochs"]
    assert net.metadata("auto").startswith("lbfgs, weight decay ") and "18 of 90 training rows" in net.metadata("auto_search")
    assert mynn.Net(inputs=2, layers="8:tanh,3:softmax").fit(x, y, epochs=2).auto is None
    for bad in (dict(lr=0.1), dict(momentum=0.9), dict(schedule="cosine"), dict(warmup=1)):
        with pytest.raises(ValueError, match="optimizer 'auto' chooses"):
            net.fit(x, y, optimizer="auto", **bad)
