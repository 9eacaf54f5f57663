#!/usr/bin/env bash
# hub-bench.sh - handshake rate and capacity of one `ikeactors run` hub node against strongSwan 5.9.8 charon as the
# responder, driven by the same `ikeactors bench`, in one run. Root; everything runs inside a network namespace this
# script creates (its loopback carries the peers' 127.1.x.x sources and the responder's 10.0.0.2) and removes.
#
#   tests/IkeActors.Benchmarks/hub-bench.sh rate [--peers N] [--sets seed,modern]
#   tests/IkeActors.Benchmarks/hub-bench.sh capacity [--peers 100000] [--store memory|redis] [--rate R] [--no-drain]
#       [--hub-dpd SECONDS]   (the hub's `isakmp keepalive threshold`, default 300; 3600 = no probe within the run)
#   tests/IkeActors.Benchmarks/hub-bench.sh overload [--held 4000] [--flood 16000] [--hub-dpd 20]
#   tests/IkeActors.Benchmarks/hub-bench.sh ra [--peers 1000]   (remote access beside site-to-site on one node)
#   NODE_ENV="DOTNET_gcServer=1 ..." : environment of the node only (runtime knobs), not of the bench processes
#   PERF_DIR=DIR : `perf record -g` of our node during each of its bursts (DIR/<label>.data, with the JIT's
#       /tmp/perf-PID.map: the node runs with DOTNET_PerfMapEnabled=1); `perf report -i DIR/<label>.data` reads it
#
# rate: for each proposal set (seed: 3DES/SHA/group 2 + ESP AES/SHA; modern: AES-256/SHA-256/group 14 + ESP
#   AES-256/SHA-256 with PFS 14) and each responder (ours with full and with short DH exponents, strongSwan with its
#   default full exponents and with dh_exponent_ansi_x9_42 = no), a freshly started responder gets N peers at once
#   (cold), then N more (warm), then a rate ramp (the highest --rate with every tunnel up). Printed per row: tunnels
#   up per second at saturation, the responder's CPU per tunnel (/proc/PID/stat, from the first MM1 to 3 s after the
#   last tunnel, so recompilation after a burst counts), and the highest clean rate.
# capacity: N tunnels held on one node (in-memory grain state, or the Redis cluster store with --store redis):
#   RSS and bytes per tunnel, time to bring them up, how long `show crypto isakmp sa`,
#   `show vpn-sessiondb summary` and `show crypto isakmp stats` take, the spread of Phase 1 rekey times
#   (`show crypto isakmp timers`); then the peers stop answering and the node's DPD must remove every SA.
# overload: HELD tunnels up and idle, the hub probing each every --hub-dpd seconds (RFC 3706, the ASA's threshold
#   + 2 retries), then FLOOD new peers as fast as the node answers (far more than it can set up): how many held
#   tunnels the node keeps (a live peer whose R-U-THERE-ACK waits behind setups past the 8 s budget is declared dead),
#   what the flood got, and how many MM1s the node shed for waiting too long.
#
# The node is published as one composite ReadyToRun image (dotnet publish -r linux-x64: `run` and `bench` restart JIT-only with tiering off, see the Gateway csproj);
# IKEACTORS_NODE=DIR uses a node published there instead (to compare two builds).
# Results: a Markdown table on stdout and the raw JSON reports under $OUT (default a temporary directory).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-rate}; shift || true
peers=1000 sets=seed,modern store=memory cap_rate=250 drain=yes hub_dpd= held=4000 flood=16000 responders=ours-full,ours-short,strongswan-full,strongswan-short
while (($#)); do
    case $1 in
        --peers) peers=$2; shift 2 ;;
        --sets) sets=$2; shift 2 ;;
        --responders) responders=$2; shift 2 ;;
        --store) store=$2; shift 2 ;;
        --rate) cap_rate=$2; shift 2 ;;
        --no-drain) drain=no; shift ;;
        --hub-dpd) hub_dpd=$2; shift 2 ;;
        --held) held=$2; shift 2 ;;
        --flood) flood=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -n $hub_dpd ]] || { [[ $mode == overload ]] && hub_dpd=20 || hub_dpd=300; }
[[ $(id -u) == 0 ]] || { echo "hub-bench.sh: run as root (namespaces)" >&2; exit 2; }

OUT=${OUT:-$(mktemp -d /tmp/ikeactors-hub-bench-XXXXXX)}
export IKE_INTEROP_DIR=$OUT/lab
mkdir -p "$OUT" "$IKE_INTEROP_DIR"
ns=ikebench-$$
node=$OUT/node
pids=()
hz=$(getconf CLK_TCK)

bench_shells=() # the capacity run's bench subshells: their children are the bench processes
cleanup() {
    for p in "${bench_shells[@]}"; do pkill -9 -P "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "$here/tests/lab/strongswan-peer.sh" stop "$ns" >/dev/null 2>&1 || true
    sleep 0.5
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

log() { echo "# $*" >&2; }

if [[ -n ${IKEACTORS_NODE:-} ]]; then
    node=$IKEACTORS_NODE   # a node published earlier (an A/B of two builds)
    log "using the node published in $node"
else
    log "publishing the node (ReadyToRun) into $node"
    dotnet publish "$here/src/IkeActors.Gateway" -c Release -r linux-x64 -o "$node" >"$OUT/publish.log" 2>&1 \
        || { tail -20 "$OUT/publish.log" >&2; exit 1; }
fi

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" addr add 10.0.0.2/32 dev lo

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }

# The ASA hub configuration of a proposal set (samples/Hub, written for 10.0.0.2 outside) with the DPD threshold of
# the run: the rate runs measure handshakes (charon here sends no DPD either: 3600 s, the ASA's longest), the capacity
# run holds its tunnels with a probe every 300 s, so that peers that go away are found within minutes.
hub_config() { # set dpd-threshold
    local file=$OUT/hub-$1-$2.cfg
    case $1 in
        seed) cat "$here/samples/Hub/hub.cfg" ;;
        modern) cat "$here/samples/Hub/hub-modern.cfg" ;;
    esac >"$file"
    printf 'tunnel-group DefaultL2LGroup ipsec-attributes\n isakmp keepalive threshold %s retry 2\n' "$2" >>"$file"
    echo "$file"
}
dpd_threshold=3600
bench_proposals() {
    case $1 in
        seed) echo "--ike 3des-sha1-modp1024 --esp aes128-sha1" ;;
        modern) echo "--ike aes256-sha256-modp2048 --esp aes256-sha256 --pfs 14" ;;
    esac
}
swan_proposals() {
    case $1 in
        seed) echo "--ike 3des-sha1-modp1024 --esp aes128-sha1" ;;
        modern) echo "--ike aes256-sha256-modp2048 --esp aes256-sha256-modp2048" ;;
    esac
}

responder_pid=
start_ours() { # set exponent [extra run options...]
    local set=$1 exponent=$2; shift 2
    local perf_env=
    [[ -n ${PERF_DIR:-} ]] && perf_env=DOTNET_PerfMapEnabled=1
    env ${NODE_ENV:-} $perf_env ip netns exec "$ns" "$node/ikeactors" run --config "$(hub_config "$set" "$dpd_threshold")" --bind 10.0.0.2:500 --debug 0 \
        --dh-exponent "$exponent" "$@" >"$OUT/node-$set-$exponent.log" 2>&1 &
    responder_pid=$!
    pids+=("$responder_pid")
    for _ in $(seq 1 300); do grep -qs "ISAKMP on" "$OUT/node-$set-$exponent.log" && return 0; sleep 0.1; done
    echo "the node did not start" >&2; tail "$OUT/node-$set-$exponent.log" >&2; exit 1
}
stop_ours() { kill "$responder_pid"; wait "$responder_pid" 2>/dev/null || true; }
isakmp_stats() { ip netns exec "$ns" "$node/ikeactors" show crypto isakmp stats 2>/dev/null; }
active_tunnels() { isakmp_stats | awk '/Active Tunnels/{print $NF; exit}'; }

start_swan() { # set exponent
    local set=$1 exponent=$2 x942=yes
    [[ $exponent == short ]] && x942=no
    SS_EXTRA_CHARON="ikesa_table_size = 4096
    ikesa_table_segments = 16
    threads = 32
    init_limit_half_open = 0
    dh_exponent_ansi_x9_42 = $x942" \
        "$here/tests/lab/strongswan-peer.sh" start "$ns" --role responder --local 10.0.0.2 --remote %any --psk cisco \
        --local-ts 192.168.2.0/24 --remote-ts 10.0.0.0/8 $(swan_proposals "$set") --log-level 0 >"$OUT/swan-$set-$exponent.log" 2>&1
    responder_pid=$(cat "$IKE_INTEROP_DIR/strongswan-$ns/charon.started")
}
stop_swan() { "$here/tests/lab/strongswan-peer.sh" stop "$ns" >/dev/null 2>&1 || true; }

# One bench run inside the namespace: prints its JSON report to FILE; returns the bench's exit code.
bench() { # file first-source-index peers rate set [extra...]
    local file=$1 first=$2 n=$3 rate=$4 set=$5; shift 5
    local a=$((first / 65536 % 256)) b=$((first / 256 % 256)) c=$((first % 256))
    ip netns exec "$ns" "$node/ikeactors" bench --target 10.0.0.2 --sources "127.$((1 + a)).$b.$c" --peers "$n" \
        --rate "$rate" --concurrency "${bench_concurrency:-400}" --psk cisco $(bench_proposals "$set") --local-ts 10.0.0.0/8 \
        --remote-ts 192.168.2.0/24 --timeout "${bench_timeout:-60}" --no-delete --json "$@" >"$file" 2>"$file.progress" || return $?
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

# A burst of N tunnels: the responder's CPU per tunnel and the rate, as "rate cpu_ms".
burst() { # label first n set
    local label=$1 first=$2 n=$3 set=$4
    local c0 c1
    local perf_pid=
    if [[ -n ${PERF_DIR:-} && $label == *-ours-* ]]; then
        mkdir -p "$PERF_DIR"
        perf record -q -F 997 -g -p "$responder_pid" -o "$PERF_DIR/$label.data" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 0.5
    fi
    c0=$(cpu_ticks "$responder_pid")
    bench "$OUT/$label.json" "$first" "$n" 0 "$set" || true
    sleep 3
    c1=$(cpu_ticks "$responder_pid")
    if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
    local up; up=$(json "$OUT/$label.json" "d['established']")
    [[ $up == "$n" ]] || log "$label: $up of $n up ($(json "$OUT/$label.json" "d['failures']"))"
    printf '%s %s %s\n' "$(json "$OUT/$label.json" "round(d['establishedPerSecond'])")" \
        "$(echo "scale=2; ($c1 - $c0) * 1000 / $hz / $n" | bc)" "$up"
}

# The highest --rate (of a doubling ramp) at which every tunnel came up within its second budget.
ramp() { # label first set
    local label=$1 first=$2 set=$3 best=0 rate
    for rate in 50 100 200 400 800 1600; do
        local n=$((rate * 4))
        if bench "$OUT/$label-ramp-$rate.json" "$first" "$n" "$rate" "$set" \
            && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d['establishedPerSecond'] >= 0.9*$rate else 1)" "$OUT/$label-ramp-$rate.json"; then
            best=$rate
        else
            break
        fi
        first=$((first + n))
    done
    echo "$best"
}

rate_mode() {
    echo "| set | responder | cold: up/s | cold: CPU/tunnel | warm: up/s | warm: CPU/tunnel | highest clean rate |"
    echo "|---|---|---|---|---|---|---|"
    local first=0
    for set in ${sets//,/ }; do
        for r in ${responders//,/ }; do
            local kind=${r%-*} exponent=${r#*-}
            if [[ $kind == ours ]]; then start_ours "$set" "$exponent"; else start_swan "$set" "$exponent"; fi
            sleep 1
            read -r cold_rate cold_cpu cold_up < <(burst "$set-$r-cold" "$first" "$peers" "$set"); first=$((first + peers))
            read -r warm_rate warm_cpu warm_up < <(burst "$set-$r-warm" "$first" "$peers" "$set"); first=$((first + peers))
            local best; best=$(ramp "$set-$r" "$first" "$set"); first=$((first + 20000))
            if [[ $kind == ours ]]; then stop_ours; else stop_swan; fi
            echo "| $set | $r | $cold_rate ($cold_up up) | $cold_cpu ms | $warm_rate ($warm_up up) | $warm_cpu ms | $best/s |"
        done
    done
}

capacity_mode() {
    local extra=() redis_pid=
    if [[ $store == redis ]]; then
        ip netns exec "$ns" redis-server --port 6399 --bind 127.0.0.1 --save '' --appendonly no >"$OUT/redis.log" 2>&1 &
        redis_pid=$!
        pids+=("$redis_pid")
        sleep 1
        extra=(--cluster redis://127.0.0.1:6399)
    fi
    dpd_threshold=$hub_dpd
    # No Orleans Dashboard here: its metrics reader took about a tenth of the node's CPU in a 100,000-tunnel run.
    start_ours seed short "${extra[@]}"
    local rss0; rss0=$(rss_kb "$responder_pid")
    local t0; t0=$(date +%s.%N)
    local n0 r0=0; n0=$(cpu_ticks "$responder_pid"); [[ -n $redis_pid ]] && r0=$(cpu_ticks "$redis_pid")
    # One bench process holds at most ~19,000 sockets here (RLIMIT_NOFILE, a hard limit root cannot raise in this
    # sandbox): several run side by side, sharing --rate between them. --dpd 3600: the peers send the DPD vendor ID
    # (RFC 3706 §4: DPD is used only when both sides send it) and probe once an hour; the hub probes every 300 s, so
    # when the peers are killed the hub's DPD must find them dead.
    local per=16000 started=0 i=0 bpids=()
    local processes=$(( (peers + per - 1) / per ))
    local each; each=$(echo "scale=1; $cap_rate / $processes" | bc)
    while ((started < peers)); do
        local n=$((peers - started < per ? peers - started : per))
        bench_timeout=180 bench "$OUT/capacity-$i.json" "$started" "$n" "$each" seed --hold 1800 --dpd 3600 &
        bpids+=("$!"); bench_shells+=("$!"); started=$((started + n)); i=$((i + 1))
    done
    # Up when the node counts them all (the bench processes hold their tunnels), or when the count has not grown for
    # two minutes (peers the node could not answer in time gave up: see the bench reports' failures).
    local up=0 last=-1 still=0
    while :; do
        up=$(active_tunnels)
        [[ ${up:-0} -ge $peers ]] && break
        if [[ ${up:-0} == "$last" ]]; then still=$((still + 5)); else still=0; last=${up:-0}; fi
        ((still >= 120)) && { log "capacity: stuck at $up of $peers"; break; }
        local ca cb; ca=$(cpu_ticks "$responder_pid")
        sleep 5
        cb=$(cpu_ticks "$responder_pid")
        log "capacity: ${up:-0} of $peers up at $(date +%T), node RSS $(( $(rss_kb "$responder_pid") / 1024 )) MiB, node CPU $(( (cb - ca) * 100 / hz / 5 ))%"
    done
    local t1; t1=$(date +%s.%N)
    local n1 r1=0; n1=$(cpu_ticks "$responder_pid"); [[ -n $redis_pid ]] && r1=$(cpu_ticks "$redis_pid")
    sleep 10
    local rss1; rss1=$(rss_kb "$responder_pid")
    echo "| tunnels | store | time to bring up | RSS | bytes per tunnel | node CPU per tunnel | Redis CPU per tunnel |"
    echo "|---|---|---|---|---|---|---|"
    echo "| $up of $peers | $store | $(echo "$t1 - $t0" | bc) s | $((rss1 / 1024)) MiB | $(( (rss1 - rss0) * 1024 / up )) |" \
        "$(echo "scale=2; ($n1 - $n0) * 1000 / $hz / $up" | bc) ms | $(echo "scale=2; ($r1 - $r0) * 1000 / $hz / $up" | bc) ms |"
    for cmd in "show crypto isakmp stats" "show vpn-sessiondb summary" "show crypto isakmp sa" "show crypto isakmp timers"; do
        local s0 s1; s0=$(date +%s.%N)
        ip netns exec "$ns" "$node/ikeactors" $cmd >"$OUT/${cmd// /-}.txt" 2>&1
        s1=$(date +%s.%N)
        echo "- \`$cmd\`: $(echo "$s1 - $s0" | bc) s, $(wc -l <"$OUT/${cmd// /-}.txt") lines"
    done
    head -4 "$OUT/show-crypto-isakmp-timers.txt" | sed "s/^/    /"
    # The peers go away without a word: the node's DPD must remove every SA.
    # Each bench runs in a subshell of this script: the bench processes are that subshell's children.
    for p in "${bpids[@]}"; do pkill -9 -P "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
    [[ $drain == yes ]] || { stop_ours; return; }
    local g0; g0=$(date +%s)
    while :; do
        up=$(active_tunnels)
        [[ ${up:-1} == 0 ]] && break
        (( $(date +%s) - g0 > 600 )) && { log "after 600 s the node still has $up SAs"; break; }
        sleep 10
    done
    echo "- peers gone: $(( $(date +%s) - g0 )) s until the node had no IKE SA; RSS then $(( $(rss_kb "$responder_pid") / 1024 )) MiB"
    stop_ours
}

overload_mode() {
    dpd_threshold=$hub_dpd
    start_ours seed short
    # The held peers (sources from 127.1.0.0) come up at a rate the node easily follows and stay, probing nothing
    # themselves within the run (--dpd 3600); the flood's peers start at 127.2.0.0.
    bench_timeout=60 bench "$OUT/held.json" 0 "$held" 200 seed --hold 900 --dpd 3600 &
    bench_shells+=("$!")
    for _ in $(seq 1 120); do [[ $(active_tunnels) -ge $held ]] && break; sleep 2; done
    log "overload: $(active_tunnels) tunnels up; the hub probes each after $hub_dpd s idle; flooding with $flood peers"
    local c0 c1 t0; c0=$(cpu_ticks "$responder_pid"); t0=$(date +%s)
    bench_concurrency=1500 bench_timeout=20 bench "$OUT/flood.json" 65536 "$flood" 0 seed &
    local flood_shell=$!
    bench_shells+=("$flood_shell")
    while kill -0 "$flood_shell" 2>/dev/null; do
        sleep 10
        c1=$(cpu_ticks "$responder_pid")
        log "overload: $(( $(date +%s) - t0 )) s: $(isakmp_stats | awk '/Active Tunnels/{a=$NF} /Previous Tunnels/{p=$NF} END{printf "active %s, previous %s", a, p}'), node CPU $(( (c1 - c0) * 100 / hz / 10 ))%"
        c0=$c1
    done
    # Two more probe rounds after the flood, so that a tunnel whose ACK was late is counted gone.
    sleep $((2 * hub_dpd + 10))
    local kept; kept=$(ip netns exec "$ns" "$node/ikeactors" show crypto isakmp sa 2>/dev/null | grep -c "Peer: 127\.1\." || true)
    local shed; shed=$(isakmp_stats | awk '/Waited Too Long/{print $NF; exit}')
    echo "| held | hub DPD | flood peers | flood up | flood up/s | held tunnels kept | MM1s shed |"
    echo "|---|---|---|---|---|---|---|"
    echo "| $held | ${hub_dpd} s | $flood | $(json "$OUT/flood.json" "d['established']") | $(json "$OUT/flood.json" "round(d['establishedPerSecond'])") |" \
        "**$kept** | ${shed:-n/a} |"
    stop_ours
}

# remote access: one node serving both a remote-access group (pool, user, group policy) and the hub's dynamic map, a
# fresh node per profile: N LAN-to-LAN peers (Main Mode) at once then N more, against N remote-access clients
# (Aggressive Mode + XAUTH + Mode Config + Quick Mode from the given address) then N more; the rate, the node's CPU per
# tunnel, and the pool's accounting: addresses Mode Config gave, how many distinct, sessions `show vpn-sessiondb remote`
# lists and how many distinct assigned addresses it shows.
ra_config() {
    local file=$OUT/hub-ra.cfg
    { cat "$(hub_config seed "$dpd_threshold")"
      cat <<'CFG'
ip local pool RAPOOL 10.200.0.1-10.200.63.254 mask 255.255.192.0
username benchuser password bench-user-pw
group-policy RA internal
group-policy RA attributes
 vpn-simultaneous-logins 100000
 vpn-tunnel-protocol ikev1
 dns-server value 10.200.0.53
tunnel-group RA type remote-access
tunnel-group RA general-attributes
 address-pool RAPOOL
 default-group-policy RA
tunnel-group RA ipsec-attributes
 ikev1 pre-shared-key cisco
 isakmp keepalive threshold 3600 retry 2
CFG
    } >"$file"
    echo "$file"
}
ra_mode() {
    echo "| profile | burst | up/s | node CPU/tunnel | up | addresses given | distinct | sessions listed | distinct listed |"
    echo "|---|---|---|---|---|---|---|---|---|"
    local first=0 profile
    for profile in l2l ra; do
        local perf_env=
    [[ -n ${PERF_DIR:-} ]] && perf_env=DOTNET_PerfMapEnabled=1
    env ${NODE_ENV:-} $perf_env ip netns exec "$ns" "$node/ikeactors" run --config "$(ra_config)" --bind 10.0.0.2:500 --debug 0 --dh-exponent short \
            >"$OUT/node-$profile.log" 2>&1 &
        responder_pid=$!
        pids+=("$responder_pid")
        for _ in $(seq 1 300); do grep -qs "ISAKMP on" "$OUT/node-$profile.log" && break; sleep 0.1; done
        sleep 1
        local extra=()
        [[ $profile == ra ]] && extra=(--group RA --user benchuser --password bench-user-pw)
        for burst_name in cold warm; do
            local c0 c1 label=$profile-$burst_name
            c0=$(cpu_ticks "$responder_pid")
            bench "$OUT/$label.json" "$first" "$peers" 0 seed "${extra[@]}" || true
            sleep 3
            c1=$(cpu_ticks "$responder_pid")
            first=$((first + peers))
            local given distinct listed="-" listed_distinct="-"
            given=$(json "$OUT/$label.json" "d['modeConfig']['addressesAssigned']")
            distinct=$(json "$OUT/$label.json" "d['modeConfig']['distinctAddresses']")
            if [[ $profile == ra ]]; then
                ip netns exec "$ns" "$node/ikeactors" show vpn-sessiondb remote >"$OUT/$label-sessions.txt" 2>/dev/null || true
                listed=$(grep -c "^Username     : benchuser" "$OUT/$label-sessions.txt" || true)
                listed_distinct=$(grep -o "^Assigned IP  : [0-9.]*" "$OUT/$label-sessions.txt" | sort -u | wc -l)
            fi
            echo "| $profile | $burst_name | $(json "$OUT/$label.json" "round(d['establishedPerSecond'])") |" \
                "$(echo "scale=2; ($c1 - $c0) * 1000 / $hz / $peers" | bc) ms | $(json "$OUT/$label.json" "d['established']") |" \
                "$given | $distinct | $listed | $listed_distinct |"
        done
        stop_ours
    done
}

case $mode in
    rate) rate_mode ;;
    ra) ra_mode ;;
    capacity) capacity_mode ;;
    overload) overload_mode ;;
    *) echo "usage: hub-bench.sh rate|capacity|overload|ra [options]" >&2; exit 2 ;;
esac
log "raw reports in $OUT"
