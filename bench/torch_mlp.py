#!/usr/bin/python3
"""PyTorch baseline for bench/run.sh: the same MLP as bench_mlp.c.

784-256-128-10, ReLU, softmax + cross-entropy, Adam (lr 1e-3; --optimizer sgd:
SGD, lr 0.01, no momentum), on Fashion-MNIST scaled to [0, 1]. Prints one line
of key=value figures:
  epoch_s     seconds per training epoch over `--samples` samples, scaled to 60,000
              (the mean over --epochs epochs)
  infer_ips   inference images per second at batch --infer-batch
  acc         test accuracy after the timed epochs
  sps         training samples per second
Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse, gzip, os, struct, sys, time

import numpy as np
import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows * cols)
    return np.frombuffer(data, np.uint8, offset=8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--infer-batch", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    ap.add_argument("--cosine", action="store_true", help="cosine learning-rate decay over the epochs")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x = torch.from_numpy(idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0)
    y = torch.from_numpy(idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    xt = torch.from_numpy(idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0)
    yt = torch.from_numpy(idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = (torch.optim.Adam(model.parameters(), lr=1e-3) if a.optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=0.01))
    lossf = torch.nn.CrossEntropyLoss()
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.epochs) if a.cosine else None
    n = min(a.samples, x.shape[0])
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        perm = torch.randperm(x.shape[0])[:n]
        for i in range(0, n, a.batch):
            idxs = perm[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[idxs]), y[idxs])
            loss.backward()
            opt.step()
        if sched:
            sched.step()
    fit_s = time.perf_counter() - t0
    epoch = fit_s / a.epochs * (60000.0 / n)
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
        b = a.infer_batch
        reps = max(1, 20000 // b) if b > 1 else 5000
        src = xt[:b] if b > 1 else xt[:1]
        model(src)
        t0 = time.perf_counter()
        for _ in range(reps):
            model(src)
        ips = reps * src.shape[0] / (time.perf_counter() - t0)
    print(f"epoch_s={epoch:.4f} infer_ips={ips:.1f} acc={acc:.4f} threads={torch.get_num_threads()} "
          f"sps={a.epochs * n / fit_s:.1f} optimizer={a.optimizer}")


if __name__ == "__main__":
    sys.exit(main())
