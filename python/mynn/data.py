"""numpy arrays in and out of the library, and mynn.load_dataset."""
import ctypes
import os

import numpy as np

from . import _lib, errors
from ._lib import call, lib

_MAX_ROWS = 2**31 - 1


def as_inputs(x, width, name="x"):
    """x as a C-contiguous float32 [n, width] array: the array itself when
    it already is one (no copy), else converted once."""
    if not (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.flags.c_contiguous):
        try:
            a = np.asarray(x)
            if a.dtype.kind == "c":
                raise TypeError("%s: complex numbers cannot be network inputs" % name)
            x = np.ascontiguousarray(a, dtype=np.float32)
        except (TypeError, ValueError) as e:
            if "complex" in str(e):
                raise
            raise TypeError("%s cannot be read as float32 numbers: %s" % (name, e)) from None
    if x.ndim > 2 and int(np.prod(x.shape[1:])) == width:
        x = x.reshape(x.shape[0], width)          # [n, C, H, W] samples: a view
    if x.ndim != 2:
        raise ValueError("%s must be 2-D (samples, %d features) or [n, sample shape], got shape %s"
                         % (name, width, x.shape))
    if x.shape[1] != width:
        raise ValueError("%s has %d features per sample, the network takes %d" % (name, x.shape[1], width))
    if x.shape[0] < 1 or x.shape[0] > _MAX_ROWS:
        raise ValueError("%s must hold 1 to %d samples, got %d" % (name, _MAX_ROWS, x.shape[0]))
    return x


def targets_for(y, n, k, out_act):
    """(y float32 [n, k], labels int32 [n] or None, n_classes) for a net of
    k outputs.  Class indices (integers, [n]) with k >= 2 become one-hot
    rows; [n, k] targets of a softmax net are classified by their arg-max;
    anything else is regression."""
    try:
        y = np.asarray(y)
        if y.dtype.kind == "c":
            raise TypeError("y: complex numbers cannot be targets")
        if y.dtype.kind not in "biuf":
            y = y.astype(np.float64)
    except (TypeError, ValueError) as e:
        if "complex" in str(e):
            raise
        raise TypeError("y cannot be read as numbers: %s" % e) from None
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError("y must be 1-D (class indices or one target) or 2-D (samples, %d), got shape %s"
                         % (k, y.shape))
    if y.shape[0] != n:
        raise ValueError("y has %d rows, x has %d samples" % (y.shape[0], n))
    if y.ndim == 1 and k >= 2:
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                raise ValueError("y: class indices must be whole numbers (the network has %d outputs)" % k)
        labels = y.astype(np.int64)
        bad = np.flatnonzero((labels < 0) | (labels >= k))
        if bad.size:
            raise ValueError("y: sample %d has class %d, but the network has %d outputs (classes 0..%d)"
                             % (bad[0], labels[bad[0]], k, k - 1))
        labels = np.ascontiguousarray(labels, dtype=np.int32)
        yf = np.zeros((n, k), dtype=np.float32)
        yf[np.arange(n), labels] = 1.0
        return yf, labels, k
    yf = np.ascontiguousarray(y.reshape(n, -1), dtype=np.float32)
    if yf.shape[1] != k:
        raise ValueError("y has %d target columns, the network has %d outputs" % (yf.shape[1], k))
    if k >= 2 and out_act == "softmax":
        return yf, np.ascontiguousarray(np.argmax(yf, axis=1), dtype=np.int32), k
    return yf, None, 0


def dataset_struct(x, yf, labels, n_classes):
    """A mynn_dataset over the arrays (not copied); keep the second value
    alive while the library uses the first."""
    ds = _lib.Dataset()
    ds.n, ds.n_inputs = x.shape
    ds.n_outputs = yf.shape[1]
    ds.n_classes = n_classes
    ds.x = x.ctypes.data_as(_lib.c_float_p)
    ds.y = yf.ctypes.data_as(_lib.c_float_p)
    ds.labels = labels.ctypes.data_as(_lib.c_int_p) if labels is not None else None
    ds.owned = 0
    return ds, (x, yf, labels)


def load_dataset(path, which="train", label_column=-1, targets=0, header=None, separator=",",
                 n_classes=0, skip_nonfinite=False, labels=True):
    """Read a data file as the mynn tool does (CSV, FANN training data, IDX
    images with their labels, or a folder of MNIST-style IDX files; the
    format is recognised from the content).  Returns (x, y): x float32
    [n, features]; y int32 class indices [n] for classification, float32
    [n, targets] for regression (targets=N target columns from
    label_column), None with labels=False (every column an input).
    which: "train" or "test" for a folder.  header: None detects, True,
    False.  separator: a character, or None to detect."""
    if which not in ("train", "test"):
        raise ValueError("which must be 'train' or 'test', got %r" % (which,))
    o = _lib.LoadOptions()
    lib.mynn_load_options_default(ctypes.byref(o))
    o.label_column = int(label_column)
    o.n_targets = int(targets)
    o.header = -1 if header is None else (1 if header else 0)
    if separator is not None and (not isinstance(separator, str) or len(separator) != 1):
        raise ValueError("separator must be one character or None, got %r" % (separator,))
    o.separator = separator.encode() if separator else b"\0"
    o.n_classes = int(n_classes)
    o.skip_nonfinite = 1 if skip_nonfinite else 0
    o.no_labels = 0 if labels else 1
    # Strings in input columns stay an error here: (x, y) cannot carry the
    # feature encoding (one-hot categories, class names) the tool saves.
    o.categorical = b"none"
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError("path must be a str or os.PathLike, got %r" % (path,))
    p = ctypes.POINTER(_lib.Dataset)()
    call(lib.mynn_dataset_load, ctypes.byref(p), os.fsencode(path), ctypes.byref(o),
         1 if which == "test" else 0)
    try:
        d = p.contents
        if d.encoding:
            raise errors.FormatError(
                "%s: its label column holds class names; the Python package reads class indices "
                "only (train on it with the mynn tool, which saves the names with the model)"
                % os.fsdecode(path))
        x = np.ctypeslib.as_array(d.x, (d.n, d.n_inputs)).copy()
        if not labels or d.n_outputs == 0:
            y = None
        elif d.n_classes > 0 and d.labels:
            y = np.ctypeslib.as_array(d.labels, (d.n,)).copy()
        else:
            y = np.ctypeslib.as_array(d.y, (d.n, d.n_outputs)).copy()
    finally:
        lib.mynn_dataset_free(p)
    return x, y
