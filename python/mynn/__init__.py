"""mynn from Python: a thin ctypes layer over libmynn, numpy in and out.

    import mynn
    x, y = mynn.load_dataset("/usr/share/datasets/fashion-mnist")
    net = mynn.Net(inputs=784, layers="256:relu,128:relu,10:softmax", loss="ce", normalize="scale")
    history = net.fit(x, y, epochs=5, batch_size=64, lr=0.001)
    net.save("fm.safetensors")

Graphs (residual blocks, concatenations) come from a description string
(Net(layers="conv:16:3:pad=same,res(conv:16:3:pad=same,batchnorm):relu,gap,10:softmax"))
or Keras-style from mynn.Input, mynn.layers, mynn.add/concat and mynn.Model.

See docs/python.md.  mynn.sklearn holds scikit-learn estimators;
mynn.from_torch / Net.to_torch bridge to PyTorch (imported when called).
"""
from ._lib import lib as _clib
from .data import load_dataset
from .errors import (ArgumentError, Error, FileError, FormatError, NullError, NumericError,
                     OutOfMemoryError, ShapeError, StateError, StoppedError)
from .net import History, Net, load
from .text import Text
from . import layers
from .layers import Input, Model, add, concat

__version__ = "0.1.0"
library_path = _clib.path


def set_threads(n):
    """Threads the library's kernels use, for the whole process (0: all cores)."""
    _clib.mynn_set_threads(int(n))


def get_threads():
    return _clib.mynn_get_threads()


def from_torch(model, loss=None, input_shape=None):
    """A mynn.Net with the layers and weights (and batch-norm statistics) of
    a PyTorch model:
     - a torch.nn.Sequential of Linear, Conv1d/Conv2d (one stride and
       padding for every direction; padding "same"), BatchNorm1d/2d (eps
       1e-5, momentum 0.1), MaxPool/AvgPool 1d/2d (padding at most half the
       window, floor rounding, count_include_pad), AdaptiveAvgPool(1),
       Flatten, Dropout and activations (Identity, Sigmoid, Tanh, ReLU,
       LeakyReLU(0.01), GELU exact, Softmax(dim=1)); an activation right
       after a Linear or Conv is fused into it;
     - the module Net.to_torch returns for a graph (its structure and names);
     - any other nn.Module that torch.fx.symbolic_trace can trace into those
       modules and the functions add (+, +=, torch.add), torch.cat(dim=1),
       relu/sigmoid/tanh/gelu/leaky_relu/softmax, flatten (torch.flatten(x, 1),
       x.view(x.size(0), -1)), adaptive/max/avg pooling and mean over the
       plane: residual networks (torchvision's BasicBlock), branches joined
       by torch.cat.  A module with weights may be called once;
     - in such a module, nn.LSTM, nn.GRU, nn.RNN (batch_first=True, with
       biases, any num_layers without dropout between them, bidirectional)
       and nn.Embedding (reading the input's token ids): a recurrent
       module's output y read whole (every step: :seq, a Linear after it
       applies per step), or its last step, h_n[-1] (torch.cat([h_n[-2],
       h_n[-1]], 1) when bidirectional) or y[:, -1] (one direction only);
       a conv1d output goes in as x.transpose(1, 2).
    input_shape: (C, H, W) or (C, L), needed when the first layer is a
    convolution; (T, F) for a recurrent first layer, (T,) (ids) for an
    embedding.  Anything else is a mynn.ArgumentError naming the module
    or graph node."""
    from .torch_bridge import from_torch as _from_torch
    return _from_torch(model, loss, input_shape)


__all__ = ["Net", "load", "load_dataset", "History", "from_torch", "set_threads", "get_threads",
           "Input", "Model", "add", "concat", "layers",
           "Error", "NullError", "ArgumentError", "ShapeError", "StateError", "OutOfMemoryError",
           "NumericError", "FileError", "FormatError", "StoppedError", "library_path"]
