#!/bin/sh
# `make bench`: every test/bench/bench-*.sh in turn. Benchmarks measure
# and print; they assert nothing (shared machines are noisy).
dir=$(dirname "$0")
for b in "$dir"/bench-*.sh; do
    echo "== $(basename "$b" .sh)"
    sh "$b" || echo "== $(basename "$b" .sh) failed"
done
