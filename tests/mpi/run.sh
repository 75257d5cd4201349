#!/bin/sh
# make test-mpi: data-parallel training under Open MPI's mpirun, against
# one process.  Usage: tests/mpi/run.sh BUILD_DIR (holding the MPI=1 mynn
# and tests/mpi_compare).  Ends with "N passed, N failed, N skipped".
#
#   equivalence   N = 1, 2, 3 ranks, SGD and Adam, a batch (25) that no N > 1
#                 divides and a last batch of 1 sample (1001 = 40 x 25 + 1: ranks with nothing):
#                 every weight within 1e-5 relative of one process, the same
#                 test accuracy; 1 rank bit for bit; dropout, a CNN and a residual
#                 network with augmentation too
#   resume        checkpoint under 2 ranks, kill, --resume: the same final
#                 model, bit for bit, as an uninterrupted 2-rank run
#   killed rank   rank 1 dies: every rank ends, a message, no model file
#   hung rank     rank 1 hangs: the watchdog ends every rank with its message
#   mismatch      ranks given different data: refused, naming the data
#   two hosts     tests/mpi/netns.sh: two network namespaces over veth, TCP
B=${1:-build-mpi}
TOOL=$(cd "$B" && pwd)/mynn
CMP=$(cd "$B" && pwd)/tests/mpi_compare
HERE=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0 skipped=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
skip() { echo "skip $1: $2"; skipped=$((skipped + 1)); }

if ! command -v mpirun >/dev/null 2>&1; then
    skip "all" "mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"
    echo "$passed passed, $failed failed, $skipped skipped"
    exit 0
fi
# Open MPI refuses root unless told; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Shared-memory and loopback transports only, no probing of other networks.
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN="timeout 120 mpirun --oversubscribe --bind-to none"

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
"$CMP" gen train.csv 1001 1 && "$CMP" gen test.csv 301 2 || exit 1
NET="--layers 32:relu,16:tanh,3:softmax --batch 25 --threads 1 --seed 3"

# test accuracy of a run's output, as printed ("test accuracy: 61.13% ...")
acc() { sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p' "$1"; }
# |a - b| < 0.1 (points)
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d < 0.1) }'; }

# ---- equivalence -----------------------------------------------------------
for opt in sgd adam; do
    case $opt in sgd) O="--optimizer sgd --lr 0.1 --momentum 0.9" ;; adam) O="--optimizer adam --lr 0.01" ;; esac
    "$TOOL" train train.csv --test test.csv $NET $O --epochs 1 --save ref-$opt.st >ref-$opt.out 2>&1 ||
        { bad "equivalence $opt" "one process failed: $(tail -1 ref-$opt.out)"; continue; }
    for n in 1 2 3; do
        name="equivalence $opt, $n rank(s)"
        if ! $MPIRUN -np $n "$TOOL" train train.csv --test test.csv $NET $O --epochs 1 \
                --save m$n-$opt.st >m$n-$opt.out 2>&1; then
            bad "$name" "mpirun failed: $(tail -3 m$n-$opt.out | tr '\n' ' ')"
            continue
        fi
        if ! "$CMP" same m$n-$opt.st ref-$opt.st 1e-5 >cmp.out; then
            bad "$name" "$(cat cmp.out)"
        elif ! close "$(acc m$n-$opt.out)" "$(acc ref-$opt.out)"; then
            bad "$name" "test accuracy $(acc m$n-$opt.out)% against $(acc ref-$opt.out)%"
        elif [ $n = 1 ] && ! "$CMP" bits m1-$opt.st ref-$opt.st >cmp.out; then
            bad "$name" "one rank is not bit for bit one process: $(cat cmp.out)"
        elif [ $n -gt 1 ] && ! grep -q "^all-reduce: $n ranks, 41 steps" m$n-$opt.out; then
            bad "$name" "no all-reduce line for 41 steps: $(grep all-reduce m$n-$opt.out)"
        else
            ok "$name ($(sed 's/,.*difference/: largest difference/; s/ (param[^)]*)//; s/, tolerance [^;]*;/,/' cmp.out))"
        fi
    done
done
# Determinism: the same N ranks and threads give the same model, bit for bit.
if $MPIRUN -np 3 "$TOOL" train train.csv --test test.csv $NET --optimizer adam --lr 0.01 --epochs 1 \
        --save again.st >again.out 2>&1 && "$CMP" bits again.st m3-adam.st >cmp.out; then
    ok "3 ranks twice: the same model bit for bit"
else
    bad "determinism at 3 ranks" "$(cat cmp.out 2>/dev/null) $(tail -2 again.out)"
fi
D="--layers 32:relu,dropout:0.3,16:tanh,3:softmax --batch 25 --threads 1 --seed 3 --optimizer adam --lr 0.01 --epochs 2"
if "$TOOL" train train.csv $D --save dref.st >dref.out 2>&1 &&
   $MPIRUN -np 3 "$TOOL" train train.csv $D --save d3.st >d3.out 2>&1 &&
   "$CMP" same d3.st dref.st 1e-5 >cmp.out; then
    ok "equivalence with dropout, 3 ranks, 2 epochs (masks in global batch order)"
else
    bad "equivalence with dropout" "$(cat cmp.out 2>/dev/null) $(tail -2 d3.out)"
fi

C="--shape 1x2x4 --layers conv:4:3:relu:pad=same,maxpool:2,flatten,3:softmax --batch 25 --threads 1 --seed 3 --optimizer adam --lr 0.01 --epochs 1"
if "$TOOL" train train.csv --test test.csv $C --save cref.st >cref.out 2>&1 &&
   $MPIRUN -np 3 "$TOOL" train train.csv --test test.csv $C --save c3.st >c3.out 2>&1 &&
   "$CMP" same c3.st cref.st 1e-5 >cmp.out && close "$(acc c3.out)" "$(acc cref.out)"; then
    ok "equivalence of a CNN (conv, max pooling, dense), Adam, 3 ranks ($(sed 's/,.*difference/: largest difference/; s/ (param[^)]*)//; s/, tolerance [^;]*;/,/' cmp.out))"
else
    bad "equivalence of a CNN" "$(cat cmp.out 2>/dev/null) $(tail -2 c3.out)"
fi

# A residual network (a graph: fan-out and an add) with image augmentation:
# the draws follow the global batch order, so N ranks equal one process.
G="--shape 1x2x4 --layers conv:4:3:relu:pad=same,res(conv:4:3:pad=same,relu,conv:4:3:pad=same):relu,cat(conv:2:1|maxpool:3:stride=1:pad=1),gap,3:softmax --augment crop=1,flip --batch 25 --threads 1 --seed 3 --optimizer adam --lr 0.01 --epochs 2"
if "$TOOL" train train.csv --test test.csv $G --save gref.st >gref.out 2>&1 &&
   $MPIRUN -np 3 "$TOOL" train train.csv --test test.csv $G --save g3.st >g3.out 2>&1 &&
   "$CMP" same g3.st gref.st 1e-5 >cmp.out && close "$(acc g3.out)" "$(acc gref.out)"; then
    ok "equivalence of a residual network with augmentation, Adam, 3 ranks ($(sed 's/,.*difference/: largest difference/; s/ (param[^)]*)//; s/, tolerance [^;]*;/,/' cmp.out))"
else
    bad "equivalence of a residual network" "$(cat cmp.out 2>/dev/null) $(tail -2 g3.out)"
fi

# Recurrent layers: each sample's 8 features read as 2 steps of 4 by an LSTM
# (every step, both directions) and a GRU.
Q="--shape 2x4 --layers lstm:8:seq:bi,gru:6,dropout:0.2,3:softmax --batch 25 --threads 1 --seed 3 --optimizer adam --lr 0.01 --epochs 2"
if "$TOOL" train train.csv --test test.csv $Q --save qref.st >qref.out 2>&1 &&
   $MPIRUN -np 3 "$TOOL" train train.csv --test test.csv $Q --save q3.st >q3.out 2>&1 &&
   "$CMP" same q3.st qref.st 1e-5 >cmp.out && close "$(acc q3.out)" "$(acc qref.out)"; then
    ok "equivalence of an LSTM and a GRU, Adam, 3 ranks ($(sed 's/,.*difference/: largest difference/; s/ (param[^)]*)//; s/, tolerance [^;]*;/,/' cmp.out))"
else
    bad "equivalence of recurrent layers" "$(cat cmp.out 2>/dev/null) $(tail -2 q3.out)"
fi

# ---- checkpoint, kill, resume ----------------------------------------------
R="train.csv $NET --optimizer adam --lr 0.01 --epochs 3 --val 0.2"
$MPIRUN -np 2 "$TOOL" train $R --checkpoint ck-full --save full.st >full.out 2>&1
rc_full=$?
$MPIRUN -np 2 -x MYNN_TEST_KILL_AFTER_EPOCH=2 "$TOOL" train $R --checkpoint ck-part --save part.st \
    >killed.out 2>&1
rc_kill=$?
$MPIRUN -np 2 "$TOOL" train $R --checkpoint ck-part --resume --save part.st >resumed.out 2>&1
rc_res=$?
if [ $rc_full -ne 0 ]; then bad "resume" "uninterrupted run failed: $(tail -2 full.out)"
elif [ $rc_kill -eq 0 ]; then bad "resume" "the killed run exited 0"
elif [ $rc_res -ne 0 ]; then bad "resume" "resumed run failed: $(tail -2 resumed.out)"
elif ! grep -q "^epoch 3/3" resumed.out || grep -q "^epoch 1/3" resumed.out; then
    bad "resume" "the resumed run did not go on with epoch 3"
elif ! "$CMP" bits part.st full.st >cmp.out; then bad "resume" "$(cat cmp.out)"
else ok "checkpoint under 2 ranks, kill after epoch 2, --resume: the same model bit for bit"
fi

# ---- a killed rank ---------------------------------------------------------
start=$(date +%s)
$MPIRUN -np 3 -x MYNN_TEST_KILL_AFTER_EPOCH=1 -x MYNN_TEST_KILL_RANK=1 "$TOOL" train $R \
    --checkpoint ck-kill --save killed.st >kill.out 2>&1
rc=$?
took=$(( $(date +%s) - start ))
if [ $rc -eq 0 ]; then bad "killed rank" "mpirun exited 0"
elif [ $rc -eq 124 ]; then bad "killed rank" "the other ranks hung (timeout)"
elif ! grep -q "exited on signal 9" kill.out; then bad "killed rank" "no message: $(tail -3 kill.out)"
elif [ -e killed.st ] || ls | grep -q '\.tmp\.'; then bad "killed rank" "a model file was left"
else ok "rank 1 killed: all 3 ranks ended in ${took}s (\"$(grep -o 'process rank 1.*signal 9' kill.out | head -1)\"), no model file"
fi

# ---- a hung rank -----------------------------------------------------------
start=$(date +%s)
$MPIRUN -np 3 -x MYNN_TEST_KILL_AFTER_EPOCH=1 -x MYNN_TEST_KILL_RANK=1 -x MYNN_TEST_FAULT=stall \
    "$TOOL" train $R --checkpoint ck-hang --save hung.st --mpi-timeout 3 >hang.out 2>&1
rc=$?
took=$(( $(date +%s) - start ))
if [ $rc -eq 0 ]; then bad "hung rank" "mpirun exited 0"
elif [ $rc -eq 124 ]; then bad "hung rank" "the ranks hung until the test's timeout"
elif ! grep -q "has not completed after 3 s" hang.out; then bad "hung rank" "no watchdog message: $(tail -3 hang.out)"
elif [ -e hung.st ]; then bad "hung rank" "a model file was left"
else ok "rank 1 hung: the watchdog ended every rank in ${took}s (\"$(grep -o 'rank [0-9] of 3: .*after 3 s' hang.out | head -1)\")"
fi

# ---- ranks that disagree ---------------------------------------------------
"$CMP" gen other.csv 1001 9
timeout 120 mpirun --oversubscribe --bind-to none -np 1 "$TOOL" train train.csv $NET --epochs 1 : \
    -np 1 "$TOOL" train other.csv $NET --epochs 1 >mismatch.out 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "do not have the same training data: rank 1 differs from rank 0" mismatch.out &&
   ! grep -q "^epoch" mismatch.out; then
    ok "different data on rank 1: refused before training ($(grep -c 'do not have the same' mismatch.out) message)"
else
    bad "mismatch" "exit $rc: $(grep mynn: mismatch.out | head -2)"
fi

# ---- two hosts over a network stack --------------------------------------
sh "$HERE/netns.sh" "$TOOL" "$CMP" "$W" >netns.out 2>&1
rc=$?
cat netns.out | sed 's/^/    /'
case $rc in
0) ok "two hosts (network namespaces over veth, TCP): same weights as one process" ;;
77) skip "two hosts" "$(tail -1 netns.out)" ;;
*) bad "two hosts" "$(tail -1 netns.out)" ;;
esac

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
