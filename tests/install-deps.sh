#!/usr/bin/env bash
# install-deps.sh - installs (Debian, as root) every program a test or a test script runs and checks each
# one: the first part of the README's test command alone. The list lives in tests/run-all.sh.
exec bash "$(dirname "$0")/run-all.sh" --install-only
