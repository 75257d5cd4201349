"""Python and the mynn tool give byte-identical saved models for the same
data, seed and options."""
import subprocess

import numpy as np
import pytest

import mynn
from conftest import make_blobs, write_csv

CASES = [
    # (tool options, Net keyword arguments, fit keyword arguments)
    # The tool's default optimizer is auto (L-BFGS on small sets); Python's is
    # Adam, as Keras users expect: the tool is told so explicitly.
    (["--layers", "16:relu,3:softmax", "--epochs", "5", "--seed", "3", "--optimizer", "adam"],
     dict(layers="16:relu,3:softmax", seed=3, normalize="scale"), dict(epochs=5)),
    (["--layers", "12:tanh,dropout:0.2,8:gelu,3:softmax", "--epochs", "4", "--batch", "10", "--seed", "7",
      "--normalize", "standard", "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--nesterov",
      "--schedule", "cosine"],
     dict(layers="12:tanh,dropout:0.2,8:gelu,3:softmax", seed=7, normalize="standard"),
     dict(epochs=4, batch_size=10, optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True, schedule="cosine")),
    (["--layers", "8:leaky_relu,3:softmax", "--epochs", "30", "--seed", "2", "--normalize", "none",
      "--val", "0.25", "--patience", "2", "--optimizer", "adamw", "--weight-decay", "0.01", "--no-shuffle",
      "--init", "xavier", "--clip-norm", "1", "--warmup", "2"],
     dict(layers="8:leaky_relu,3:softmax", seed=2, init="xavier"),
     dict(epochs=30, validation_split=0.25, patience=2, optimizer="adamw", weight_decay=0.01, shuffle=False,
          clip_norm=1, warmup=2)),
    (["--layers", "6:sigmoid,3:softmax", "--epochs", "3", "--optimizer", "irprop", "--seed", "4"],
     dict(layers="6:sigmoid,3:softmax", seed=4, normalize="scale"), dict(epochs=3, optimizer="irprop")),
    # The tool's default, auto: the same search, choice, refit and metadata.
    (["--layers", "8:tanh,3:softmax", "--seed", "5"],
     dict(layers="8:tanh,3:softmax", seed=5, normalize="scale"), dict(optimizer="auto")),
    (["--layers", "8:tanh,3:softmax", "--seed", "6", "--weight-decay", "0.001", "--epochs", "20"],
     dict(layers="8:tanh,3:softmax", seed=6, normalize="scale"), dict(optimizer="auto", weight_decay=0.001, epochs=20)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_model_bytes(tool, tmp_path, case):
    cli_opts, net_kw, fit_kw = CASES[case]
    x, y = make_blobs(120, seed=case)
    csv = tmp_path / "d.csv"
    write_csv(csv, x, y)
    subprocess.run([tool, "train", str(csv), *cli_opts, "--threads", "1", "--quiet", "--save",
                    str(tmp_path / "cli.safetensors")], check=True, capture_output=True)
    xl, yl = mynn.load_dataset(csv)
    assert np.array_equal(xl, x) and np.array_equal(yl, y)
    net = mynn.Net(inputs=2, **net_kw)
    net.fit(xl, yl, threads=1, **fit_kw)
    net.save(tmp_path / "py.safetensors")
    cli = (tmp_path / "cli.safetensors").read_bytes()
    assert (tmp_path / "py.safetensors").read_bytes() == cli


def test_cnn_parity(tool, tmp_path):
    r = np.random.default_rng(8)
    x = r.uniform(0, 1, size=(80, 64)).astype(np.float32)
    y = (x[:, :32].sum(axis=1) > x[:, 32:].sum(axis=1)).astype(np.int64)
    csv = tmp_path / "img.csv"
    write_csv(csv, x, y)
    spec = "conv:4:3:relu:pad=1,batchnorm,maxpool:2,conv:4:3:tanh,flatten,dropout:0.1,2:softmax"
    subprocess.run([tool, "train", str(csv), "--shape", "1x8x8", "--layers", spec, "--epochs", "3", "--optimizer", "adam", "--batch",
                    "16", "--optimizer", "adam", "--threads", "1", "--quiet", "--save", str(tmp_path / "cli.st")],
                   check=True, capture_output=True)
    xl, yl = mynn.load_dataset(csv)
    net = mynn.Net(inputs=(1, 8, 8), layers=spec, normalize="scale")
    net.fit(xl, yl, epochs=3, batch_size=16, threads=1)
    net.save(tmp_path / "py.st")
    assert (tmp_path / "py.st").read_bytes() == (tmp_path / "cli.st").read_bytes()
    back = mynn.load(tmp_path / "cli.st")
    assert back.input_shape == (1, 8, 8) and back.layers == net.layers


def test_regression_parity(tool, tmp_path):
    r = np.random.default_rng(5)
    x = r.uniform(-1, 1, size=(90, 3)).astype(np.float32)
    t = np.stack([x[:, 0] * x[:, 1], x[:, 2] - x[:, 0]], axis=1).astype(np.float32)
    csv = tmp_path / "r.csv"
    write_csv(csv, x, t)
    subprocess.run([tool, "train", str(csv), "--layers", "10:tanh,2", "--label", "3", "--targets", "2",
                    "--epochs", "5", "--optimizer", "adam", "--threads", "1", "--quiet", "--save",
                    str(tmp_path / "cli.st")],
                   check=True, capture_output=True)
    xl, tl = mynn.load_dataset(csv, label_column=3, targets=2)
    net = mynn.Net(inputs=3, layers="10:tanh,2", normalize="scale")
    net.fit(xl, tl, epochs=5, threads=1)
    net.save(tmp_path / "py.st")
    assert (tmp_path / "py.st").read_bytes() == (tmp_path / "cli.st").read_bytes()
