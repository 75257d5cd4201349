#!/usr/bin/python3
"""Runs the benchmarks of `make bench` and writes bench/RESULTS.md.

Every figure is the median of RUNS runs, ours and the baseline interleaved
(A B A B ...), in the same run of this script. Standard library only.

bench/RESULTS.md holds one "## CPU: <model>" section per CPU measured; a run
replaces the section of its own CPU only, and inside it only the "###" parts
it measures (CNN_ONLY=1: the CNN's; RESNET_ONLY=1: the ResNet's, with
PREV_BENCH_CNN=path the graph's cost against an older bench_cnn); every other section, the MPI one of
`make bench-mpi` last, stays as it is. BENCH_QUICK=1 runs everything once at
small sample counts and writes build/bench/RESULTS_quick.md instead (a check
of this script in a few minutes, not figures to keep); CNN=0 leaves the CNN
out (its part of the file stays)."""
import os, platform, re, shutil, statistics, subprocess, sys, tempfile, time

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("RUNS", "1" if QUICK else "3"))
THREADS = int(os.environ.get("THREADS", "2"))
DATA = os.environ.get("DATA", "/usr/share/datasets/fashion-mnist")
TORCH = "/usr/bin/python3"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = os.path.join(ROOT, "bench", "RESULTS.md")
OUT = os.environ.get("RESULTS", os.path.join(ROOT, "build", "bench", "RESULTS_quick.md") if QUICK else BASE)
MPI_SECTION = "Data-parallel training (MPI)"   # bench/mpi.py's, kept last

EPOCH = 60000                                  # Fashion-MNIST's training set
P = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10   # the MLP's parameters
P_DX = 256 * 128 + 128 * 10                    # weights read again for dX (not the first layer's)
MLP_SAMPLES = 6000 if QUICK else 60000
B1_SAMPLES = 600 if QUICK else 6000            # batch 1: a tenth of an epoch, scaled
PS_SAMPLES = 300 if QUICK else 6000            # per-sample table (ours, FANN, PyTorch)
CNN_SAMPLES = int(os.environ.get("CNN_SAMPLES", "640" if QUICK else "19200"))
STREAM_SECONDS = "0.05" if QUICK else "0.3"

T_GEMM = "GEMM: GFLOP/s, ours vs OpenBLAS"
T_CNN = "CNN on Fashion-MNIST (issue 8)"
T_RES = "ResNet on Fashion-MNIST (issue 17)"
T_SEQ = "Sequences: LSTM, GRU and a character language model (issue 18)"
T_MLP = "MLP 784-256-128-10 on Fashion-MNIST (ReLU, softmax + CE, Adam)"
T_INF = "Inference"
T_RATE = "Achieved rate"
T_OLD = "Against the targets (issue: fast on the CPU)"
T_I11 = "Targets of issue 11"
T_PS = "Per-sample training (batch 1) against FANN and PyTorch"
T_BW = "Memory bandwidth and the per-sample step"
T_SCALE = "Thread scaling"
T_PROF = "Profile"
T_MEM = "Peak memory of `mynn train`"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_mhz():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return 0.0


def cache_bytes(level):
    """Size of cpu0's unified/data cache of this level (sysfs), 0 if unknown."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for d in sorted(os.listdir(base)):
            p = os.path.join(base, d)
            if open(os.path.join(p, "level")).read().strip() != str(level):
                continue
            if open(os.path.join(p, "type")).read().strip() == "Instruction":
                continue
            s = open(os.path.join(p, "size")).read().strip()
            mult = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(s[-1], 1)
            return int(s.rstrip("KMG")) * mult
    except (OSError, ValueError):
        pass
    return 0


def mem_available():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 1 << 30


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def run(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (figures dict, peak RSS MiB)."""
    full = ["/usr/bin/time", "-v"] + cmd if os.path.exists("/usr/bin/time") else cmd
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(full, capture_output=True, text=True, env=e, cwd=ROOT)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.strip()[-400:]}")
    figs = dict(re.findall(r"(\w+)=([\w.\-]+)", p.stdout))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return figs, (int(m.group(1)) / 1024.0 if m else float("nan"))


def have_torch():
    try:
        return subprocess.run([TORCH, "-c", "import torch"], capture_output=True).returncode == 0
    except OSError:
        return False


def med(v):
    return statistics.median(v) if v else float("nan")


def yes(ok):
    return "yes" if ok else "no"


def ours_mlp(batch, threads, samples, infer=1024, optimizer="adam"):
    return ["build/bench/bench_mlp", DATA, str(batch), str(threads), str(samples), str(infer), optimizer]


def torch_mlp(batch, threads, samples, infer=1024):
    return [TORCH, "bench/torch_mlp.py", "--batch", str(batch), "--threads", str(threads),
            "--samples", str(samples), "--infer-batch", str(infer)]


# ---------------------------------------------------------------- GEMM

def gemm_part(h):
    """The GEMM table; returns our and OpenBLAS's best GFLOP/s at THREADS and
    the ratio of each shape."""
    gemm = os.path.join(ROOT, "build/bench/bench_gemm")
    if not os.path.exists(gemm):
        return 0.0, 0.0, {}, ""
    args = ["0.02", "1"] if QUICK else []
    p = subprocess.run([gemm] + args, capture_output=True, text=True, cwd=ROOT)
    print(p.stdout, flush=True)
    h[T_GEMM] = f"Command: `build/bench/bench_gemm {' '.join(args)}`".rstrip() + \
        " (from bench/bench_gemm.c)\n\n" + p.stdout.strip()
    return gemm_best(p.stdout) + (gemm_ratios(p.stdout), p.stdout)


def gemm_rows(text):
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        # a GEMM row names its shape M x N x K (the per-sample table's rows
        # also have six cells)
        if len(cells) == 6 and cells[2] == str(THREADS) and re.fullmatch(r"\d+x\d+x\d+", cells[1]):
            try:
                yield cells[0], float(cells[3]), float(cells[4]), float(cells[5]), cells[1]
            except ValueError:
                pass


def gemm_best(text):
    rows = list(gemm_rows(text))
    return (max((r[1] for r in rows), default=0.0), max((r[2] for r in rows), default=0.0))


def products_epoch(text, batch):
    """Seconds an epoch's products would take at batch if each ran at our
    GEMM's measured rate for its shape (the "b<batch> ..." rows at THREADS;
    the first layer's dX is not computed), or None without those rows."""
    s, n = 0.0, 0
    for name, ours, _, _, shape in gemm_rows(text):
        if not name.startswith(f"b{batch} ") or name.startswith(f"b{batch} 784>256 dX"):
            continue
        m, nn, k = (int(v) for v in shape.split("x"))
        s += 2.0 * m * nn * k / (ours * 1e9)
        n += 1
    return s * EPOCH / batch if n == 8 else None


def gemm_ratios(text):
    return {r[0]: r[3] for r in gemm_rows(text)}


# ---------------------------------------------------------------- MLP

# OpenMP's wait policies: on a machine with other load, threads that spin at
# a barrier wait for descheduled ones, so every multi-threaded figure (ours
# and PyTorch's) is taken with both and the faster kept.
MODES = (("default", {}), ("passive", {"OMP_WAIT_POLICY": "PASSIVE"}))


def modes(threads):
    return MODES if threads > 1 else MODES[:1]


def mlp_rows(torch_ok):
    rows = []
    for batch in (1, 32, 64, 256):
        samples = B1_SAMPLES if batch == 1 else MLP_SAMPLES
        ours = ours_mlp(batch, THREADS, samples)
        tcmd = torch_mlp(batch, THREADS, samples)
        o = {m: ([], [], [], []) for m, _ in modes(THREADS)}
        t = {m: ([], [], []) for m, _ in modes(THREADS)}
        for _ in range(RUNS):
            for mode, env in modes(THREADS):
                f, mem = run(ours, dict(env, OMP_NUM_THREADS=str(THREADS)))
                o[mode][0].append(float(f["epoch_s"])); o[mode][1].append(float(f["infer_ips"]))
                o[mode][2].append(mem); o[mode][3].append(float(f["acc"]))
            if torch_ok:
                for mode, env in modes(THREADS):
                    f, mem = run(tcmd, env)
                    t[mode][0].append(float(f["epoch_s"])); t[mode][1].append(float(f["infer_ips"]))
                    t[mode][2].append(mem)
        mine = min(o, key=lambda k: med(o[k][0]))
        row = {"batch": batch, "samples": samples, "ours_mode": mine, "ours_epoch": med(o[mine][0]),
               "ours_ips": max(med(o[k][1]) for k in o), "ours_mem": med(o[mine][2]), "ours_acc": med(o[mine][3])}
        if torch_ok:
            best = min(t, key=lambda k: med(t[k][0]))
            row.update(torch_mode=best, torch_epoch=med(t[best][0]),
                       torch_ips=max(med(t[k][1]) for k in t), torch_mem=med(t[best][2]))
        rows.append(row)
        print(row, flush=True)
    return rows


def mlp_part(h, rows, torch_ok):
    w = []
    w.append(f"Commands: `build/bench/bench_mlp {DATA} BATCH {THREADS} SAMPLES 1024` vs "
             f"`/usr/bin/python3 bench/torch_mlp.py --batch BATCH --threads {THREADS} --samples SAMPLES` "
             "(each run with its default OpenMP settings and with OMP_WAIT_POLICY=PASSIVE; the faster is kept, "
             "inference: the faster of both). "
             f"{MLP_SAMPLES:,} samples timed, scaled to 60,000; batch 1 runs {B1_SAMPLES:,}.\n")
    w.append("| batch | ours s/epoch | PyTorch s/epoch | speed-up | ours peak MiB | PyTorch peak MiB | ours test acc after 1 epoch |")
    w.append("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if torch_ok:
            w.append(f"| {r['batch']} | {r['ours_epoch']:.3f} ({r['ours_mode']}) | {r['torch_epoch']:.3f} ({r['torch_mode']}) | "
                     f"{r['torch_epoch'] / r['ours_epoch']:.2f}x | {r['ours_mem']:.0f} | {r['torch_mem']:.0f} | {r['ours_acc']:.4f} |")
        else:
            w.append(f"| {r['batch']} | {r['ours_epoch']:.3f} ({r['ours_mode']}) | - | - | {r['ours_mem']:.0f} | - | {r['ours_acc']:.4f} |")
    h[T_MLP] = "\n".join(w)


def infer_latency(threads):
    """Microseconds per image at batch 1 (the faster wait policy)."""
    vals = {m: [] for m, _ in modes(threads)}
    for _ in range(RUNS):
        for m, e in modes(threads):
            f, _ = run(ours_mlp(64, threads, 640, 1), dict(e, OMP_NUM_THREADS=str(threads)))
            vals[m].append(1e6 / float(f["infer_ips"]))
    return min(med(v) for v in vals.values())


def infer_part(h, rows, torch_ok):
    ips = med([r["ours_ips"] for r in rows])
    tips = med([r["torch_ips"] for r in rows]) if torch_ok else float("nan")
    lat = infer_latency(THREADS)
    lat1 = infer_latency(1) if THREADS != 1 else lat
    line = f"- batch 1024: ours {ips:,.0f} images/s"
    if torch_ok:
        line += f", PyTorch {tips:,.0f} images/s ({ips / tips:.2f}x)"
    h[T_INF] = (f"Threads: {THREADS} (batch 1 also at 1). Batch 1024: the median over the MLP runs above; batch 1: "
                f"`build/bench/bench_mlp {DATA} 64 THREADS 640 1`.\n\n" + line +
                f"\n- batch 1: ours {lat:.2f} µs per image at {THREADS} threads, {lat1:.2f} µs at 1")
    return {"ips": ips, "tips": tips, "lat": lat, "lat1": lat1}


# Forward, dW and dX for every layer but the first (its dX is never needed).
MLP_FLOPS = 2 * EPOCH * (3 * (784 * 256 + 256 * 128 + 128 * 10) - 784 * 256)


def rate_part(h, rows, best_ours, best_blas, gemm_text):
    mhz = cpu_mhz()
    peak = (os.cpu_count() or 1) * mhz * 1e6 * 64 if mhz else float("nan")
    w = [f"One epoch is {MLP_FLOPS / 1e9:.1f} GFLOP (2 FLOPs per multiply-add; forward, dW, and dX except the first "
         f"layer's). Peak of this machine: {os.cpu_count()} cores × {mhz:.0f} MHz (the clock /proc/cpuinfo reports) × "
         f"64 FLOPs per cycle (AVX-512: two 16-wide FMA units) = {peak / 1e9:.0f} GFLOP/s; best measured GEMM rates "
         f"above at {THREADS} threads: ours {best_ours:.0f}, OpenBLAS {best_blas:.0f} GFLOP/s.\n",
         "| batch | ours GFLOP/s | of peak | of our GEMM's best | of OpenBLAS's best |",
         "|---:|---:|---:|---:|---:|"]
    for r in rows:
        rate = MLP_FLOPS / r["ours_epoch"] / 1e9
        pct = lambda best: f"{100 * rate / best:.0f}%" if best else "-"
        w.append(f"| {r['batch']} | {rate:.1f} | {100 * rate * 1e9 / peak:.0f}% | {pct(best_ours)} | {pct(best_blas)} |")
    for b in (64, 256):
        ideal = products_epoch(gemm_text, b)
        r = [x for x in rows if x["batch"] == b]
        if ideal and r:
            w.append(f"\nBatch {b}: the epoch's eight products, each at our GEMM's rate for its shape in the table "
                     f"above ({THREADS} threads), would take {ideal:.3f} s of the measured {r[0]['ours_epoch']:.3f} s "
                     f"({100 * ideal / r[0]['ours_epoch']:.0f}%): the rest is the element-wise passes, the optimizer, "
                     "the batch gathering and the threads' synchronisation.")
    h[T_RATE] = "\n".join(w)


def old_targets_part(h, rows, inf, ratios, best_blas, torch_ok):
    w = ["| target | measured | met |", "|---|---|:-:|"]
    mlp = {k: v for k, v in ratios.items() if k.startswith("b")}
    big = {k: v for k, v in ratios.items() if k in ("square 1024", "square 2048")}
    if mlp:
        worst = min(mlp, key=mlp.get)
        w.append(f"| GEMM >= 0.9x OpenBLAS on the MLP shapes ({THREADS} threads) | {sum(v >= 0.9 for v in mlp.values())} "
                 f"of {len(mlp)} shapes; lowest {mlp[worst]:.2f}x ({worst}) | {yes(mlp[worst] >= 0.9)} |")
    if big:
        w.append(f"| GEMM >= 0.85x OpenBLAS at 1024 and 2048 | {', '.join(f'{v:.2f}x' for v in big.values())} | "
                 f"{yes(min(big.values()) >= 0.85)} |")
    if torch_ok:
        for batch, goal in ((1, 10), (32, 3), (64, 2), (256, 1.3)):
            r = [x for x in rows if x["batch"] == batch][0]
            sp = r["torch_epoch"] / r["ours_epoch"]
            w.append(f"| epoch >= {goal}x faster than PyTorch at batch {batch} | {sp:.2f}x | {yes(sp >= goal)} |")
        w.append(f"| inference at batch 1024 >= PyTorch | {inf['ips'] / inf['tips']:.2f}x | {yes(inf['ips'] >= inf['tips'])} |")
        mem_ratio = med([r["ours_mem"] / r["torch_mem"] for r in rows])
        w.append(f"| training peak memory <= 0.5x PyTorch | {mem_ratio:.2f}x | {yes(mem_ratio <= 0.5)} |")
    w.append(f"| inference at batch 1 under 20 us per image | {inf['lat']:.2f} us | {yes(inf['lat'] < 20)} |")
    if best_blas:
        r256 = [r for r in rows if r["batch"] == 256][0]
        frac = MLP_FLOPS / r256["ours_epoch"] / 1e9 / best_blas
        w.append(f"| batch-256 training >= 60% of OpenBLAS's best GFLOP/s | {100 * frac:.0f}% | {yes(frac >= 0.6)} |")
    h[T_OLD] = "\n".join(w)


# ---------------------------------------------------------------- per sample

def per_sample(torch_ok):
    """Batch-1 training samples/s: ours (SGD and Adam, 1 and THREADS threads),
    FANN's fann_train (1 thread) and PyTorch (Adam, 1 and THREADS threads)."""
    fann = os.path.join(ROOT, "build/bench/fann_train")
    cfg = {}   # name: [(mode, cmd, env)], the faster mode kept
    for opt in ("sgd", "adam"):
        for t in sorted({1, THREADS}):
            cfg[f"ours {opt} {t}"] = [(m, ours_mlp(1, t, PS_SAMPLES, 0, opt), dict(e, OMP_NUM_THREADS=str(t)))
                                      for m, e in modes(t)]
    if os.path.exists(fann):
        cfg["fann sgd 1"] = [("-", ["build/bench/fann_train", DATA, str(PS_SAMPLES)], {})]
    if torch_ok:
        for t in sorted({1, THREADS}):
            cfg[f"torch adam {t}"] = [(m, torch_mlp(1, t, PS_SAMPLES, 1), e) for m, e in modes(t)]
    sps = {(k, m): [] for k, v in cfg.items() for m, _, _ in v}
    acc = {(k, m): [] for k, v in cfg.items() for m, _, _ in v}
    for _ in range(RUNS):
        for k, variants in cfg.items():
            for m, cmd, env in variants:
                f, _ = run(cmd, env)
                sps[(k, m)].append(float(f["sps"]))
                acc[(k, m)].append(float(f["acc"]))
    res, accs = {}, {}
    for k, variants in cfg.items():
        m = max((v[0] for v in variants), key=lambda m: med(sps[(k, m)]))
        res[k], accs[k] = med(sps[(k, m)]), med(acc[(k, m)])
    print(res, flush=True)
    return res, accs


def best_of(ps, prefix):
    """(samples/s, threads) of the fastest thread count of ps's prefix rows."""
    keys = [k for k in ps if k.startswith(prefix + " ")]
    if not keys:
        return float("nan"), 0
    k = max(keys, key=lambda k: ps[k])
    return ps[k], int(k.split()[-1])


def per_sample_part(h, ps, accs):
    names = {"ours": "ours (mynn)", "fann": "FANN 2.2 `fann_train`", "torch": "PyTorch"}
    w = [f"Batch 1, {PS_SAMPLES:,} Fashion-MNIST samples timed (training only), median of {RUNS}. Commands: "
         f"`build/bench/bench_mlp {DATA} 1 THREADS {PS_SAMPLES} 0 sgd|adam` (SGD lr 0.01, no momentum; Adam lr 1e-3), "
         f"`build/bench/fann_train {DATA} {PS_SAMPLES}` (bench/fann_train.c against Debian's libfann-dev: "
         "`fann_train` per sample, FANN's incremental backpropagation, lr 0.05, no momentum; FANN 2.2 has no ReLU "
         "or softmax, so its hidden layers are FANN_LINEAR_PIECE, x clipped to [0, 1], and its outputs sigmoid "
         "with MSE: the same 235,146 weights and the same work per sample), "
         f"`/usr/bin/python3 bench/torch_mlp.py --batch 1 --threads THREADS --samples {PS_SAMPLES}`. "
         "At more than 1 thread each runs with both OpenMP wait policies, the faster kept. Test accuracy after "
         "the timed samples shows each one learns.\n",
         "| engine | optimizer | threads | samples/s | µs per sample | test acc |", "|---|---|---:|---:|---:|---:|"]
    for k, v in ps.items():
        eng, opt, t = k.split()
        w.append(f"| {names[eng]} | {'SGD' if opt == 'sgd' else 'Adam'} | {t} | {v:,.0f} | {1e6 / v:.1f} | {accs[k]:.4f} |")
    sgd, _ = best_of(ps, "ours sgd")
    ad, adt = best_of(ps, "ours adam")
    if "fann sgd 1" in ps:
        w.append(f"\nOurs SGD at 1 thread against FANN: {ps['ours sgd 1'] / ps['fann sgd 1']:.2f}x.")
    if "torch adam 1" in ps:
        ta, tat = best_of(ps, "torch adam")
        w.append(f"Ours Adam ({adt} thread{'s' if adt > 1 else ''}) against PyTorch's faster "
                 f"({tat} thread{'s' if tat > 1 else ''}): {ad / ta:.2f}x.")
    h[T_PS] = "\n".join(w)


# ---------------------------------------------------------------- bandwidth

def stream(threads, nbytes):
    f, _ = run(["build/bench/stream", str(threads), str(int(nbytes)), STREAM_SECONDS],
               {"OMP_NUM_THREADS": str(threads), "OMP_PROC_BIND": "true"})
    return float(f["copy_gbs"]), float(f["triad_gbs"])


def step_bytes():
    """Bytes one batch-1 step moves as the library does it, the fused
    per-sample step (src/kernels/rank1.c: the forward reads W, one pass reads
    and writes W and, for Adam, m and v; no gradient array), and as an
    unfused step would (the gradient written, W re-read for dX, then an
    update pass): {optimizer: (as_implemented, unfused, footprint)}."""
    fwd, dw, dx = 4 * P, 4 * P, 4 * P_DX
    return {"sgd": (12 * P, fwd + dw + dx + 12 * P, 4 * P),
            "adam": (28 * P, fwd + dw + dx + 28 * P, 12 * P)}


def bandwidth(have):
    """Copy/triad GB/s at the sizes that matter: inside L2, the SGD and Adam
    steps' footprints, inside L3, and far beyond it (memory)."""
    if not have:
        return {}
    l2, l3 = cache_bytes(2) or (1 << 20), cache_bytes(3) or (32 << 20)
    big = min(max(4 * l3, 256 << 20), mem_available() // 4)
    sb = step_bytes()
    sizes = {"L2 (half its size)": l2 // 2, "SGD step's footprint": sb["sgd"][2],
             "Adam step's footprint": sb["adam"][2], "L3 (16x L2)": 16 * l2, "memory (4x L3)": big}
    res = {}
    for name, n in sizes.items():
        for t in sorted({1, THREADS}):
            c, tr = [], []
            for _ in range(RUNS):
                a, b = stream(t, n)
                c.append(a); tr.append(b)
            res[(name, t)] = (n, max(c), max(tr))
    print(res, flush=True)
    return res


def level_of(nbytes):
    l2, l3 = cache_bytes(2), cache_bytes(3)
    if l2 and nbytes <= l2:
        return "L2"
    if l3 and nbytes <= l3:
        return "L3"
    return "memory"


def bandwidth_part(h, bw, ps):
    l2, l3 = cache_bytes(2), cache_bytes(3)
    w = [f"`build/bench/stream THREADS BYTES {STREAM_SECONDS}` (bench/stream.c): a copy `a[i] = b[i]` over two float "
         "arrays of BYTES/2 each and a triad `a[i] = b[i] + 3 c[i]` over three, OpenMP static split, threads "
         f"bound; the best of {RUNS} runs of repetitions over {STREAM_SECONDS} s (STREAM's rule); bytes counted once "
         f"per array read or written. Caches (sysfs, per core unless shared): L2 {l2 / 2 ** 20:.1f} MiB, "
         f"L3 {l3 / 2 ** 20:.0f} MiB.\n",
         "| working set | bytes (copy) | threads | copy GB/s | triad GB/s |", "|---|---:|---:|---:|---:|"]
    for (name, t), (n, c, tr) in bw.items():
        w.append(f"| {name} | {n / 1e6:.2f} MB | {t} | {c:.1f} | {tr:.1f} |")
    sb = step_bytes()
    w.append(f"\nWhat one batch-1 step of the 784-256-128-10 MLP ({P:,} parameters, {4 * P / 1e6:.2f} MB of floats) "
             "moves as the library does it (the fused per-sample step, src/kernels/rank1.c): the forward reads the "
             "weights (4P bytes), then one pass per layer reads and writes them (8P) while it forms dX and the "
             "update, with no gradient array: SGD 12P; Adam also reads and writes m and v: 28P. Activations "
             "(1,178 floats) and the input row (784) are a few KB and not counted. Unfused (the gradient written, "
             f"the weights of the two upper layers read again for dX, 4 × {P_DX:,}, then an update pass over weights "
             "and gradient) the same step moves 20P + that (SGD) or 36P + that (Adam). The footprint (distinct bytes "
             "touched: the weights, plus m and v for Adam) decides which cache level the step streams from. "
             "Achieved GB/s = bytes per step × samples/s.\n")
    w.append("| optimizer | bytes per step | unfused | footprint | streams from | samples/s (1 thread) | "
             "achieved GB/s | as unfused: GB/s | copy GB/s at the footprint (1 thread) | of it | of memory copy (1 thread) |")
    w.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    res = {}
    for opt in ("sgd", "adam"):
        moved, unfused, foot = sb[opt]
        sps = ps.get(f"ours {opt} 1", float("nan"))
        got = moved * sps / 1e9
        key = "SGD step's footprint" if opt == "sgd" else "Adam step's footprint"
        ceil = bw.get((key, 1), (0, float("nan"), 0))[1]
        memc = bw.get(("memory (4x L3)", 1), (0, float("nan"), 0))[1]
        res[opt] = (got, ceil, moved)
        w.append(f"| {opt.upper() if opt == 'sgd' else 'Adam'} | {moved / 1e6:.2f} MB | {unfused / 1e6:.2f} MB | "
                 f"{foot / 1e6:.2f} MB | {level_of(foot)} | {sps:,.0f} | {got:.1f} | {unfused * sps / 1e9:.1f} | {ceil:.1f} | "
                 f"{100 * got / ceil:.0f}% | {100 * got / memc:.0f}% |")
    h[T_BW] = "\n".join(w)
    return res


# ---------------------------------------------------------------- threads

def scaling():
    """Epoch seconds at batch 64 and 256, 1 and THREADS threads, interleaved."""
    t = {(b, n, m): [] for b in (64, 256) for n in (1, THREADS) for m, _ in modes(n)}
    for _ in range(RUNS):
        for b in (64, 256):
            for n in (1, THREADS):
                for m, e in modes(n):
                    f, _ = run(ours_mlp(b, n, MLP_SAMPLES, 0), dict(e, OMP_NUM_THREADS=str(n)))
                    t[(b, n, m)].append(float(f["epoch_s"]))
    res = {}
    for (b, n, m), v in t.items():
        res[(b, n)] = min(res.get((b, n), float("inf")), med(v))
    print(res, flush=True)
    return res


def scaling_part(h, sc):
    w = [f"`build/bench/bench_mlp {DATA} BATCH THREADS {MLP_SAMPLES} 0` (Adam), 1 and {THREADS} threads "
         f"interleaved (at {THREADS}: the faster of the default and the passive OpenMP wait policy), median of {RUNS}; "
         "s per 60,000-sample epoch.\n",
         f"| batch | 1 thread s/epoch | {THREADS} threads s/epoch | speed-up |", "|---:|---:|---:|---:|"]
    for b in (64, 256):
        w.append(f"| {b} | {sc[(b, 1)]:.3f} | {sc[(b, THREADS)]:.3f} | {sc[(b, 1)] / sc[(b, THREADS)]:.2f}x |")
    h[T_SCALE] = "\n".join(w)


# ---------------------------------------------------------------- targets

def target_row(w, name, measured, goal, higher=True, unit="x"):
    """measured against goal; 'short by' says by what factor it misses."""
    if measured != measured:   # NaN: not measured
        w.append(f"| {name} | not measured | - | - |")
        return
    ok = measured >= goal if higher else measured < goal
    short = "-" if ok else f"{(goal / measured if higher else measured / goal):.2f}x"
    w.append(f"| {name} | {measured:.{0 if unit == '%' else 2}f}{unit} | {yes(ok)} | {short} |")


def issue11_part(h, rows, inf, ps, sc, bwres, best_ours, torch_ok):
    w = [f"{THREADS} threads unless the row says otherwise; ratios from this run. \"Short by\": the factor the "
         "measured figure must still improve by.\n",
         "| target | measured | met | short by |", "|---|---|:-:|---:|"]
    by = {r["batch"]: r for r in rows}
    if torch_ok:
        for b, goal in ((64, 4), (256, 2), (32, 5)):
            target_row(w, f"batch {b} epoch >= {goal}x faster than PyTorch", by[b]["torch_epoch"] / by[b]["ours_epoch"], goal)
    if best_ours:
        frac = 100 * MLP_FLOPS / by[256]["ours_epoch"] / 1e9 / best_ours
        target_row(w, f"batch 256 rate >= 60% of our GEMM's best ({best_ours:.0f} GFLOP/s)", frac, 60, unit="%")
    if "fann sgd 1" in ps:
        target_row(w, "batch 1, SGD, 1 thread >= 5x FANN's per-sample training", ps["ours sgd 1"] / ps["fann sgd 1"], 5)
    if torch_ok:
        ad, adt = best_of(ps, "ours adam")
        ta, tat = best_of(ps, "torch adam")
        target_row(w, f"batch 1, Adam >= 10x PyTorch's per-sample training (ours {adt} thr., PyTorch {tat} thr.)",
                   ad / ta, 10)
    for b in (64, 256):
        target_row(w, f"batch {b}: {THREADS} threads >= 1.7x 1 thread", sc[(b, 1)] / sc[(b, THREADS)], 1.7)
    if torch_ok:
        target_row(w, "inference at batch 1024 >= 1.2x PyTorch's images/s", inf["ips"] / inf["tips"], 1.2)
    target_row(w, f"inference at batch 1 under 10 µs ({THREADS} threads; 1 thread: {inf['lat1']:.2f} µs)",
               inf["lat"], 10, higher=False, unit=" µs")
    for opt, (got, ceil, moved) in bwres.items():
        w.append(f"| per-sample {opt.upper() if opt == 'sgd' else 'Adam'} step at memory speed (stated: {moved / 1e6:.2f} MB "
                 f"per step) | {got:.1f} GB/s, {100 * got / ceil:.0f}% of the copy at its footprint | - | - |")
    h[T_I11] = "\n".join(w)


# ---------------------------------------------------------------- profile

def perf_top(cmd, env, n=7):
    """A `perf record -e cpu-clock` of cmd: (share of the samples outside the
    training, the top n functions of the training as shares of its samples).
    Training: the program's own functions but the data set's loading, and
    libgomp; outside it: zlib's inflate, libc, the kernel (page faults of the
    loading), the loader."""
    data = os.path.join(ROOT, "build", "bench", "perf.data")
    e = dict(os.environ, **env)
    p = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-o", data, "--"] + cmd,
                       capture_output=True, text=True, cwd=ROOT, env=e)
    if p.returncode != 0:
        return None
    r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "dso,symbol", "-q"],
                       capture_output=True, text=True, cwd=ROOT)
    prog, share, outside = os.path.basename(cmd[0]), {}, 0.0
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(\S+)", line)
        if not m:
            continue
        pc, dso, sym = float(m.group(1)), m.group(2), m.group(3)
        if dso == prog and not re.match(r"mn_(load|dataset|gz|read)|main$", sym):
            share[sym] = share.get(sym, 0.0) + pc
        elif dso.startswith("libgomp"):
            share["libgomp"] = share.get("libgomp", 0.0) + pc
        else:
            outside += pc
    total = sum(share.values()) or 1.0
    return outside, sorted(((100 * v / total, k) for k, v in share.items()), reverse=True)[:n]


def perf_stat(cmd, env):
    """perf stat's software and (where the machine exposes them) hardware counters."""
    e = dict(os.environ, **env)
    p = subprocess.run(["perf", "stat", "-x", ",", "-e",
                        "task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions", "--"] + cmd,
                       capture_output=True, text=True, cwd=ROOT, env=e)
    out = {}
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) >= 3 and f[2]:
            out[f[2].split(":")[0]] = f[0]
    return out, dict(re.findall(r"(\w+)=([\w.\-]+)", p.stdout))


def callgrind_ir(cmd, env):
    """Instructions executed inside mynn_fit (callgrind; valgrind has no
    AVX-512, so the library runs its AVX2 kernels there)."""
    out = os.path.join(ROOT, "build", "bench", "callgrind.out")
    e = dict(os.environ, **env)
    p = subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=mynn_fit", f"--callgrind-out-file={out}"] + cmd,
                       capture_output=True, text=True, cwd=ROOT, env=e)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if not m:
        return None, []
    a = subprocess.run(["callgrind_annotate", "--auto=no", out], capture_output=True, text=True)
    share = {}   # a function inlined from several files has a line per file
    for line in a.stdout.splitlines():
        mm = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S+)", line)
        if mm and "PROGRAM TOTALS" not in line:
            fn = mm.group(3).split(":")[-1]
            share[fn] = share.get(fn, 0.0) + float(mm.group(2))
    return int(m.group(1)), sorted(((v, k) for k, v in share.items()), reverse=True)[:6]


def profile_part(h, sc, ps, bwres, torch_ok, bw=None, inf=None):
    if not shutil.which("perf"):
        h[T_PROF] = "perf is not installed: no profile."
        return
    w = ["What the missed targets spend their time on (`perf record -e cpu-clock` of the whole process; the "
         "shares are of the samples in the training, mynn's functions and libgomp: the data set's loading is left "
         "out; libgomp's share at 2 threads is mostly threads waiting at a barrier).\n"]
    cases = [("batch 64 epoch, Adam, 1 thread", ours_mlp(64, 1, MLP_SAMPLES, 0), 1),
             (f"batch 64 epoch, Adam, {THREADS} threads", ours_mlp(64, THREADS, MLP_SAMPLES, 0), THREADS),
             ("batch 1, SGD, 1 thread", ours_mlp(1, 1, PS_SAMPLES, 0, "sgd"), 1),
             ("batch 1, Adam, 1 thread", ours_mlp(1, 1, PS_SAMPLES, 0, "adam"), 1)]
    for name, cmd, t in (cases if THREADS > 1 else cases[:1] + cases[2:]):
        top = perf_top(cmd, {"OMP_NUM_THREADS": str(t)})
        if top is None:
            w.append(f"- {name}: perf record not permitted here.")
            continue
        outside, top = top
        w.append(f"- {name} (`{' '.join(cmd)}`; {outside:.0f}% of the samples outside the training): "
                 + ", ".join(f"{s} {pc:.0f}%" for pc, s in top))
    st, figs = perf_stat(ours_mlp(64, 1, MLP_SAMPLES, 0), {"OMP_NUM_THREADS": "1"})
    hw = st.get("cycles", "<not supported>")
    w.append(f"\n`perf stat` of the batch-64 1-thread epoch (`bench_mlp ... 64 1 {MLP_SAMPLES} 0`): task-clock "
             f"{st.get('task-clock', '?')} ms for the whole process, of which {float(figs.get('epoch_s', 'nan')) * MLP_SAMPLES / EPOCH:.2f} s "
             f"training; {st.get('context-switches', '?')} context switches, {st.get('cpu-migrations', '?')} migrations; "
             f"cycles {hw}, instructions {st.get('instructions', '<not supported>')}"
             + (" (this virtual machine exposes no hardware counters)." if "not" in hw else "."))
    if not QUICK and shutil.which("valgrind"):
        n = 1280
        ir, top = callgrind_ir(ours_mlp(64, 1, n, 0), {"OMP_NUM_THREADS": "1"})
        if ir:
            e = dict(os.environ, OMP_NUM_THREADS="1", MYNN_GEMM="avx2")
            f, _ = run(ours_mlp(64, 1, MLP_SAMPLES, 0), e)
            cyc = float(f["epoch_s"]) / EPOCH * cpu_mhz() * 1e6
            ipc = ir / n / cyc if cyc else float("nan")
            w.append(f"\n`valgrind --tool=callgrind --toggle-collect=mynn_fit` of {n} samples at batch 64, 1 thread: "
                     f"{ir / n:,.0f} instructions per training sample inside `mynn_fit` with the AVX2 kernels (valgrind "
                     f"has no AVX-512); the same AVX2 run natively (`MYNN_GEMM=avx2`) takes {cyc:,.0f} cycles per "
                     f"sample at the nominal {cpu_mhz():.0f} MHz: IPC about {ipc:.2f}. Where the instructions go: "
                     + ", ".join(f"{s} {pc:.1f}%" for pc, s in top) + ".")
    l2c = {t: bw[("L2 (half its size)", t)][1] for t in (1, THREADS) if ("L2 (half its size)", t) in bw}
    if l2c and inf:
        w.append(f"\nInference at batch 1 reads the {4 * P / 1e6:.2f} MB of weights once: at the L2 copy rate (a copy "
                 "also writes, so a read-only stream can beat it) that is "
                 + ", ".join(f"{4 * P / (c * 1e9) * 1e6:.1f} µs at {t} thread{'s' if t > 1 else ''}" for t, c in l2c.items())
                 + f" (measured: {inf['lat1']:.2f} µs at 1, {inf['lat']:.2f} µs at {THREADS}).")
    for opt, (got, ceil, moved) in bwres.items():
        need = None
        if opt == "sgd" and "fann sgd 1" in ps:
            need = 5 * ps["fann sgd 1"]
        if opt == "adam" and torch_ok and "torch adam 1" in ps:
            need = 10 * best_of(ps, "torch adam")[0]
        if need:
            w.append(f"\n{'SGD' if opt == 'sgd' else 'Adam'} at batch 1: the target needs {need:,.0f} samples/s, i.e. "
                     f"{moved * need / 1e9:.1f} GB/s for the {moved / 1e6:.2f} MB a step moves now "
                     f"(measured ceiling at its footprint, 1 thread: {ceil:.1f} GB/s); achieved {got:.1f} GB/s.")
    h[T_PROF] = "\n".join(w)


def cli_peak_memory(h):
    vals = []
    for _ in range(RUNS):
        _, mem = run(["build/mynn", "train", DATA, "--layers", "256:relu,128:relu,10:softmax", "--epochs", "1",
                      "--batch", "64", "--threads", str(THREADS), "--quiet"])
        vals.append(mem)
    h[T_MEM] = (f"`/usr/bin/time -v build/mynn train {DATA} --layers 256:relu,128:relu,10:softmax --epochs 1 "
                f"--batch 64 --threads {THREADS}`: maximum resident set size {med(vals):.0f} MiB "
                "(the 60,000 + 10,000 images as floats are 220 MiB of it).")


# ---------------------------------------------------------------- CNN

# Training FLOPs per sample of the benchmark CNN: forward and dW of both
# convs, dX of the second (the first layer's is never needed), and the
# three products of each dense layer (2 FLOPs per multiply-add).
CNN_MACS = 2 * 32 * 9 * 784 + 3 * 64 * 288 * 196 + 3 * 3136 * 128 + 3 * 128 * 10
CNN_FLOPS_EPOCH = 2 * 60000 * CNN_MACS


def cnn_row(torch_ok):
    ours = ["build/bench/bench_cnn", DATA, "64", str(THREADS), str(CNN_SAMPLES), "1024"]
    tcmd = [TORCH, "bench/torch_cnn.py", "--batch", "64", "--threads", str(THREADS),
            "--samples", str(CNN_SAMPLES), "--infer-batch", "1024"]
    o = {"default": ([], [], []), "passive": ([], [], [])}
    t = {"default": ([], [], []), "passive": ([], [], [])}
    for _ in range(RUNS):
        for mode, env in (("default", {}), ("passive", {"OMP_WAIT_POLICY": "PASSIVE"})):
            f, mem = run(ours, dict(env, OMP_NUM_THREADS=str(THREADS)))
            o[mode][0].append(float(f["epoch_s"])); o[mode][1].append(float(f["infer_ips"]))
            o[mode][2].append(mem)
        if torch_ok:
            for mode, env in (("default", {}), ("passive", {"OMP_WAIT_POLICY": "PASSIVE"})):
                f, mem = run(tcmd, env)
                t[mode][0].append(float(f["epoch_s"])); t[mode][1].append(float(f["infer_ips"]))
                t[mode][2].append(mem)
    mine = min(o, key=lambda k: med(o[k][0]))
    row = {"ours_mode": mine, "ours_epoch": med(o[mine][0]),
           "ours_ips": max(med(o["default"][1]), med(o["passive"][1])), "ours_mem": med(o[mine][2])}
    if torch_ok:
        best = min(t, key=lambda k: med(t[k][0]))
        row.update(torch_mode=best, torch_epoch=med(t[best][0]),
                   torch_ips=max(med(t["default"][1]), med(t["passive"][1])), torch_mem=med(t[best][2]))
    print(row, flush=True)
    return row


def cnn_part(h, torch_ok, best_ours, dated=False):
    r = cnn_row(torch_ok)
    w = []
    if dated:
        w.append(f"Measured on {time.strftime('%Y-%m-%d')} by `CNN_ONLY=1 make bench`.\n")
    w.append("Conv(1→32, 3, pad 1)-ReLU-MaxPool2-Conv(32→64, 3, pad 1)-ReLU-MaxPool2-Flatten-Dense(3136→128)-ReLU-"
             "Dense(128→10), Adam, batch 64. "
             f"Commands: `build/bench/bench_cnn {DATA} 64 {THREADS} {CNN_SAMPLES} 1024` vs "
             f"`/usr/bin/python3 bench/torch_cnn.py --batch 64 --threads {THREADS} --samples {CNN_SAMPLES}` "
             f"(each with its default OpenMP settings and with OMP_WAIT_POLICY=PASSIVE, the faster kept: on a "
             f"machine with other load, spinning OpenMP threads wait for descheduled ones); "
             f"{CNN_SAMPLES} samples timed, scaled to 60,000.\n")
    rate = CNN_FLOPS_EPOCH / r["ours_epoch"] / 1e9
    w.append("| figure | ours | PyTorch | ratio |")
    w.append("|---|---:|---:|---:|")
    if torch_ok:
        w.append(f"| training s/epoch | {r['ours_epoch']:.2f} ({r['ours_mode']}) | {r['torch_epoch']:.2f} ({r['torch_mode']}) | "
                 f"{r['torch_epoch'] / r['ours_epoch']:.2f}x |")
        w.append(f"| inference images/s, batch 1024 | {r['ours_ips']:,.0f} | {r['torch_ips']:,.0f} | "
                 f"{r['ours_ips'] / r['torch_ips']:.2f}x |")
        w.append(f"| peak memory MiB | {r['ours_mem']:.0f} | {r['torch_mem']:.0f} | {r['ours_mem'] / r['torch_mem']:.2f}x |")
    else:
        w.append(f"| training s/epoch | {r['ours_epoch']:.2f} | - | - |")
        w.append(f"| inference images/s, batch 1024 | {r['ours_ips']:,.0f} | - | - |")
        w.append(f"| peak memory MiB | {r['ours_mem']:.0f} | - | - |")
    w.append(f"\nOne training epoch is {CNN_FLOPS_EPOCH / 1e12:.2f} TFLOP: ours runs at {rate:.0f} GFLOP/s"
             + (f", {100 * rate / best_ours:.0f}% of our GEMM's best measured {best_ours:.0f} GFLOP/s above." if best_ours else ".")
             + "\n")
    w.append("| target (issue 8) | measured | met |")
    w.append("|---|---|:-:|")
    if torch_ok:
        sp = r["torch_epoch"] / r["ours_epoch"]
        ip = r["ours_ips"] / r["torch_ips"]
        w.append(f"| training epoch >= 3x faster than PyTorch | {sp:.2f}x | {yes(sp >= 3)} |")
        w.append(f"| inference >= 2x PyTorch's images/s | {ip:.2f}x | {yes(ip >= 2)} |")
    if best_ours:
        w.append(f"| epoch GFLOP/s >= 60% of our GEMM's best | {100 * rate / best_ours:.0f}% | {yes(rate >= 0.6 * best_ours)} |")
    h[T_CNN] = "\n".join(w)


# ---------------------------------------------------------------- ResNet

# The network of `make demo-resnet` (examples/demo_resnet.sh), and
# bench/torch_cnn.py's resnet(): a stem conv, max pooling, one BasicBlock
# per width (the first at stride 1, the others at stride 2 with a 1x1
# projection shortcut), global average pooling, a dense layer.
RES_WIDTHS = (32, 64, 128)


def resnet_spec(widths=RES_WIDTHS):
    w0 = widths[0]
    s = [f"conv:{w0}:3:pad=same,batchnorm,relu,maxpool:2"]
    cin = w0
    for i, w in enumerate(widths):
        if i == 0 and cin == w:
            s.append(f"res(conv:{w}:3:pad=same,batchnorm,relu,conv:{w}:3:pad=same,batchnorm):relu")
        else:
            s.append(f"res(conv:{w}:3:stride=2:pad=1,batchnorm,relu,conv:{w}:3:pad=same,batchnorm"
                     f" | conv:{w}:1:stride=2,batchnorm):relu")
        cin = w
    return ",".join(s + ["gap", "10:softmax"])


def resnet_macs(widths=RES_WIDTHS):
    """Forward multiply-adds per sample (convolutions and the dense layer)."""
    side, macs, cin = 28, 784 * widths[0] * 9, widths[0]
    side //= 2                                    # the max pooling
    for i, w in enumerate(widths):
        if i:
            side = (side + 2 - 3) // 2 + 1
            macs += side * side * w * (cin * 9 + w * 9 + cin)   # conv s2, conv, 1x1 projection
        else:
            macs += side * side * w * (cin * 9 + w * 9)
        cin = w
    return macs + cin * 10


# Training: forward, dW and dX of every product (the stem's dX is never
# needed, a small share), 2 FLOPs per multiply-add.
def resnet_flops_epoch():
    return 3 * 2 * EPOCH * resnet_macs()


# The ResNet's inference batch: a net built for 1024 samples would hold
# its training buffers too, above the library's 2^28 floats in one buffer.
RES_INFER = 256


def resnet_row(torch_ok):
    spec = resnet_spec()
    ours = ["build/bench/bench_cnn", DATA, "64", str(THREADS), str(CNN_SAMPLES), str(RES_INFER), spec]
    tcmd = [TORCH, "bench/torch_cnn.py", "--model", "resnet", "--batch", "64", "--threads", str(THREADS),
            "--samples", str(CNN_SAMPLES), "--infer-batch", str(RES_INFER)]
    prev = os.environ.get("PREV_BENCH_CNN")       # the straight-line release's bench_cnn, for the graph's cost
    plain = ["build/bench/bench_cnn", DATA, "64", str(THREADS), str(CNN_SAMPLES), "1024"]
    o, t, pl, pv = ([], [], []), ([], [], []), [], []
    for _ in range(RUNS):
        f, mem = run(ours, {"OMP_NUM_THREADS": str(THREADS)})
        o[0].append(float(f["epoch_s"])); o[1].append(float(f["infer_ips"])); o[2].append(mem)
        if torch_ok:
            f, mem = run(tcmd, {})
            t[0].append(float(f["epoch_s"])); t[1].append(float(f["infer_ips"])); t[2].append(mem)
        if prev:
            pl.append(float(run(plain, {"OMP_NUM_THREADS": str(THREADS)})[0]["epoch_s"]))
            pv.append(float(run([prev] + plain[1:], {"OMP_NUM_THREADS": str(THREADS)})[0]["epoch_s"]))
    row = {"spec": spec, "ours_epoch": med(o[0]), "ours_ips": med(o[1]), "ours_mem": med(o[2])}
    if torch_ok:
        row.update(torch_epoch=med(t[0]), torch_ips=med(t[1]), torch_mem=med(t[2]))
    if prev:
        row.update(plain_epoch=med(pl), prev_epoch=med(pv), prev=prev)
    print(row, flush=True)
    return row


def resnet_part(h, torch_ok, best_ours, dated=False):
    r = resnet_row(torch_ok)
    w = []
    if dated:
        w.append(f"Measured on {time.strftime('%Y-%m-%d')} by `RESNET_ONLY=1 make bench`.\n")
    w.append(f"The ResNet of `make demo-resnet` (`{r['spec']}`; in PyTorch `bench/torch_cnn.py --model resnet`: "
             "the same torchvision-style BasicBlocks), Adam, batch 64, "
             f"{THREADS} threads. Commands: `build/bench/bench_cnn {DATA} 64 {THREADS} {CNN_SAMPLES} {RES_INFER} SPEC` vs "
             f"`/usr/bin/python3 bench/torch_cnn.py --model resnet --batch 64 --threads {THREADS} --samples {CNN_SAMPLES} --infer-batch {RES_INFER}`; "
             f"{CNN_SAMPLES} samples timed, scaled to 60,000; median of {RUNS}, interleaved.\n")
    rate = resnet_flops_epoch() / r["ours_epoch"] / 1e9
    w.append("| figure | ours | PyTorch | ratio |")
    w.append("|---|---:|---:|---:|")
    if torch_ok:
        w.append(f"| training s/epoch | {r['ours_epoch']:.2f} | {r['torch_epoch']:.2f} | {r['torch_epoch'] / r['ours_epoch']:.2f}x |")
        w.append(f"| inference images/s, batch {RES_INFER} | {r['ours_ips']:,.0f} | {r['torch_ips']:,.0f} | "
                 f"{r['ours_ips'] / r['torch_ips']:.2f}x |")
        w.append(f"| peak memory MiB | {r['ours_mem']:.0f} | {r['torch_mem']:.0f} | {r['ours_mem'] / r['torch_mem']:.2f}x |")
    else:
        w.append(f"| training s/epoch | {r['ours_epoch']:.2f} | - | - |")
        w.append(f"| inference images/s, batch {RES_INFER} | {r['ours_ips']:,.0f} | - | - |")
        w.append(f"| peak memory MiB | {r['ours_mem']:.0f} | - | - |")
    w.append(f"\nOne training epoch is about {resnet_flops_epoch() / 1e12:.2f} TFLOP (forward, dW and dX of every "
             f"product): ours runs at {rate:.0f} GFLOP/s"
             + (f", {100 * rate / best_ours:.0f}% of our GEMM's best measured {best_ours:.0f} GFLOP/s." if best_ours else ".")
             + "\n")
    if "prev_epoch" in r:
        cost = r["plain_epoch"] / r["prev_epoch"] - 1
        w.append(f"The graph's cost on a net without branches: the CNN above trained by this build against the "
                 f"last straight-line release (`{r['prev']}`, the same bench_cnn.c), interleaved: "
                 f"{r['plain_epoch']:.2f} s against {r['prev_epoch']:.2f} s per epoch, {100 * cost:+.1f}%.\n")
    w.append("| target (issue 17) | measured | met |")
    w.append("|---|---|:-:|")
    if torch_ok:
        sp, ip = r["torch_epoch"] / r["ours_epoch"], r["ours_ips"] / r["torch_ips"]
        w.append(f"| training >= 1.5x PyTorch | {sp:.2f}x | {yes(sp >= 1.5)} |")
        w.append(f"| inference >= 1.5x PyTorch | {ip:.2f}x | {yes(ip >= 1.5)} |")
    if "prev_epoch" in r:
        w.append(f"| the graph costs <= 3% on a plain net | {100 * cost:+.1f}% | {yes(cost <= 0.03)} |")
    h[T_RES] = "\n".join(w)


# ---------------------------------------------------------------- the file

def split(text, level):
    """(text before the first heading of this level, [(title, body)])."""
    mark = "#" * level + " "
    pre, parts = [], []
    for line in text.split("\n"):
        if line.startswith(mark):
            parts.append([line[len(mark):].strip(), []])
        elif parts:
            parts[-1][1].append(line)
        else:
            pre.append(line)
    return "\n".join(pre).strip(), [(t, "\n".join(b).strip()) for t, b in parts]


def merge_parts(old, new):
    """The parts of new in its order, each old part new does not regenerate
    kept after the regenerated part it followed (or first)."""
    after, anchor = {None: []}, None
    for t, b in old:
        if t in new:
            anchor = t
        else:
            after.setdefault(anchor, []).append((t, b))
    out = list(after[None])
    for t, b in new.items():
        out.append((t, b))
        out.extend(after.get(t, []))
    return out


def render(pre, parts, level):
    mark = "#" * level + " "
    chunks = [pre] if pre else []
    chunks += [f"{mark}{t}\n\n{b}" if b else f"{mark}{t}" for t, b in parts]
    return "\n\n".join(chunks)


PREAMBLE = ("# Benchmark results\n\n"
            "Written by `make bench` (bench/run.sh, bench/run.py; how to run it: docs/bench.md): one section per "
            "CPU measured, each replaced only by a run on that CPU; `make bench-mpi` writes the last section.")


def write_results(cpu_intro, parts):
    """Splices this CPU's parts into the results file (read from OUT if it
    exists, else from bench/RESULTS.md), atomically."""
    src = OUT if os.path.exists(OUT) else BASE
    old = open(src).read() if os.path.exists(src) else ""
    _, secs = split(old, 2)
    title = f"CPU: {cpu_model()}"
    mine = [b for t, b in secs if t == title]
    pre3, old3 = split(mine[0], 3) if mine else ("", [])
    body = render(cpu_intro if cpu_intro is not None else pre3, merge_parts(old3, parts), 3)
    if mine:
        secs = [(t, body if t == title else b) for t, b in secs]
    else:
        at = next((i for i, (t, _) in enumerate(secs) if t == MPI_SECTION), len(secs))
        secs.insert(at, (title, body))
    text = render(PREAMBLE, secs, 2).rstrip("\n") + "\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(OUT), prefix=".results.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, OUT)
    return body


def intro(load_before):
    l2, l3 = cache_bytes(2), cache_bytes(3)
    env = "".join(f"{k}={os.environ[k]} " for k in ("BENCH_QUICK", "RUNS", "THREADS", "CNN", "DATA") if k in os.environ)
    s = (f"Measured on {time.strftime('%Y-%m-%d')} by `{env}make bench`: "
         f"{os.cpu_count()} cores online (L2 {l2 / 2 ** 20:.1f} MiB per core, L3 {l3 / 2 ** 20:.0f} MiB), "
         f"{cpu_mhz():.0f} MHz as /proc/cpuinfo says; threads used: {THREADS} unless a table says otherwise. "
         f"Load average before the run: {load_before}, after: {loadavg()} (a machine shared with other work is "
         "noisy: compare the ratios of one run, not absolute times).\n\n"
         f"- Each figure: median of {RUNS} runs, ours and the baseline interleaved in the same run.\n"
         "- Baselines: PyTorch CPU (Debian python3-torch, run by /usr/bin/python3), OpenBLAS (libopenblas-dev), "
         "FANN 2.2 (libfann-dev).")
    if QUICK:
        s += "\n- BENCH_QUICK=1: one run each at small sample counts: a check of the script, not figures to keep."
    return s


def main():
    load_before = loadavg()
    torch_ok = have_torch()
    h = {}
    best_ours, best_blas, ratios, gemm_text = gemm_part(h)
    if not os.path.isdir(DATA):
        print(f"Fashion-MNIST not found at {DATA}: only the GEMM and bandwidth tables are measured", flush=True)
        bw = bandwidth(os.path.exists(os.path.join(ROOT, "build/bench/stream")))
        if bw:
            bandwidth_part(h, bw, {})
        print(write_results(intro(load_before), h))
        return 0
    if not torch_ok:
        print("PyTorch (python3-torch) is not installed: only our figures are shown", flush=True)
    if os.environ.get("CNN", "1") != "0" and os.path.exists(os.path.join(ROOT, "build/bench/bench_cnn")):
        cnn_part(h, torch_ok, best_ours)   # CNN=0: left out, its part of the file kept
        resnet_part(h, torch_ok, best_ours)
    if os.environ.get("SEQ", "1") != "0" and os.path.exists(os.path.join(ROOT, "build/bench/bench_seq")):
        seq_part(h, torch_ok, best_ours)   # SEQ=0: left out, its part of the file kept
    rows = mlp_rows(torch_ok)
    mlp_part(h, rows, torch_ok)
    inf = infer_part(h, rows, torch_ok)
    rate_part(h, rows, best_ours, best_blas, gemm_text)
    old_targets_part(h, rows, inf, ratios, best_blas, torch_ok)
    ps, accs = per_sample(torch_ok)
    sc = scaling()
    bw = bandwidth(os.path.exists(os.path.join(ROOT, "build/bench/stream")))
    h[T_I11] = ""   # its place: before the tables it sums up
    per_sample_part(h, ps, accs)
    bwres = bandwidth_part(h, bw, ps) if bw else {}
    scaling_part(h, sc)
    issue11_part(h, rows, inf, ps, sc, bwres, best_ours, torch_ok)
    profile_part(h, sc, ps, bwres, torch_ok, bw or {}, inf)
    cli_peak_memory(h)
    print(write_results(intro(load_before), h))
    print(f"written: {os.path.relpath(OUT, ROOT)}")
    return 0


def cnn_only(resnet=False):
    """CNN_ONLY=1 (RESNET_ONLY=1): just the CNN (ResNet) part of this CPU's
    section (our GEMM's best rate read from that section's GEMM table)."""
    src = OUT if os.path.exists(OUT) else BASE
    old = open(src).read() if os.path.exists(src) else ""
    mine = [b for t, b in split(old, 2)[1] if t == f"CPU: {cpu_model()}"]
    best = gemm_best(mine[0])[0] if mine else 0.0
    h = {}
    (resnet_part if resnet else cnn_part)(h, have_torch(), best, dated=True)
    write_results(None, h)
    print(h[T_RES if resnet else T_CNN])
    return 0


SEQ_SAMPLES = int(os.environ.get("SEQ_SAMPLES", "640" if QUICK else "6400"))
SEQ_STEPS = int(os.environ.get("SEQ_STEPS", "5" if QUICK else "40"))
CORPUS = os.path.join(ROOT, "build", "fortunes.txt")


def seq_flops_rows(cell):
    """Training FLOPs of one Fashion-MNIST-rows epoch: per step and sample
    the input and recurrent products (G·H × (28 + H)), forward, dW and dX,
    2 FLOPs per multiply-add; the head is negligible."""
    g = 4 if cell == "lstm" else 3
    return 3 * 2 * 60000 * 28 * g * 128 * (28 + 128)


def seq_flops_text_step(vocab):
    """Training FLOPs of one language-model step (32 × 64 characters):
    the LSTM (4·256 × (64 + 256)) and the per-step head (256 × vocab)."""
    return 3 * 2 * 32 * 64 * (4 * 256 * (64 + 256) + 256 * vocab)


def torch_faster(cmd, key, lower_is_better=True):
    """PyTorch's figure with its default OpenMP settings and with
    OMP_WAIT_POLICY=PASSIVE, the better kept (as the MLP and CNN rows do)."""
    vals = [float(run(cmd, env)[0][key]) for _, env in MODES]
    return min(vals) if lower_is_better else max(vals)


def seq_part(h, torch_ok, best):
    """The sequence table: rows LSTM and GRU, the language model's training
    step and its generation at batch 1, ours against PyTorch, interleaved."""
    if not os.path.exists(CORPUS):
        names = sorted(n for n in os.listdir("/usr/share/games/fortunes") if "." not in n)
        with open(CORPUS, "wb") as f:
            for n in names:
                f.write(open(os.path.join("/usr/share/games/fortunes", n), "rb").read())
    rows = {}
    figs = {k: ([], []) for k in ("lstm", "gru", "text", "gen")}
    vocab = 0
    for _ in range(RUNS):
        for cell in ("lstm", "gru"):
            f, _ = run(["build/bench/bench_seq", "rows", cell, str(THREADS), str(SEQ_SAMPLES)],
                       {"OMP_NUM_THREADS": str(THREADS)})
            figs[cell][0].append(float(f["epoch_s"]))
            if torch_ok:
                figs[cell][1].append(torch_faster([TORCH, "bench/torch_seq.py", "--task", "rows", "--cell", cell,
                                                   "--threads", str(THREADS), "--samples", str(SEQ_SAMPLES)],
                                                  "epoch_s"))
        f, _ = run(["build/bench/bench_seq", "text", CORPUS, str(THREADS), str(SEQ_STEPS)],
                   {"OMP_NUM_THREADS": str(THREADS)})
        figs["text"][0].append(float(f["step_ms"]))
        vocab = int(f["vocab"])
        if torch_ok:
            figs["text"][1].append(torch_faster([TORCH, "bench/torch_seq.py", "--task", "text", "--threads",
                                                 str(THREADS), "--steps", str(SEQ_STEPS)], "step_ms"))
        f, _ = run(["build/bench/bench_seq", "gen", CORPUS, "1", "3000"], {"OMP_NUM_THREADS": "1"})
        figs["gen"][0].append(float(f["gen_chars_s"]))
        if torch_ok:
            figs["gen"][1].append(torch_faster([TORCH, "bench/torch_seq.py", "--task", "gen", "--threads", "1",
                                                "--chars", "1000"], "gen_chars_s", lower_is_better=False))
    m = {k: (med(a), med(b) if b else 0.0) for k, (a, b) in figs.items()}
    w = [f"Measured on {time.strftime('%Y-%m-%d')} by `SEQ_ONLY=1 make bench`, {THREADS} threads (generation: 1), "
         f"Adam, median of {RUNS}, ours and PyTorch interleaved. Commands: `build/bench/bench_seq rows lstm|gru "
         f"{THREADS} {SEQ_SAMPLES}`, `build/bench/bench_seq text build/fortunes.txt {THREADS} {SEQ_STEPS}`, "
         f"`build/bench/bench_seq gen build/fortunes.txt 1 3000` against `bench/torch_seq.py --task rows|text|gen` "
         f"(the same models, data and batch sizes; PyTorch with its default OpenMP settings and with "
         f"OMP_WAIT_POLICY=PASSIVE, the faster kept). Rows: {SEQ_SAMPLES} samples timed, scaled to 60,000. "
         f"The fraction is of our GEMM's best rate on this CPU ({best:.0f} GFLOP/s).\n",
         "| task | ours | PyTorch | ratio | ours GFLOP/s | of our GEMM |", "|---|---:|---:|---:|---:|---:|"]
    for cell in ("lstm", "gru"):
        o, t = m[cell]
        rate = seq_flops_rows(cell) / o / 1e9
        w.append(f"| Fashion-MNIST rows, {cell.upper()} 128, batch 64: s/epoch | {o:.2f} | "
                 f"{t:.2f} | {t / o if t else 0:.2f}x | {rate:.0f} | {rate / best if best else 0:.0%} |")
    o, t = m["text"]
    rate = seq_flops_text_step(vocab) / (o / 1000) / 1e9
    w.append(f"| character LM (embedding 64, LSTM 256, {vocab} symbols), batch 32 × 64: ms/step | {o:.1f} | {t:.1f} | "
             f"{t / o if t else 0:.2f}x | {rate:.0f} | {rate / best if best else 0:.0%} |")
    w.append(f"| the same, characters/s | {32 * 64 / (o / 1000):,.0f} | {32 * 64 / (t / 1000) if t else 0:,.0f} | "
             f"{t / o if t else 0:.2f}x | | |")
    o, t = m["gen"]
    w.append(f"| generation at batch 1 (ours: mynn_stream_step; PyTorch: a Python loop carrying the state): "
             f"characters/s | {o:,.0f} | {t:,.0f} | {o / t if t else 0:.2f}x | | |")
    w.append("")
    w.append("| target (issue 18) | measured | met |")
    w.append("|---|---|:-:|")
    for cell in ("lstm", "gru"):
        o, t = m[cell]
        w.append(f"| rows {cell.upper()} >= 2.5x PyTorch | {t / o if t else 0:.2f}x | {'yes' if t and t / o >= 2.5 else 'no'} |")
    o, t = m["text"]
    w.append(f"| character LM >= 2.5x PyTorch | {t / o if t else 0:.2f}x | {'yes' if t and t / o >= 2.5 else 'no'} |")
    o, t = m["gen"]
    w.append(f"| generation >= 5x PyTorch's loop | {o / t if t else 0:.2f}x | {'yes' if t and o / t >= 5 else 'no'} |")
    h[T_SEQ] = "\n".join(w)


def seq_only():
    """SEQ_ONLY=1: the sequence part of this CPU's section."""
    src = OUT if os.path.exists(OUT) else BASE
    old = open(src).read() if os.path.exists(src) else ""
    mine = [b for t, b in split(old, 2)[1] if t == f"CPU: {cpu_model()}"]
    best = gemm_best(mine[0])[0] if mine else 0.0
    h = {}
    if not best:   # this CPU's section has no GEMM table yet: measure it (the fractions need it)
        best = gemm_part(h)[0]
    seq_part(h, have_torch(), best)
    write_results(None, h)
    print(h[T_SEQ])
    return 0


def selftest():
    """`bench/run.py --selftest`: the splice keeps what a run does not write
    (other CPUs' sections, hand-written parts, the MPI section last)."""
    global OUT, BASE
    me = f"CPU: {cpu_model()}"
    doc = (f"# Benchmark results\n\nold preamble\n\n## CPU: Other CPU\n\nother intro\n\n### {T_MLP}\n\nother mlp\n\n"
           f"## {me}\n\nmy intro\n\n### {T_GEMM}\n\nold gemm\n\n### notes\n\nhand-written\n\n"
           f"### {T_MLP}\n\nold mlp\n\n## {MPI_SECTION}\n\nmpi table\n")
    with tempfile.TemporaryDirectory() as d:
        OUT = os.path.join(d, "RESULTS.md")
        open(OUT, "w").write(doc)
        write_results("new intro", {T_GEMM: "new gemm", T_MLP: "new mlp", T_I11: "targets"})
        _, secs = split(open(OUT).read(), 2)
        assert [t for t, _ in secs] == ["CPU: Other CPU", me, MPI_SECTION], secs
        assert secs[0][1] == f"other intro\n\n### {T_MLP}\n\nother mlp" and secs[2][1] == "mpi table", secs
        pre, parts = split(secs[1][1], 3)
        assert pre == "new intro", pre
        assert parts == [(T_GEMM, "new gemm"), ("notes", "hand-written"), (T_MLP, "new mlp"), (T_I11, "targets")], parts
        write_results(None, {T_CNN: "cnn"})          # CNN_ONLY: the intro and the rest stay, a new part last
        pre, parts = split(split(open(OUT).read(), 2)[1][1][1], 3)
        assert pre == "new intro" and [t for t, _ in parts] == [T_GEMM, "notes", T_MLP, T_I11, T_CNN], parts
        os.remove(OUT)                               # a new file: this CPU's section, then nothing else
        OUT = BASE = os.path.join(d, "new.md")
        write_results("intro", {T_GEMM: "g"})
        assert [t for t, _ in split(open(OUT).read(), 2)[1]] == [me]
    print("bench/run.py selftest: passed")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(selftest())
    if os.environ.get("RESNET_ONLY") == "1":
        sys.exit(cnn_only(resnet=True))
    if os.environ.get("SEQ_ONLY") == "1":
        sys.exit(seq_only())
    sys.exit(cnn_only() if os.environ.get("CNN_ONLY") == "1" else main())
