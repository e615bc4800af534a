#!/usr/bin/env bash
# Prism (the request validator put in front of the fakes of cloud DNS APIs) and the vendor specs
# that no registry serves as a file of its own:
#   EXODNS_PRISM_BIN         npm @stainless-api/prism-cli@5.15.0 (the pin of Cloudflare's Go SDK's
#                            own tests), installed into $EXODNS_CACHE/prism-5.15.0
#   EXODNS_CLOUDFLARE_SPEC   Cloudflare's OpenAPI 3.0.3 spec, as embedded in the Go module
#                            github.com/cloudflare/cloudflare-go/v7@v7.9.0 (scripts/mock,
#                            variable EMBEDDED_SPEC: base64 of gzip), decoded into
#                            $EXODNS_CACHE/specs/cloudflare-go-v7.9.0.openapi.json
# Idempotent, cached by version. Needs node and npm (Debian's nodejs) and Go.
# Usage: prism.sh      stdout: NAME=PATH lines (setup.sh writes them into testbed.env).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PRISM_VERSION=5.15.0
CLOUDFLARE_GO_VERSION=v7.9.0

install_prism() {
  local dir bin logf
  dir=$(cache_dir)/prism-$PRISM_VERSION
  bin=$dir/node_modules/.bin/prism
  if [ -f "$dir/.exodns-complete" ] && [ -x "$bin" ]; then printf '%s\n' "$bin"; return 0; fi
  need_cmd npm "install Debian's nodejs (scripts/testbed/apt-deps.sh)"
  exec 9>"$(cache_dir run)/prism-$PRISM_VERSION.lock"
  flock 9
  if [ ! -f "$dir/.exodns-complete" ] || [ ! -x "$bin" ]; then
    logf=$(cache_dir logs)/prism-$PRISM_VERSION.log
    log "installing @stainless-api/prism-cli@$PRISM_VERSION into $dir"
    rm -rf "$dir"; mkdir -p "$dir"
    if ! npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
      "@stainless-api/prism-cli@$PRISM_VERSION" >"$logf" 2>&1; then
      show_log "$logf"; die "npm install of prism-cli failed (log: $logf)"
    fi
    local got; got=$("$bin" --version 2>>"$logf") || { show_log "$logf"; die "prism does not run"; }
    [ "$got" = "$PRISM_VERSION" ] || die "prism reports version $got, wanted $PRISM_VERSION"
    touch "$dir/.exodns-complete"
  fi
  exec 9>&-
  printf '%s\n' "$bin"
}

cloudflare_spec() {
  local out dir
  out=$(cache_dir specs)/cloudflare-go-$CLOUDFLARE_GO_VERSION.openapi.json
  if [ -s "$out" ]; then printf '%s\n' "$out"; return 0; fi
  dir=$(go_mod_field "github.com/cloudflare/cloudflare-go/v7@$CLOUDFLARE_GO_VERSION" Dir) || die "cannot download cloudflare-go"
  # The one line `  EMBEDDED_SPEC="…"` of scripts/mock; the value is base64 of a gzip stream.
  sed -n 's/^[[:space:]]*EMBEDDED_SPEC="\([A-Za-z0-9+/=]*\)"[[:space:]]*$/\1/p' "$dir/scripts/mock" |
    base64 --decode | gunzip >"$out.tmp" || die "cannot decode EMBEDDED_SPEC of $dir/scripts/mock"
  python3 - "$out.tmp" <<'PY' || die "the decoded Cloudflare spec is not what was expected"
import json, sys
spec = json.load(open(sys.argv[1]))
assert spec["openapi"].startswith("3."), spec["openapi"]
for p in ("/zones", "/zones/{zone_id}/dns_records", "/zones/{zone_id}/dns_records/batch",
          "/zones/{zone_id}/dns_records/{dns_record_id}"):
    assert p in spec["paths"], p
PY
  mv -f "$out.tmp" "$out"
  printf '%s\n' "$out"
}

bin=$(install_prism)
spec=$(cloudflare_spec)
printf 'EXODNS_PRISM_BIN=%s\nEXODNS_CLOUDFLARE_SPEC=%s\n' "$bin" "$spec"
