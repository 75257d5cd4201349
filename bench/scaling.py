"""The paper scaling of docs/scaling.md: expected epoch time and efficiency of
data-parallel training of the Fashion-MNIST MLP on N nodes with a ring
all-reduce, from a measured compute time per sample.

Usage: /usr/bin/python3 bench/scaling.py COMPUTE_MS_PER_STEP_AT_64 [ALPHA_US]

Model (docs/scaling.md explains it):
  t_s        compute seconds per sample on one node (measured step at batch 64 / 64)
  S          gradient bytes, 235,146 floats = 0.94 MB
  ring       T_ar(N) = 2 (N-1)/N * S / bw + 2 (N-1) * alpha
  step       T(N, B) = t_s * B / N + T_ar(N)     (no overlap of compute and reduce)
  efficiency E(N, B) = t_s * B / (N * T(N, B))
  E >= 80%   <=>  t_s * B >= 4 * N * T_ar(N)  <=>  B >= 4 N T_ar(N) / t_s
"""
import math
import sys

SAMPLES = 60000
S = 235146 * 4
LINKS = [("10 Gbit/s", 10e9 / 8), ("100 Gbit/s", 100e9 / 8)]
NODES = [1, 2, 8, 64, 256]


def t_ar(n, bw, alpha):
    return 0.0 if n == 1 else 2 * (n - 1) / n * S / bw + 2 * (n - 1) * alpha


def table(ts, alpha, batch):
    rows = [f"Global batch {batch} ({math.ceil(SAMPLES / batch)} steps per epoch):", "",
            "| nodes | samples per node and step | link | all-reduce per step (ms) | step (ms) | epoch (s) | efficiency |",
            "|---:|---:|---|---:|---:|---:|---:|"]
    for n in NODES:
        if batch < n:
            continue
        for name, bw in (LINKS if n > 1 else LINKS[:1]):
            ar = t_ar(n, bw, alpha)
            step = ts * batch / n + ar
            eff = ts * batch / (n * step)
            rows.append(f"| {n} | {batch / n:g} | {name if n > 1 else '-'} | {1e3 * ar:.3f} | {1e3 * step:.3f} | "
                        f"{math.ceil(SAMPLES / batch) * step:.3f} | {100 * eff:.0f}% |")
    return "\n".join(rows)


def min_batch(ts, alpha):
    rows = ["| nodes | link | all-reduce per step (ms) | smallest global batch for >= 80% | per node | epoch (s) at that batch |",
            "|---:|---|---:|---:|---:|---:|"]
    for n in NODES[1:]:
        for name, bw in LINKS:
            ar = t_ar(n, bw, alpha)
            b = math.ceil(4 * n * ar / ts / n) * n   # a whole number of samples per node
            step = ts * b / n + ar
            rows.append(f"| {n} | {name} | {1e3 * ar:.3f} | {b} | {b // n} | {math.ceil(SAMPLES / b) * step:.3f} |")
    return "\n".join(rows)


def main():
    step_ms = float(sys.argv[1])
    alpha = float(sys.argv[2]) * 1e-6 if len(sys.argv) > 2 else 10e-6
    ts = step_ms / 1e3 / 64
    print(f"t_s = {1e6 * ts:.2f} us per sample (step {step_ms} ms at batch 64), alpha = {1e6 * alpha:g} us, "
          f"S = {S / 1e6:.2f} MB\n")
    for batch in (64, 1024, 16384):
        print(table(ts, alpha, batch))
        print()
    print(min_batch(ts, alpha))


if __name__ == "__main__":
    main()
