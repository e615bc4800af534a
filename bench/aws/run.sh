#!/usr/bin/env bash
# Route 53: a cold sync of SERVICES LoadBalancer Services (one A record + its ownership TXT each)
# into moto, exodns against upstream ExternalDNS v0.22.0 in the same run.
#
#   bench/aws/run.sh [RUNS] [SERVICES]        defaults: 3 runs, 10 000 Services
#
# One kube-apiserver holds the Services (namespace bench, status IP, hostname annotation
# svc-<i>.exo.bench,svc-<i>.up.bench: exodns publishes exo.bench, upstream up.bench). Each run,
# each tool (exodns, then upstream) gets a fresh moto_server (pinned in the test venv) with an empty
# zone, and runs `--once --provider=aws` against it with the same flags and AWS SDK environment
# (AWS_ENDPOINT_URL, test keys, IMDS off), every `--aws-*` setting at its default. Measured: wall
# time to exit and peak RSS (GNU time, through kubebench.py run), the requests moto served by call
# (from its request log), the record sets in the zone after. Medians and ratios are printed as
# markdown; logs and raw JSON in $OUT. EXODNS_BIN skips the (release) cargo build.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../kube/lib.sh" aws

RUNS=${1:-3}
SVCS=${2:-10000}
VENV=${EXODNS_VENV:-}
[ -x "$VENV/bin/moto_server" ] || die "moto is not installed: run scripts/testbed/setup.sh"

MOTO_PID=""
stop_moto() {
  if [ -n "$MOTO_PID" ]; then
    kill -TERM "$MOTO_PID" 2>/dev/null || true
    wait_for --interval 0.05 10 "moto exit" _tb_gone "$MOTO_PID" || kill -KILL "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  fi
}
cleanup() {
  set +e
  stop_moto
  "$ROOT/scripts/testbed/apiserver.sh" stop "$OUT/apiserver" >/dev/null 2>&1
}
trap cleanup EXIT

# start_moto LOG ZONE: a fresh moto on a free port with an empty hosted zone; sets MOTO_URL.
start_moto() {
  local port
  port=$(free_port 1)
  MOTO_PID=$(spawn "$1" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port")
  MOTO_URL=http://127.0.0.1:$port
  wait_for --pid "$MOTO_PID" 60 "moto" curl -sf "$MOTO_URL/moto-api/" || die "moto did not start: $1"
  boto "$MOTO_URL" create "$2" >/dev/null
}

# boto URL create ZONE | boto URL count ZONE: through the venv's boto3.
boto() {
  AWS_EC2_METADATA_DISABLED=true "$VENV/bin/python" - "$@" <<'PY'
import sys, uuid, boto3
url, what, zone = sys.argv[1:4]
r53 = boto3.client("route53", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
if what == "create":
    print(r53.create_hosted_zone(Name=zone, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"])
else:
    z = [z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"] == zone + "."][0]
    print(r53.get_hosted_zone(Id=z["Id"])["HostedZone"]["ResourceRecordSetCount"])
PY
}

echo "== $(date -u +%FT%TZ) machine: $(nproc) cores; $(uptime)" | tee "$OUT/uptime.txt" >&2
start_apiserver
$KB namespaces bench
t0=$(now)
$KB services --ns bench --count "$SVCS" --zones exo.bench,up.bench --ip-base 10.1 --workers 16
echo "objects created in $(since "$t0") s" | tee "$OUT/create.txt" >&2

run_tool() { # RUN NAME
  local run=$1 name=$2 zone res bin port
  case $name in
    exodns) zone=exo.bench bin=$EXODNS_BIN ;;
    upstream) zone=up.bench bin=$UPSTREAM ;;
  esac
  res=$OUT/$name-$run
  start_moto "$res.moto.log" "$zone"
  sync; sleep 2
  echo "== run $run $name: $(uptime)" | tee -a "$OUT/uptime.txt" >&2
  port=$(free_port 1)
  local first last
  first=$(wc -l <"$res.moto.log")
  env -i PATH="$PATH" HOME="$OUT" AWS_ENDPOINT_URL="$MOTO_URL" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret AWS_EC2_METADATA_DISABLED=true RUST_LOG=info \
    $KB run --out "$res.json" --log "$res.log" --timeout 900 -- "$bin" --once --source=service --provider=aws \
    --policy=sync --registry=txt --txt-owner-id="$name-bench" --domain-filter="$zone" \
    --kubeconfig="$KUBECONFIG" --metrics-address="127.0.0.1:$port"
  last=$(wc -l <"$res.moto.log")
  local count
  count=$(boto "$MOTO_URL" count "$zone")
  stop_moto
  # The tool's requests only: the lines of moto's request log written while it ran.
  python3 - "$res.moto.log" "$count" "$first" "$last" >"$res.requests.json" <<'PY'
import json, re, sys
calls = {"ListHostedZones": 0, "ListResourceRecordSets": 0, "ChangeResourceRecordSets": 0, "other": 0}
first, last = int(sys.argv[3]), int(sys.argv[4])
for line in open(sys.argv[1], errors="replace").readlines()[first:last]:
    m = re.search(r'"(GET|POST) (/2013-04-01/[^ ?]*)', line)
    if not m:
        continue
    method, path = m.groups()
    if method == "GET" and path.rstrip("/").endswith("/hostedzone"):
        calls["ListHostedZones"] += 1
    elif method == "GET" and path.endswith("/rrset"):
        calls["ListResourceRecordSets"] += 1
    elif method == "POST" and path.rstrip("/").endswith("/rrset"):
        calls["ChangeResourceRecordSets"] += 1
    else:
        calls["other"] += 1
calls["record_sets_after"] = int(sys.argv[2])
print(json.dumps(calls))
PY
  echo "   $name: $(cat "$res.requests.json")" >&2
}

for ((run = 1; run <= RUNS; run++)); do
  for name in exodns upstream; do
    run_tool "$run" "$name"
  done
done
echo "== end: $(uptime)" | tee -a "$OUT/uptime.txt" >&2

python3 - "$OUT" "$RUNS" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
med = {}
print("| tool | wall (s), per run | median | peak RSS (MiB), per run | median | requests: list zones / list records / change batches | record sets after | exit |")
print("|---|---|---|---|---|---|---|---|")
for n in ("exodns", "upstream"):
    rs = [json.load(open(f"{out}/{n}-{r}.json")) for r in range(1, runs + 1)]
    qs = [json.load(open(f"{out}/{n}-{r}.requests.json")) for r in range(1, runs + 1)]
    t = [r["wall_s"] for r in rs]
    m = [(r["maxrss_kib"] or r["hwm_sampled_kib"]) / 1024 for r in rs]
    med[n] = (statistics.median(t), statistics.median(m))
    q = qs[-1]
    print(f"| {n} | {', '.join(f'{x:.1f}' for x in t)} | {med[n][0]:.1f} | {', '.join(f'{x:.0f}' for x in m)} | "
          f"{med[n][1]:.0f} | {q['ListHostedZones']} / {q['ListResourceRecordSets']} / {q['ChangeResourceRecordSets']} | "
          f"{', '.join(str(x['record_sets_after']) for x in qs)} | {','.join(str(r['exit']) for r in rs)} |")
print()
print(f"- upstream / exodns: wall {med['upstream'][0] / med['exodns'][0]:.2f}x, peak RSS {med['upstream'][1] / med['exodns'][1]:.1f}x")
PY
