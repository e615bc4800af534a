#!/usr/bin/env bash
# Failover benchmark (issue 13): how fast PowerDNS LUA answers follow members and specs.
#
#   bench/failover/run.sh MODE [RUNS] [ARGS…]     MODE: backend | spec | peer | scale; RUNS default 20
#
# backend: for PowerDNS health-check intervals 1 s and 5 s, a member's listener killed → the
#   answer changes, restarted → the answer returns, for ifurlup, ifportup and hot standby.
# spec: a FailoverRecord's spec changed on a kube-apiserver → the answer (an address removed; a
#   never-checked one added), through a running exodns (ARGS: --intervals 1 = PowerDNS's checks).
# peer: another region's member written into the zone → the pool's answer, at the next full sync
#   of a running exodns (ARGS: --sync-interval 5 = its --interval, seconds).
# scale: 1 000 pools × 3 regions (ARGS: --pools N): each region's first sync, and a no-op sync.
#
# Records are published by the release exodns binary (DNSEndpoint LUA entries rendered by core's
# failover renderer, with --pdns-dns-server); PowerDNS and the listeners on 127.0.0.2–.4 come from
# the test bed. Results: markdown (median, p95) on stdout; one JSON line per sample, the machine
# load (`uptime`) before and after, in $OUT (default $EXODNS_CACHE/bench/failover-<mode>-<time>).
# Needs: pdns_server (scripts/testbed/apt-deps.sh), cargo.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/testbed/lib.sh"
MODE=${1:-}
[ -n "$MODE" ] || { usage_header; exit 2; }
bench_init "failover-$MODE"
RUNS=${2:-20}
shift $(( $# < 2 ? $# : 2 ))

echo "building exodns and failover-bench (release)..." >&2
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p exodns -p exodns-it --bin exodns --bin failover-bench
export EXODNS_BIN=$CARGO_TARGET_DIR/release/exodns
export PATH="$PATH:/usr/sbin:/sbin"

uptime | tee "$OUT/uptime-before" >&2
"$CARGO_TARGET_DIR/release/failover-bench" "$MODE" --runs "$RUNS" "$@" >"$OUT/samples.jsonl" 2>"$OUT/summary.md" \
  || { tail -20 "$OUT/summary.md" >&2; die "failover-bench $MODE failed (raw: $OUT)"; }
uptime | tee "$OUT/uptime-after" >&2
{
  printf '`bench/failover/run.sh %s %s` (%s), release build %s\n\n' "$MODE" "$RUNS" "$(date -u +%F)" \
    "$(git -C "$ROOT" rev-parse --short HEAD)"
  grep '^|' "$OUT/summary.md"
  printf '\nload average before / after: %s / %s\n' "$(sed 's/.*load average: //' "$OUT/uptime-before")" \
    "$(sed 's/.*load average: //' "$OUT/uptime-after")"
}
echo "raw: $OUT" >&2
