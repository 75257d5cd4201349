"""Small-data comparison for docs/small-data.md (issue 14).

Every method trains the same network (one hidden layer of 32 tanh units;
linear output for regression, softmax - FANN: sigmoid - for
classification) on the same standardised data, 3 seeds (the seed draws the
data or the Fashion-MNIST subset and the initial weights), single thread.
Test error: MSE on standardised targets (regression), % misclassified
(classification).  Mean ± sample standard deviation over the seeds.

    /usr/bin/python3 bench/small_data.py                 # the main table
    /usr/bin/python3 bench/small_data.py --sweep         # the choice of the defaults
    /usr/bin/python3 bench/small_data.py --threshold --seeds 1   # above the threshold
    /usr/bin/python3 bench/small_data.py --rows f1-500,fm-500 --methods auto,adam

Needs the built tool (make), FANN (libfann-dev), scikit-learn
(python3-sklearn) and, for the fm-* rows, dataset-fashion-mnist.  Results
are cached in build/small_data/results.json (delete it to re-run)."""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from sklearn import datasets as skd  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "build", "mynn")
FANN = os.path.join(ROOT, "build", "bench", "fann_rprop")
WORK = os.path.join(ROOT, "build", "small_data")
FMNIST = "/usr/share/datasets/fashion-mnist"
HIDDEN = 32
SEEDS = (1, 2, 3)
N_TEST = 2000
FANN_EPOCHS = 1000   # full-batch epochs, as many as mynn auto's L-BFGS iterations
ADAM_EPOCHS, ADAM_BATCH = 300, 32

# name: (generator, training rows)
ROWS = {
    "friedman1-500": ("friedman1", 500),
    "friedman1-2000": ("friedman1", 2000),
    "friedman2-500": ("friedman2", 500),
    "friedman3-500": ("friedman3", 500),
    "regression-1000": ("regression", 1000),
    "classification-1000": ("classification", 1000),
    "fashion-500": ("fashion", 500),
    "fashion-2000": ("fashion", 2000),
    # the threshold (--threshold): above the table's sizes
    "fashion-5000": ("fashion", 5000),
    "fashion-10000": ("fashion", 10000),
}
ALIASES = {"f1-500": "friedman1-500", "f1-2000": "friedman1-2000", "f2-500": "friedman2-500",
           "f3-500": "friedman3-500", "reg-1000": "regression-1000",
           "clf-1000": "classification-1000", "fm-500": "fashion-500", "fm-2000": "fashion-2000",
           "fm-5000": "fashion-5000", "fm-10000": "fashion-10000"}
MAIN_ROWS = [r for r in ROWS if r not in ("fashion-5000", "fashion-10000")]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


_fm = {}


def fashion():
    if not _fm:
        _fm["xtr"] = read_idx(FMNIST + "/train-images-idx3-ubyte.gz").reshape(60000, -1).astype(np.float64)
        _fm["ytr"] = read_idx(FMNIST + "/train-labels-idx1-ubyte.gz").astype(np.int64)
        _fm["xte"] = read_idx(FMNIST + "/t10k-images-idx3-ubyte.gz").reshape(10000, -1).astype(np.float64)
        _fm["yte"] = read_idx(FMNIST + "/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return _fm


def make(gen, n, seed):
    """(xtr, ytr, xte, yte, n_classes): standardised inputs (training
    statistics), standardised targets for regression."""
    m = n + N_TEST
    if gen == "friedman1":
        x, y = skd.make_friedman1(m, n_features=10, noise=1.0, random_state=seed)
    elif gen == "friedman2":
        x, y = skd.make_friedman2(m, noise=30.0, random_state=seed)
    elif gen == "friedman3":
        x, y = skd.make_friedman3(m, noise=0.1, random_state=seed)
    elif gen == "regression":
        x, y = skd.make_regression(m, n_features=20, n_informative=10, noise=10.0, random_state=seed)
    elif gen == "classification":
        x, y = skd.make_classification(m, n_features=20, n_informative=10, n_redundant=4, n_classes=3,
                                       class_sep=1.0, random_state=seed)
    else:
        fm = fashion()
        rng = np.random.default_rng(seed)
        tr = rng.choice(60000, n, replace=False)
        te = rng.choice(10000, N_TEST, replace=False)
        x = np.vstack([fm["xtr"][tr], fm["xte"][te]])
        y = np.concatenate([fm["ytr"][tr], fm["yte"][te]])
    xtr, xte, ytr, yte = x[:n], x[n:], y[:n], y[n:]
    mu, sd = xtr.mean(0), xtr.std(0)
    sd[sd < 1e-12] = 1.0
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    k = 0
    if gen in ("classification", "fashion"):
        k = int(y.max()) + 1
    else:
        ym, ys = ytr.mean(), ytr.std()
        ytr, yte = (ytr - ym) / ys, (yte - ym) / ys
    return xtr, ytr, xte, yte, k


def write_sets(tag, xtr, ytr, xte, yte, k):
    os.makedirs(WORK, exist_ok=True)
    paths = {}
    for part, x, y in (("train", xtr, ytr), ("test", xte, yte)):
        csv = os.path.join(WORK, "%s-%s.csv" % (tag, part))
        np.savetxt(csv, np.column_stack([x, y]), delimiter=",", fmt="%.7g")
        fann = os.path.join(WORK, "%s-%s.fann" % (tag, part))
        out = np.eye(k)[y.astype(int)] if k else y.reshape(-1, 1)
        with open(fann, "w") as f:
            f.write("%d %d %d\n" % (len(x), x.shape[1], out.shape[1]))
            for a, b in zip(x, out):
                f.write(" ".join("%.7g" % v for v in a) + "\n")
                f.write(" ".join("%.7g" % v for v in b) + "\n")
        paths[part] = (csv, fann)
    return paths


def mynn(paths, k, seed, extra):
    layers = "%d:tanh,%s" % (HIDDEN, "%d:softmax" % k if k else "1")
    cmd = [TOOL, "train", paths["train"][0], "--test", paths["test"][0], "--layers", layers,
           "--seed", str(seed), "--threads", "1", "--quiet"] + ([] if k else ["--targets", "1"]) + extra
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("test accuracy:"):
            return 100.0 - float(line.split()[2].rstrip("%"))
        if line.startswith("test loss:"):
            return float(line.split("mse ")[1].split(",")[0])
    raise RuntimeError("no test line in: " + out)


def fann(paths, k, seed):
    out = subprocess.run([FANN, paths["train"][1], paths["test"][1], str(HIDDEN), str(FANN_EPOCHS),
                          str(seed), "1" if k else "0"], capture_output=True, text=True, check=True).stdout
    f = out.split()
    return 100.0 * float(f[3]) if k else float(f[1])


def sklearn(xtr, ytr, xte, yte, k, seed, solver):
    kw = dict(hidden_layer_sizes=(HIDDEN,), activation="tanh", solver=solver, random_state=seed)
    kw.update(max_iter=1000) if solver == "lbfgs" else kw.update(max_iter=ADAM_EPOCHS, batch_size=ADAM_BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if k:
            m = MLPClassifier(**kw).fit(xtr, ytr)
            return 100.0 * float(np.mean(m.predict(xte) != yte))
        m = MLPRegressor(**kw).fit(xtr, ytr)
        return float(np.mean((m.predict(xte) - yte) ** 2))


MAIN = ["auto", "adam", "fann", "sk-lbfgs", "sk-adam"]
SWEEP = ["lbfgs-wd0", "auto", "lbfgs-wd1e-3", "irprop", "irprop-wd1e-4", "adam"]
THRESHOLD = ["lbfgs-wd1e-3", "adam", "adam-default"]
LABELS = {"auto": "mynn auto", "adam": "mynn adam", "fann": "FANN RPROP", "sk-lbfgs": "sklearn lbfgs",
          "sk-adam": "sklearn adam", "lbfgs-wd0": "lbfgs wd 0",
          "lbfgs-wd1e-3": "lbfgs wd 1e-3 (auto's, up to 5000 rows)",
          "irprop": "irprop- wd 0", "irprop-wd1e-4": "irprop- wd 1e-4",
          "lbfgs-wd1e-4": "lbfgs wd 1e-4", "adam-default": "adam, CLI defaults (auto above)"}
MYNN_ARGS = {"auto": [], "adam": ["--optimizer", "adam", "--epochs", str(ADAM_EPOCHS), "--batch", str(ADAM_BATCH)],
             "lbfgs-wd0": ["--optimizer", "lbfgs", "--weight-decay", "0"],
             "lbfgs-wd1e-4": ["--optimizer", "lbfgs", "--weight-decay", "1e-4"],
             "adam-default": ["--optimizer", "adam"],
             "lbfgs-wd1e-3": ["--optimizer", "lbfgs", "--weight-decay", "1e-3"],
             "irprop": ["--optimizer", "irprop", "--epochs", "1000"],
             "irprop-wd1e-4": ["--optimizer", "irprop", "--epochs", "1000", "--weight-decay", "1e-4"]}


def mynn_args(method):
    """The mynn options of a method: the table above, or lbfgs-wdX /
    irprop-wdX for any decay X."""
    if method in MYNN_ARGS:
        return MYNN_ARGS[method]
    for kind in ("lbfgs", "irprop"):
        if method.startswith(kind + "-wd"):
            return ["--optimizer", kind, "--weight-decay", method[len(kind) + 3:]] + (
                ["--epochs", "1000"] if kind == "irprop" else [])
    return None


def run_one(method, row, seed, cache):
    key = "%s|%s|%d" % (method, row, seed)
    if key in cache:
        return cache[key]
    gen, n = ROWS[row]
    xtr, ytr, xte, yte, k = make(gen, n, seed)
    tag = "%s-s%d" % (row, seed)
    paths = write_sets(tag, xtr, ytr, xte, yte, k)
    t0 = time.perf_counter()
    if mynn_args(method) is not None:
        err = mynn(paths, k, seed, mynn_args(method))
    elif method == "fann":
        err = fann(paths, k, seed)
    else:
        err = sklearn(xtr, ytr, xte, yte, k, seed, method[3:])
    cache[key] = {"err": err, "s": time.perf_counter() - t0}
    print("  %-14s %-20s seed %d: %.5g (%.1f s)" % (method, row, seed, err, cache[key]["s"]),
          file=sys.stderr, flush=True)
    return cache[key]


def cell(vals):
    a = np.array(vals)
    return a.mean(), (a.std(ddof=1) if len(a) > 1 else 0.0)


def fmt(m, s, k):
    return ("%.2f ± %.2f" % (m, s)) if k else ("%.4f ± %.4f" % (m, s))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows")
    ap.add_argument("--methods")
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--sweep", action="store_true", help="the choice of full-batch optimizer and decay")
    ap.add_argument("--threshold", action="store_true", help="lbfgs against adam on 5000 and 10000 rows")
    a = ap.parse_args()
    seeds = [int(v) for v in a.seeds.split(",")]
    rows = a.rows.split(",") if a.rows else (["fashion-5000", "fashion-10000"] if a.threshold else MAIN_ROWS)
    rows = [ALIASES.get(r, r) for r in rows]
    methods = a.methods.split(",") if a.methods else (SWEEP if a.sweep else THRESHOLD if a.threshold else MAIN)
    os.makedirs(WORK, exist_ok=True)
    cache_path = os.path.join(WORK, "results.json")
    cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
    print("| data (train rows) | metric | " + " | ".join(LABELS.get(m, m) for m in methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    secs = {m: [] for m in methods}
    for row in rows:
        k = ROWS[row][0] in ("classification", "fashion")
        stats = {}
        for m in methods:
            res = [run_one(m, row, s, cache) for s in seeds]
            json.dump(cache, open(cache_path, "w"), indent=1)
            stats[m] = cell([r["err"] for r in res])
            secs[m] += [r["s"] for r in res]
        best = min(stats[m][0] for m in methods)
        cells = []
        for m in methods:
            txt = fmt(stats[m][0], stats[m][1], k)
            cells.append("**%s**" % txt if stats[m][0] == best else txt)
        print("| %s | %s | %s |" % (row, "error %" if k else "test MSE", " | ".join(cells)), flush=True)
    print("| mean seconds per run | | " + " | ".join("%.1f" % np.mean(secs[m]) for m in methods) + " |")


if __name__ == "__main__":
    main()
