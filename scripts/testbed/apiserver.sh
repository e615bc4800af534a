#!/usr/bin/env bash
# A real Kubernetes control plane for tests, envtest-style: etcd + kube-apiserver on loopback, no
# kubelet, no controller-manager, no scheduler. Binaries come from the cache (build-peers.sh builds
# them when missing).
#
#   apiserver.sh start DIR             fresh etcd + kube-apiserver (new PKI, token, free ports)
#   apiserver.sh stop DIR              stop kube-apiserver, then etcd
#   apiserver.sh stop-apiserver DIR    stop only kube-apiserver (etcd keeps the data)
#   apiserver.sh start-apiserver DIR   start kube-apiserver again: same port, flags, etcd, objects
#   apiserver.sh crds DIR NAME...      install CRDs (server-side apply) and wait for Established;
#                                      NAME: gateway | dnsendpoint | dnsrecord | cilium | servicemonitor | istio
#                                      | contour | traefik | traefik-legacy | failover (the chart's)
#                                      | ambassador (Hosts served without Emissary's conversion
#                                      webhook, which this control plane cannot run) | f5
#                                      | openshift (the Route CRD)
#
# start and start-apiserver print exactly these lines on stdout (also written to DIR/env):
#   KUBECONFIG=DIR/kubeconfig          (context "test": bearer token; "test-cert": client cert)
#   KUBE_API_URL=https://127.0.0.1:<port>
#   KUBE_TOKEN=<bearer token of user admin, group system:masters>
#   ETCD_PID=<pid>
#   APISERVER_PID=<pid>
# The serving CA is DIR/pki/ca.crt. Logs: DIR/etcd.log, DIR/kube-apiserver.log.
# Env: EXODNS_CACHE; KUBE_APISERVER_EXTRA_ARGS (extra flags, split on spaces);
#      APISERVER_START_TIMEOUT (s, default 120).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { usage_header; exit 2; }

ensure_bins() {
  ETCD_BIN=$(peer_bin etcd)
  APISERVER_BIN=$(peer_bin kube-apiserver)
  if [ ! -x "$ETCD_BIN" ] || [ ! -x "$APISERVER_BIN" ]; then
    warn "building missing peers (takes minutes the first time)"
    "$EXODNS_TESTBED_SCRIPTS/build-peers.sh" etcd kube-apiserver >&2
  fi
}

# ---- PKI: a CA, a serving cert, an admin client cert (system:masters), a service-account key pair
make_pki() { # PKI
  local pki=$1
  mkdir -p "$pki"; chmod 700 "$pki"
  (
    set -e
    cd "$pki"
    ossl() { openssl "$@" >/dev/null 2>&1 || { echo "openssl $1 failed" >&2; return 1; }; }
    ossl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=exodns-test-ca" -keyout ca.key -out ca.crt
    cat >serving.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
EXT
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >client.ext
    ossl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key -out apiserver.csr
    ossl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile serving.ext -out apiserver.crt
    ossl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=admin" -keyout admin.key -out admin.csr
    ossl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile client.ext -out admin.crt
    ossl genrsa -out sa.key 2048
    ossl rsa -in sa.key -pubout -out sa.pub
    rm -f ./*.csr
  )
}

write_kubeconfig() { # DIR PORT TOKEN
  local dir=$1 b64ca b64crt b64key
  b64ca=$(base64 -w0 "$dir/pki/ca.crt"); b64crt=$(base64 -w0 "$dir/pki/admin.crt"); b64key=$(base64 -w0 "$dir/pki/admin.key")
  cat >"$dir/kubeconfig.tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$2
    certificate-authority-data: $b64ca
users:
- name: admin-token
  user:
    token: $3
- name: admin-cert
  user:
    client-certificate-data: $b64crt
    client-key-data: $b64key
contexts:
- name: test
  context: {cluster: test, user: admin-token, namespace: default}
- name: test-cert
  context: {cluster: test, user: admin-cert, namespace: default}
current-context: test
KC
  chmod 600 "$dir/kubeconfig.tmp"
  mv -f "$dir/kubeconfig.tmp" "$dir/kubeconfig"
}

load_state() { # DIR
  [ -f "$1/state" ] || die "no control plane state in $1 (run: apiserver.sh start $1)"
  # shellcheck disable=SC1091
  . "$1/state"            # API_PORT ETCD_PORT ETCD_PEER_PORT TOKEN
}

etcd_ready() { curl -sf --max-time 2 "http://127.0.0.1:$1/health" | grep -q '"health":"true"'; }
apiserver_ready() { # DIR PORT TOKEN
  local auth=(--max-time 3 -H "Authorization: Bearer $3" --cacert "$1/pki/ca.crt")
  [ "$(curl -s "${auth[@]}" "https://127.0.0.1:$2/readyz")" = ok ] &&
    curl -sf "${auth[@]}" "https://127.0.0.1:$2/api/v1/namespaces/default" >/dev/null
}

start_etcd() { # DIR
  local dir=$1 pid args
  args=(--name exodns-test --data-dir "$dir/etcd-data"
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT"
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT"
    --initial-cluster "exodns-test=http://127.0.0.1:$ETCD_PEER_PORT"
    --unsafe-no-fsync --logger zap --log-level warn)
  printf '\n==== start %s\n' "$(date -u +%FT%TZ)" >>"$dir/etcd.log"
  pid=$(spawn "$dir/etcd.log" "$ETCD_BIN" "${args[@]}")
  printf '%s\n' "$pid" >"$dir/etcd.pid"
  if ! wait_for --pid "$pid" 30 "etcd on :$ETCD_PORT" etcd_ready "$ETCD_PORT"; then
    show_log "$dir/etcd.log"; stop_pidfile "$dir/etcd.pid" etcd 5; return 1
  fi
}

start_apiserver() { # DIR
  local dir=$1 pid extra=()
  pid_alive "$dir/etcd.pid" etcd || die "etcd of $dir is not running"
  if pid_alive "$dir/kube-apiserver.pid" kube-apiserver; then
    die "kube-apiserver already running in $dir (pid $(cat "$dir/kube-apiserver.pid"))"
  fi
  # shellcheck disable=SC2206
  [ -z "${KUBE_APISERVER_EXTRA_ARGS:-}" ] || extra=($KUBE_APISERVER_EXTRA_ARGS)
  printf '\n==== start %s\n' "$(date -u +%FT%TZ)" >>"$dir/kube-apiserver.log"
  # Flags: controller-runtime envtest's defaults (secure port on loopback, RBAC, cert dir, service
  # account keys, ServiceAccount admission off, allow-privileged) plus static-token and client-cert
  # authentication; no endpoint reconciler and no priority-and-fairness, which only add noise and
  # throttling on a single-member test cluster. Service CIDR /12: room for thousands of Services.
  pid=$(spawn "$dir/kube-apiserver.log" "$APISERVER_BIN" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
    --cert-dir="$dir/pki" --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --client-ca-file="$dir/pki/ca.crt" \
    --token-auth-file="$dir/tokens.csv" \
    --authorization-mode=RBAC \
    --service-account-issuer="https://127.0.0.1:$API_PORT" \
    --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/12 \
    --disable-admission-plugins=ServiceAccount \
    --allow-privileged=true \
    --endpoint-reconciler-type=none \
    --enable-priority-and-fairness=false \
    --profiling=false \
    --v=1 "${extra[@]}")
  printf '%s\n' "$pid" >"$dir/kube-apiserver.pid"
  if ! wait_for --pid "$pid" --interval 0.2 "${APISERVER_START_TIMEOUT:-120}" "kube-apiserver on :$API_PORT" \
      apiserver_ready "$dir" "$API_PORT" "$TOKEN"; then
    show_log "$dir/kube-apiserver.log" 40
    stop_pidfile "$dir/kube-apiserver.pid" kube-apiserver 10
    return 1
  fi
}

write_env() { # DIR
  {
    printf 'KUBECONFIG=%s\n' "$1/kubeconfig"
    printf 'KUBE_API_URL=https://127.0.0.1:%s\n' "$API_PORT"
    printf 'KUBE_TOKEN=%s\n' "$TOKEN"
    printf 'ETCD_PID=%s\n' "$(cat "$1/etcd.pid")"
    printf 'APISERVER_PID=%s\n' "$(cat "$1/kube-apiserver.pid")"
  } >"$1/env"
  cat "$1/env"
}

cmd_start() {
  local dir=$1 start
  need_cmd openssl; need_cmd curl
  ensure_bins
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if pid_alive "$dir/etcd.pid" etcd || pid_alive "$dir/kube-apiserver.pid" kube-apiserver; then
    die "a control plane is already running in $dir (apiserver.sh stop $dir)"
  fi
  start=$(now)
  rm -rf "$dir/etcd-data" "$dir/pki" "$dir/env" "$dir/kubeconfig"
  mkdir -p "$dir/etcd-data"; chmod 700 "$dir/etcd-data"
  make_pki "$dir/pki"
  TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s,admin,admin-uid,"system:masters"\n' "$TOKEN" >"$dir/tokens.csv"   # token,user,uid,"groups"
  chmod 600 "$dir/tokens.csv"
  local ports
  mapfile -t ports < <(free_port 3)
  API_PORT=${ports[0]}; ETCD_PORT=${ports[1]}; ETCD_PEER_PORT=${ports[2]}
  printf 'API_PORT=%s\nETCD_PORT=%s\nETCD_PEER_PORT=%s\nTOKEN=%s\n' "$API_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT" "$TOKEN" >"$dir/state"
  log "pki + ports ready in $(since "$start") s"
  start_etcd "$dir" || die "etcd did not become ready (log: $dir/etcd.log)"
  log "etcd ready at $(since "$start") s"
  if ! start_apiserver "$dir"; then
    stop_pidfile "$dir/etcd.pid" etcd 10
    die "kube-apiserver did not become ready (log: $dir/kube-apiserver.log)"
  fi
  log "kube-apiserver ready at $(since "$start") s"
  write_kubeconfig "$dir" "$API_PORT" "$TOKEN"
  write_env "$dir"
}

cmd_stop() {
  local dir=$1
  [ -d "$dir" ] || die "no such directory: $dir"
  stop_pidfile "$dir/kube-apiserver.pid" kube-apiserver 30
  stop_pidfile "$dir/etcd.pid" etcd 15
}

cmd_stop_apiserver() {
  [ -d "$1" ] || die "no such directory: $1"
  stop_pidfile "$1/kube-apiserver.pid" kube-apiserver 30
}

cmd_start_apiserver() {
  local dir=$1 start
  [ -d "$dir" ] || die "no such directory: $dir"
  dir=$(cd "$dir" && pwd)
  ensure_bins
  load_state "$dir"
  start=$(now)
  start_apiserver "$dir" || die "kube-apiserver did not become ready (log: $dir/kube-apiserver.log)"
  log "kube-apiserver ready in $(since "$start") s"
  write_env "$dir"
}

# ---- CRDs -------------------------------------------------------------------------------------
# One CustomResourceDefinition of a multi-document manifest, copied as it is to OUT; prints OUT.
crd_document() { # FILE CRD-NAME OUT
  awk -v want="$2" '
    function flush() { if (doc ~ /\nkind: CustomResourceDefinition\n/ && doc ~ ("\n  name: " want "\n")) printf "%s", doc; doc = "\n" }
    BEGIN { doc = "\n" }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n" }
    END { flush() }' "$1" >"$3"
  [ -s "$3" ] || die "no CustomResourceDefinition $2 in $1"
  printf '%s\n' "$3"
}

crd_files() { # NAME DIR -> files to apply, one per line
  local f
  case "$1" in
    gateway)
      for f in "$EXODNS_GATEWAY_CRD_DIR"/*.yaml; do printf '%s\n' "$f"; done ;;
    dnsendpoint)
      printf '%s\n' "$EXODNS_DNSENDPOINT_CRD" ;;
    dnsrecord)
      printf '%s\n' "$EXODNS_DNSRECORD_CRD" ;;
    cilium)
      printf '%s\n' "$EXODNS_CILIUM_CRD_DIR/ciliumnetworkpolicies.yaml" \
                    "$EXODNS_CILIUM_CRD_DIR/ciliumclusterwidenetworkpolicies.yaml" ;;
    servicemonitor)
      printf '%s\n' "$EXODNS_SERVICEMONITOR_CRD_DIR/monitoring.coreos.com_servicemonitors.yaml" ;;
    istio)
      printf '%s\n' "$EXODNS_ISTIO_CRD" ;;
    contour)
      printf '%s\n' "$EXODNS_CONTOUR_CRD" ;;
    traefik)
      printf '%s\n' "$EXODNS_TRAEFIK_CRD_DIR"/traefik.io_ingressroute{s,tcps,udps}.yaml ;;
    traefik-legacy)
      printf '%s\n' "$EXODNS_TRAEFIK_LEGACY_CRD_DIR"/traefik.containo.us_ingressroute{s,tcps,udps}.yaml ;;
    failover)
      printf '%s\n' "$EXODNS_TESTBED_SCRIPTS/../../deploy/helm/exodns/crds/failoverrecords.exodns.io.yaml" ;;
    ambassador)
      # The published install manifest holds Emissary's apiext Deployment too: only the Host CRD.
      crd_document "$EXODNS_AMBASSADOR_CRD" hosts.getambassador.io "$2/ambassador-hosts-crd.yaml" ;;
    f5)
      crd_document "$EXODNS_F5_CRD" virtualservers.cis.f5.com "$2/f5-virtualservers-crd.yaml"
      crd_document "$EXODNS_F5_CRD" transportservers.cis.f5.com "$2/f5-transportservers-crd.yaml" ;;
    openshift)
      printf '%s\n' "$EXODNS_OPENSHIFT_ROUTE_CRD" ;;
    *) die "unknown CRD set '$1' (gateway|dnsendpoint|dnsrecord|cilium|servicemonitor|istio|contour|traefik|traefik-legacy|failover|ambassador|f5|openshift)" ;;
  esac
}

# What a CRD set needs after it is applied. Emissary's CRDs convert between versions through its
# emissary-apiext webhook (a Deployment this control plane cannot run): without it, a Host
# written or read as v3alpha1 (what upstream reads) while stored as v2 fails. Every Host field
# the sources read is the same in both versions, so conversion is turned off (`None`: only
# apiVersion changes); the published file is applied as it is, then patched in the cluster.
crd_fixups() { # NAME KUBECTL...
  local name=$1; shift
  case "$name" in
    ambassador)
      "$@" patch crd hosts.getambassador.io --type=json --field-manager=exodns-testbed \
        -p '[{"op":"replace","path":"/spec/conversion","value":{"strategy":"None"}}]' >/dev/null ;;
  esac
}

cmd_crds() {
  local dir=$1 name f start out crds=() files=(); shift
  [ $# -gt 0 ] || usage
  need_cmd kubectl "kubectl is expected on the image"
  [ -f "$dir/kubeconfig" ] || die "no kubeconfig in $dir (run: apiserver.sh start $dir)"
  start=$(now)
  # shellcheck source=crds.sh
  . "$EXODNS_TESTBED_SCRIPTS/crds.sh" || die "could not locate the CRD files"
  for name in "$@"; do
    while IFS= read -r f; do
      [ -f "$f" ] || die "CRD file missing: $f"
      files+=(-f "$f")
    done < <(crd_files "$name" "$dir")
  done
  local kc=(kubectl --kubeconfig "$dir/kubeconfig" --request-timeout=60s)
  # Server-side apply: some CRDs (HTTPRoute) exceed the 256 KiB last-applied annotation limit.
  out=$("${kc[@]}" apply --server-side --force-conflicts --field-manager=exodns-testbed "${files[@]}" -o name 2>&1) \
    || { printf '%s\n' "$out" >&2; die "kubectl apply failed"; }
  mapfile -t crds < <(grep '^customresourcedefinition' <<<"$out")
  [ "${#crds[@]}" -gt 0 ] || die "no CustomResourceDefinition in: $*"
  "${kc[@]}" wait --for=condition=Established --timeout=60s "${crds[@]}" >/dev/null \
    || die "CRDs not Established: ${crds[*]}"
  local name
  for name in "$@"; do crd_fixups "$name" "${kc[@]}" || die "could not adjust the CRDs of '$name'"; done
  log "${#crds[@]} CRDs Established in $(since "$start") s"
}

main() {
  [ $# -ge 2 ] || usage
  local cmd=$1 dir=$2; shift 2
  case "$cmd" in
    start)           [ $# -eq 0 ] || usage; cmd_start "$dir" ;;
    stop)            [ $# -eq 0 ] || usage; cmd_stop "$dir" ;;
    stop-apiserver)  [ $# -eq 0 ] || usage; cmd_stop_apiserver "$dir" ;;
    start-apiserver) [ $# -eq 0 ] || usage; cmd_start_apiserver "$dir" ;;
    crds)            cmd_crds "$dir" "$@" ;;
    *) usage ;;
  esac
}
main "$@"
