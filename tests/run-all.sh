#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine (the README's test command).
# First installs (as root, Debian packages, only what is missing) every program a test or a test
# script runs, listed below, and checks each one; then runs `dotnet test` on the solution with TRX
# results and prints `N passed, N failed` last. Exits non-zero on any failure or when no test ran.
# `bash tests/run-all.sh --install-only` (or tests/install-deps.sh) does the first part alone.
# `dotnet` itself is not in the list: the SDK comes with the machine, not from Debian.
set -uo pipefail
cd "$(dirname "$0")/.."

install_programs() {
  # program  Debian package  who needs it
  required=(
    "env              coreutils                signals back to their defaults for the gateways the tests stop (Gateway, Interop StopTests)"
    "ip               iproute2                 namespaces and TUN routes (Esp, Interop tests, tests/lab scripts)"
    "ping             iputils-ping             traffic through the tunnels (Esp NamespaceTests, Interop tests, tests/lab)"
    "unshare          util-linux               a mount namespace per charon and pluto (tests/lab peer scripts)"
    "mount            mount                    /run and /usr/libexec of a lab peer (tests/lab peer scripts)"
    "kill             procps                   SIGTERM to a gateway (Interop InteropLab.Gateway)"
    "tshark           tshark                   independent ISAKMP/ESP decoder (Protocol, Esp, Interop tests)"
    "dumpcap          wireshark-common         captures on the lab's veth (Interop tests)"
    "bird             bird2                    the cluster lab's routers and nodes (Interop ClusterAddressTests, tests/lab/cluster-lab.sh)"
    "redis-server     redis-server             Orleans clustering through Redis (Gateway tests)"
    "redis-cli        redis-tools              Redis checks (Gateway tests)"
    "swanctl          strongswan-swanctl       real peer (Interop tests)"
    "/usr/lib/ipsec/charon strongswan-charon   real peer (Interop tests)"
    "certutil         libnss3-tools            pluto's NSS database (Interop LibreswanTests)"
    "apt-get          apt                      downloading the libreswan .deb (Interop LibreswanTests)"
    "dpkg-deb         dpkg                     unpacking the libreswan .deb (Interop LibreswanTests)"
    "chromium         chromium                 headless rendering (Explain tests, scripts/screenshots.sh)"
    "python3          python3                  tests/IkeActors.Benchmarks/throughput.sh (no test needs it)"
    "iperf3           iperf3                   traffic through the tunnel (tests/IkeActors.Benchmarks/throughput.sh)"
    "vpnc             vpnc                     a real remote-access client: Aggressive Mode, XAUTH, Mode Config (Interop RemoteAccess tests)"
    "ike-scan         ike-scan                 Aggressive Mode probing and psk-crack, the offline guessing am-disable prevents (Interop tests)"
  )
  # libraries with no program of their own
  libraries=(
    "libldns.so.3              libldns3                  pluto from the unpacked libreswan .deb"
    "libevent_pthreads-2.1.so.7 libevent-pthreads-2.1-7 pluto from the unpacked libreswan .deb"
  )
  extra_pkgs=(libcharon-extra-plugins libstrongswan-standard-plugins) # strongSwan's kernel-libipsec and the plugins the lab loads

  have_prog() { [[ $1 == /* ]] && [[ -x $1 ]] || command -v "$1" >/dev/null 2>&1; }
  # (grep reads all of ldconfig's output: with pipefail, grep -q stopping early fails the pipe through SIGPIPE)
  have_lib() { "$(command -v ldconfig || echo /sbin/ldconfig)" -p | grep -c -- "$1" >/dev/null; }

  missing_pkgs() {
    local line
    for line in "${required[@]}"; do set -- $line; have_prog "$1" || echo "$2"; done
    for line in "${libraries[@]}"; do set -- $line; have_lib "$1" || echo "$2"; done
    if ! have_prog /usr/lib/ipsec/charon || ! ls /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so >/dev/null 2>&1; then
      printf '%s\n' "${extra_pkgs[@]}"
    fi
    # strongSwan as an IKEv1 XAUTH client (xauth-generic; the unity plugin is in libstrongswan-standard-plugins)
    ls /usr/lib/ipsec/plugins/libstrongswan-xauth-generic.so >/dev/null 2>&1 || echo libcharon-extauth-plugins
  }

  mapfile -t need < <(missing_pkgs | sort -u)
  if ((${#need[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      echo "installing: ${need[*]}"
      export DEBIAN_FRONTEND=noninteractive
      # wireshark-common asks whether non-root users may capture: answer no, without a prompt
      echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
      apt-get update -qq >/dev/null 2>&1
      apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
        || apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || true
    else
      echo "not root (or no apt-get): cannot install ${need[*]}" >&2
    fi
  fi

  still=0
  for line in "${required[@]}"; do
    set -- $line
    if ! have_prog "$1"; then prog=$1 pkg=$2; shift 2; echo "missing program: $prog (Debian package $pkg) - needed for $*" >&2; still=1; fi
  done
  for line in "${libraries[@]}"; do
    set -- $line
    if ! have_lib "$1"; then lib=$1 pkg=$2; shift 2; echo "missing library: $lib (Debian package $pkg) - needed for $*" >&2; still=1; fi
  done
  return $still
}

# When a program is still missing, its message names it and its package, and no test runs: one clear
# failure instead of a stack trace from each test that needs it.
if ! install_programs 2>&1; then
  echo "tests/run-all.sh: the programs above are missing, so the tests were not run"
  [[ ${1:-} == --install-only ]] && exit 1
  echo "0 passed, 1 failed"
  exit 1
fi
[[ ${1:-} == --install-only ]] && exit 0

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
