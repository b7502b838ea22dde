#!/bin/sh
# Runs every integration test (test/integration/test-*.sh) and prints the
# total. Each test starts and stops its own daemons.
dir=$(dirname "$0")
passed=0; failed=0; broken=""
for t in "$dir"/test-*.sh; do
    out=$(sh "$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | grep -c '^ok - ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; broken="$broken $t"; fi
    passed=$((passed + p)); failed=$((failed + f))
done
[ -n "$broken" ] && echo "integration: scripts failed without a failing check:$broken"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
