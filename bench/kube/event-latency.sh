#!/usr/bin/env bash
# Event -> answer latency: exodns against upstream ExternalDNS v0.22.0, side by side in one run.
#
#   bench/kube/event-latency.sh [COUNT] [UP_SAMPLE] [BURST]   defaults: 1000, 100, 500
#
# One kube-apiserver (scripts/testbed/apiserver.sh), one PowerDNS (scripts/testbed/pdns.sh, stock
# 2 MB body limit) with two zones: exo.bench. (exodns, owner id exo-bench) and up.bench. (upstream,
# owner id up-bench). COUNT LoadBalancer Services carry both names in their
# external-dns.kubernetes.io/hostname annotation (svc-<i>.exo.bench,svc-<i>.up.bench) and a status
# IP; both tools start, with their default event settings (exodns: a change syncs at once, a
# burst waits its 50 ms --min-event-sync-interval; upstream: --events, 5 s
# --min-event-sync-interval), and converge. Then (kubebench.py latency):
#   phase A: the COUNT Services' status is patched one at a time to a new IP; after each PATCH
#            returns, PowerDNS is queried over UDP every 5 ms until the exodns name answers the
#            new address (upstream runs and reacts to the same events meanwhile);
#   phase B: the first UP_SAMPLE Services are patched again, and each sample waits until BOTH the
#            exodns and the upstream name answer (upstream takes ~5 s each, hence the sample);
#   burst:   (kubebench.py burst) the first BURST Services' status changes all at once (one curl,
#            HTTP/2); the PATCHes each tool sent PowerDNS until its zone showed every change,
#            counted in PowerDNS's request log (PDNS_LOG_REQUESTS=1), and how long that took.
# Prints p50/p90/p99/max (markdown); raw samples and logs in $OUT (default
# $EXODNS_CACHE/bench/kube-latency-<time>). EXODNS_BIN skips the cargo build; EXODNS_EXTRA_ARGS adds
# flags to exodns (e.g. --min-event-sync-interval=10ms).
# Needs: scripts/testbed (apiserver, pdns, upstream external-dns built by setup.sh), python3, cargo.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" latency

COUNT=${1:-1000}
UP_SAMPLE=${2:-100}
BURST=${3:-500}

EXO_PID="" UP_PID=""
cleanup() {
  set +e
  for p in $EXO_PID $UP_PID; do kill -TERM "$p" 2>/dev/null; done
  sleep 1
  for p in $EXO_PID $UP_PID; do kill -KILL "$p" 2>/dev/null; done
  "$ROOT/scripts/testbed/pdns.sh" stop "$OUT/pdns" >/dev/null 2>&1
  "$ROOT/scripts/testbed/apiserver.sh" stop "$OUT/apiserver" >/dev/null 2>&1
}
trap cleanup EXIT

echo "== $(date -u +%FT%TZ) machine: $(nproc) cores; $(uptime)" | tee "$OUT/uptime.txt" >&2
start_apiserver
eval "$(PDNS_MAX_BODY_MB=2 PDNS_LOG_REQUESTS=1 "$ROOT/scripts/testbed/pdns.sh" start "$OUT/pdns" | sed 's/^/export /')"
for z in exo.bench up.bench; do $KB zone --api "$PDNS_API_URL" --key "$PDNS_API_KEY" --zone "$z"; done

$KB namespaces bench
$KB services --ns bench --count "$COUNT" --zones exo.bench,up.bench --ip-base 10.1

mapfile -t PORTS < <(free_port 2)
setsid "$EXODNS_BIN" --source=service --provider=pdns --pdns-server="$PDNS_API_URL" --pdns-api-key="$PDNS_API_KEY" \
  --policy=sync --txt-owner-id=exo-bench --domain-filter=exo.bench --kubeconfig="$KUBECONFIG" \
  --metrics-address="127.0.0.1:${PORTS[0]}" ${EXODNS_EXTRA_ARGS:-} </dev/null >"$OUT/exodns.log" 2>&1 &
EXO_PID=$!
setsid "$UPSTREAM" --source=service --provider=pdns --pdns-server="$PDNS_API_URL" --pdns-api-key="$PDNS_API_KEY" \
  --policy=sync --registry=txt --txt-owner-id=up-bench --domain-filter=up.bench --kubeconfig="$KUBECONFIG" \
  --metrics-address="127.0.0.1:${PORTS[1]}" --events </dev/null >"$OUT/upstream.log" 2>&1 &
UP_PID=$!
echo "exodns args: ${EXODNS_EXTRA_ARGS:-(defaults)}" >>"$OUT/uptime.txt"
echo "exodns pid $EXO_PID ($("$EXODNS_BIN" --version 2>&1 | head -1)), upstream pid $UP_PID ($("$UPSTREAM" --version 2>&1 | head -1))" >&2

$KB wait-zone --api "$PDNS_API_URL" --key "$PDNS_API_KEY" --zone exo.bench --count "$COUNT" --ip-base 10.1 --timeout 300
$KB wait-zone --api "$PDNS_API_URL" --key "$PDNS_API_KEY" --zone up.bench --count "$COUNT" --ip-base 10.1 --timeout 300
sleep 7   # let upstream's event-triggered syncs settle

echo "== before: $(uptime)" | tee -a "$OUT/uptime.txt" >&2
$KB latency --ns bench --exo-zone exo.bench --up-zone up.bench --count "$COUNT" --up-sample "$UP_SAMPLE" \
  --out "$OUT/samples.txt"
echo "== after: $(uptime)" | tee -a "$OUT/uptime.txt" >&2
sleep 7   # upstream's last syncs of phase B
$KB burst --ns bench --count "$BURST" --zone exo.bench --up-zone up.bench --api "$PDNS_API_URL" --key "$PDNS_API_KEY" \
  --pdns-log "$OUT/pdns/pdns.log" --out "$OUT/burst.json"
echo "== after the burst: $(uptime)" | tee -a "$OUT/uptime.txt" >&2

for t in exodns:$EXO_PID upstream:$UP_PID; do
  echo "${t%%:*} $(grep -E 'VmHWM|VmRSS' "/proc/${t#*:}/status" | tr -s ' \t\n' ' ')" >>"$OUT/rss.txt"
done
$KB stats "$OUT/samples.txt" >"$OUT/stats.json"
python3 - "$OUT/stats.json" "$OUT/samples.txt" "$OUT/burst.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ms = lambda v: f"{v * 1000:.0f} ms" if v < 10 else f"{v:.2f} s"
print("| phase / tool | n | p50 | p90 | p99 | max |")
print("|---|---|---|---|---|---|")
for k, v in s.items():
    print(f"| {k} | {v['n']} | {ms(v['p50'])} | {ms(v['p90'])} | {ms(v['p99'])} | {ms(v['max'])} |")
if "B/upstream" in s and "A/exodns" in s:
    a, u, b = s["A/exodns"], s["B/upstream"], s["B/exodns"]
    print()
    print(f"upstream p50 / exodns p50: {u['p50'] / a['p50']:.0f}x (phase A exodns), {u['p50'] / b['p50']:.0f}x (phase B exodns);"
          f" p99: {u['p99'] / a['p99']:.0f}x / {u['p99'] / b['p99']:.0f}x")
patch = sorted(float(l.split()[4]) for l in open(sys.argv[2]))
print(f"status PATCH round trip (kube-apiserver): p50 {patch[len(patch) // 2] * 1000:.1f} ms")
b = json.load(open(sys.argv[3]))
print()
print(f"burst: {b['count']} status changes sent in {b['span_s'] * 1000:.0f} ms (curl's wall time)")
print("| tool | PATCHes | every change published after |")
print("|---|---:|---:|")
for z, tool in (("exo.bench", "exodns"), ("up.bench", "upstream")):
    r = b["zones"][z]
    done = "not within the timeout" if r["complete_s"] is None else ms(r["complete_s"])
    print(f"| {tool} | {r['patches']} | {done} |")
PY
cat "$OUT/rss.txt"
echo "raw: $OUT" >&2
