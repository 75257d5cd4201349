"""Networks as graphs from Python: the description strings, the functional
API (mynn.Input, mynn.layers, mynn.add/concat, mynn.Model), augmentation,
and the PyTorch bridge for graphs, with PyTorch parity of residual blocks
(forward in eval and training mode, gradients, one Adam step)."""
import re
import subprocess

import numpy as np
import pytest

import mynn
from mynn import layers as L

RES = ("conv:8:3:pad=same:as=stem,batchnorm,relu,"
       "res(conv:8:3:pad=same,batchnorm,relu,conv:8:3:pad=same,batchnorm):relu,"
       "res(conv:16:3:stride=2:pad=1,batchnorm,relu,conv:16:3:pad=same,batchnorm | conv:16:1:stride=2,batchnorm):relu,"
       "cat(conv:4:1 | maxpool:3:stride=1:pad=1 | avgpool:3:stride=1:pad=1),gap,10:softmax")


def functional_res():
    """RES built with the functional API."""
    x = mynn.Input((3, 8, 8))
    h = L.Conv2d(8, 3, padding="same", name="stem")(x)
    h = L.ReLU()(L.BatchNorm()(h))
    r = L.Activation("relu")(L.BatchNorm()(L.Conv2d(8, 3, padding="same")(h)))
    r = L.BatchNorm()(L.Conv2d(8, 3, padding="same")(r))
    h = mynn.add([r, h], activation="relu")
    r = L.ReLU()(L.BatchNorm()(L.Conv2d(16, 3, stride=2, padding=1)(h)))
    r = L.BatchNorm()(L.Conv2d(16, 3, padding="same")(r))
    s = L.BatchNorm()(L.Layer("conv:16:1:stride=2")(h))
    h = mynn.add([r, s], activation="relu")
    h = mynn.concat([L.Conv2d(4, 1)(h), L.MaxPool(3, stride=1, padding=1)(h), L.AvgPool(3, stride=1, padding=1)(h)])
    y = L.Dense(10, activation="softmax")(L.GlobalAvgPool()(h))
    return x, y


def images(n=64, shape=(3, 8, 8), seed=0, classes=10):
    r = np.random.default_rng(seed)
    x = (r.normal(size=(n,) + shape) * 2 + 1).astype(np.float32)
    return x, r.integers(0, classes, n)


# ---- descriptions, the functional API, introspection -------------------------------------------
def test_functional_api_builds_the_description(tmp_path):
    x, y = functional_res()
    net = mynn.Model(inputs=x, outputs=y, seed=3)
    ref = mynn.Net(inputs=(3, 8, 8), layers=RES, seed=3)
    assert net.layers == ref.layers and len(net.layers) == 23
    assert all(np.array_equal(a, b) for a, b in zip(net.get_weights(), ref.get_weights()))
    assert "add:relu:from=7+2" in net.spec and "concat:from=17+18+19" in net.spec
    net.save(tmp_path / "f.st")
    ref.save(tmp_path / "d.st")
    assert (tmp_path / "f.st").read_bytes() == (tmp_path / "d.st").read_bytes()
    xs, _ = images(16)
    assert np.array_equal(net.predict(xs), ref.predict(xs))
    # a list input, unused layers left out, the output list of one
    a = mynn.Input(6)
    h = L.Dense(8, activation="tanh")(a)
    L.Dense(3)(h)                                            # a branch the output does not read
    out = L.Dense(2, activation="softmax", name="head")(L.Dropout(0.25)(h))
    small = mynn.Model([a], [out], seed=1)
    assert small.spec == "8:tanh,dropout:0.25,2:softmax:as=head" and small.loss == "ce"
    assert small.layers[-1]["name"] == "head"


def test_layers_name_inputs_from_and_summary(tmp_path):
    net = mynn.Net(inputs=(3, 8, 8), layers=RES)
    ls = net.layers
    assert ls[0]["name"] == "stem" and ls[0]["inputs_from"] == [-1] and ls[1]["inputs_from"] == [0]
    assert ls[8] == {"kind": "add", "inputs": 512, "outputs": 512, "output_shape": (8, 8, 8), "params": 0,
                     "activation": "relu", "name": None, "inputs_from": [7, 2]}
    assert ls[14]["inputs_from"] == [8] and ls[16]["inputs_from"] == [13, 15]
    assert ls[20]["kind"] == "concat" and ls[20]["inputs_from"] == [17, 18, 19] and ls[20]["output_shape"] == (36, 4, 4)
    assert "activation" not in ls[20] and net.is_graph and not mynn.Net(inputs=3, layers="4,2").is_graph
    text = net.summary(print_fn=None)
    assert "Connected to" in text.splitlines()[1]
    rows = [line.split() for line in text.splitlines() if re.match(r" \d+ ", line)]
    assert rows[0][:2] == ["0", "conv"] and rows[0][2] == "stem" and rows[0][-1] == "input"
    assert rows[1][-1] == "stem" and " ".join(rows[8][-2:]) == "7, 2"
    net.save(tmp_path / "m.st")
    back = mynn.load(tmp_path / "m.st")
    assert back.layers == ls and back.summary(print_fn=None).splitlines()[3:26] == text.splitlines()[3:26]


def test_summary_connected_to_matches_mynn_info(tool, tmp_path):
    net = mynn.Net(inputs=(3, 8, 8), layers=RES)
    text = net.summary(print_fn=None)
    net.save(tmp_path / "m.st")
    info = subprocess.run([tool, "info", str(tmp_path / "m.st")], capture_output=True, text=True, check=True).stdout
    head = next(line for line in info.splitlines() if "Connected to" in line)
    col = head.index("Connected to")
    theirs = [line[col:].strip() for line in info.splitlines() if re.match(r" \d+ ", line)]
    ours = [line[text.splitlines()[1].index("Connected to"):].strip() for line in text.splitlines()
            if re.match(r" \d+ ", line)]
    assert theirs == ours and len(ours) == 23 and ours[8] == "7, 2" and ours[1] == "stem"


def test_functional_errors():
    x = mynn.Input((1, 6, 6))
    conv = L.Conv2d(2, 3)
    h = conv(x)
    with pytest.raises(mynn.ArgumentError, match="already in a graph.*shares no weights"):
        conv(h)
    other = mynn.Input((1, 6, 6))
    with pytest.raises(mynn.ArgumentError, match="different mynn.Input"):
        mynn.add([h, L.Conv2d(2, 3)(other)])
    y = L.Dense(2)(L.Flatten()(h))
    with pytest.raises(mynn.ArgumentError, match="another mynn.Input"):
        mynn.Model(other, y)
    with pytest.raises(mynn.ArgumentError, match="no layers"):
        mynn.Model(x, x)
    with pytest.raises(mynn.ArgumentError, match="must be the tensor mynn.Input returned"):
        mynn.Model(h, y)
    with pytest.raises(mynn.ArgumentError, match="one output"):
        mynn.Model(x, [y, y])
    with pytest.raises(mynn.ArgumentError, match="symbolic tensor"):
        mynn.Model(x, "y")
    with pytest.raises(mynn.ArgumentError, match="called on ndarray"):
        L.Dense(2)(np.zeros((1, 4)))
    with pytest.raises(mynn.ArgumentError, match="takes one input, got 2"):
        L.Dense(2)([h, h])
    with pytest.raises(mynn.ArgumentError, match="2 to 8 inputs, got 1"):
        mynn.add([h])
    with pytest.raises(mynn.ArgumentError, match="a list of two or more"):
        mynn.concat(h)
    with pytest.raises(mynn.ArgumentError, match="one item, without ','"):
        L.Layer("conv:2:3,relu")
    with pytest.raises(mynn.ArgumentError, match="from= is set by the graph"):
        L.Layer("add:from=0+1")
    with pytest.raises(mynn.ArgumentError, match="name='input'"):
        L.Dense(2, name="input")
    with pytest.raises(mynn.ArgumentError, match="activation 'swish'"):
        L.Dense(2, activation="swish")
    with pytest.raises(mynn.ArgumentError, match="one value for every direction"):
        L.Conv2d(2, 3, stride=(1, 2))
    with pytest.raises(mynn.ArgumentError, match="Dropout rate"):
        L.Dropout(1.0)
    # the library's own checks, with the description the graph gave
    a = L.Conv2d(2, 3)(x)
    b = L.Conv2d(3, 3)(x)
    with pytest.raises(mynn.ShapeError, match=r"add needs inputs of one shape.*graph's layer description: "
                                              r"conv:2:3:stride=1:pad=0,conv:3:3:stride=1:pad=0:from=input"):
        mynn.Model(x, L.Dense(2)(mynn.add([a, b])))
    with pytest.raises(mynn.StateError, match="last layer must be dense"):
        mynn.Model(x, L.ReLU()(L.Dense(2)(x)))
    s = L.Conv2d(2, 3, name="same")(x)
    with pytest.raises(mynn.ArgumentError, match="has that name already"):
        mynn.Model(x, L.Dense(2)(L.Conv2d(2, 1, name="same")(s)))


# ---- augmentation -------------------------------------------------------------------------------
def test_fit_with_augment_is_deterministic():
    x, y = images(96, (1, 8, 8), seed=4, classes=3)
    spec = "conv:4:3:pad=same,batchnorm,relu,res(conv:4:3:pad=same,batchnorm):relu,gap,3:softmax"

    def trained(augment, seed=5):
        net = mynn.Net(inputs=(1, 8, 8), layers=spec, seed=2)
        h = net.fit(x, y, epochs=2, batch_size=16, seed=seed, threads=1, augment=augment)
        assert len(h) == 2 and np.isfinite(h[-1]["loss"])
        return net.get_weights()

    a = trained("crop=2,flip")
    assert all(np.array_equal(u, v) for u, v in zip(a, trained({"crop": 2, "flip": True})))
    assert not all(np.array_equal(u, v) for u, v in zip(a, trained(None)))
    assert not all(np.array_equal(u, v) for u, v in zip(a, trained("crop=2,flip", seed=6)))
    assert not all(np.array_equal(u, v) for u, v in zip(a, trained("flip")))
    assert all(np.array_equal(u, v) for u, v in zip(trained(None), trained({"crop": 0})))


def test_graph_and_augment_match_the_tool(tool, tmp_path):
    """A functional-API graph trained with augment= saves the bytes `mynn train
    --layers DESCRIPTION --augment` does."""
    from conftest import write_csv
    x, y = images(60, (1, 8, 8), seed=7, classes=3)
    x = np.abs(x).reshape(60, 64)
    write_csv(tmp_path / "d.csv", x, y)
    spec = ("conv:4:3:pad=same:as=c,batchnorm,relu,cat(conv:2:1 | maxpool:3:stride=1:pad=1),"
            "res(conv:6:3:pad=same,batchnorm):relu,gap,3:softmax")
    subprocess.run([tool, "train", str(tmp_path / "d.csv"), "--shape", "1x8x8", "--layers", spec, "--epochs", "2",
                    "--batch", "12", "--optimizer", "adam", "--seed", "4", "--augment", "crop=2,flip", "--threads", "1",
                    "--quiet", "--save", str(tmp_path / "cli.st")], check=True, capture_output=True)
    i = mynn.Input((1, 8, 8))
    h = L.ReLU()(L.BatchNorm()(L.Conv2d(4, 3, padding="same", name="c")(i)))
    h = mynn.concat([L.Conv2d(2, 1)(h), L.MaxPool(3, stride=1, padding=1)(h)])
    h = mynn.add([L.BatchNorm()(L.Conv2d(6, 3, padding="same")(h)), h], activation="relu")
    net = mynn.Model(i, L.Dense(3, "softmax")(L.GlobalAvgPool()(h)), seed=4, normalize="scale")
    xl, yl = mynn.load_dataset(tmp_path / "d.csv")
    net.fit(xl, yl, epochs=2, batch_size=12, threads=1, augment={"crop": 2, "flip": True})
    net.save(tmp_path / "py.st")
    assert (tmp_path / "py.st").read_bytes() == (tmp_path / "cli.st").read_bytes()


@pytest.mark.parametrize("augment, exc, text", [
    ("crop=2,spin", ValueError, "unknown 'spin'"),
    ({"crop": 2, "scale": 1}, ValueError, "unknown key"),
    ({"crop": -1}, ValueError, "crop must be >= 0"),
    ({"crop": "x"}, ValueError, "crop must be an integer"),
    (3, TypeError, "augment must be a string"),
    ("crop=8", mynn.ArgumentError, "not smaller than the 8×8 image"),
])
def test_augment_errors(augment, exc, text):
    x, y = images(16, (1, 8, 8), classes=2)
    net = mynn.Net(inputs=(1, 8, 8), layers="conv:2:3,gap,2:softmax")
    with pytest.raises(exc, match=text):
        net.fit(x, y, epochs=1, augment=augment)


def test_augment_needs_images():
    r = np.random.default_rng(0)
    net = mynn.Net(inputs=4, layers="4:relu,2:softmax")
    with pytest.raises(mynn.ArgumentError, match="need images"):
        net.fit(r.normal(size=(8, 4)), r.integers(0, 2, 8), epochs=1, augment="flip")


# ---- PyTorch ----------------------------------------------------------------------------------------
torch = pytest.importorskip("torch", reason="PyTorch absent (apt-get install python3-torch)")
nn = torch.nn
F = torch.nn.functional


def torch_out(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def random_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(generator=g)
                m.running_mean.normal_(generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)


class BasicBlock(nn.Module):
    """torchvision's BasicBlock."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class SmallResNet(nn.Module):
    """torchvision's ResNet, two stages of two blocks, for 3 × 16 × 16."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
        down = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2, down), BasicBlock(16, 16))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def test_to_torch_from_torch_round_trip_residual_cnn():
    net = mynn.Net(inputs=(3, 8, 8), layers=RES, normalize="standard")
    x, y = images(64)
    net.fit(x, y, epochs=2, batch_size=16)
    want = net.predict(x)
    model = net.to_torch()
    assert type(model).__name__ == "GraphNet" and model.names[0] == "stem" and model.inputs[16] == [13, 15]
    assert type(model.input_transform).__name__ == "InputTransform"
    assert np.abs(torch_out(model, x) - want).max() <= 1e-5
    back = mynn.from_torch(model)
    assert back.layers == net.layers and back.normalize == "custom"
    assert np.abs(back.predict(x) - want).max() <= 1e-5
    # inside a model of one's own (traced by torch.fx through the GraphNet: no names,
    # the gap node's AdaptiveAvgPool2d and Flatten become two layers)
    wrapped = nn.Sequential(nn.Identity(), model)
    again = mynn.from_torch(wrapped, input_shape=(3, 8, 8))
    kinds = [d["kind"] for d in net.layers]
    assert [d["kind"] for d in again.layers] == kinds[:-1] + ["flatten", "dense"]
    assert again.layers[0]["name"] is None and again.normalize == "custom"
    assert np.abs(again.predict(x) - want).max() <= 1e-5
    # plain sequences stay an nn.Sequential
    assert isinstance(mynn.Net(inputs=4, layers="8:relu,2").to_torch(), nn.Sequential)


def test_to_torch_graph_of_vectors_and_mixed_ranks():
    # conv and dense outputs of one size as [N, 5, 1, 1] and [N, 5] meet in add and concat;
    # a conv reads a flat [N, 5]
    net = mynn.Net(inputs=(2, 6, 6), layers="conv:4:3:relu:as=c,gap,8:relu,cat(4:tanh | dropout:0.5),"
                                            "res(12:relu):sigmoid,gelu,conv:5:4:from=c,5:from=8:as=v,"
                                            "add:relu:from=9+v,conv:3:1:from=11,concat:from=11+8+12,flatten,"
                                            "batchnorm,3")
    assert [d["output_shape"] for d in net.layers][9:14] == [(5, 1, 1), (5, 1, 1), (5, 1, 1), (3, 1, 1),
                                                             (20, 1, 1)]
    x, _ = images(20, (2, 6, 6))
    model = net.to_torch()
    assert np.abs(torch_out(model, x) - net.predict(x)).max() <= 1e-5
    back = mynn.from_torch(model)
    assert back.layers == net.layers and np.abs(back.predict(x) - net.predict(x)).max() <= 1e-5


def test_from_torch_resnet_basic_blocks():
    torch.manual_seed(0)
    model = SmallResNet()
    random_bn(model, 1)
    net = mynn.from_torch(model, input_shape=(3, 16, 16))
    kinds = [d["kind"] for d in net.layers]
    assert kinds.count("add") == 4 and kinds.count("batchnorm") == 10 and net.loss == "mse"
    assert net.spec.startswith("conv:8:3:stride=1:pad=1,batchnorm,relu,maxpool:3:stride=2:pad=1,")
    assert "add:relu:from=8+3" in net.spec and "conv:16:1:stride=2:pad=0:from=15" in net.spec
    x, _ = images(32, (3, 16, 16))
    assert np.abs(net.predict(x) - torch_out(model, x)).max() <= 1e-5
    back = net.to_torch()
    assert np.abs(torch_out(back, x) - torch_out(model, x)).max() <= 1e-5


class Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 4, 3, padding="same")
        self.bn = nn.BatchNorm2d(11)
        self.fc = nn.Linear(11 * 4 * 4, 5)

    def forward(self, x):
        y = torch.cat([F.relu(self.a(x)), torch.tanh(self.b(x)), F.max_pool2d(x, 3, 1, 1)], dim=1)
        y = F.avg_pool2d(self.bn(y), 2)
        return F.softmax(self.fc(y.view(y.size(0), -1)), dim=1)


def test_from_torch_concat_branches():
    torch.manual_seed(1)
    model = Inception()
    random_bn(model, 2)
    net = mynn.from_torch(model, input_shape=(3, 8, 8))
    assert net.spec == ("conv:4:1:relu:stride=1:pad=0,conv:4:3:tanh:stride=1:pad=same:from=input,"
                        "maxpool:3:stride=1:pad=1:from=input,concat:from=0+1+2,batchnorm,avgpool:2:stride=2,"
                        "flatten,5:softmax")
    x, _ = images(16)
    assert net.loss == "ce" and np.abs(net.predict(x) - torch_out(model, x)).max() <= 1e-5


def test_from_torch_padded_pooling_sequential():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1),
                          nn.AvgPool2d(3, stride=1, padding=1), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    net = mynn.from_torch(model, input_shape=(1, 8, 8))
    assert net.spec == "conv:4:3:stride=1:pad=1,maxpool:3:stride=2:pad=1,avgpool:3:stride=1:pad=1,flatten,3"
    x, _ = images(16, (1, 8, 8))
    want = torch_out(model, x)
    assert np.abs(net.predict(x) - want).max() <= 1e-5
    assert np.abs(torch_out(net.to_torch(), x) - want).max() <= 1e-5


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 4 * 4, 2)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(self.conv(x)), 1))


class Wrap(nn.Module):
    """forward = body(x) then a Linear on the flattened result."""

    def __init__(self, body, features=2 * 4 * 4, flatten=True):
        super().__init__()
        self.body, self.flat = body, flatten
        self.conv = nn.Conv2d(2, 2, 3, padding=1)
        self.ln = nn.LayerNorm([2, 4, 4])
        self.fc = nn.Linear(features, 2)

    def forward(self, x):
        y = self.body(self, x)
        return self.fc(torch.flatten(y, 1) if self.flat else y)


@pytest.mark.parametrize("model, text", [
    (Shared(), r"node 'conv' \(Conv2d\): called a second time: mynn shares no weights"),
    (Wrap(lambda s, x: s.ln(s.conv(x))), r"node 'ln' \(LayerNorm\): has no mynn equivalent"),
    (Wrap(lambda s, x: s.conv(x) * 2), r"node 'mul' \(mul\): has no mynn equivalent"),
    (Wrap(lambda s, x: s.conv(x) + 1), r"node 'add' \(add\): argument 1 is a constant"),
    (Wrap(lambda s, x: torch.cat([s.conv(x), x], dim=2), 2 * 8 * 4), r"node 'cat' \(cat\): only torch.cat .* dim 1"),
    (Wrap(lambda s, x: s.conv(x), 4, flatten=False), r"node 'fc' \(Linear\): on a tensor of 4 dimensions"),
    (Wrap(lambda s, x: s.conv(x).view(-1, 32), flatten=False), r"node 'view' \(method .view\): only x.view"),
    (Wrap(lambda s, x: s.conv(x) if x.sum() > 0 else x), "torch.fx cannot trace Wrap"),
    (Wrap(lambda s, x: F.leaky_relu(s.conv(x), 0.2)),
     r"node 'leaky_relu' \(leaky_relu\): leaky_relu\(negative_slope=0.2"),
])
def test_from_torch_fx_unsupported(model, text):
    with pytest.raises(mynn.Error, match=text):
        mynn.from_torch(model, input_shape=(2, 4, 4))


def test_from_torch_fx_needs_one_input_and_a_shape():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x, y):
            return self.fc(x + y)
    with pytest.raises(mynn.ArgumentError, match="takes 2 inputs: a mynn net has one"):
        mynn.from_torch(Two())
    with pytest.raises(mynn.ArgumentError, match="first layer is a Conv2d: give input_shape"):
        mynn.from_torch(SmallResNet())
    with pytest.raises(mynn.ArgumentError, match=r"does not run on inputs shaped \(2, 3, 5\)"):
        mynn.from_torch(SmallResNet(), input_shape=(3, 5))

    class Vec(nn.Module):          # a Linear first: the input size is its in_features
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(6, 8), nn.Linear(6, 8), nn.Linear(16, 3)

        def forward(self, x):
            h = torch.cat((torch.sigmoid(self.a(x)), self.b(x).relu()), 1)
            return self.c(h)
    v = Vec()
    net = mynn.from_torch(v)
    assert net.inputs == 6 and net.spec == "8:sigmoid,8:relu:from=input,concat:from=0+1,3"
    x = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
    assert np.abs(net.predict(x) - torch_out(v, x)).max() <= 1e-5


# ---- PyTorch parity of residual blocks -----------------------------------------------------------
class ResBlockNet(nn.Module):
    """conv-bn-relu-conv-bn plus the identity (or a strided 1x1 conv + bn
    projection), relu; then global average pooling and a Linear."""

    def __init__(self, cin, cout, stride, classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = stride != 1 or cin != cout
        if self.proj:
            self.pconv = nn.Conv2d(cin, cout, 1, stride)
            self.pbn = nn.BatchNorm2d(cout)
        self.fc = nn.Linear(cout, classes)

    def logits(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        short = self.pbn(self.pconv(x)) if self.proj else x
        return self.fc(F.adaptive_avg_pool2d(F.relu(out + short), 1).flatten(1))

    def in_mynn_order(self):
        """(module, mynn node) pairs of the layers with tensors."""
        mods = [self.conv1, self.bn1, self.conv2, self.bn2] + ([self.pconv, self.pbn] if self.proj else [])
        nodes = [0, 1, 3, 4] + ([5, 6] if self.proj else [])
        return list(zip(mods, nodes)) + [(self.fc, 9 if self.proj else 7)]


PARITY = {
    "identity": ((4, 4, 1), "res(conv:4:3:pad=1,batchnorm,relu,conv:4:3:pad=1,batchnorm):relu,gap,5:softmax"),
    "projection": ((4, 8, 2), "res(conv:8:3:stride=2:pad=1,batchnorm,relu,conv:8:3:pad=1,batchnorm | "
                              "conv:8:1:stride=2,batchnorm):relu,gap,5:softmax"),
}


def parity_pair(which):
    (cin, cout, stride), spec = PARITY[which]
    torch.manual_seed(7)
    model = ResBlockNet(cin, cout, stride)
    random_bn(model, 8)
    net = mynn.Net(inputs=(cin, 8, 8), layers=spec, seed=1)
    weights = []
    for m, _ in model.in_mynn_order():
        weights += [m.weight, m.bias] + ([m.running_mean, m.running_var] if isinstance(m, nn.BatchNorm2d) else [])
    net.set_weights([t.detach().numpy() for t in weights])
    x, y = images(8, (cin, 8, 8), seed=9, classes=5)
    return model, net, x, y


def torch_tensors(model):
    """{"layers.<i>.<name>": array} of the torch model, named as mynn's state_dict."""
    out = {}
    for m, i in model.in_mynn_order():
        for t in ("weight", "bias", "running_mean", "running_var"):
            if getattr(m, t, None) is not None:
                out["layers.%d.%s" % (i, t)] = getattr(m, t).detach().numpy().copy()
    return out


def conv_bias_before_bn(model, name):
    """A conv bias feeding a batch norm: its true gradient is 0 (the norm
    removes each channel's mean), so both libraries compute rounding noise."""
    return name.endswith(".bias") and any(name == "layers.%d.bias" % i for m, i in model.in_mynn_order()
                                          if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("which", ["identity", "projection"])
def test_residual_block_parity_forward_and_gradients(which):
    model, net, x, y = parity_pair(which)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    # eval mode: running statistics
    model.eval()
    with torch.no_grad():
        want = torch.softmax(model.logits(xt), dim=1).numpy()
    assert np.abs(net.predict(x) - want).max() <= 1e-5
    # training mode: batch statistics; the loss, every gradient, the running statistics after
    model.train()
    model.zero_grad()
    loss = F.cross_entropy(model.logits(xt), yt)
    loss.backward()
    got_loss, grads = net.compute_gradients(x, y)
    assert abs(got_loss - loss.item()) <= 1e-5
    want_grads = {}
    for m, i in model.in_mynn_order():
        want_grads["layers.%d.weight" % i] = m.weight.grad.numpy()
        want_grads["layers.%d.bias" % i] = m.bias.grad.numpy()
    assert sorted(grads) == sorted(want_grads)
    for k, g in grads.items():
        assert g.shape == want_grads[k].shape
        assert np.abs(g - want_grads[k]).max() <= 1e-5, k
    state, ref = net.state_dict(), torch_tensors(model)
    for k in ref:
        if "running" in k:
            assert np.abs(state[k] - ref[k]).max() <= 1e-5, k


@pytest.mark.parametrize("which", ["identity", "projection"])
def test_residual_block_parity_one_adam_step(which):
    model, net, x, y = parity_pair(which)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    opt.zero_grad()
    loss = F.cross_entropy(model.logits(torch.from_numpy(x)), torch.from_numpy(y))
    loss.backward()
    opt.step()
    before = net.state_dict()
    h = net.fit(x, y, epochs=1, batch_size=8, optimizer="adam", lr=1e-3, shuffle=False)
    assert len(h) == 1 and abs(h[0]["loss"] - loss.item()) <= 1e-5
    state, ref = net.state_dict(), torch_tensors(model)
    assert sorted(state) == sorted(ref)
    for k in ref:
        if conv_bias_before_bn(model, k):      # Adam moves rounding noise by up to lr either way
            assert np.abs(state[k] - before[k]).max() <= 1e-3 * (1 + 1e-4), k
        else:
            assert np.abs(state[k] - ref[k]).max() <= 1e-4, k
