#!/usr/bin/env bash
# Prepare everything the real-peer tests need, then write $EXODNS_CACHE/testbed.env:
#   1. apt-deps.sh        Debian packages (PowerDNS, BIND, dig, sqlite3, ...; needs root when missing)
#   2. build-peers.sh all kube-apiserver, etcd, upstream external-dns, helm, our connector-server
#                         (cold: ~12 min on 2 cores)
#   3. crds.sh            CRD manifests in the Go module cache
#   4. venv.sh            Python venv with octoDNS and moto
#   5. prism.sh           Prism (npm) and the Cloudflare OpenAPI spec (Go module), for the cloud fakes
#   6. cloud-specs.sh     Google Cloud DNS and Azure DNS specs (PyPI, npm) for Prism
# Idempotent: a second run only checks (seconds). Usage: setup.sh [--skip-apt]
# stdout: one line per step with its duration, then the path of testbed.env. Load it with
#   . "$EXODNS_CACHE/testbed.env"     (exports EXODNS_* paths; see the file)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
S=$EXODNS_TESTBED_SCRIPTS

skip_apt=0
for a in "$@"; do
  case "$a" in
    --skip-apt) skip_apt=1 ;;
    *) usage_header; exit 2 ;;
  esac
done

total=$(now)
step() { # NAME CMD...  runs CMD, stdout captured into $OUT, prints the duration
  local name=$1 t; shift
  t=$(now)
  OUT=$("$@") || die "step '$name' failed"
  printf '%-14s %6s s\n' "$name" "$(since "$t")"
}

if [ "$skip_apt" = 0 ]; then step apt-deps "$S/apt-deps.sh"; fi
step build-peers "$S/build-peers.sh" kube-apiserver etcd external-dns helm connector-server
mapfile -t bins <<<"$OUT"
[ "${#bins[@]}" = 5 ] || die "build-peers.sh printed ${#bins[@]} paths, expected 5"
step crds "$S/crds.sh"
crds=$OUT
step venv "$S/venv.sh"
venv=$OUT
step prism "$S/prism.sh"
prism=$OUT
step cloud-specs "$S/cloud-specs.sh"
cloud_specs=$OUT

envf=$(cache_dir)/testbed.env
{
  echo "# written by scripts/testbed/setup.sh on $(date -u +%FT%TZ); source it"
  printf 'export EXODNS_CACHE=%q\n' "$EXODNS_CACHE"
  printf 'export EXODNS_KUBE_APISERVER_BIN=%q\n' "${bins[0]}"
  printf 'export EXODNS_ETCD_BIN=%q\n' "${bins[1]}"
  printf 'export EXODNS_UPSTREAM_EXTERNAL_DNS_BIN=%q\n' "${bins[2]}"
  printf 'export EXODNS_HELM_BIN=%q\n' "${bins[3]}"
  # bins[4], the connector-server, is named by the hash of its source: the tests ask
  # build-peers.sh for it (instant when built), so it is not pinned here.
  while IFS='=' read -r k v; do
    [ -n "$k" ] && printf 'export %s=%q\n' "$k" "$v"
  done <<<"$crds"
  printf 'export EXODNS_VENV=%q\n' "$venv"
  while IFS='=' read -r k v; do
    [ -n "$k" ] && printf 'export %s=%q\n' "$k" "$v"
  done <<<"$prism"
  while IFS='=' read -r k v; do
    [ -n "$k" ] && printf 'export %s=%q\n' "$k" "$v"
  done <<<"$cloud_specs"
  # No path into this checkout: the file is shared by every clone on the machine, and a clone
  # finds its own scripts.
} >"$envf.tmp"
mv -f "$envf.tmp" "$envf"
printf '%-14s %6s s\n' total "$(since "$total")"
printf '%s\n' "$envf"
