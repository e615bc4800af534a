#!/usr/bin/env bash
# Webhook server benchmark: N endpoints through `POST /records` (into an empty PowerDNS zone),
# then `GET /records`, against `exodns webhook --provider=pdns` and upstream ExternalDNS v0.22.0
# `--webhook-server --provider=pdns` in the same run, each with a fresh PowerDNS zone.
#
#   bench/webhook/run.sh [RUNS] [N]        defaults: 5 runs, N = 10000
#
# Per server and run: wall time of the POST (as curl sees it: upload, provider PATCHes to
# PowerDNS, 204), wall time of the GET (provider read of the zone, encoding, download), and the
# server's peak RSS (VmHWM) after both. Prints medians and the exodns/upstream ratios as markdown;
# raw numbers go to $OUT (default $EXODNS_CACHE/bench/webhook-<time>).
# Needs: pdns_server (scripts/testbed/apt-deps.sh), upstream external-dns (scripts/testbed/
# setup.sh), python3, curl, cargo. Upstream listens on 127.0.0.1:8888 (hard-coded): keep it free.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/testbed/lib.sh"
bench_init webhook "$@"

UPSTREAM=${EXODNS_UPSTREAM_EXTERNAL_DNS_BIN:-$(peer_bin external-dns)}
[ -x "$UPSTREAM" ] || die "upstream external-dns not built: run scripts/testbed/setup.sh"
echo "building exodns (release)..." >&2
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p exodns
EXODNS=$CARGO_TARGET_DIR/release/exodns

# The POST body: N A endpoints, lowercase keys, as upstream's client sends them.
python3 - "$N" "$ZONE" >"$OUT/changes.json" <<'PY'
import json, sys
n, zone = int(sys.argv[1]), sys.argv[2]
create = [{"dnsName": f"h{i}.{zone}", "targets": [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"],
           "recordType": "A", "recordTTL": 300} for i in range(n)]
json.dump({"create": create}, sys.stdout, separators=(",", ":"))
PY
echo "POST body: $(wc -c <"$OUT/changes.json") bytes, $N endpoints" >&2

free_tcp_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { # URL PID
  local i
  for i in $(seq 1 200); do
    kill -0 "$2" 2>/dev/null || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/")" = 200 ] && return 0
    sleep 0.05
  done
  return 1
}
stop_pid() { # PID — SIGTERM, then SIGKILL (upstream ignores SIGTERM)
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

PDNS_DIR=$OUT/pdns
bash "$ROOT/scripts/testbed/pdns.sh" start "$PDNS_DIR" >"$OUT/pdns.env"
# shellcheck disable=SC1091
set -a; . "$OUT/pdns.env"; set +a
trap 'bash "$ROOT/scripts/testbed/pdns.sh" stop "$PDNS_DIR" >/dev/null 2>&1 || true' EXIT

measure() { # NAME RUN
  local name=$1 run=$2 pid url post get count hwm log=$OUT/$1-$2.log
  pdns_fresh_zone "$ZONE"
  if [ "$name" = exodns ]; then
    local port mport; port=$(free_tcp_port); mport=$(free_tcp_port)
    url=http://127.0.0.1:$port
    "$EXODNS" webhook --provider=pdns --pdns-server="$PDNS_API_URL" --pdns-api-key="$PDNS_API_KEY" \
      --webhook-server-address="127.0.0.1:$port" --metrics-address="127.0.0.1:$mport" --log-level=warning >"$log" 2>&1 &
  else
    url=http://127.0.0.1:8888
    curl -s -o /dev/null --max-time 1 "$url/" && die "127.0.0.1:8888 is taken; upstream's webhook server needs it"
    "$UPSTREAM" --webhook-server --provider=pdns --pdns-server="$PDNS_API_URL" --pdns-api-key="$PDNS_API_KEY" \
      --policy=sync --source=fake --metrics-address="127.0.0.1:$(free_tcp_port)" --log-level=warning \
      --webhook-provider-read-timeout=60s --webhook-provider-write-timeout=120s >"$log" 2>&1 &
  fi
  pid=$!
  wait_up "$url" "$pid" || { cat "$log" >&2; die "$name webhook server did not come up"; }
  post=$(curl -s -o "$OUT/$name-$run.post" -w '%{http_code} %{time_total}' --max-time 300 -X POST \
    -H 'Content-Type: application/external.dns.webhook+json;version=1' --data-binary "@$OUT/changes.json" "$url/records")
  get=$(curl -s -o "$OUT/$name-$run.records.json" -w '%{http_code} %{time_total}' --max-time 300 \
    -H 'Accept: application/external.dns.webhook+json;version=1' "$url/records")
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  stop_pid "$pid"
  [ "${post%% *}" = 204 ] || { cat "$log" "$OUT/$name-$run.post" >&2; die "$name: POST /records answered ${post%% *}"; }
  [ "${get%% *}" = 200 ] || die "$name: GET /records answered ${get%% *}"
  count=$(python3 -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1])) if e.get("recordType")=="A"))' "$OUT/$name-$run.records.json")
  [ "$count" = "$N" ] || die "$name: GET /records listed $count A records, expected $N"
  printf '%s %s %s %s %s\n' "$name" "$run" "${post#* }" "${get#* }" "$hwm" | tee -a "$OUT/raw.txt" >&2
}

echo "server run post_s get_s peak_rss_kib" >"$OUT/raw.txt"
for run in $(seq 1 "$RUNS"); do
  # Alternate the order so that neither always runs on a warmer PowerDNS.
  if [ $((run % 2)) = 1 ]; then measure exodns "$run"; measure upstream "$run"
  else measure upstream "$run"; measure exodns "$run"; fi
done

python3 - "$OUT/raw.txt" "$N" "$RUNS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
med = {}
for name in ("exodns", "upstream"):
    r = [x for x in rows if x[0] == name]
    med[name] = [statistics.median(float(x[i]) for x in r) for i in (2, 3, 4)]
e, u = med["exodns"], med["upstream"]
print(f"Webhook server, {sys.argv[2]} endpoints, medians of {sys.argv[3]} runs (fresh PowerDNS zone each):\n")
print("| server | POST /records (s) | GET /records (s) | peak RSS (MiB) |")
print("|---|---:|---:|---:|")
print(f"| exodns webhook --provider=pdns | {e[0]:.3f} | {e[1]:.3f} | {e[2]/1024:.1f} |")
print(f"| upstream v0.22.0 --webhook-server --provider=pdns | {u[0]:.3f} | {u[1]:.3f} | {u[2]/1024:.1f} |")
print(f"| ratio exodns / upstream | {e[0]/u[0]:.2f} | {e[1]/u[1]:.2f} | {e[2]/u[2]:.2f} |")
PY
echo "raw: $OUT" >&2
