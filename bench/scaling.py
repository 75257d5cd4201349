"""The paper scaling of docs/scaling.md: expected epoch time and efficiency of
data-parallel training of the Fashion-MNIST MLP on N nodes with a ring
all-reduce, from a measured compute time per sample.

Usage: /usr/bin/python3 bench/scaling.py [ALPHA_US]

Model (docs/scaling.md explains it):
  t_s(b)     compute seconds per sample on one node at a per-node batch b:
             the measured epoch times of bench/RESULTS.md (make bench, 2
             threads, idle machine) at b = 1, 32, 64, 256, interpolated in
             log b, flat beyond 256
  S          gradient bytes, 235,146 floats = 0.94 MB
  ring       T_ar(N) = 2 (N-1)/N * S / bw + 2 (N-1) * alpha
  step       T(N, B) = t_s(B/N) * B / N + T_ar(N)   (no overlap of compute and reduce)
  efficiency E(N, B) = t_s(B) * B / (N * T(N, B))    (against one node at the same batch)
"""
import math
import sys

SAMPLES = 60000
S = 235146 * 4
LINKS = [("10 Gbit/s", 10e9 / 8), ("100 Gbit/s", 100e9 / 8)]
NODES = [1, 2, 8, 64, 256]
# make bench, MLP table: seconds per 60,000-sample epoch at batch b, 2 threads.
MEASURED = [(1, 15.294), (32, 0.699), (64, 0.532), (256, 0.418)]


def t_s(b):
    """Compute seconds per sample at per-node batch b."""
    pts = [(math.log(x), e / SAMPLES) for x, e in MEASURED]
    lb = math.log(max(b, 1))
    if lb >= pts[-1][0]:
        return pts[-1][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if lb <= x1:
            return y0 + (y1 - y0) * (lb - x0) / (x1 - x0)
    return pts[-1][1]


def t_ar(n, bw, alpha):
    return 0.0 if n == 1 else 2 * (n - 1) / n * S / bw + 2 * (n - 1) * alpha


def step_time(n, batch, bw, alpha):
    return t_s(batch / n) * batch / n + t_ar(n, bw, alpha)


def table(alpha, batch):
    rows = [f"Global batch {batch} ({math.ceil(SAMPLES / batch)} steps per epoch):", "",
            "| nodes | samples per node and step | link | all-reduce per step (ms) | step (ms) | epoch (s) | efficiency |",
            "|---:|---:|---|---:|---:|---:|---:|"]
    for n in NODES:
        if batch < n:
            continue
        for name, bw in (LINKS if n > 1 else LINKS[:1]):
            ar = t_ar(n, bw, alpha)
            step = step_time(n, batch, bw, alpha)
            eff = t_s(batch) * batch / (n * step)
            rows.append(f"| {n} | {batch / n:g} | {name if n > 1 else '-'} | {1e3 * ar:.3f} | {1e3 * step:.3f} | "
                        f"{math.ceil(SAMPLES / batch) * step:.3f} | {100 * eff:.0f}% |")
    return "\n".join(rows)


def min_batch(alpha):
    rows = ["| nodes | link | all-reduce per step (ms) | smallest global batch for >= 80% | per node | epoch (s) at that batch |",
            "|---:|---|---:|---:|---:|---:|"]
    for n in NODES[1:]:
        for name, bw in LINKS:
            ar = t_ar(n, bw, alpha)
            b = n   # the smallest multiple of n with E >= 80%
            while t_s(b) * b < 0.8 * n * step_time(n, b, bw, alpha) and b < 1 << 24:
                b += n
            step = step_time(n, b, bw, alpha)
            rows.append(f"| {n} | {name} | {1e3 * ar:.3f} | {b} | {b // n} | {math.ceil(SAMPLES / b) * step:.3f} |")
    return "\n".join(rows)


def main():
    alpha = float(sys.argv[1]) * 1e-6 if len(sys.argv) > 1 else 0.0
    print(f"t_s = {1e6 * t_s(64):.2f} us per sample at a node batch of 64, alpha = {1e6 * alpha:g} us, "
          f"S = {S / 1e6:.2f} MB\n")
    for batch in (64, 1024, 16384):
        print(table(alpha, batch))
        print()
    print(min_batch(alpha))


if __name__ == "__main__":
    main()
