#!/bin/sh
# Runs each test program given, then prints the totals as the last line:
# "N passed, N failed, N skipped".  $MYNN_TEST_WRAP, when set, is the
# command each test runs under (an emulator: make test-arm).
passed=0 failed=0 skipped=0
log=$(mktemp)
for t in "$@"; do
    echo "== $t"
    $MYNN_TEST_WRAP "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "  $t crashed or ended early (exit $rc)"
        failed=$((failed + 1))
        continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "  $t exited $rc after its summary"
        failed=$((failed + 1))
    fi
done
rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
