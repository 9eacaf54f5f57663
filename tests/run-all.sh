#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine (the README's test command).
# Installs what the tests need (tests/install-deps.sh: as root, Debian packages when missing), runs
# `dotnet test` on the solution with TRX results, and prints `N passed, N failed`
# last. Exits non-zero on any failure or when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."

# Every program the tests run (tests/install-deps.sh installs what is missing, as root on Debian).
# When one is still missing, its message names it and its package, and no test runs: one clear
# failure instead of a stack trace from each test that needs it.
if ! bash tests/install-deps.sh 2>&1; then
  echo "tests/install-deps.sh: the programs above are missing, so the tests were not run"
  echo "0 passed, 1 failed"
  exit 1
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
dotnet test IkeActors.sln -c Release --logger "trx" --results-directory "$results" "$@"
rc=$?

passed=0; failed=0
for trx in "$results"/*.trx; do
  [[ -e $trx ]] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${e:-0}))
done
if ((rc != 0 && failed == 0)); then failed=1; echo "dotnet test exited $rc (build or runner failure)"; fi
if ((passed + failed == 0)); then echo "no test ran"; failed=1; fi
echo "$passed passed, $failed failed"
((failed == 0))
