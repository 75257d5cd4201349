"""make bench-mpi (bench/mpi.sh): data-parallel training of the Fashion-MNIST
MLP (784-256-128-10, the demo's net) with one process and with two MPI
ranks, interleaved, RUNS times each; medians.  Writes the "Data-parallel
training" section of bench/RESULTS.md (bench/run.py keeps it when it
rewrites the file).  Usage: mpi.py TOOL ALLREDUCE_BENCH."""
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
RUNS = int(os.environ.get("RUNS", "3"))
EPOCHS = 2
GRAD_FLOATS = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none"]
SECTION = "## Data-parallel training (MPI)"



def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"

def train_args(tool, threads):
    return [tool, "train", DATA, "--layers", "256:relu,128:relu,10:softmax", "--optimizer", "adam",
            "--lr", "0.001", "--batch", "64", "--epochs", str(EPOCHS), "--seed", "1",
            "--threads", str(threads)]


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"bench-mpi: {' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def parse(out):
    epochs = [float(x) for x in re.findall(r"^epoch \d+/\d+ .* ([0-9.]+)s$", out, re.M)]
    acc = re.search(r"^test accuracy: ([0-9.]+)%", out, re.M)
    ar = re.search(r"^all-reduce: .* ([0-9.]+) ms per step", out, re.M)
    return {"epoch": statistics.mean(epochs), "acc": float(acc.group(1)) if acc else None,
            "allreduce_ms": float(ar.group(1)) if ar else None}


def main():
    tool, bench = sys.argv[1], sys.argv[2]
    configs = [
        ("1 process x 2 threads", train_args(tool, 2)),
        ("2 ranks x 1 thread", MPIRUN + ["-np", "2"] + train_args(tool, 1)),
        ("1 process x 1 thread", train_args(tool, 1)),
        ("1 rank (mpirun) x 2 threads", MPIRUN + ["-np", "1"] + train_args(tool, 2)),
    ]
    load0 = os.getloadavg()
    results = {name: [] for name, _ in configs}
    for _ in range(RUNS):
        for name, cmd in configs:
            results[name].append(parse(run(cmd)))
    ar = {}
    for btl in ("self,vader", "self,tcp"):
        env = dict(os.environ, OMPI_MCA_btl=btl)
        times = []
        for _ in range(RUNS):
            out = run(MPIRUN + ["-np", "2", bench, str(GRAD_FLOATS), "200"], env)
            times.append(float(re.search(r": ([0-9.]+) us", out).group(1)))
        ar[btl] = statistics.median(times)
    load1 = os.getloadavg()

    med = {n: {k: statistics.median([r[k] for r in rs]) if rs[0][k] is not None else None
               for k in rs[0]} for n, rs in results.items()}
    base = med["1 process x 2 threads"]["epoch"]
    steps = (60000 + 63) // 64
    w = []
    w.append(SECTION + "\n")
    w.append(f"Produced by `make bench-mpi` (bench/mpi.sh, bench/mpi.py) on {time.strftime('%Y-%m-%d')}, CPU: {cpu_name()}: "
             f"the MLP 784-256-128-10 (Adam, batch 64 global, {EPOCHS} epochs, 938 steps each) on "
             "Fashion-MNIST; epoch time = the tool's per-epoch seconds (training steps only); "
             f"median of {RUNS} runs, the configurations interleaved.")
    w.append("")
    w.append(f"**The machine was shared with other work while this ran** (2 cores; load average "
             f"{load0[0]:.1f} before, {load1[0]:.1f} after): the figures show the overheads' size, "
             "not a clean speed-up.")
    w.append("")
    w.append("| configuration | epoch (s) | vs 1 x 2 threads | compute per step (ms) | all-reduce per step (ms) | test accuracy |")
    w.append("|---|---:|---:|---:|---:|---:|")
    for name, _ in configs:
        m = med[name]
        arm = m["allreduce_ms"]
        comp = 1e3 * m["epoch"] / steps - (arm or 0.0)
        w.append(f"| {name} | {m['epoch']:.3f} | {base / m['epoch']:.2f}x | {comp:.3f} | "
                 f"{'%.3f' % arm if arm is not None else '-'} | {m['acc']:.2f}% |")
    w.append("")
    w.append("The all-reduce column is the wall time rank 0 spends inside `MPI_Allreduce` per step, "
             "waiting for the slower rank included; compute per step is the rest of the step.")
    if max(load0[0], load1[0]) > os.cpu_count():
        w.append("")
        w.append("With more runnable processes than cores, every synchronisation waits for a descheduled "
                 "peer: a 2-thread OpenMP team meets at the barrier of every kernel (a dozen per step), "
                 "two ranks meet once per step in the all-reduce, and the bare all-reduce's ranks poll "
                 "for each other (shared memory suffers most, as both ranks spin on the same two cores). "
                 "The ratios are those of a loaded machine, not of idle nodes; docs/scaling.md uses the "
                 "idle-machine compute times of `make bench`.")
    w.append("")
    w.append(f"Bare `MPI_Allreduce` of the MLP's gradient ({GRAD_FLOATS} floats, "
             f"{GRAD_FLOATS * 4 / 1e6:.2f} MB), 2 ranks on this machine, "
             f"`mpirun -np 2 build-mpi/bench/bench_allreduce {GRAD_FLOATS} 200` (median of 200 calls, "
             f"median of {RUNS} runs):")
    w.append("")
    w.append("| transport (`OMPI_MCA_btl`) | time per call (us) | algorithm bandwidth (GB/s) |")
    w.append("|---|---:|---:|")
    for btl, us in ar.items():
        w.append(f"| {btl} | {us:.1f} | {GRAD_FLOATS * 4 / us / 1e3:.2f} |")
    w.append("")
    w.append("Commands: `build/mynn train /usr/share/datasets/fashion-mnist --layers 256:relu,128:relu,10:softmax "
             f"--optimizer adam --lr 0.001 --batch 64 --epochs {EPOCHS} --seed 1 --threads 2` against "
             "`mpirun --oversubscribe --bind-to none -np 2 build-mpi/mynn train ... --threads 1`. "
             "The paper scaling from these figures is in docs/scaling.md.")
    section = "\n".join(w) + "\n"

    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    at = text.find(SECTION)   # the section is the file's last (run.py keeps it there)
    text = (text[:at] if at >= 0 else text.rstrip("\n") + "\n\n") + section
    open(path, "w").write(text)
    print(section)


if __name__ == "__main__":
    main()
