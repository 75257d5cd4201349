"""Shared fixtures: the package from this source tree (python/), the built
tool (build/mynn or $MYNN_TOOL) and small deterministic data sets."""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="session")
def tool():
    path = os.environ.get("MYNN_TOOL") or os.path.join(ROOT, "build", "mynn")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        pytest.skip("the mynn tool %s is not built" % path)
    return path


def make_blobs(n=150, k=3, d=2, seed=0):
    """k Gaussian blobs in d dimensions, labels 0..k-1 (float32, int64)."""
    r = np.random.default_rng(seed)
    angle = 2 * np.pi * np.arange(k) / k
    centres = np.zeros((k, d))
    centres[:, 0], centres[:, 1 % d] = 5 * np.cos(angle), 5 * np.sin(angle)
    y = np.arange(n) % k
    x = centres[y] + r.normal(0, 0.7, size=(n, d))
    return x.astype(np.float32), y


@pytest.fixture
def blobs():
    return make_blobs()


def write_csv(path, x, y):
    """Rows "x0,...,label" written with 9 significant digits (float32 round trip)."""
    with open(path, "w") as f:
        for row, lab in zip(x, y):
            vals = ",".join("%.9g" % v for v in row)
            f.write("%s,%s\n" % (vals, ",".join("%.9g" % v for v in np.atleast_1d(lab))))


@pytest.fixture(scope="session")
def fashion():
    if not os.path.isdir(FASHION):
        pytest.skip("%s absent (apt-get install dataset-fashion-mnist)" % FASHION)
    import mynn
    try:
        train = mynn.load_dataset(FASHION, which="train")
        test = mynn.load_dataset(FASHION, which="test")
    except mynn.Error as e:
        pytest.skip("cannot read %s: %s" % (FASHION, e))
    return train, test
