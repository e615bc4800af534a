#!/usr/bin/env bash
# Memory under churn: exodns's RSS while Services come and go for half an hour.
#
#   bench/kube/churn.sh [MINUTES] [PER_MINUTE] [BASE]       defaults: 30, 100, 1000
#
# One kube-apiserver (scripts/testbed/apiserver.sh), one stock PowerDNS (scripts/testbed/pdns.sh)
# with zone churn.bench. BASE LoadBalancer Services stay all along (svc-<i>.churn.bench); exodns
# (watch mode, --policy=sync, default flags otherwise) publishes them, then for MINUTES minutes
# (kubebench.py churn, a bounded loop) PER_MINUTE new Services are created a minute, each with a
# status IP and a name never used before (churn-<n>.churn.bench), and as many deleted: those
# created a minute earlier. exodns's VmRSS is sampled every 5 s. At the end: the zone must hold
# exactly the live Services' records (the churn left nothing behind and missed nothing), and the
# summary gives RSS after the first minute, at the end, their ratio (goal <= 1.2) and the peak.
# Raw samples and logs in $OUT (default $EXODNS_CACHE/bench/kube-churn-<time>). EXODNS_BIN skips
# the cargo build; EXODNS_EXTRA_ARGS adds flags to exodns.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" churn

MINUTES=${1:-30}
PER_MINUTE=${2:-100}
BASE=${3:-1000}

EXO_PID=""
cleanup() {
  set +e
  [ -n "$EXO_PID" ] && kill -TERM "$EXO_PID" 2>/dev/null
  sleep 1
  [ -n "$EXO_PID" ] && kill -KILL "$EXO_PID" 2>/dev/null
  "$ROOT/scripts/testbed/pdns.sh" stop "$OUT/pdns" >/dev/null 2>&1
  "$ROOT/scripts/testbed/apiserver.sh" stop "$OUT/apiserver" >/dev/null 2>&1
}
trap cleanup EXIT

echo "== $(date -u +%FT%TZ) machine: $(nproc) cores; $(uptime)" | tee "$OUT/uptime.txt" >&2
start_apiserver
eval "$("$ROOT/scripts/testbed/pdns.sh" start "$OUT/pdns" | sed 's/^/export /')"
$KB zone --api "$PDNS_API_URL" --key "$PDNS_API_KEY" --zone churn.bench
$KB namespaces bench
$KB services --ns bench --count "$BASE" --zones churn.bench --ip-base 10.1

PORT=$(free_port 1)
setsid "$EXODNS_BIN" --source=service --provider=pdns --pdns-server="$PDNS_API_URL" --pdns-api-key="$PDNS_API_KEY" \
  --policy=sync --txt-owner-id=churn-bench --domain-filter=churn.bench --kubeconfig="$KUBECONFIG" \
  --metrics-address="127.0.0.1:$PORT" ${EXODNS_EXTRA_ARGS:-} </dev/null >"$OUT/exodns.log" 2>&1 &
EXO_PID=$!
echo "exodns pid $EXO_PID ($("$EXODNS_BIN" --version 2>&1 | head -1)), args: ${EXODNS_EXTRA_ARGS:-(defaults)}" \
  | tee -a "$OUT/uptime.txt" >&2
$KB wait-zone --api "$PDNS_API_URL" --key "$PDNS_API_KEY" --zone churn.bench --count "$BASE" --ip-base 10.1 --timeout 300

echo "== churn start: $(uptime)" | tee -a "$OUT/uptime.txt" >&2
$KB churn --ns bench --zone churn.bench --pid "$EXO_PID" --minutes "$MINUTES" --per-minute "$PER_MINUTE" \
  --out "$OUT/rss.tsv"
echo "== churn end: $(uptime)" | tee -a "$OUT/uptime.txt" >&2
grep -E 'VmHWM|VmRSS' "/proc/$EXO_PID/status" | tr -s ' \t\n' ' ' >"$OUT/rss-end.txt"

# The zone must end as the live Services say: BASE + the last minute's churn names, nothing else.
python3 - "$OUT/rss.tsv" "$BASE" "$MINUTES" "$PER_MINUTE" <<'PY'
import json, os, sys, time, urllib.request
tsv, base, minutes, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
live = {f"{n}.churn.bench." for n in open(tsv + ".live").read().split()}
live |= {f"svc-{i}.churn.bench." for i in range(base)}
api, key = os.environ["PDNS_API_URL"], os.environ["PDNS_API_KEY"]
deadline = time.monotonic() + 120
while True:
    req = urllib.request.Request(f"{api}/api/v1/servers/localhost/zones/churn.bench.", headers={"X-API-Key": key})
    names = {rr["name"] for rr in json.load(urllib.request.urlopen(req))["rrsets"] if rr["type"] == "A"}
    if names == live or time.monotonic() > deadline:
        break
    time.sleep(1)
print(f"zone: {len(names)} A records, live Services {len(live)}, missing {len(live - names)}, left over {len(names - live)}")
rows = [l.split("\t") for l in open(tsv).read().split("\n") if l]
rows = [(float(t), int(r) / 1024, int(n)) for t, r, n in rows if r != "None"]
first = min(rows, key=lambda r: abs(r[0] - 60))
end = rows[-1]
peak = max(r[1] for r in rows)
print("| exodns RSS | after 1 min | at the end | end / 1 min | peak | samples |")
print("|---|---:|---:|---:|---:|---:|")
print(f"| {minutes} min, {per} Services a minute, {base} steady | {first[1]:.1f} MiB | {end[1]:.1f} MiB "
      f"| **{end[1] / first[1]:.2f}** | {peak:.1f} MiB | {len(rows)} |")
if names != live:
    sys.exit("the zone does not match the live Services")
PY
cat "$OUT/rss-end.txt"; echo
echo "raw: $OUT" >&2
