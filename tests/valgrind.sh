#!/bin/sh
# make valgrind: memcheck over the given test programs, then the mynn tool
# on small data.  Usage: tests/valgrind.sh BUILD_DIR TEST...
# $VALGRIND is the valgrind command line (with --error-exitcode=1).  Any
# memcheck error, definite leak or failed test fails the run.
set -u
dir=$1
shift
vg=${VALGRIND:-valgrind -q --error-exitcode=1 --leak-check=full}
log=$dir/valgrind.log
fail=0
start=$(date +%s)

check() {   # check NAME COMMAND...: run under valgrind, keep the log on failure
    name=$1
    shift
    t0=$(date +%s)
    if MYNN_SAN=1 $vg "$@" >"$log" 2>&1; then
        echo "ok   $name ($(($(date +%s) - t0)) s)"
    else
        echo "FAIL $name (exit $?):"
        tail -n 40 "$log"
        fail=1
    fi
}

for t in "$@"; do
    check "$(basename "$t")" "$t"
done

# The tool: train with dropout, validation, a checkpoint and every output,
# then resume, predict and eval, on a synthetic 3-class CSV.
work=$dir/vg-work
rm -rf "$work"
mkdir -p "$work"
awk 'BEGIN { s = 7; print "a,b,c,label";
             for (i = 0; i < 300; i++) { c = i % 3;
                 s = (s * 1103515245 + 12345) % 2147483648; x = s / 2147483648;
                 s = (s * 1103515245 + 12345) % 2147483648; y = s / 2147483648;
                 printf "%.4f,%.4f,%.4f,%d\n", c + x, 2 * y - c, x * y, c } }' >"$work/d.csv"
tool=$dir/mynn
check "mynn train" "$tool" train "$work/d.csv" --layers 16:relu,dropout:0.2,3:softmax --epochs 2 \
    --val 0.2 --test "$work/d.csv" --checkpoint "$work/ck" --save "$work/m.st" \
    --log "$work/log.csv" --plot "$work/p.svg" --quiet
check "mynn train --resume" "$tool" train "$work/d.csv" --layers 16:relu,dropout:0.2,3:softmax \
    --epochs 3 --val 0.2 --checkpoint "$work/ck" --resume --save "$work/m.st" --quiet
check "mynn predict" "$tool" predict "$work/m.st" "$work/d.csv" --out "$work/pred.csv"
check "mynn eval" "$tool" eval "$work/m.st" "$work/d.csv" --json
check "mynn info" "$tool" info "$work/m.st"
check "mynn export" "$tool" export "$work/m.st" "$work/m.onnx"
check "mynn train (1-D CNN)" "$tool" train "$work/d.csv" --shape 1x3 \
    --layers conv1d:4:2:relu:pad=1,batchnorm,maxpool1d:2,gelu,8:tanh,3:softmax --epochs 1 --save "$work/c.st" --quiet
check "mynn export (1-D CNN)" "$tool" export "$work/c.st" "$work/c.onnx"
check "mynn export --format c (1-D CNN)" "$tool" export "$work/c.st" --format c --out "$work" --name c

# Fashion-MNIST, if installed: 300 test images as a CSV, one epoch.
fm=/usr/share/datasets/fashion-mnist
if [ -r "$fm/t10k-images-idx3-ubyte.gz" ] && [ -r "$fm/t10k-labels-idx1-ubyte.gz" ]; then
    gzip -dc "$fm/t10k-images-idx3-ubyte.gz" | tail -c +17 | head -c 235200 |
        od -An -v -tu1 -w784 | sed 's/^ *//; s/  */,/g' >"$work/fm_x"
    gzip -dc "$fm/t10k-labels-idx1-ubyte.gz" | tail -c +9 | head -c 300 |
        od -An -v -tu1 -w1 | tr -d ' ' >"$work/fm_y"
    paste -d, "$work/fm_x" "$work/fm_y" >"$work/fm.csv"
    check "mynn train (Fashion-MNIST, 300 rows)" "$tool" train "$work/fm.csv" \
        --layers 64:relu,10:softmax --epochs 1 --save "$work/fm.st" --quiet
    check "mynn eval (Fashion-MNIST, 300 rows)" "$tool" eval "$work/fm.st" "$work/fm.csv"
else
    echo "skip Fashion-MNIST ($fm absent)"
fi

echo "valgrind: $(($(date +%s) - start)) s, $([ $fail -eq 0 ] && echo 'no errors' || echo FAILED)"
[ $fail -eq 0 ] && rm -rf "$work" "$log"
exit $fail
