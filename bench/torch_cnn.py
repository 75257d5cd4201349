#!/usr/bin/python3
"""PyTorch baseline for bench/run.py: the same networks as bench_cnn.c.

--model cnn (default): Conv(1->32, 3, pad 1)-ReLU-MaxPool2-Conv(32->64, 3, pad 1)
-ReLU-MaxPool2-Flatten-Linear(3136->128)-ReLU-Linear(128->10);
--model resnet: the ResNet of `make demo-resnet` (torchvision-style BasicBlocks,
see resnet() below; bench/run.py gives mynn the same network as a description);
cross-entropy, Adam (lr 1e-3), on Fashion-MNIST scaled to [0, 1].
Prints one line of key=value figures:
  epoch_s     seconds per training epoch over --samples samples, scaled to 60,000
  infer_ips   inference images per second at batch --infer-batch
  acc         test accuracy after the timed epochs (--epochs, cosine with --cosine)
Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse, gzip, os, struct, sys, time

import numpy as np
import torch
from torch import nn


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, rows, cols)
    return np.frombuffer(data, np.uint8, offset=8)


class Block(nn.Module):
    """torchvision's BasicBlock with biased convolutions (as mynn's):
    relu(bn(conv(relu(bn(conv(x))))) + shortcut(x)), the shortcut a strided
    1x1 conv and batch norm when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout)
        self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(y + (x if self.short is None else self.short(x)))


def resnet(widths=(32, 64, 128)):
    """conv(1->w0, 3, pad 1)-BN-ReLU-MaxPool2, then one block per width
    (the first at stride 1, the others at stride 2), global average pool,
    Linear(w_last->10)."""
    layers = [nn.Conv2d(1, widths[0], 3, padding=1), nn.BatchNorm2d(widths[0]), nn.ReLU(), nn.MaxPool2d(2)]
    cin = widths[0]
    for i, w in enumerate(widths):
        layers.append(Block(cin, w, 1 if i == 0 else 2))
        cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--infer-batch", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--cosine", action="store_true")
    ap.add_argument("--model", choices=("cnn", "resnet"), default="cnn")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x = torch.from_numpy(idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0)
    y = torch.from_numpy(idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    xt = torch.from_numpy(idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0)
    yt = torch.from_numpy(idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    if a.model == "resnet":
        model = resnet()
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.epochs) if a.cosine else None
    lossf = nn.CrossEntropyLoss()
    n = min(a.samples, x.shape[0])
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(x.shape[0])[:n]
        for i in range(0, n, a.batch):
            idxs = perm[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[idxs]), y[idxs])
            loss.backward()
            opt.step()
        if sched:
            sched.step()
    epoch = (time.perf_counter() - t0) / a.epochs * (60000.0 / n)
    model.eval()
    with torch.no_grad():
        acc = sum((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
                  for i in range(0, xt.shape[0], 1000)) / xt.shape[0]
        b = a.infer_batch
        src = xt[:b]
        model(src)
        reps = max(1, 5000 // b)
        t0 = time.perf_counter()
        for _ in range(reps):
            model(src)
        ips = reps * src.shape[0] / (time.perf_counter() - t0)
    print(f"epoch_s={epoch:.4f} infer_ips={ips:.1f} acc={acc:.4f} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    sys.exit(main())
