{{/* Chart name, for the app.kubernetes.io/name label. */}}
{{- define "exodns.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the objects: the release name, suffixed with the chart name unless it holds it. */}}
{{- define "exodns.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Namespace of the namespaced objects. */}}
{{- define "exodns.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "exodns.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "exodns.selectorLabels" -}}
app.kubernetes.io/name: {{ include "exodns.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "exodns.labels" -}}
helm.sh/chart: {{ include "exodns.chart" . }}
{{ include "exodns.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: exodns
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "exodns.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "exodns.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "exodns.image" -}}
{{- $img := .Values.image }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion (toString (default "" $img.tag))) }}
{{- end }}
{{- end }}

{{/* The provider name; `provider` may be a map (`provider.name`) or, as in older upstream charts, a string. */}}
{{- define "exodns.providerName" -}}
{{- if kindIs "string" .Values.provider }}
{{- .Values.provider }}
{{- else if kindIs "map" .Values.provider }}
{{- .Values.provider.name }}
{{- end }}
{{- end }}

{{/*
The settings block of the provider in use, `providers.<name>` (a map, possibly empty): its flags
(`args`), its credentials from an existing Secret (`secretEnv`: env var → key; `secretFiles`: flag
taking a file → key) and the ports of its API for the NetworkPolicy (`egressPorts`).
*/}}
{{- define "exodns.providerBlock" -}}
{{- $b := get (.Values.providers | default dict) (include "exodns.providerName" .) }}
{{- toYaml ($b | default dict) }}
{{- end }}

{{/*
Flags from a map (`flag: value`): a list value repeats the flag, `true` renders `--flag`, `false`
nothing (exodns has no `--no-` flags), null `--flag`; values are templated.
*/}}
{{- define "exodns.flagMap" -}}
{{- $root := .root }}
{{- range $key, $value := .flags }}
{{- if kindIs "invalid" $value }}
- {{ printf "--%s" $key | quote }}
{{- else if kindIs "slice" $value }}
{{- range $value }}
- {{ printf "--%s=%s" $key (tpl (toString .) $root) | quote }}
{{- end }}
{{- else if kindIs "bool" $value }}
{{- if $value }}
- --{{ $key }}
{{- end }}
{{- else }}
- {{ printf "--%s=%s" $key (tpl (toString $value) $root) | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The webhook settings (a map), empty when `provider` is a string. */}}
{{- define "exodns.webhook" -}}
{{- if and (kindIs "map" .Values.provider) (kindIs "map" .Values.provider.webhook) }}
{{- toYaml .Values.provider.webhook }}
{{- end }}
{{- end }}

{{/* "true" when leader election is on: as set, or when more than one replica runs. */}}
{{- define "exodns.leaderElection" -}}
{{- $le := .Values.leaderElection | default dict }}
{{- if kindIs "bool" $le.enabled }}
{{- if $le.enabled }}true{{ end }}
{{- else if and (kindIs "string" $le.enabled) (has (lower $le.enabled) (list "true" "false")) }}
{{- if eq (lower $le.enabled) "true" }}true{{ end }}
{{- else if gt (int .Values.replicaCount) 1 }}true
{{- end }}
{{- end }}

{{- define "exodns.leaseName" -}}
{{- $le := .Values.leaderElection | default dict }}
{{- default (include "exodns.fullname" .) $le.leaseName }}
{{- end }}

{{- define "exodns.leaseNamespace" -}}
{{- $le := .Values.leaderElection | default dict }}
{{- default (include "exodns.namespace" .) $le.leaseNamespace }}
{{- end }}

{{/* "true" when a tri-state toggle ("", true, false, "true", "false") is on; $.auto is the default. */}}
{{- define "exodns.tristate" -}}
{{- $v := .value }}
{{- if kindIs "bool" $v }}
{{- if $v }}true{{ end }}
{{- else if and (kindIs "string" $v) (eq (lower $v) "true") }}true
{{- else if and (kindIs "string" $v) (eq (lower $v) "false") }}
{{- else if .auto }}true
{{- end }}
{{- end }}

{{- define "exodns.pdbEnabled" -}}
{{- $pdb := .Values.podDisruptionBudget | default dict }}
{{- include "exodns.tristate" (dict "value" $pdb.enabled "auto" (gt (int .Values.replicaCount) 1)) }}
{{- end }}

{{/* Whether the companion CiliumNetworkPolicy is rendered. */}}
{{- define "exodns.ciliumNetworkPolicy" -}}
{{- $np := .Values.networkPolicy | default dict }}
{{- $cnp := .Values.ciliumNetworkPolicy | default dict }}
{{- if $np.enabled }}
{{- if and (kindIs "string" $cnp.enabled) (eq (lower $cnp.enabled) "auto") }}
{{- if .Capabilities.APIVersions.Has "cilium.io/v2/CiliumNetworkPolicy" }}true{{ end }}
{{- else }}
{{- include "exodns.tristate" (dict "value" $cnp.enabled "auto" false) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The value of a flag wherever an upstream values file may have put it: the chart's own value
(`value`), else `extraArgs` (map `flag:` or list `--flag=…`), else `env` EXTERNAL_DNS_<FLAG>.
Takes (dict "root" $ "flag" "pdns-server" "value" …).
*/}}
{{- define "exodns.flagValue" -}}
{{- $root := .root }}
{{- $flag := .flag }}
{{- $out := .value | default "" }}
{{- $extra := $root.Values.extraArgs }}
{{- if and (not $out) (kindIs "map" $extra) }}
{{- $v := get $extra $flag }}
{{- if kindIs "slice" $v }}{{ $v = first $v }}{{ end }}
{{- if kindIs "string" $v }}{{ $out = $v }}{{ end }}
{{- end }}
{{- if and (not $out) (kindIs "slice" $extra) }}
{{- range $extra }}
{{- if and (not $out) (hasPrefix (printf "--%s=" $flag) (toString .)) }}{{ $out = trimPrefix (printf "--%s=" $flag) (toString .) }}{{ end }}
{{- end }}
{{- end }}
{{- if not $out }}
{{- $env := printf "EXTERNAL_DNS_%s" (upper (replace "-" "_" $flag)) }}
{{- range $root.Values.env }}
{{- if and (not $out) (eq (toString .name) $env) .value }}{{ $out = toString .value }}{{ end }}
{{- end }}
{{- end }}
{{- $out }}
{{- end }}

{{/* The PowerDNS API URL (pdns.server, extraArgs or env), for the NetworkPolicy's egress rule. */}}
{{- define "exodns.pdnsServer" -}}
{{- include "exodns.flagValue" (dict "root" . "flag" "pdns-server" "value" (.Values.pdns | default dict).server) }}
{{- end }}

{{/* The namespace of the DNSRecord objects with `registry: crd` (as exodns picks it). */}}
{{- define "exodns.crdRegistryNamespace" -}}
{{- include "exodns.flagValue" (dict "root" . "flag" "crd-registry-namespace" "value" .Values.crdRegistryNamespace) | default (include "exodns.namespace" .) }}
{{- end }}

{{/* Mount path of the PowerDNS API key file. */}}
{{- define "exodns.pdnsKeyDir" -}}/var/run/secrets/exodns/pdns{{- end }}
{{/* Mount path of the provider's credential files (`providers.<name>.secretFiles`). */}}
{{- define "exodns.providerSecretDir" -}}/var/run/secrets/exodns/provider{{- end }}
{{/* Mount path of the TXT AES key file. */}}
{{- define "exodns.aesKeyDir" -}}/var/run/secrets/exodns/txt-aes{{- end }}

{{/*
RBAC rules of each source, the same as deploy/rbac/clusterrole.yaml and each source kind's description
(crates/kube/src/rbac/tests.rs reads this table and compares every source's rules with its description;
crates/it/tests/it/deploy/rbac.rs renders each source alone and all of them and compares the rules with
exodns_kube::rbac::cluster_role and with that file, so they cannot drift apart).
Each rule: apiGroups, resources, verbs. `cluster: true` marks cluster-scoped resources (dropped
from the Role of a namespaced install, granted by a separate ClusterRole instead).
*/}}
{{- define "exodns.sourceRules" -}}
common:
  - {apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"]}
service:
  - {apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"]}
  - {apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"], cluster: true}
ingress:
  - {apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"]}
gateway-httproute:
  - {apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "httproutes", "listenersets"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"], cluster: true}
gateway-grpcroute:
  - {apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "grpcroutes", "listenersets"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"], cluster: true}
gateway-tlsroute:
  - {apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "tlsroutes", "listenersets"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"], cluster: true}
gateway-tcproute:
  - {apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "tcproutes", "listenersets"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"], cluster: true}
gateway-udproute:
  - {apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "udproutes", "listenersets"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"], cluster: true}
crd:
  - {apiGroups: ["externaldns.k8s.io"], resources: ["dnsendpoints"], verbs: ["get", "list", "watch"]}
  - {apiGroups: ["externaldns.k8s.io"], resources: ["dnsendpoints/status"], verbs: ["update", "patch"]}
node:
  - {apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"], cluster: true}
pod:
  - {apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"], cluster: true}
istio-gateway:
  - {apiGroups: ["networking.istio.io"], resources: ["gateways"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"]}
  - {apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"]}
istio-virtualservice:
  - {apiGroups: ["networking.istio.io"], resources: ["virtualservices", "gateways"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"]}
  - {apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"]}
contour-httpproxy:
  - {apiGroups: ["projectcontour.io"], resources: ["httpproxies"], verbs: ["get", "list", "watch"]}
failover:
  - {apiGroups: ["exodns.io"], resources: ["failoverrecords"], verbs: ["get", "list", "watch"]}
  - {apiGroups: ["exodns.io"], resources: ["failoverrecords/status"], verbs: ["update", "patch"]}
traefik-proxy:
  - {apiGroups: ["traefik.io", "traefik.containo.us"], resources: ["ingressroutes", "ingressroutetcps", "ingressrouteudps"], verbs: ["get", "list", "watch"]}
ambassador-host:
  - {apiGroups: ["getambassador.io"], resources: ["hosts"], verbs: ["get", "list", "watch"]}
  - {apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"]}
f5-virtualserver:
  - {apiGroups: ["cis.f5.com"], resources: ["virtualservers"], verbs: ["get", "list", "watch"]}
f5-transportserver:
  - {apiGroups: ["cis.f5.com"], resources: ["transportservers"], verbs: ["get", "list", "watch"]}
openshift-route:
  - {apiGroups: ["route.openshift.io"], resources: ["routes"], verbs: ["get", "list", "watch"]}
# unstructured: the resources --unstructured-resource names are chosen at run time; grant them
# with rbac.additionalPermissions (as upstream's chart).
unstructured: []
# Sources that read no cluster objects: no rules.
empty: []
fake: []
connector: []
{{- end }}

{{/*
The merged rules of the enabled sources: one rule per (apiGroup, resource), verbs unioned, in a
stable order. Argument: dict "root" $ "cluster" (true: only cluster-scoped, false: only namespaced,
absent: all).
*/}}
{{- define "exodns.rules" -}}
{{- $root := .root }}
{{- $table := include "exodns.sourceRules" $root | fromYaml }}
{{- $sources := concat (list "common") ($root.Values.sources | default list) }}
{{- $merged := dict }}
{{- range $src := $sources }}
{{- range $rule := (get $table $src | default list) }}
{{- $isCluster := dig "cluster" false $rule }}
{{- if or (not (hasKey $ "cluster")) (eq $isCluster $.cluster) }}
{{- range $group := $rule.apiGroups }}
{{- range $res := $rule.resources }}
{{- $key := printf "%s|%s" $group $res }}
{{- $verbs := get $merged $key | default list }}
{{- $_ := set $merged $key (concat $verbs $rule.verbs | uniq | sortAlpha) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $key := keys $merged | sortAlpha }}
{{- $parts := splitList "|" $key }}
- apiGroups: [{{ index $parts 0 | quote }}]
  resources: [{{ index $parts 1 | quote }}]
  verbs: [{{ range $i, $v := get $merged $key }}{{ if $i }}, {{ end }}{{ $v | quote }}{{ end }}]
{{- end }}
{{- end }}

{{/* Default label selector injected into affinity terms and spread constraints without one. */}}
{{- define "exodns.defaultLabelSelector" -}}
labelSelector:
  matchLabels:
    {{- include "exodns.selectorLabels" . | nindent 4 }}
{{- end }}

{{/* A list of pod affinity terms (required or preferred), each given the default selector when it has none. */}}
{{- define "exodns.affinityTerms" -}}
{{- $sel := include "exodns.defaultLabelSelector" .root | fromYaml }}
{{- $out := list }}
{{- range .terms }}
{{- if hasKey . "podAffinityTerm" }}
{{- $term := .podAffinityTerm | default dict }}
{{- if not (hasKey $term "labelSelector") }}{{ $term = merge (deepCopy $term) $sel }}{{ end }}
{{- $out = append $out (merge (dict "podAffinityTerm" $term) (omit . "podAffinityTerm")) }}
{{- else }}
{{- $term := deepCopy . }}
{{- if not (hasKey $term "labelSelector") }}{{ $term = merge $term $sel }}{{ end }}
{{- $out = append $out $term }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* Pod affinity with default label selectors filled in. */}}
{{- define "exodns.affinity" -}}
{{- $aff := deepCopy (.Values.affinity | default dict) }}
{{- range $kind := list "podAffinity" "podAntiAffinity" }}
{{- with get $aff $kind }}
{{- $k := deepCopy . }}
{{- range $when := list "requiredDuringSchedulingIgnoredDuringExecution" "preferredDuringSchedulingIgnoredDuringExecution" }}
{{- with get $k $when }}
{{- $_ := set $k $when (include "exodns.affinityTerms" (dict "root" $ "terms" .) | fromYamlArray) }}
{{- end }}
{{- end }}
{{- $_ := set $aff $kind $k }}
{{- end }}
{{- end }}
{{- toYaml $aff }}
{{- end }}

{{/*
The container args of exodns. Every value of upstream's chart that maps to a flag renders the same
flag text as upstream's chart, so the arguments both understand are identical.
*/}}
{{- define "exodns.args" -}}
{{- $provider := include "exodns.providerName" . }}
{{- $v := .Values }}
- --log-level={{ $v.logLevel }}
- --log-format={{ $v.logFormat }}
- --interval={{ $v.interval }}
{{- if $v.triggerLoopOnEvent }}
- --events
{{- end }}
{{- range $v.sources }}
- --source={{ . }}
{{- end }}
- --policy={{ required "policy is required: sync, upsert-only or create-only" $v.policy }}
- --registry={{ $v.registry }}
{{- if and (eq (toString $v.registry) "crd") $v.crdRegistryNamespace }}
- --crd-registry-namespace={{ $v.crdRegistryNamespace }}
{{- end }}
{{- if $v.txtOwnerId }}
- --txt-owner-id={{ $v.txtOwnerId }}
{{- end }}
{{- if and $v.txtPrefix $v.txtSuffix }}
{{- fail "txtPrefix and txtSuffix are mutually exclusive" }}
{{- end }}
{{- if $v.txtPrefix }}
- --txt-prefix={{ $v.txtPrefix }}
{{- else if $v.txtSuffix }}
- --txt-suffix={{ $v.txtSuffix }}
{{- end }}
{{- with $v.txtEncrypt }}
{{- if .enabled }}
- --txt-encrypt-enabled
{{- if and .existingSecret (ne (toString .mode) "env") }}
- --txt-encrypt-aes-key-file={{ include "exodns.aesKeyDir" $ }}/{{ .secretKey }}
{{- end }}
{{- end }}
{{- end }}
{{- if $v.namespaced }}
- --namespace={{ default (include "exodns.namespace" .) $v.sourceNamespace }}
{{- end }}
{{- if $v.gatewayNamespace }}
- --gateway-namespace={{ $v.gatewayNamespace }}
{{- end }}
{{- if $v.enableGatewayListenerSets }}
- --gateway-listener-sets
{{- end }}
{{- range $v.domainFilters }}
- --domain-filter={{ . }}
{{- end }}
{{- range $v.excludeDomains }}
- --exclude-domains={{ . }}
{{- end }}
{{- if $v.labelFilter }}
- --label-filter={{ $v.labelFilter }}
{{- end }}
{{- if $v.annotationFilter }}
- --annotation-filter={{ $v.annotationFilter }}
{{- end }}
{{- if $v.annotationPrefix }}
- --annotation-prefix={{ $v.annotationPrefix }}
{{- end }}
{{- range $v.managedRecordTypes }}
- --managed-record-types={{ . }}
{{- end }}
- --provider={{ $provider }}
{{- if eq $provider "pdns" }}
{{- with $v.pdns }}
{{- with .server }}
- --pdns-server={{ . }}
{{- end }}
{{- with .serverId }}
- --pdns-server-id={{ . }}
{{- end }}
{{- if and .existingSecret (ne (toString .mode) "env") }}
- --pdns-api-key-file={{ include "exodns.pdnsKeyDir" $ }}/{{ .secretKey }}
{{- end }}
{{- end }}
{{- end }}
{{- with (include "exodns.providerBlock" . | fromYaml) }}
{{- include "exodns.flagMap" (dict "flags" (.args | default dict) "root" $) }}
{{- range $flag, $key := (.secretFiles | default dict) }}
- --{{ $flag }}={{ include "exodns.providerSecretDir" $ }}/{{ $key }}
{{- end }}
{{- end }}
{{- if $v.cacheSyncTimeout }}
- --cache-sync-timeout={{ $v.cacheSyncTimeout }}
{{- end }}
{{- if include "exodns.leaderElection" . }}
{{- $le := $v.leaderElection | default dict }}
- --leader-election
- --leader-election-lease-name={{ include "exodns.leaseName" . }}
- --leader-election-namespace={{ include "exodns.leaseNamespace" . }}
{{- with $le.leaseDuration }}
- --leader-election-lease-duration={{ . }}
{{- end }}
{{- with $le.renewDeadline }}
- --leader-election-renew-deadline={{ . }}
{{- end }}
{{- with $le.retryPeriod }}
- --leader-election-retry-period={{ . }}
{{- end }}
{{- end }}
{{- if kindIs "map" $v.extraArgs }}
{{- include "exodns.flagMap" (dict "flags" $v.extraArgs "root" $) }}
{{- else if kindIs "slice" $v.extraArgs }}
{{- range $v.extraArgs }}
- {{ tpl (toString .) $ | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Env vars of the exodns container: the user's, the Pod's name and namespace (the leader-election
identity and the default Lease namespace), then the credentials chosen as env.
*/}}
{{- define "exodns.env" -}}
{{- $v := .Values }}
{{- with $v.env }}
{{ toYaml . }}
{{- end }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- if eq (include "exodns.providerName" .) "pdns" }}
{{- with $v.pdns }}
{{- if and .existingSecret (eq (toString .mode) "env") }}
- name: EXTERNAL_DNS_PDNS_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .secretKey }}
{{- end }}
{{- end }}
{{- end }}
{{- with (include "exodns.providerBlock" . | fromYaml) }}
{{- $secret := .existingSecret }}
{{- range $env, $key := (.secretEnv | default dict) }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ required "providers.<provider>.existingSecret is required with secretEnv" $secret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- with $v.txtEncrypt }}
{{- if and .enabled .existingSecret (eq (toString .mode) "env") }}
- name: EXTERNAL_DNS_TXT_ENCRYPT_AES_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .secretKey }}
{{- end }}
{{- end }}
{{- end }}

{{/* Volumes of the pod (as a YAML list, possibly empty). */}}
{{- define "exodns.volumes" -}}
{{- $v := .Values }}
{{- if and (eq (include "exodns.providerName" .) "pdns") $v.pdns }}
{{- if and $v.pdns.existingSecret (ne (toString $v.pdns.mode) "env") }}
- name: pdns-api-key
  secret:
    secretName: {{ $v.pdns.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $v.pdns.secretKey }}
        path: {{ $v.pdns.secretKey }}
{{- end }}
{{- end }}
{{- with (include "exodns.providerBlock" . | fromYaml) }}
{{- if .secretFiles }}
- name: provider-credentials
  secret:
    secretName: {{ required "providers.<provider>.existingSecret is required with secretFiles" .existingSecret }}
    defaultMode: 0440
    items:
      {{- range $flag, $key := .secretFiles }}
      - key: {{ $key }}
        path: {{ $key }}
      {{- end }}
{{- end }}
{{- end }}
{{- with $v.txtEncrypt }}
{{- if and .enabled .existingSecret (ne (toString .mode) "env") }}
- name: txt-aes-key
  secret:
    secretName: {{ .existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .secretKey }}
        path: {{ .secretKey }}
{{- end }}
{{- end }}
{{- if ($v.secretConfiguration | default dict).enabled }}
- name: secrets
  secret:
    secretName: {{ include "exodns.fullname" . }}
{{- end }}
{{- with $v.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volume mounts of the exodns container (as a YAML list, possibly empty). */}}
{{- define "exodns.volumeMounts" -}}
{{- $v := .Values }}
{{- if and (eq (include "exodns.providerName" .) "pdns") $v.pdns }}
{{- if and $v.pdns.existingSecret (ne (toString $v.pdns.mode) "env") }}
- name: pdns-api-key
  mountPath: {{ include "exodns.pdnsKeyDir" . }}
  readOnly: true
{{- end }}
{{- end }}
{{- with (include "exodns.providerBlock" . | fromYaml) }}
{{- if .secretFiles }}
- name: provider-credentials
  mountPath: {{ include "exodns.providerSecretDir" $ }}
  readOnly: true
{{- end }}
{{- end }}
{{- with $v.txtEncrypt }}
{{- if and .enabled .existingSecret (ne (toString .mode) "env") }}
- name: txt-aes-key
  mountPath: {{ include "exodns.aesKeyDir" $ }}
  readOnly: true
{{- end }}
{{- end }}
{{- with ($v.secretConfiguration | default dict) }}
{{- if .enabled }}
- name: secrets
  mountPath: {{ tpl (required "secretConfiguration.mountPath is required" .mountPath) $ }}
  readOnly: true
  {{- with .subPath }}
  subPath: {{ tpl . $ }}
  {{- end }}
{{- end }}
{{- end }}
{{- with $v.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}
