#!/usr/bin/env bash
# Locate third-party CRD manifests in the Go module cache (downloaded from the module proxy when
# missing; nothing is copied into the clone):
#   EXODNS_GATEWAY_CRD_DIR         sigs.k8s.io/gateway-api@v1.6.1            config/crd/standard/
#   EXODNS_DNSENDPOINT_CRD         sigs.k8s.io/external-dns@v0.22.0          config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml
#   EXODNS_DNSRECORD_CRD           sigs.k8s.io/external-dns@v0.23.0          config/crd/standard/dnsrecords.externaldns.k8s.io.yaml
#                                  (--registry=crd; Go 1.26 will not unpack v0.23.0, so the file is
#                                  extracted from its zip into $EXODNS_CACHE/crds/)
#   EXODNS_CILIUM_CRD_DIR          github.com/cilium/cilium@v1.20.2          pkg/k8s/apis/cilium.io/client/crds/v2/
#   EXODNS_SERVICEMONITOR_CRD_DIR  github.com/prometheus-operator/prometheus-operator@v0.85.0
#                                                                            example/prometheus-operator-crd/
#   EXODNS_ISTIO_CRD               istio.io/api@v1.30.3                      kubernetes/customresourcedefinitions.gen.yaml
#   EXODNS_CONTOUR_CRD             github.com/projectcontour/contour@v1.33.6 examples/contour/01-crds.yaml
#   EXODNS_TRAEFIK_CRD_DIR         github.com/traefik/traefik/v3@v3.7.13     docs/content/reference/dynamic-configuration/
#                                                                            (traefik.io_*.yaml)
#   EXODNS_TRAEFIK_LEGACY_CRD_DIR  github.com/traefik/traefik/v2@v2.11.30    the same folder (traefik.containo.us_*.yaml)
#   EXODNS_AMBASSADOR_CRD          github.com/emissary-ingress/emissary/v3@v3.10.0
#                                                                            manifests/emissary/emissary-crds.yaml.in
#                                  (the published install manifest; pkg/api/getambassador.io/crds.yaml
#                                  is its unprocessed source, which a kube-apiserver refuses)
#   EXODNS_F5_CRD                  github.com/F5Networks/k8s-bigip-ctlr/v2@v2.20.2
#                                  docs/config_examples/customResourceDefinitions/customresourcedefinitions.yml
#   EXODNS_OPENSHIFT_ROUTE_CRD     github.com/openshift/api@$OPENSHIFT_API_VERSION
#                                  route/v1/zz_generated.crd-manifests/routes.crd.yaml
# Executed: prints NAME=PATH lines on stdout. Sourced: exports the variables, prints nothing.
# The cilium module is large (37 MB zip, 97 MB unpacked); its first download is the slow one.
# Module-cache files are read-only; apply them as they are (kubectl apply --server-side).

_exodns_crds() {
  local gw ed ci po is co tr t2 em f5 os
  gw=$(go_mod_field "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" Dir) || return 1
  ed=$(go_mod_field "sigs.k8s.io/external-dns@$EXTERNAL_DNS_VERSION" Dir) || return 1
  ci=$(go_mod_field "github.com/cilium/cilium@$CILIUM_VERSION" Dir) || return 1
  po=$(go_mod_field "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" Dir) || return 1
  is=$(go_mod_field "istio.io/api@$ISTIO_API_VERSION" Dir) || return 1
  co=$(go_mod_field "github.com/projectcontour/contour@$CONTOUR_VERSION" Dir) || return 1
  tr=$(go_mod_field "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" Dir) || return 1
  t2=$(go_mod_field "github.com/traefik/traefik/v2@$TRAEFIK_V2_VERSION" Dir) || return 1
  em=$(go_mod_field "github.com/emissary-ingress/emissary/v3@$EMISSARY_VERSION" Dir) || return 1
  f5=$(go_mod_field "github.com/F5Networks/k8s-bigip-ctlr/v2@$F5_CIS_VERSION" Dir) || return 1
  os=$(go_mod_field "github.com/openshift/api@$OPENSHIFT_API_VERSION" Dir) || return 1
  EXODNS_GATEWAY_CRD_DIR=$gw/config/crd/standard
  EXODNS_DNSENDPOINT_CRD=$ed/config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml
  local rec=config/crd/standard/dnsrecords.externaldns.k8s.io.yaml
  EXODNS_DNSRECORD_CRD=$EXODNS_CACHE/crds/external-dns-$EXTERNAL_DNS_CRD_REGISTRY_VERSION/${rec##*/}
  go_mod_zip_file "sigs.k8s.io/external-dns@$EXTERNAL_DNS_CRD_REGISTRY_VERSION" "$rec" "$EXODNS_DNSRECORD_CRD" || return 1
  EXODNS_CILIUM_CRD_DIR=$ci/pkg/k8s/apis/cilium.io/client/crds/v2
  EXODNS_SERVICEMONITOR_CRD_DIR=$po/example/prometheus-operator-crd
  EXODNS_ISTIO_CRD=$is/kubernetes/customresourcedefinitions.gen.yaml
  EXODNS_CONTOUR_CRD=$co/examples/contour/01-crds.yaml
  EXODNS_TRAEFIK_CRD_DIR=$tr/docs/content/reference/dynamic-configuration
  EXODNS_TRAEFIK_LEGACY_CRD_DIR=$t2/docs/content/reference/dynamic-configuration
  EXODNS_AMBASSADOR_CRD=$em/manifests/emissary/emissary-crds.yaml.in
  EXODNS_F5_CRD=$f5/docs/config_examples/customResourceDefinitions/customresourcedefinitions.yml
  EXODNS_OPENSHIFT_ROUTE_CRD=$os/route/v1/zz_generated.crd-manifests/routes.crd.yaml
  local p
  for p in "$EXODNS_GATEWAY_CRD_DIR/gateway.networking.k8s.io_tcproutes.yaml" \
           "$EXODNS_DNSENDPOINT_CRD" \
           "$EXODNS_DNSRECORD_CRD" \
           "$EXODNS_CILIUM_CRD_DIR/ciliumnetworkpolicies.yaml" \
           "$EXODNS_SERVICEMONITOR_CRD_DIR/monitoring.coreos.com_servicemonitors.yaml" \
           "$EXODNS_ISTIO_CRD" \
           "$EXODNS_CONTOUR_CRD" \
           "$EXODNS_TRAEFIK_CRD_DIR/traefik.io_ingressroutes.yaml" \
           "$EXODNS_TRAEFIK_LEGACY_CRD_DIR/traefik.containo.us_ingressroutes.yaml" \
           "$EXODNS_AMBASSADOR_CRD" \
           "$EXODNS_F5_CRD" \
           "$EXODNS_OPENSHIFT_ROUTE_CRD"; do
    [ -f "$p" ] || { warn "expected CRD file missing: $p"; return 1; }
  done
  export EXODNS_GATEWAY_CRD_DIR EXODNS_DNSENDPOINT_CRD EXODNS_DNSRECORD_CRD EXODNS_CILIUM_CRD_DIR EXODNS_SERVICEMONITOR_CRD_DIR \
    EXODNS_ISTIO_CRD EXODNS_CONTOUR_CRD EXODNS_TRAEFIK_CRD_DIR EXODNS_TRAEFIK_LEGACY_CRD_DIR EXODNS_AMBASSADOR_CRD \
    EXODNS_F5_CRD EXODNS_OPENSHIFT_ROUTE_CRD
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  _exodns_crds || die "could not locate the CRD manifests"
  printf 'EXODNS_GATEWAY_CRD_DIR=%s\nEXODNS_DNSENDPOINT_CRD=%s\nEXODNS_DNSRECORD_CRD=%s\nEXODNS_CILIUM_CRD_DIR=%s\nEXODNS_SERVICEMONITOR_CRD_DIR=%s\nEXODNS_ISTIO_CRD=%s\nEXODNS_CONTOUR_CRD=%s\nEXODNS_TRAEFIK_CRD_DIR=%s\nEXODNS_TRAEFIK_LEGACY_CRD_DIR=%s\nEXODNS_AMBASSADOR_CRD=%s\nEXODNS_F5_CRD=%s\nEXODNS_OPENSHIFT_ROUTE_CRD=%s\n' \
    "$EXODNS_GATEWAY_CRD_DIR" "$EXODNS_DNSENDPOINT_CRD" "$EXODNS_DNSRECORD_CRD" "$EXODNS_CILIUM_CRD_DIR" "$EXODNS_SERVICEMONITOR_CRD_DIR" \
    "$EXODNS_ISTIO_CRD" "$EXODNS_CONTOUR_CRD" "$EXODNS_TRAEFIK_CRD_DIR" "$EXODNS_TRAEFIK_LEGACY_CRD_DIR" \
    "$EXODNS_AMBASSADOR_CRD" "$EXODNS_F5_CRD" "$EXODNS_OPENSHIFT_ROUTE_CRD"
else
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || return 1
  _exodns_crds || return 1
fi
