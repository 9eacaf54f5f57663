#!/usr/bin/env bash
# install-deps.sh - installs (Debian, as root) every program a test or a test script runs, then
# checks that each one is there. A program that is still missing is named once with its package,
# and the script exits 1. Called by tests/run-all.sh; safe to run again (installs only what is missing).
# `dotnet` itself is not in the list: the SDK comes with the machine, not from Debian.
set -uo pipefail

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
)
# libraries with no program of their own
libraries=(
  "libldns.so.3              libldns3                  pluto from the unpacked libreswan .deb"
  "libevent_pthreads-2.1.so.7 libevent-pthreads-2.1-7 pluto from the unpacked libreswan .deb"
)
extra_pkgs=(libcharon-extra-plugins libstrongswan-standard-plugins) # strongSwan's kernel-libipsec and the plugins the lab loads

have_prog() { [[ $1 == /* ]] && [[ -x $1 ]] || command -v "$1" >/dev/null 2>&1; }
have_lib() { "$(command -v ldconfig || echo /sbin/ldconfig)" -p | grep -q "$1"; }

missing_pkgs() {
  local line
  for line in "${required[@]}"; do set -- $line; have_prog "$1" || echo "$2"; done
  for line in "${libraries[@]}"; do set -- $line; have_lib "$1" || echo "$2"; done
  if ! have_prog /usr/lib/ipsec/charon || ! ls /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so >/dev/null 2>&1; then
    printf '%s\n' "${extra_pkgs[@]}"
  fi
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
exit $still
