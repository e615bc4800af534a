#!/usr/bin/env bash
# Scale: first full sync and peak RSS with 10 000 LoadBalancer Services + 20 000 Pods, exodns
# against upstream ExternalDNS v0.22.0 on the same kube-apiserver.
#
#   bench/kube/scale.sh [RUNS] [SERVICES] [PODS]        defaults: 3 runs, 10 000, 20 000
#
# One kube-apiserver holds SERVICES LoadBalancer Services (namespace bench, status IP, hostname
# annotation svc-<i>.exo.bench,svc-<i>.up.bench) and PODS Pods (namespaces bench-p0..p3, status
# Running with a pod IP), created concurrently by kubebench.py. Two PowerDNS servers: "stock"
# (2 MB API body limit) and "16mb" (PDNS_MAX_BODY_MB=16). Each run, in this order, every tool
# against a freshly (re)created EMPTY zone, one tool at a time (2 shared cores):
#   exodns-stock     exodns watch mode, stock PowerDNS, zone exo.bench: time from process start to
#                    the "sync applied kind=full" log line (then SIGTERM)
#   upstream-stock   upstream --once, stock PowerDNS, zone up.bench: wall time to exit
#                    (expected: fatal 400 from PowerDNS, the PATCH is over 2 MB)
#   upstream-16mb    upstream --once, 16 MB PowerDNS, zone up.bench: wall time to exit (succeeds)
#   exodns-16mb      exodns watch mode, 16 MB PowerDNS, zone exo.bench (same measure as above)
#   exodnsonce-stock exodns --once, stock PowerDNS, zone exo.bench: wall time to exit (the same
#                    measure as upstream's)
#   exodnsnoqps-stock  diagnostic: exodns-stock with --kube-api-qps=-1 (no client-side rate
#                    limit: shows what the paginated initial list costs under the default QPS 5)
#   exodnsle-stock   diagnostic: exodns-stock with --leader-election (its run loop then does not
#                    spin on a closed leader channel; see bench/kube/RESULTS.md)
#   exodnsb-stock / exodnsb-16mb  exodns-stock / exodns-16mb with a second binary, EXODNS_BIN_B
#                    (the image's static musl build, or another commit), in the same run
# TOOLS (env) picks and orders the configurations (default: the seven above but exodnsb).
# CPU: user + system time of the tool's process, at the ready line in watch mode (/proc/PID/stat),
# at exit with --once (wait4).
# Peak RSS: GNU time's maximum resident set size of the tool's process. Machine load (uptime) is
# recorded before every measurement.
# PowerDNS's own time for the same writes (after the runs, 16 MB PowerDNS): exodns --once and
# upstream --once run once more through a proxy that keeps their PATCH bodies (kubebench.py
# record; that run is not timed), then the bodies are sent again, one after another, RUNS times
# to a freshly emptied zone (kubebench.py replay): the PATCH time beside each first sync. Prints medians and ratios (markdown); raw JSON per
# measurement and logs in $OUT (default $EXODNS_CACHE/bench/kube-scale-<time>).
# EXODNS_BIN skips the cargo build.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" scale

RUNS=${1:-3}
SVCS=${2:-10000}
PODS=${3:-20000}
TOOLS=${TOOLS:-exodns-stock upstream-stock upstream-16mb exodns-16mb exodnsonce-stock exodnsnoqps-stock exodnsle-stock}

cleanup() {
  set +e
  "$ROOT/scripts/testbed/pdns.sh" stop "$OUT/pdns-stock" >/dev/null 2>&1
  "$ROOT/scripts/testbed/pdns.sh" stop "$OUT/pdns-16mb" >/dev/null 2>&1
  "$ROOT/scripts/testbed/apiserver.sh" stop "$OUT/apiserver" >/dev/null 2>&1
}
trap cleanup EXIT

echo "== $(date -u +%FT%TZ) machine: $(nproc) cores; $(uptime)" | tee "$OUT/uptime.txt" >&2
start_apiserver
declare -A API KEY
for p in stock:2 16mb:16; do
  env=$(PDNS_MAX_BODY_MB=${p#*:} "$ROOT/scripts/testbed/pdns.sh" start "$OUT/pdns-${p%%:*}")
  API[${p%%:*}]=$(sed -n 's/^PDNS_API_URL=//p' <<<"$env")
  KEY[${p%%:*}]=$(sed -n 's/^PDNS_API_KEY=//p' <<<"$env")
done

$KB namespaces bench bench-p0 bench-p1 bench-p2 bench-p3
t0=$(now)
$KB services --ns bench --count "$SVCS" --zones exo.bench,up.bench --ip-base 10.1 --workers 16
$KB pods --namespaces bench-p0,bench-p1,bench-p2,bench-p3 --count "$PODS" --workers 16
echo "objects created in $(since "$t0") s" | tee "$OUT/create.txt" >&2

zone_of() { case $1 in exodns*) echo exo.bench ;; *) echo up.bench ;; esac; }

bin_of() { case $1 in exodnsb-*) echo "${EXODNS_BIN_B:?exodnsb needs EXODNS_BIN_B}" ;; *) echo "$EXODNS_BIN" ;; esac; }

tool_cmds() { # PDNS_API_URL PDNS EXODNS_BIN: sets exo and up, the two tools' command lines
  local port
  port=$(free_port 1)
  exo=("$3" --source=service --provider=pdns --pdns-server="$1" --pdns-api-key="${KEY[$2]}"
    --policy=sync --txt-owner-id=exo-bench --domain-filter=exo.bench --kubeconfig="$KUBECONFIG"
    --metrics-address="127.0.0.1:$port")
  up=("$UPSTREAM" --source=service --provider=pdns --pdns-server="$1" --pdns-api-key="${KEY[$2]}"
    --policy=sync --registry=txt --txt-owner-id=up-bench --domain-filter=up.bench --kubeconfig="$KUBECONFIG"
    --metrics-address="127.0.0.1:$port" --once)
}

run_tool() { # RUN NAME
  local run=$1 name=$2 pd=${2##*-} zone res exo up
  zone=$(zone_of "$name")
  $KB zone --api "${API[$pd]}" --key "${KEY[$pd]}" --zone "$zone" --recreate
  sync; sleep 3
  res=$OUT/$name-$run
  echo "== run $run $name: $(uptime)" | tee -a "$OUT/uptime.txt" >&2
  tool_cmds "${API[$pd]}" "$pd" "$(bin_of "$name")"
  local ready=(--ready-regex 'sync applied.*kind="?full|full sync failed' --linger 1)
  case $name in
    exodns-*|exodnsb-*) $KB run --out "$res.json" --log "$res.log" --timeout 600 "${ready[@]}" -- "${exo[@]}" ;;
    exodnsnoqps-*)  $KB run --out "$res.json" --log "$res.log" --timeout 600 "${ready[@]}" -- "${exo[@]}" --kube-api-qps=-1 ;;
    exodnsle-*)     $KB run --out "$res.json" --log "$res.log" --timeout 600 "${ready[@]}" -- "${exo[@]}" \
                      --leader-election --leader-election-namespace=default ;;
    exodnsonce-*)   $KB run --out "$res.json" --log "$res.log" --timeout 600 -- "${exo[@]}" --once ;;
    upstream-*)     $KB run --out "$res.json" --log "$res.log" --timeout 600 -- "${up[@]}" ;;
  esac
  $KB count --api "${API[$pd]}" --key "${KEY[$pd]}" --zone "$zone" >"$res.zone.json"
  echo "   zone $zone now holds: $(cat "$res.zone.json")" >&2
}

for ((run = 1; run <= RUNS; run++)); do
  for name in $TOOLS; do
    run_tool "$run" "$name"
  done
done
patch_floor() { # NAME (one of the 16 MB tools): the PATCH time of its first sync's bodies
  local name=$1 pd=16mb zone dir port proxy exo up run
  zone=$(zone_of "$name"); dir=$OUT/patches-$name
  $KB zone --api "${API[$pd]}" --key "${KEY[$pd]}" --zone "$zone" --recreate
  port=$(free_port 1)
  $KB record --port "$port" --upstream "${API[$pd]}" --dir "$dir" & proxy=$!
  until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.1; done
  tool_cmds "http://127.0.0.1:$port" "$pd" "$(bin_of "$name")"
  case $name in
    exodns*) "${exo[@]}" --once >"$dir.log" 2>&1 || true ;;
    *)       "${up[@]}" >"$dir.log" 2>&1 || true ;;
  esac
  kill "$proxy"; wait "$proxy" || true
  for ((run = 1; run <= RUNS; run++)); do
    $KB zone --api "${API[$pd]}" --key "${KEY[$pd]}" --zone "$zone" --recreate
    sync; sleep 3
    echo "== replay $run $name: $(uptime)" | tee -a "$OUT/uptime.txt" >&2
    $KB replay --api "${API[$pd]}" --key "${KEY[$pd]}" --dir "$dir" >"$dir-$run.json"
  done
}
for name in $TOOLS; do
  case $name in *-16mb) patch_floor "$name" ;; esac
done
echo "== end: $(uptime)" | tee -a "$OUT/uptime.txt" >&2

python3 - "$OUT" "$RUNS" "$TOOLS" <<'PY'
import json, os, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
names = sys.argv[3].split()
med = {}
print("| tool / PowerDNS | first sync (s), per run | median | CPU (s), per run | median | peak RSS (MiB), per run | median | exit | zone after |")
print("|---|---|---|---|---|---|---|---|---|")
for n in names:
    rs = [json.load(open(f"{out}/{n}-{r}.json")) for r in range(1, runs + 1)]
    zs = [open(f"{out}/{n}-{r}.zone.json").read().strip() for r in range(1, runs + 1)]
    # watch mode: time to the "sync applied kind=full" line; --once: wall time to exit
    t = [r["ready_s"] if "ready_line" in r or r.get("timed_out") else r["wall_s"] for r in rs]
    # CPU (user + sys) of the first sync: at the ready line in watch mode, to exit with --once
    c = [r.get("cpu_at_ready_s") if "ready_line" in r else r["user_s"] + r["sys_s"] for r in rs]
    cok = all(x is not None for x in c)
    m = [r["maxrss_kib"] / 1024 for r in rs]
    ok = all(x is not None for x in t)
    if None in m:
        m = [r["hwm_sampled_kib"] / 1024 for r in rs]
    med[n] = (statistics.median(t) if ok else float("nan"), statistics.median(m),
              statistics.median(c) if cok else float("nan"))
    ex = ",".join(str(r["exit"]) for r in rs)
    print(f"| {n} | {', '.join('-' if x is None else f'{x:.2f}' for x in t)} | {med[n][0]:.2f} | "
          f"{', '.join('-' if x is None else f'{x:.2f}' for x in c)} | {med[n][2]:.2f} | "
          f"{', '.join(f'{x:.0f}' for x in m)} | {med[n][1]:.0f} | {ex} | {zs[-1]} |")
print()
for n in names:
    reps = [f"{out}/patches-{n}-{r}.json" for r in range(1, runs + 1)]
    if n in med and all(os.path.exists(f) for f in reps):
        rs = [json.load(open(f)) for f in reps]
        p = statistics.median(r["patch_s"] for r in rs)
        print(f"- {n}: first sync {med[n][0]:.2f} s; PowerDNS's time for the same {rs[0]['patches']} PATCHes "
              f"({rs[0]['bytes'] / 1e6:.1f} MB, HTTP {rs[0]['statuses']}) sent alone: "
              f"{', '.join(format(r['patch_s'], '.2f') for r in rs)} s, median {p:.2f} s ({p / med[n][0]:.0%} of the first sync)")
print()
for e, u in (("exodns-stock", "upstream-stock"), ("exodns-stock", "upstream-16mb"), ("exodns-16mb", "upstream-16mb"),
             ("exodnsb-stock", "upstream-16mb"), ("exodnsb-16mb", "upstream-16mb"),
             ("exodnsonce-stock", "upstream-16mb"), ("exodnsnoqps-stock", "upstream-16mb"), ("exodnsle-stock", "upstream-16mb")):
    if e not in med or u not in med:
        continue
    print(f"- {u} / {e}: first sync {med[u][0] / med[e][0]:.1f}x, CPU {med[u][2] / med[e][2]:.1f}x, "
          f"peak RSS {med[u][1] / med[e][1]:.1f}x")
PY
echo "raw: $OUT" >&2
