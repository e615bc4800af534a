# shellcheck shell=bash
# Shared helpers for the exodns test-bed scripts. Source it; do not execute it.
#
#   EXODNS_CACHE           cache root, default $HOME/.cache/exodns (must be outside the clone)
#   EXODNS_TESTBED_VERBOSE=1  log progress on stderr (default: quiet on success)
#
# Peer versions are pinned here, in one place. Before changing one, check that the Go module
# proxy serves it: `go list -m -json MODULE@VERSION` (outside any module).

if [ -n "${_EXODNS_TESTBED_LIB:-}" ]; then return 0; fi
_EXODNS_TESTBED_LIB=1

EXODNS_TESTBED_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXODNS_CACHE=${EXODNS_CACHE:-$HOME/.cache/exodns}

# ---- pinned peer versions ---------------------------------------------------------------------
# shellcheck disable=SC2034  # used by the scripts that source this file
{
  KUBE_VERSION=v1.33.13                 # k8s.io/kubernetes; staging modules are v0.33.13
  ETCD_VERSION=v3.5.21                  # go.etcd.io/etcd/server/v3 (what k8s 1.33 itself pins)
  EXTERNAL_DNS_VERSION=v0.22.0          # sigs.k8s.io/external-dns (v0.23 needs Go >= 1.27)
  EXTERNAL_DNS_CRD_REGISTRY_VERSION=v0.23.0  # its DNSRecord CRD (--registry=crd), read from the zip
  HELM_VERSION=v3.22.0                  # helm.sh/helm/v3
  GATEWAY_API_VERSION=v1.6.1            # sigs.k8s.io/gateway-api (pairs with external-dns v0.22.0)
  CILIUM_VERSION=v1.20.2                # github.com/cilium/cilium
  PROMETHEUS_OPERATOR_VERSION=v0.85.0   # github.com/prometheus-operator/prometheus-operator
  ISTIO_API_VERSION=v1.30.3             # istio.io/api (what external-dns v0.22.0 pins; 1.3 MB zip)
  CONTOUR_VERSION=v1.33.6               # github.com/projectcontour/contour (external-dns v0.22.0's; 22 MB zip)
  TRAEFIK_VERSION=v3.7.13               # github.com/traefik/traefik/v3 (external-dns pins none; 15 MB zip)
  TRAEFIK_V2_VERSION=v2.11.30           # github.com/traefik/traefik/v2: traefik.containo.us (10 MB zip;
                                        # the proxy serves versions but not the v2 list)
  EMISSARY_VERSION=v3.10.0              # github.com/emissary-ingress/emissary/v3 (external-dns v0.22.0's;
                                        # 8 MB zip; the proxy serves it but lists no version)
  F5_CIS_VERSION=v2.20.2                # github.com/F5Networks/k8s-bigip-ctlr/v2 (external-dns v0.22.0's;
                                        # 6 MB zip; served, no version list)
  OPENSHIFT_API_VERSION=v0.0.0-20260213204242-d34f11c515b3
                                        # github.com/openshift/api (6 MB zip): the pseudo-version that
                                        # github.com/openshift/machine-api-operator requires; external-dns
                                        # v0.22.0's own pin is not served (see build-peers.sh)
}

# ---- logging ----------------------------------------------------------------------------------
_tb_name=$(basename -- "${0:-testbed}")
log()  { if [ "${EXODNS_TESTBED_VERBOSE:-0}" = 1 ]; then printf '[%s] %s\n' "$_tb_name" "$*" >&2; fi; }
warn() { printf '[%s] warning: %s\n' "$_tb_name" "$*" >&2; }
die()  { printf '[%s] error: %s\n' "$_tb_name" "$*" >&2; exit 1; }

# Print the last lines of a log file on stderr (used when something fails).
show_log() { # FILE [LINES]
  [ -f "$1" ] || return 0
  printf '[%s] ---- last %s lines of %s ----\n' "$_tb_name" "${2:-40}" "$1" >&2
  tail -n "${2:-40}" "$1" >&2
}

# Print the comment block at the top of the running script (its usage text) on stderr.
usage_header() {
  awk 'NR == 1 && /^#!/ {next} /^#/ {sub(/^# ?/, ""); print; next} {exit}' "$0" >&2
}

need_cmd() { # CMD [HINT]
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found${2:+ ($2)}"
}

# ---- cache --------------------------------------------------------------------------------------
# Refuse a cache inside a git work tree we ship (the clone): peer files must never be committed.
_repo_root=$(git -C "$EXODNS_TESTBED_SCRIPTS" rev-parse --show-toplevel 2>/dev/null || true)
if [ -n "$_repo_root" ]; then
  case "$(realpath -m "$EXODNS_CACHE")/" in
    "$(realpath -m "$_repo_root")"/*) die "EXODNS_CACHE=$EXODNS_CACHE is inside the clone $_repo_root; put it outside" ;;
  esac
fi
unset _repo_root

cache_dir() { # SUBDIR... -> creates and prints $EXODNS_CACHE/SUBDIR
  local d="$EXODNS_CACHE${1:+/$1}"
  mkdir -p "$d"
  printf '%s\n' "$d"
}

# Path of a cached peer binary: bin/<name>-<version>.
peer_bin() { # NAME
  local v
  case "$1" in
    kube-apiserver) v=$KUBE_VERSION ;;
    etcd)           v=$ETCD_VERSION ;;
    external-dns)   v=$EXTERNAL_DNS_VERSION ;;
    helm)           v=$HELM_VERSION ;;
    # Ours: a new build whenever its source changes.
    connector-server) v=$EXTERNAL_DNS_VERSION-$(cat "$EXODNS_TESTBED_SCRIPTS"/../../crates/testbed/peers/connector-server/{main.go,go.mod} | sha256sum | cut -c1-12) ;;
    *) die "unknown peer '$1'" ;;
  esac
  printf '%s/bin/%s-%s\n' "$EXODNS_CACHE" "$1" "$v"
}

# ---- time -------------------------------------------------------------------------------------
now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }           # seconds with microseconds
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f\n", b-a}'; }  # START -> elapsed seconds

# ---- ports --------------------------------------------------------------------------------------
# free_port [N]: print N (default 1) loopback ports that are free for both TCP and UDP right now.
# Ports come at random from 20000-32000 (below Linux's ephemeral range, so outgoing connections do
# not grab them), and every port handed out is remembered for 5 minutes under a lock, so parallel
# callers (two test beds starting at once) never get the same one. A caller still has to treat
# "address in use" at bind time as possible and retry.
free_port() {
  local n=${1:-1} dir
  dir=$(cache_dir run)
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$n" "$dir/ports.json" <<'PY'
import fcntl, json, os, random, socket, sys, time
n, path = int(sys.argv[1]), sys.argv[2]
with open(path + ".lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        with open(path) as f:
            recent = {int(k): v for k, v in json.load(f).items()}
    except (OSError, ValueError):
        recent = {}
    now = time.time()
    recent = {p: t for p, t in recent.items() if now - t < 300}
    out = []
    for _ in range(2000):
        if len(out) == n:
            break
        p = random.randint(20000, 32000)
        if p in recent or p in out:
            continue
        ok = True
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            out.append(p)
    if len(out) < n:
        sys.exit("no free port found")
    for p in out:
        recent[p] = now
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(recent, f)
    os.replace(tmp, path)
print("\n".join(map(str, out)))
PY
  else
    # Fallback without python3: random ports not listed by ss (no cross-process memory).
    need_cmd ss "iproute2"
    local used p got=0 tries=0
    used=$(ss -Htanu 2>/dev/null | awk '{print $5}' | sed 's/.*://' | sort -u)
    while [ "$got" -lt "$n" ]; do
      tries=$((tries + 1)); [ "$tries" -lt 5000 ] || die "no free port found"
      p=$((20000 + RANDOM % 12001))
      grep -qx "$p" <<<"$used" && continue
      used+=$'\n'"$p"; printf '%s\n' "$p"; got=$((got + 1))
    done
  fi
}

# ---- waiting ----------------------------------------------------------------------------------
# wait_for [--pid PID] [--interval S] TIMEOUT_S DESCRIPTION CMD [ARGS...]
# Polls CMD (output discarded) until it succeeds. Fails (returns 1, with a message) when the
# deadline passes or when PID, if given, has exited. Prints nothing on success.
wait_for() {
  local pid="" interval=0.1
  while [ $# -gt 0 ]; do
    case "$1" in
      --pid) pid=$2; shift 2 ;;
      --interval) interval=$2; shift 2 ;;
      *) break ;;
    esac
  done
  local timeout=$1 desc=$2; shift 2
  local start; start=$(now)
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      warn "$desc: process $pid exited"; return 1
    fi
    if awk -v a="$start" -v b="$(now)" -v t="$timeout" 'BEGIN{exit !(b-a >= t)}'; then
      warn "$desc: not ready after ${timeout}s"; return 1
    fi
    sleep "$interval"
  done
}

# ---- processes --------------------------------------------------------------------------------
# pid_alive PIDFILE [COMM] -> success when the PID in PIDFILE runs (and its /proc comm starts
# with COMM, which guards against a recycled PID).
pid_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  _tb_gone "$pid" && return 1              # a zombie waiting for its reaper is not running
  if [ -n "${2:-}" ]; then
    local comm; comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    [[ "$comm" == "${2:0:15}"* ]] || return 1
  fi
  return 0
}

# stop_pidfile PIDFILE COMM [TIMEOUT_S]: SIGTERM the process named in PIDFILE, wait for it to
# exit, SIGKILL after TIMEOUT_S (default 15). Removes PIDFILE. Only ever signals that one PID.
stop_pidfile() {
  local file=$1 comm=$2 timeout=${3:-15} pid
  if ! pid_alive "$file" "$comm"; then rm -f "$file"; return 0; fi
  pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for --interval 0.05 "$timeout" "$comm (pid $pid) exit" _tb_gone "$pid" 2>/dev/null; then
    warn "$comm (pid $pid) ignored SIGTERM for ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for --interval 0.05 10 "$comm (pid $pid) exit" _tb_gone "$pid" || die "could not stop pid $pid"
  fi
  rm -f "$file"
}
_tb_gone() { # PID: true when the PID no longer runs (a zombie of ours counts as gone)
  local st
  [ -d "/proc/$1" ] || return 0
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo X)
  [ "$st" = Z ] || [ "$st" = X ]
}

# Start CMD... detached from our shell's job control (its own session), with stdout+stderr to LOG.
# Prints the PID. The process is not our child after we exit, and survives the calling script.
spawn() { # LOG CMD [ARGS...]
  local logf=$1; shift
  setsid "$@" </dev/null >>"$logf" 2>&1 &
  printf '%s\n' "$!"
}

# ---- benchmarks ---------------------------------------------------------------------------------
# bench_init NAME [RUNS] [N]: the settings of the bench/*/run.sh scripts. Sets RUNS (default 5),
# N (default 10000), ZONE=bench.test and OUT (default $EXODNS_CACHE/bench/NAME-<time>; created),
# and exports CARGO_TARGET_DIR (default: target/ of this clone).
bench_init() {
  # shellcheck disable=SC2034  # read by the calling script
  RUNS=${2:-5} N=${3:-10000} ZONE=bench.test
  OUT=${OUT:-$(cache_dir bench)/$1-$(date +%Y%m%dT%H%M%S)}
  mkdir -p "$OUT"
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(cd "$EXODNS_TESTBED_SCRIPTS/../.." && pwd)/target}
}

# pdns_api METHOD PATH [CURL ARGS...]: one call of the PowerDNS API at $PDNS_API_URL (key
# $PDNS_API_KEY) on /api/v1/servers/localhost/PATH...; prints the HTTP status. Large bodies go
# without `Expect: 100-continue`.
pdns_api() {
  local m=$1 p=$2; shift 2
  curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $PDNS_API_KEY" -H 'Expect:' -H 'Content-Type: application/json' \
    -X "$m" "$PDNS_API_URL/api/v1/servers/localhost$p" "$@"
}

# pdns_fresh_zone ZONE: deletes ZONE when it is there and creates it empty (Native, NS ns1.ZONE).
pdns_fresh_zone() {
  pdns_api DELETE "/zones/$1." >/dev/null || true
  local code; code=$(pdns_api POST /zones -d "{\"name\":\"$1.\",\"kind\":\"Native\",\"nameservers\":[\"ns1.$1.\"]}")
  [ "$code" = 201 ] || die "create zone $1: HTTP $code"
}

# ---- Go -----------------------------------------------------------------------------------------
# Environment for builds of test peers: module mode, no workspace, no auto toolchain download,
# static binaries.
go_env() {
  need_cmd go "Go is needed to build test peers"
  export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
}

# go_mod_zip_file MODULE@VERSION PATH DEST: extract PATH of the module's zip to DEST (once). For
# modules `go mod download` fetches but will not unpack (one that needs a newer Go): the zip is
# still named in its JSON, beside the error.
go_mod_zip_file() {
  local mv=$1 path=$2 dest=$3 tmp out zip
  [ -f "$dest" ] && return 0
  go_env
  tmp=$(mktemp -d)
  out=$(cd "$tmp" && go mod download -json "$mv" 2>/dev/null) || true
  rm -rf "$tmp"
  zip=$(printf '%s' "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("Zip", ""))' 2>/dev/null) || zip=
  [ -n "$zip" ] && [ -f "$zip" ] || { warn "go mod download $mv: no zip"; return 1; }
  mkdir -p "$(dirname "$dest")"
  python3 - "$zip" "$mv/$path" "$dest.tmp" <<'PY' || { warn "$path not in $zip"; return 1; }
import sys, zipfile
open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))
PY
  mv "$dest.tmp" "$dest"
}

# go_mod_field MODULE@VERSION FIELD: `go mod download -json` outside any module (so no go.mod
# around can interfere) and print FIELD (Dir, GoMod, Zip, ...). Returns 1 (with a message) on error.
go_mod_field() {
  local mv=$1 field=$2 tmp out
  go_env
  tmp=$(mktemp -d)
  if ! out=$(cd "$tmp" && go mod download -json "$mv" 2>&1); then
    rm -rf "$tmp"
    warn "go mod download $mv failed: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-400)"
    return 1
  fi
  rm -rf "$tmp"
  printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("Error"):
    sys.exit("go mod download: " + d["Error"])
v = d.get(sys.argv[1])
if not v:
    sys.exit("no field " + sys.argv[1])
print(v)' "$field"
}
