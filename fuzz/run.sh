#!/bin/sh
# fuzz/run.sh SECONDS TARGET...: runs each libFuzzer target for SECONDS,
# starting from its seed corpus in fuzz/corpus/TARGET.  New interesting
# inputs go to build-fuzz/corpus/TARGET (not the repository); a crash, leak,
# timeout or sanitizer report leaves build-fuzz/crash-TARGET-* and fails.
# Add such an input to fuzz/regressions/TARGET/ so `make test` replays it.
secs=$1; shift
status=0
for t in "$@"; do
    work=build-fuzz/corpus/$t
    mkdir -p "$work"
    log=build-fuzz/fuzz_$t.log
    echo "== fuzz_$t for ${secs}s"
    build-fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 \
        -malloc_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix=build-fuzz/crash-$t- "$work" fuzz/corpus/$t >"$log" 2>&1
    rc=$?
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
    echo "   executions: ${runs:-?}  per second: ${rate:-?}  exit: $rc"
    if [ "$rc" -ne 0 ]; then
        status=1
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
    fi
done
exit $status
