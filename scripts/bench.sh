#!/usr/bin/env bash
# Runs the Agent-Safe benchmarks (package-benchmark, release build) from anywhere.
#
#   scripts/bench.sh                      # every benchmark
#   scripts/bench.sh 'Decision/.*'        # only those whose name matches the regex
#   scripts/bench.sh 'Load.*' --format markdown
#
# The first argument, when given and not an option, is a filter (a regular expression on benchmark names);
# anything after it is passed to `swift package benchmark` unchanged. The benchmarks build in
# Benchmarks/.build, apart from the main package's .build. Figures and how to read them: docs/performance.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

args=()
if [[ $# -gt 0 && "$1" != -* ]]; then
    args+=(--filter "$1")
    shift
fi

# package-benchmark builds the benchmark targets in release mode itself.
exec swift package --package-path "$root/Benchmarks" benchmark ${args[@]+"${args[@]}"} "$@"
