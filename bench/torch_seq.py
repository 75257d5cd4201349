"""PyTorch's side of the sequence benchmark and of make demo-text's check.

  --task rows   Fashion-MNIST rows as sequences (28 steps x 28 pixels) ->
                LSTM (or --cell gru) 128 -> last state -> 10, Adam, batch 64:
                training seconds per epoch (timed on --samples, scaled to 60,000)
  --task text   the character LM of make demo-text (embedding 64 -> LSTM 256
                every step -> the vocabulary), batch 32, 64 steps, Adam: ms per
                step and characters per second over --steps steps
  --task gen    the same model generating at batch 1, one character a step in a
                Python loop (the state carried): characters per second
  --task demo   make demo-text's training in PyTorch (same text, vocabulary,
                windows, validation tail, batch, epochs, lr): the validation
                loss in nats per character after each epoch

Prints key=value figures on one line, as bench/run.py reads them.
Run with /usr/bin/python3 (Debian's torch)."""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

FM = "/usr/share/datasets/fashion-mnist"
FORTUNES = "/usr/share/games/fortunes"


def idx_images(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        _, n, r, c = struct.unpack(">IIII", f.read(16))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(n, r, c).astype(np.float32) / 255.0


def idx_labels(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        f.read(8)
        return np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)


def find(prefix):
    for name in sorted(os.listdir(FM)):
        if name.startswith(prefix):
            return os.path.join(FM, name)
    raise FileNotFoundError(prefix)


class Rows(nn.Module):
    def __init__(self, cell, hidden):
        super().__init__()
        self.rec = (nn.GRU if cell == "gru" else nn.LSTM)(28, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 10)

    def forward(self, x):
        _, h = self.rec(x)
        h = h[0] if isinstance(h, tuple) else h
        return self.out(h[-1])


class CharLM(nn.Module):
    def __init__(self, vocab, emb=64, hidden=256):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.rec = nn.LSTM(emb, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        y, state = self.rec(self.emb(x), state)
        return self.out(y), state


def fortunes_text():
    names = sorted(n for n in os.listdir(FORTUNES) if "." not in n)
    data = b"".join(open(os.path.join(FORTUNES, n), "rb").read() for n in names)
    return data.decode("utf-8")


def text_windows(seq, val_frac):
    """The text as mynn train --text cuts it: ids by sorted code point,
    windows side by side, the last val_frac of them held out."""
    text = fortunes_text()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    total = (len(ids) - 1) // seq
    n_val = int(val_frac * total + 0.5)
    x = np.stack([ids[w * seq:w * seq + seq] for w in range(total)])
    y = np.stack([ids[w * seq + 1:w * seq + seq + 1] for w in range(total)])
    return len(vocab), x[:total - n_val], y[:total - n_val], x[total - n_val:], y[total - n_val:]


def rows(args):
    x = idx_images(find("train-images"))[:args.samples]
    y = idx_labels(find("train-labels"))[:args.samples]
    model = Rows(args.cell, 128)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for b in range(0, len(x), 64):
        opt.zero_grad()
        loss_fn(model(xt[b:b + 64]), yt[b:b + 64]).backward()
        opt.step()
    dt = time.perf_counter() - t0
    print(f"epoch_s={dt * 60000 / len(x):.3f} step_ms={dt * 1000 / ((len(x) + 63) // 64):.3f}")


def text(args):
    vocab, xtr, ytr, _, _ = text_windows(64, 0.1)
    model = CharLM(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    def step(b):
        opt.zero_grad()
        out, _ = model(xt[b:b + 32])
        loss_fn(out.reshape(-1, vocab), yt[b:b + 32].reshape(-1)).backward()
        opt.step()
    step(0)   # warm-up
    t0 = time.perf_counter()
    for s in range(args.steps):
        step((s * 32) % (len(xt) - 32))
    dt = (time.perf_counter() - t0) / args.steps
    print(f"step_ms={dt * 1000:.2f} chars_s={32 * 64 / dt:.0f} vocab={vocab}")


def gen(args):
    vocab = len(set(fortunes_text()))
    model = CharLM(vocab)
    model.eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        x, state = torch.zeros(1, 1, dtype=torch.long), None
        t0 = time.perf_counter()
        for _ in range(args.chars):
            out, state = model(x, state)
            x = torch.multinomial(torch.softmax(out[0, -1], 0), 1, generator=g).view(1, 1)
        dt = time.perf_counter() - t0
    print(f"gen_chars_s={args.chars / dt:.0f}")


def demo(args):
    torch.manual_seed(args.seed)
    vocab, xtr, ytr, xva, yva = text_windows(64, 0.1)
    model = CharLM(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    xv, yv = torch.from_numpy(xva), torch.from_numpy(yva)
    for epoch in range(args.epochs):
        perm = torch.randperm(len(xt))
        model.train()
        for b in range(0, len(xt), 32):
            i = perm[b:b + 32]
            opt.zero_grad()
            out, _ = model(xt[i])
            loss_fn(out.reshape(-1, vocab), yt[i].reshape(-1)).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            tot = 0.0
            for b in range(0, len(xv), 256):
                out, _ = model(xv[b:b + 256])
                tot += loss_fn(out.reshape(-1, vocab), yv[b:b + 256].reshape(-1)).item() * len(xv[b:b + 256])
        print(f"epoch={epoch + 1} val_loss={tot / len(xv):.4f}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", choices=["rows", "text", "gen", "demo"], required=True)
    p.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--samples", type=int, default=6400)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--chars", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    {"rows": rows, "text": text, "gen": gen, "demo": demo}[args.task](args)


if __name__ == "__main__":
    sys.exit(main())
