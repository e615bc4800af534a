# Set-up shared by the Kubernetes benchmarks; sourced as `. bench/kube/lib.sh NAME`.
# Sets ROOT (the checkout), OUT (the results folder, default $EXODNS_CACHE/bench/kube-NAME-<time>),
# KB (the kubebench.py driver), UPSTREAM (upstream external-dns, built by scripts/testbed/setup.sh)
# and EXODNS_BIN (built in release unless set). `start_apiserver` starts the kube-apiserver under
# $OUT/apiserver and exports its KUBE_*/KUBECONFIG variables and KUBE_CA.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/testbed/lib.sh"
[ -f "$EXODNS_CACHE/testbed.env" ] && . "$EXODNS_CACHE/testbed.env"

OUT=${OUT:-$(cache_dir bench)/kube-$1-$(date +%Y%m%dT%H%M%S)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
KB="python3 $ROOT/bench/kube/kubebench.py"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

UPSTREAM=${EXODNS_UPSTREAM_EXTERNAL_DNS_BIN:-$(peer_bin external-dns)}
[ -x "$UPSTREAM" ] || die "upstream external-dns not built: run scripts/testbed/setup.sh"
if [ -z "${EXODNS_BIN:-}" ]; then
  echo "building exodns (release)..." >&2
  cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p exodns
  EXODNS_BIN=$CARGO_TARGET_DIR/release/exodns
fi

start_apiserver() {
  eval "$("$ROOT/scripts/testbed/apiserver.sh" start "$OUT/apiserver" | sed 's/^/export /')"
  export KUBE_CA=$OUT/apiserver/pki/ca.crt
}
