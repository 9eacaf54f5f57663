#!/usr/bin/env bash
# Runs the same BenchmarkDotNet filter on an earlier revision and on this tree, one after the other, and prints both
# result tables: "before and after in one run". Usage:
#   tests/IkeActors.Benchmarks/compare-revisions.sh REV ['*NegotiationBenchmarks*'] [extra BenchmarkDotNet args...]
# REV is checked out in a temporary git worktree (removed at the end); nothing else is touched.
set -euo pipefail
rev=${1:?usage: compare-revisions.sh REV [FILTER] [ARGS...]}
filter=${2:-'*NegotiationBenchmarks*'}
shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "$0")/../.." && pwd)
before=$(mktemp -d /tmp/ikeactors-bench-XXXXXX)
cleanup() { git -C "$here" worktree remove --force "$before" >/dev/null 2>&1 || rm -rf "$before"; }
trap cleanup EXIT
git -C "$here" worktree add --detach "$before" "$rev" >/dev/null
run() {
    local tree=$1 label=$2
    echo "== $label"
    (cd "$tree" && dotnet run -c Release --project tests/IkeActors.Benchmarks -- --filter "$filter" "$@" 2>&1) \
        | sed -n '/^| *Method/,/^$/p'
}
run "$before" "before: $(git -C "$here" rev-parse --short "$rev")" "$@"
run "$here" "after: $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet || echo ' + working tree')" "$@"
