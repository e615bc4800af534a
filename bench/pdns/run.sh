#!/usr/bin/env bash
# PowerDNS provider benchmark: exodns's cold sync of N endpoints (N A records + N ownership TXT =
# 2N rrsets) into an empty zone, against curl sending the very same PATCH bodies; the no-op sync
# after it; octoDNS 1.22 + octodns-powerdns 1.2.0 syncing the same N A records, in the same run.
#
#   bench/pdns/run.sh [RUNS] [N]        defaults: 5 runs, N = 10000
#
# Each run starts fresh PowerDNS servers (scripts/testbed/pdns.sh): one with the stock 2 MB body
# limit, where the 2N rrsets need two PATCHes (exodns splits them; curl sends the same two
# bodies), and one with a 16 MB limit, where exodns sends one PATCH and curl the same one.
# Every measurement starts from an empty zone. Results: medians on stdout (markdown), raw numbers
# in $OUT (default $EXODNS_CACHE/bench/pdns-<time>).
# Needs: pdns_server etc. (scripts/testbed/apt-deps.sh), python3, curl, cargo; octoDNS comes from
# scripts/testbed/venv.sh (skipped with a notice if that fails).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/testbed/lib.sh"
bench_init pdns "$@"

echo "building pdns-bench (release)..." >&2
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p exodns-it --bin pdns-bench
BENCH=$CARGO_TARGET_DIR/release/pdns-bench

VENV=""
if VENV=$("$ROOT/scripts/testbed/venv.sh" 2>"$OUT/venv.err"); then :; else
  echo "NOTICE: no octoDNS venv ($(tail -1 "$OUT/venv.err")); octoDNS columns skipped" >&2; VENV=""
fi

rrset_count() {
  curl -s -H "X-API-Key: $PDNS_API_KEY" "$PDNS_API_URL/api/v1/servers/localhost/zones/$ZONE." \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rrsets"]))'
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4f", b-a}'; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

start_pdns() { # DIR MAX_BODY_MB
  local env
  env=$(PDNS_MAX_BODY_MB=$2 "$ROOT/scripts/testbed/pdns.sh" start "$1")
  eval "$(printf '%s\n' "$env" | sed 's/^/export /')"
}

# curl: the bodies in DIR, in order, one PATCH each; prints seconds.
curl_patches() {
  local dir=$1 s e code f
  s=$(now)
  for f in "$dir"/patch-*.json; do
    code=$(pdns_api PATCH "/zones/$ZONE." --data-binary "@$f")
    [ "$code" = 204 ] || die "curl PATCH $f: HTTP $code"
  done
  e=$(now)
  elapsed "$s" "$e"
}

octo_setup() { # DIR
  local d=$1 host port
  mkdir -p "$d/zones"
  host=${PDNS_API_URL#http://}; port=${host##*:}; host=${host%:*}
  cat >"$d/config.yaml" <<YAML
---
manager: {max_workers: 1}
providers:
  config: {class: octodns.provider.yaml.YamlProvider, directory: $d/zones, default_ttl: 300, enforce_order: false}
  powerdns: {class: octodns_powerdns.PowerDnsProvider, host: $host, port: $port, api_key: $PDNS_API_KEY, timeout: 120, mode_of_operation: native}
zones:
  $ZONE.: {sources: [config], targets: [powerdns]}
YAML
  python3 - "$N" >"$d/zones/$ZONE.yaml" <<'PY'
import sys
n = int(sys.argv[1]); print("---")
for i in range(n):
    print(f"host{i}:\n  type: A\n  ttl: 300\n  value: 10.{i>>16}.{(i>>8)&255}.{i&255}")
PY
}
octo_sync() { # DIR LOG -> seconds
  local s e
  s=$(now)
  "$VENV/bin/octodns-sync" --config-file="$1/config.yaml" --doit "$ZONE." >"$2" 2>&1 || { tail -5 "$2" >&2; die "octodns-sync failed (log $2)"; }
  e=$(now)
  elapsed "$s" "$e"
}

RES=$OUT/results.tsv
printf 'run\tcurl_2mb\texodns_cold_2mb\texodns_cold_2mb_wall\tpatches_2mb\tnoop\tnoop_requests\tnoop_patches\tcurl_16mb\texodns_cold_16mb\toctodns_cold\toctodns_noop\n' >"$RES"
for run in $(seq 1 "$RUNS"); do
  D=$(mktemp -d "${TMPDIR:-/tmp}/exodns-bench-XXXXXX")
  trap '"$ROOT/scripts/testbed/pdns.sh" stop "$D/a" >/dev/null 2>&1 || true; "$ROOT/scripts/testbed/pdns.sh" stop "$D/b" >/dev/null 2>&1 || true' EXIT

  # --- stock server (2 MB body limit) ---
  start_pdns "$D/a" 2
  pdns_fresh_zone "$ZONE"
  "$BENCH" payload --zone "$ZONE" --count "$N" --max-body 2000000 --out "$D/p2" >/dev/null
  t_curl2=$(curl_patches "$D/p2")
  [ "$(rrset_count)" = $((2 * N + 2)) ] || die "curl run left $(rrset_count) rrsets"
  pdns_fresh_zone "$ZONE"
  s=$(now); line=$("$BENCH" sync --zone "$ZONE" --count "$N" --max-body 2000000); e=$(now)
  t_exo2=$(json_field "$line" seconds); t_exo2_wall=$(elapsed "$s" "$e"); p2=$(json_field "$line" patch_zone)
  [ "$(json_field "$line" rejected)" = 0 ] || die "exodns rejected changes: $line"
  [ "$(rrset_count)" = $((2 * N + 2)) ] || die "exodns run left $(rrset_count) rrsets"
  line=$("$BENCH" sync --zone "$ZONE" --count "$N" --max-body 2000000)
  t_noop=$(json_field "$line" seconds)
  noop_req=$(( $(json_field "$line" list_zones) + $(json_field "$line" get_zone) + $(json_field "$line" patch_zone) ))
  noop_patch=$(json_field "$line" patch_zone)
  t_octo=NA; t_octo_noop=NA
  if [ -n "$VENV" ]; then
    pdns_api DELETE "/zones/$ZONE." >/dev/null
    octo_setup "$D/octo"
    t_octo=$(octo_sync "$D/octo" "$OUT/octodns-$run-cold.log")
    t_octo_noop=$(octo_sync "$D/octo" "$OUT/octodns-$run-noop.log")
  fi
  "$ROOT/scripts/testbed/pdns.sh" stop "$D/a"

  # --- raised limit (16 MB): one PATCH each ---
  start_pdns "$D/b" 16
  pdns_fresh_zone "$ZONE"
  "$BENCH" payload --zone "$ZONE" --count "$N" --max-body 16000000 --out "$D/p16" >/dev/null
  t_curl16=$(curl_patches "$D/p16")
  pdns_fresh_zone "$ZONE"
  line=$("$BENCH" sync --zone "$ZONE" --count "$N" --max-body 16000000)
  t_exo16=$(json_field "$line" seconds)
  [ "$(json_field "$line" patch_zone)" = 1 ] || die "expected one PATCH: $line"
  "$ROOT/scripts/testbed/pdns.sh" stop "$D/b"

  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$t_curl2" "$t_exo2" "$t_exo2_wall" "$p2" "$t_noop" "$noop_req" "$noop_patch" \
    "$t_curl16" "$t_exo16" "$t_octo" "$t_octo_noop" | tee -a "$RES" >&2
  rm -rf "$D"; trap - EXIT
done

python3 - "$RES" "$N" "$RUNS" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
n, runs = int(sys.argv[2]), sys.argv[3]
def med(k):
    v = [float(r[k]) for r in rows if r[k] != "NA"]
    return statistics.median(v) if v else float("nan")
c2, e2, c16, e16 = med("curl_2mb"), med("exodns_cold_2mb"), med("curl_16mb"), med("exodns_cold_16mb")
o, on = med("octodns_cold"), med("octodns_noop")
print(f"### PowerDNS 4.7 (sqlite), {n} endpoints = {2*n} rrsets with TXT, median of {runs} runs\n")
print("| measurement | seconds |")
print("|---|---|")
print(f"| curl, same PATCH bodies, stock 2 MB limit ({rows[0]['patches_2mb']} PATCHes) | {c2:.3f} |")
print(f"| exodns cold sync (read + plan + registry + PATCHes), stock 2 MB limit | {e2:.3f} |")
print(f"| exodns cold sync, process wall time | {med('exodns_cold_2mb_wall'):.3f} |")
def ratio(a, b):
    v = [float(r[a]) / float(r[b]) for r in rows if r[a] != "NA" and r[b] != "NA"]
    return statistics.median(v) if v else float("nan")
print(f"| **ratio exodns / curl, 2 MB** (medians; median of per-run ratios) | **{e2/c2:.2f}**; {ratio('exodns_cold_2mb', 'curl_2mb'):.2f} |")
print(f"| curl, one PATCH, 16 MB limit | {c16:.3f} |")
print(f"| exodns cold sync, one PATCH, 16 MB limit | {e16:.3f} |")
print(f"| **ratio exodns / curl, 16 MB** (medians; median of per-run ratios) | **{e16/c16:.2f}**; {ratio('exodns_cold_16mb', 'curl_16mb'):.2f} |")
print(f"| exodns no-op sync ({rows[0]['noop_requests']} requests, {rows[0]['noop_patches']} PATCH) | {med('noop'):.3f} |")
print(f"| octoDNS cold sync of the {n} A records (no ownership TXT) | {o:.3f} |")
print(f"| octoDNS no-op sync | {on:.3f} |")
print(f"| ratio octoDNS / exodns, cold | {o/e2:.1f} |")
print(f"| ratio octoDNS / exodns, no-op | {on/med('noop'):.1f} |")
PY
echo "raw: $RES" >&2
