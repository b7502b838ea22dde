#!/bin/sh
# The whole suite, as `make test` runs it: unit tests (given as arguments),
# then the integration tests, then one closing line with the totals.
unit=$(sh test/unit/run.sh "$@" 2>&1); urc=$?
printf '%s\n' "$unit"
integ=$(sh test/integration/run.sh 2>&1); irc=$?
printf '%s\n' "$integ"
sum() { printf '%s\n' "$1" | sed -n "s/^$2: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p" | tail -n 1; }
set -- $(sum "$unit" unit) $(sum "$integ" integration)
p=$(( ${1:-0} + ${3:-0} )); f=$(( ${2:-0} + ${4:-0} ))
[ $urc -ne 0 ] || [ $irc -ne 0 ] && [ $f -eq 0 ] && f=1
echo "$p passed, $f failed"
[ $f -eq 0 ]
