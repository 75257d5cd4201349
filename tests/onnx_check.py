"""Check exported ONNX models with independent tools.

    /usr/bin/python3 tests/onnx_check.py ORT_DIR IN.f32 N DIMS MODEL.onnx PRED.csv [MODEL PRED ...]

For each model:
1. onnx.checker.check_model (full check: one writer per value, nodes in
   topological order), IR version 7 and opset 13, every node named once,
   every initializer read, and strict shape inference, which must give
   "output" the shape [N, K] with the batch dimension symbolic ("N");
2. ONNX Runtime (tests/onnx_run.js under node, onnxruntime-node from
   ORT_DIR) on the N float32 samples of shape DIMS ("784", "28x28",
   "1x28x28": the model's input after N) in IN.f32;
3. its outputs against PRED.csv, written by `mynn predict` on the same
   inputs: max |onnxruntime - mynn| must be <= 1e-5.
Prints one "ok MODEL ..." line per model with the difference and exits 0;
exits 77 with a "skip: ..." line when onnx, node or onnxruntime-node is
missing (after the checks that could run), 1 on any failure.
"""
import os
import shutil
import subprocess
import sys

TOL = 1e-5


def read_pred(path):
    import numpy as np
    with open(path) as f:
        header = f.readline().strip().split(",")
        want = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    return want[:, 1:] if header[0] == "class" else want


def check_onnx(onnx, model, dims, k):
    """The checker and shape inference; an error message or None."""
    m = onnx.load(model)
    onnx.checker.check_model(m, full_check=True)
    opsets = [(o.domain, o.version) for o in m.opset_import]
    if m.ir_version != 7 or opsets != [("", 13)]:
        return "ir_version %d, opsets %s" % (m.ir_version, opsets)
    in_dims = [(x.dim_param or x.dim_value) for x in m.graph.input[0].type.tensor_type.shape.dim]
    want_in = ["N"] + [int(v) for v in dims.split("x")]
    if in_dims != want_in:
        return "input shape %s, want %s" % (in_dims, want_in)
    names = [nd.name for nd in m.graph.node]
    if "" in names or len(set(names)) != len(names):
        return "node names missing or repeated"
    read = {i for nd in m.graph.node for i in nd.input}
    unread = [t.name for t in m.graph.initializer if t.name not in read]
    if unread:
        return "initializers read by no node: %s" % unread[:5]
    inferred = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    out = [o for o in inferred.graph.output if o.name == "output"]
    dims = [(x.dim_param or x.dim_value) for x in out[0].type.tensor_type.shape.dim] if out else []
    if dims != ["N", k]:
        return "inferred output shape %s, want ['N', %d]" % (dims, k)
    return None


def main():
    ort_dir, in_path, n, dims = sys.argv[1:5]
    n = int(n)
    pairs = list(zip(sys.argv[5::2], sys.argv[6::2]))
    try:
        import numpy as np
        import onnx
    except ImportError as e:
        print("skip: %s (apt-get install python3-onnx python3-numpy)" % e)
        return 77
    preds = {}
    for model, pred in pairs:
        preds[model] = read_pred(pred)
        if preds[model].shape[0] != n:
            print("FAIL: %s: %d rows from mynn predict, want %d" % (pred, preds[model].shape[0], n))
            return 1
        err = check_onnx(onnx, model, dims, preds[model].shape[1])
        if err:
            print("FAIL: %s: %s" % (model, err))
            return 1

    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        print("skip: checker and shape inference ok; node not found (apt-get install nodejs npm)")
        return 77
    js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx_run.js")
    args = [node, js, ort_dir, in_path, str(n), dims]
    for model, _ in pairs:
        args += [model, model + ".ort"]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode == 77:
        print("skip: checker and shape inference ok; %s (make onnxruntime)" % r.stdout.strip())
        return 77
    if r.returncode != 0:
        print("FAIL: node: %s %s" % (r.stdout.strip(), r.stderr.strip()[-500:]))
        return 1
    failed = 0
    for model, _ in pairs:
        want = preds[model]
        got = np.fromfile(model + ".ort", dtype="<f4").astype(np.float64)
        os.unlink(model + ".ort")
        if got.size != want.size:
            print("FAIL: %s: onnxruntime gave %d values, want %d" % (model, got.size, want.size))
            failed = 1
            continue
        diff = float(np.max(np.abs(got.reshape(want.shape) - want)))
        ok = diff <= TOL
        failed |= not ok
        print("%s %s: %s, max |onnxruntime - mynn predict| = %.3g over %d x %d" % (
            "ok" if ok else "FAIL:", os.path.basename(model), r.stdout.strip(), diff, *want.shape))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
