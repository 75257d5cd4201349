#!/usr/bin/python3
"""Writes the seed corpora in fuzz/corpus/ (run once; the files are committed).
Usage: fuzz/make_corpus.py [path to the mynn tool, for model seeds]"""
import gzip, os, struct, subprocess, sys, tempfile

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


csvs = {
    "header": "x1,x2,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n",
    "plain": "0.5,1e-3,-2,1\n1.5,2.25,3,0\n",
    "semicolon": "a;b;c\n1;2;3\n4;5;6\n",
    "crlf": "1,2,0\r\n3,4,1\r\n",
    "nan": "1,nan,0\n2,3,1\n",
    "iris": "sl,sw,species\n5.1,3.5,setosa\n6.3,3.3,virginica\n5.9,2.8,versicolor\n",
    "categorical": "1.5,red,\"a,b\",0\n2,blue,\"say \"\"hi\"\"\",1\n3,red,x,0\n",
    "missing": "1,,big\nNA,2,small\n3,?,big\nnan,4,small\n",
}
for i, (name, text) in enumerate(csvs.items()):
    put("csv", name, bytes([i * 37 % 256]) + text.encode())
    put("dataset", "csv-" + name, text)

fann = "4 2 1\n0 0\n0\n0 1\n1\n1 0\n1\n1 1\n0\n"
put("fann", "xor", fann)
put("fann", "onehot", "2 3 2\n0.1 0.2 0.3\n1 0\n0.4 0.5 0.6\n0 1\n")
put("dataset", "fann-xor", fann)

for spec in ["256:relu,128:relu,10:softmax", "dropout:0.5,3:tanh,1:sigmoid", "4", "8:gelu,dropout:0.1,2:leaky_relu"]:
    put("layers", spec.replace(":", "_").replace(",", "-"), spec)
graphs = {
    "res": "conv:3:3:pad=same,res(conv:3:3:pad=same,batchnorm,relu,conv:3:3:pad=same,batchnorm):relu,gap,2:softmax",
    "res-projection": "res(conv:4:3:stride=2:pad=1,batchnorm,relu,conv:4:3:pad=same | conv:4:1:stride=2,batchnorm),flatten,2",
    "cat": "cat(conv:2:1 | conv:2:3:pad=same | maxpool:3:stride=1:pad=1),gap,3:softmax",
    "names": "conv:3:3:pad=same:as=a,relu,conv:3:3:pad=same,add:relu:from=a+-1,concat:from=input+0,4",
    "repeat": "(res(conv:3:1,relu))x3,flatten,dropout:0.1,2",
    "nested": "flatten,8:tanh,res(res(8:tanh,8) | cat(4|4)),add:from=-1+1+1,2:sigmoid",
}
for name, spec in graphs.items():
    put("layers", "graph-" + name, spec)


def idx_pair(n, rows, cols, classes=10):
    img = struct.pack(">IIII", 0x803, n, rows, cols) + bytes((i * 7) % 256 for i in range(n * rows * cols))
    lab = struct.pack(">II", 0x801, n) + bytes(i % classes for i in range(n))
    return img, lab


for name, (n, r, c) in {"small": (3, 2, 2), "one": (1, 1, 1), "wide": (2, 4, 3)}.items():
    img, lab = idx_pair(n, r, c)
    put("idx", name, struct.pack(">H", len(img)) + img + lab)
    gimg = gzip.compress(img, mtime=0)
    put("idx", name + "-gz", struct.pack(">H", len(gimg)) + gimg + gzip.compress(lab, mtime=0))
    put("dataset", "idx-" + name, img)

def npy(descr, shape, data, fortran=False):
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + data


def npz(members, method):
    import io, zipfile
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return b.getvalue()


table = npy("<f8", "(3, 3)", struct.pack("<9d", 0.5, 1, 0, 2, -3, 1, 4, 5e-3, 2))
xs = npy("<f4", "(3, 2)", struct.pack("<6f", 1, 2, 3, 4, 5, 6))
ys = npy("<i8", "(3,)", struct.pack("<3q", 2, 0, 1))
put("npy", "table-f8", b"\x00" + table)
put("npy", "u1-3d", b"\x01" + npy("|u1", "(2, 2, 2)", bytes(range(8))))
put("npy", "i2-targets", b"\x02" + npy("<i2", "(2, 2)", struct.pack("<4h", -1, 2, 3, -4)))
put("npy", "npz-stored", b"\x00" + npz([("x.npy", xs), ("y.npy", ys)], 0))
put("npy", "npz-deflated", b"\x00" + npz([("x.npy", xs), ("y.npy", ys)], 8))
put("dataset", "npy-table", table)
put("dataset", "npz-stored", npz([("x.npy", xs), ("y.npy", ys)], 0))

tool = sys.argv[1] if len(sys.argv) > 1 else None
if tool:
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "xor.csv")
        open(data, "w").write(csvs["header"])
        for name, layers in {"mlp": "4:tanh,2:softmax", "dropout": "3:relu,dropout:0.2,2:softmax",
                             "regression": "1:identity"}.items():
            model = os.path.join(tmp, name + ".safetensors")
            extra = ["--targets", "1"] if name == "regression" else []
            subprocess.run([tool, "train", data, "--layers", layers, "--epochs", "1", "--quiet",
                            "--save", model] + extra, check=True, stdout=subprocess.DEVNULL)
            put("safetensors", name, open(model, "rb").read())
        # a graph: names, a residual block, a cat block, a concat by reference
        grid = os.path.join(tmp, "grid.csv")
        with open(grid, "w") as f:
            f.write("a,b,c,d,e,f,g,h,label\n")
            for i in range(1, 41):
                f.write("%d,%d,%d,1,%d,0,%d,2,%d\n" % (i % 3, i % 5, i % 7, i % 2, i % 4, i % 2))
        model = os.path.join(tmp, "graph.safetensors")
        subprocess.run([tool, "train", grid, "--shape", "1x2x4", "--layers",
                        "conv:3:3:pad=same:as=stem,res(conv:3:3:pad=same,batchnorm,relu,conv:3:3:pad=same,batchnorm):relu,"
                        "cat(conv:2:1|maxpool:3:stride=1:pad=1),concat:from=stem+-1,flatten,2:softmax",
                        "--epochs", "1", "--quiet", "--save", model], check=True, stdout=subprocess.DEVNULL)
        put("safetensors", "graph", open(model, "rb").read())

    gen = os.path.join(tempfile.mkdtemp(), "seed_checkpoint")
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    subprocess.run(["cc", "-O1", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-I" + os.path.join(top, "include"),
                    "-I" + os.path.join(top, "src"), os.path.join(here, "seed_checkpoint.c"),
                    os.path.join(os.path.dirname(tool), "libmynn.a"), "-o", gen, "-lm", "-lz", "-fopenmp"],
                   check=True)
    ck = gen + ".ckpt"
    subprocess.run([gen, ck], check=True)
    put("checkpoint", "after-epoch-1", open(ck, "rb").read())
