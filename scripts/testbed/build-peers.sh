#!/usr/bin/env bash
# Build the Go-based test peers from the Go module proxy into the cache, once per version:
#   $EXODNS_CACHE/bin/kube-apiserver-<v>, etcd-<v>, external-dns-<v>, helm-<v>,
#   connector-server-<external-dns v>-<hash of its source> (our own peer, see below)
#
# Usage: build-peers.sh [kube-apiserver|etcd|external-dns|helm|connector-server|all]...   (default: all)
# stdout: the path of each requested binary, one per line, in the order asked.
# Env:    EXODNS_CACHE, EXODNS_BUILD_PAR (go build -p, default 2), EXODNS_TESTBED_VERBOSE=1.
# Scratch modules live in $EXODNS_CACHE/build/<name>-<version>/, logs in $EXODNS_CACHE/logs/.
# Nothing is written inside the clone. These binaries are test peers only: never commit them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PAR=${EXODNS_BUILD_PAR:-2}

# Shared frame: lock per binary, skip when present, log to a file, atomic install.
# build_one NAME FUNC   (FUNC SCRATCH OUT does the work and writes the binary to OUT)
build_one() {
  local name=$1 func=$2 bin scratch logf start
  bin=$(peer_bin "$name")
  if [ -x "$bin" ]; then printf '%s\n' "$bin"; return 0; fi
  cache_dir bin >/dev/null
  exec 9>"$(cache_dir run)/build-$(basename "$bin").lock"
  flock 9                                    # another build of the same binary may be running
  if [ -x "$bin" ]; then exec 9>&-; printf '%s\n' "$bin"; return 0; fi
  scratch=$(cache_dir build)/$(basename "$bin")
  logf=$(cache_dir logs)/build-$(basename "$bin").log
  : >"$logf"
  start=$(now)
  log "building $name into $bin (log: $logf)"
  rm -rf "$scratch"; mkdir -p "$scratch"
  # (not inside `if`: bash ignores errexit in a tested subshell)
  local rc=0
  set +e
  ( set -euo pipefail; go_env; "$func" "$scratch" "$bin.tmp" ) >>"$logf" 2>&1
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    show_log "$logf" 60
    rm -f "$bin.tmp"
    die "building $name failed (full log: $logf)"
  fi
  mv -f "$bin.tmp" "$bin"
  exec 9>&-
  echo "built in $(since "$start") s" >>"$logf"
  log "$name built in $(since "$start") s"
  printf '%s\n' "$bin"
}

# check_output LINE CMD...: CMD's output (kept in the log) must contain LINE as a whole line.
check_output() {
  local want=$1 got; shift
  got=$("$@" 2>&1)
  printf '%s\n' "$got"
  grep -qxF -- "$want" <<<"$got" || { echo "expected a line '$want' from: $*"; return 1; }
}

# ---- kube-apiserver -------------------------------------------------------------------------------
# k8s.io/kubernetes cannot be `go install`ed: it requires its ~31 staging modules (k8s.io/api,
# k8s.io/apiserver, ...) at v0.0.0 and maps them to ./staging/src/... with replace directives, which
# are ignored for a dependency. So generate a tiny module that requires k8s.io/kubernetes and
# re-creates those replaces against the published staging tags (v1.X.Y -> v0.X.Y).
build_kube_apiserver() {
  local dir=$1 out=$2 kmod sver gd goline minor date ld pkg m
  sver="v0.${KUBE_VERSION#v1.}"
  kmod=$(go_mod_field "k8s.io/kubernetes@$KUBE_VERSION" GoMod)
  mapfile -t staging < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\/src\// {print $1}' "$kmod" | sort -u)
  [ "${#staging[@]}" -gt 10 ] || { echo "found only ${#staging[@]} staging replaces in $kmod"; return 1; }
  echo "k8s.io/kubernetes $KUBE_VERSION: ${#staging[@]} staging modules -> $sver"
  goline=$(awk '$1 == "go" {print $2; exit}' "$kmod")
  gd=$(awk '$1 == "godebug" && $2 ~ /^default=/ {print $2; exit}' "$kmod")

  cd "$dir"
  go mod init example.local/exodns-testbed/kube-apiserver
  local args=(-go="$goline" -require="k8s.io/kubernetes@$KUBE_VERSION" -require="k8s.io/component-base@$sver")
  for m in "${staging[@]}"; do args+=(-replace="$m=$m@$sver"); done
  [ -z "$gd" ] || args+=(-godebug="$gd")   # keep upstream's GODEBUG defaults under a newer Go
  go mod edit "${args[@]}"
  mkdir -p cmd/kube-apiserver
  # Same body as upstream cmd/kube-apiserver/apiserver.go.
  cat >cmd/kube-apiserver/main.go <<'GO'
package main

import (
	"os"
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
GO
  go mod tidy
  minor=$(cut -d. -f2 <<<"$KUBE_VERSION")
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  go build -p "$PAR" -trimpath -ldflags "$ld" -o "$out" ./cmd/kube-apiserver
  check_output "Kubernetes $KUBE_VERSION" "$out" --version
}

# ---- etcd -----------------------------------------------------------------------------------------
# go.etcd.io/etcd/server/v3 has relative replaces in its go.mod (so no `go install`), but as a
# dependency those are ignored and its pinned sibling versions are used: a one-line main works.
build_etcd() {
  local dir=$1 out=$2
  cd "$dir"
  go mod init example.local/exodns-testbed/etcd
  go mod edit -go=1.24.0 -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go mod tidy
  go build -p "$PAR" -trimpath -ldflags "-s -w" -o "$out" .
  check_output "etcd Version: ${ETCD_VERSION#v}" "$out" --version
}

# ---- upstream ExternalDNS -----------------------------------------------------------------------
# `go install sigs.k8s.io/external-dns@v0.22.0` fails here: the proxy does not serve two of its
# dependencies (github.com/exoscale/egoscale/v3 and github.com/openshift/api at the pinned pseudo
# version). Build a copy of the module without the exoscale provider and the openshift-route source;
# everything else is upstream's code unchanged. Tests are dropped too (not needed for a binary; some
# of them pull in the removed packages).
build_external_dns() {
  local dir=$1 out=$2 src
  src=$(go_mod_field "sigs.k8s.io/external-dns@$EXTERNAL_DNS_VERSION" Dir)
  cp -a "$src/." "$dir/"
  chmod -R u+w "$dir"
  cd "$dir"
  rm -rf provider/exoscale source/openshift_route.go internal/testutils tests
  find . -name '*_test.go' -delete
  python3 - <<'PY'
import re, sys

def edit(path, subs):
    text = open(path).read()
    for pattern, repl, flags in subs:
        new, n = re.subn(pattern, repl, text, flags=flags)
        if n == 0:
            sys.exit(f"{path}: pattern not found (upstream changed?): {pattern}")
        text = new
    open(path, "w").write(text)

edit("provider/factory/provider.go", [
    (r'^\s*"sigs\.k8s\.io/external-dns/provider/exoscale"\n', "", re.M),
    (r'^\s*externaldns\.ProviderExoscale:\s*exoscale\.New,\n', "", re.M),
])
edit("source/store.go", [
    (r'^\s*openshift "github\.com/openshift/client-go/[^"]*"\n', "", re.M),
    (r'^\s*OpenShiftClient\(\) \(openshift\.Interface, error\)\n', "", re.M),
    (r'^\s*openshiftClient\s+openshift\.Interface\n', "", re.M),
    (r'^\s*openshiftClientErr\s+error\n', "", re.M),
    (r'^\s*openshiftOnce\s+sync\.Once\n', "", re.M),
    (r'^// OpenShiftClient generates.*?\n}\n', "", re.M | re.S),
    (r'^\s*case types\.OpenShiftRoute:\n\s*return buildOpenShiftRouteSource\(ctx, p, cfg\)\n', "", re.M),
    (r'^func buildOpenShiftRouteSource\(.*?\n}\n', "", re.M | re.S),
])
PY
  go mod edit -droprequire=github.com/exoscale/egoscale/v3 \
    -droprequire=github.com/openshift/api -droprequire=github.com/openshift/client-go
  go mod tidy
  go build -p "$PAR" -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/external-dns/pkg/apis/externaldns.Version=$EXTERNAL_DNS_VERSION" \
    -o "$out" .
  check_output "$EXTERNAL_DNS_VERSION" "$out" --version
}

# ---- helm -----------------------------------------------------------------------------------------
build_helm() {
  local dir=$1 out=$2
  cd "$dir"
  go list -m -json "helm.sh/helm/v3@$HELM_VERSION" >/dev/null   # fails clearly when not served
  # helm prints its version from internal/version.version (set by its Makefile's ldflags).
  # The k8s version helm assumes for linting/capabilities comes from its client-go (v0.X.Y -> 1.X).
  local gomod kminor ld
  gomod=$(go_mod_field "helm.sh/helm/v3@$HELM_VERSION" GoMod)
  kminor=$(awk '$1 == "k8s.io/client-go" {split($2, v, "."); print v[2]; exit}' "$gomod")
  ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ld+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  if [ -n "$kminor" ]; then
    ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kminor"
    ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kminor"
  fi
  GOBIN="$dir/gobin" go install -p "$PAR" -trimpath -ldflags "$ld" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$dir/gobin/helm" "$out"
  check_output "$HELM_VERSION" "$out" version --template '{{.Version}}'

}

# ---- connector-server (ours) ---------------------------------------------------------------------
# A test peer of the connector source: crates/testbed/peers/connector-server (our own few lines)
# serves endpoints with upstream's endpoint type and Go's encoding/gob. Only the endpoint package
# is fetched (`go get`, not `go mod tidy`: the tests of external-dns's packages import modules the
# proxy does not serve).
build_connector_server() {
  local dir=$1 out=$2
  cp "$EXODNS_TESTBED_SCRIPTS/../../crates/testbed/peers/connector-server/"{main.go,go.mod} "$dir/"
  cd "$dir"
  go mod edit -require="sigs.k8s.io/external-dns@$EXTERNAL_DNS_VERSION"
  go get "sigs.k8s.io/external-dns/endpoint@$EXTERNAL_DNS_VERSION"
  go build -p "$PAR" -trimpath -ldflags "-s -w" -o "$out" .
  printf '[]' >"$dir/none.json"
  "$out" -dump -endpoints "$dir/none.json" | od -An -tx1 | grep -q . || { echo "no stream from $out"; return 1; }
}

main() {
  [ $# -gt 0 ] || set -- all
  local t
  for t in "$@"; do
    case "$t" in
      kube-apiserver) build_one kube-apiserver build_kube_apiserver ;;
      etcd)           build_one etcd build_etcd ;;
      external-dns)   build_one external-dns build_external_dns ;;
      helm)           build_one helm build_helm ;;
      connector-server) build_one connector-server build_connector_server ;;
      all)            main etcd kube-apiserver external-dns helm connector-server ;;
      -h|--help)      usage_header; exit 0 ;;
      *) die "unknown peer '$t' (kube-apiserver|etcd|external-dns|helm|connector-server|all)" ;;
    esac
  done
}
main "$@"
