#!/usr/bin/env bash
# RFC2136 benchmark: N A records (and their N ownership TXT records) into an empty BIND 9.18 zone,
# then a sync with nothing to do, by exodns (the image's static musl binary) and upstream
# ExternalDNS v0.22.0, both `--provider=rfc2136 --once` with their defaults (TSIG hmac-sha256,
# AXFR, batch size 50), reading the same DNSEndpoint of N endpoints from a real kube-apiserver.
#
#   bench/rfc2136/run.sh [RUNS] [N]        defaults: 5 runs, N = 10000
#
# Each measurement gets a fresh BIND (empty zone, zeroed statistics); the order of the two tools
# alternates between runs. Per tool and run: process wall time and peak RSS (GNU time), and what
# BIND counted (its statistics channel): UPDATE messages, other queries (AXFR requests and
# read-back questions), zone transfers, TCP connections. Prints medians and the exodns/upstream
# ratios as markdown; raw numbers and logs go to $OUT (default $EXODNS_CACHE/bench/rfc2136-<time>).
# Needs: named (scripts/testbed/apt-deps.sh), upstream external-dns, kube-apiserver and etcd
# (scripts/testbed/setup.sh), the x86_64-unknown-linux-musl rustup target, python3, curl.
# EXODNS_BIN skips the build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/testbed/lib.sh"
[ -f "$EXODNS_CACHE/testbed.env" ] && . "$EXODNS_CACHE/testbed.env"
bench_init rfc2136 "$@"
need_cmd /usr/bin/time "GNU time (Debian: time)"

UPSTREAM=${EXODNS_UPSTREAM_EXTERNAL_DNS_BIN:-$(peer_bin external-dns)}
[ -x "$UPSTREAM" ] || die "upstream external-dns not built: run scripts/testbed/setup.sh"
if [ -z "${EXODNS_BIN:-}" ]; then
  target=x86_64-unknown-linux-musl
  cc_var=CC_${target//-/_}
  if command -v musl-gcc >/dev/null; then export "$cc_var=musl-gcc"; else export "$cc_var=gcc"; fi
  echo "building exodns (release, $target, as the image)..." >&2
  CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo \
    cargo build --quiet --locked --release --target "$target" --manifest-path "$ROOT/Cargo.toml" -p exodns
  EXODNS_BIN=$CARGO_TARGET_DIR/$target/release/exodns
fi

# ---- the cluster: one DNSEndpoint with N A endpoints
eval "$("$ROOT/scripts/testbed/apiserver.sh" start "$OUT/apiserver" | sed 's/^/export /')"
BIND_DIR=$OUT/bind
cleanup() {
  bash "$ROOT/scripts/testbed/bind.sh" stop "$BIND_DIR" >/dev/null 2>&1 || true
  "$ROOT/scripts/testbed/apiserver.sh" stop "$OUT/apiserver" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$ROOT/scripts/testbed/apiserver.sh" crds "$OUT/apiserver" dnsendpoint >/dev/null
python3 - "$N" "$ZONE" >"$OUT/dnsendpoint.json" <<'PY'
import json, sys
n, zone = int(sys.argv[1]), sys.argv[2]
eps = [{"dnsName": f"h{i}.{zone}", "recordType": "A", "targets": [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"]}
       for i in range(n)]
json.dump({"apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
           "metadata": {"name": "bench", "namespace": "default"}, "spec": {"endpoints": eps}}, sys.stdout)
PY
code=$(curl -s -o "$OUT/create.out" -w '%{http_code}' --cacert "$OUT/apiserver/pki/ca.crt" \
  -H "Authorization: Bearer $KUBE_TOKEN" -H 'Content-Type: application/json' -X POST \
  --data-binary "@$OUT/dnsendpoint.json" "$KUBE_API_URL/apis/externaldns.k8s.io/v1alpha1/namespaces/default/dnsendpoints")
[ "$code" = 201 ] || { cat "$OUT/create.out" >&2; die "create DNSEndpoint: HTTP $code"; }

stats() { # -> "UPDATE QUERY XFR TCP" from BIND's statistics channel
  curl -s "$STATS_URL/json/v1/server" | python3 -c '
import json, sys
d = json.load(sys.stdin)
op, ns, sock = d.get("opcodes", {}), d.get("nsstats", {}), d.get("sockstats", {})
print(op.get("UPDATE", 0), op.get("QUERY", 0), ns.get("XfrReqDone", 0), sock.get("TCP4Accept", 0))'
}
delta() { # BEFORE AFTER -> AFTER - BEFORE, field by field
  python3 -c 'import sys; a, b = sys.argv[1].split(), sys.argv[2].split(); print(" ".join(str(int(y) - int(x)) for x, y in zip(a, b)))' "$1" "$2"
}

flags() { # TOOL
  local key; key=$(grep '^TSIG_KEY=hmac-sha256:' "$BIND_DIR/env" | cut -d= -f2-)
  printf '%s\n' --source=crd "--kubeconfig=$KUBECONFIG" --provider=rfc2136 --policy=sync --registry=txt \
    --txt-owner-id=bench "--domain-filter=$ZONE" "--rfc2136-zone=$ZONE" --rfc2136-host=127.0.0.1 \
    "--rfc2136-port=$DNS_PORT" "--rfc2136-tsig-keyname=$(cut -d: -f2 <<<"$key")" \
    "--rfc2136-tsig-secret=$(cut -d: -f3 <<<"$key")" --rfc2136-tsig-secret-alg=hmac-sha256 --rfc2136-axfr --once \
    "--metrics-address=127.0.0.1:$(free_port)"
}

# run TOOL BIN RUN PHASE -> appends "tool run phase wall rss_kib updates queries xfrs tcp" to $OUT/samples
run() {
  local tool=$1 bin=$2 r=$3 phase=$4 before after log=$OUT/$1-$3-$4.log
  before=$(stats)
  mapfile -t args < <(flags "$tool")
  /usr/bin/time -f '%e %M' -o "$OUT/time" "$bin" "${args[@]}" >"$log" 2>&1 \
    || { tail -20 "$log" >&2; die "$tool $phase sync failed (log: $log)"; }
  after=$(stats)
  echo "$tool $r $phase $(cat "$OUT/time") $(delta "$before" "$after")" >>"$OUT/samples"
}

: >"$OUT/samples"
for r in $(seq 1 "$RUNS"); do
  order="exodns upstream"
  [ $((r % 2)) = 0 ] && order="upstream exodns"
  for tool in $order; do
    bin=$EXODNS_BIN
    [ "$tool" = upstream ] && bin=$UPSTREAM
    rm -rf "$BIND_DIR"
    BIND_STATS=1 BIND_ZONES=$ZONE bash "$ROOT/scripts/testbed/bind.sh" start "$BIND_DIR" >/dev/null
    # shellcheck disable=SC1091
    . <(grep -E '^(DNS_PORT|STATS_URL)=' "$BIND_DIR/env")
    run "$tool" "$bin" "$r" cold
    count=$(dig @127.0.0.1 -p "$DNS_PORT" "$ZONE" AXFR -y "$(grep '^TSIG_KEY=hmac-sha256:' "$BIND_DIR/env" | cut -d= -f2-)" \
      +noall +answer +onesoa | grep -c .)
    [ "$count" = $((2 * N + 3)) ] || die "$tool run $r: the zone holds $count records, not $((2 * N + 3))"
    run "$tool" "$bin" "$r" noop
    bash "$ROOT/scripts/testbed/bind.sh" stop "$BIND_DIR" >/dev/null
    echo "run $r $tool done" >&2
  done
done

python3 - "$OUT/samples" "$N" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
n, load = sys.argv[2], sys.argv[3]
def med(tool, phase, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == tool and r[2] == phase)
runs = len({r[1] for r in rows})
print(f"{n} A records + {n} ownership TXT into an empty BIND 9.18 zone, then a no-op sync; "
      f"{runs} runs, medians; load average at the end {load}\n")
print("| tool | sync | wall | peak RSS | UPDATE messages | other queries | AXFRs | TCP connections |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for phase in ("cold", "noop"):
    for tool in ("exodns", "upstream"):
        print(f"| {tool} | {phase} | {med(tool, phase, 3):.2f} s | {med(tool, phase, 4) / 1024:.1f} MiB | "
              f"{med(tool, phase, 5):.0f} | {med(tool, phase, 6):.0f} | {med(tool, phase, 7):.0f} | {med(tool, phase, 8):.0f} |")
for phase in ("cold", "noop"):
    w = med("exodns", phase, 3) / med("upstream", phase, 3)
    m = med("exodns", phase, 4) / med("upstream", phase, 4)
    print(f"\nratio exodns / upstream, {phase}: wall {w:.2f}, peak RSS {m:.2f}")
PY
echo "raw samples and logs: $OUT" >&2
