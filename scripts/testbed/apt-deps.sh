#!/usr/bin/env bash
# Install the Debian packages the test bed needs, when missing (Debian 12, run as root):
#   pdns-server pdns-backend-sqlite3  PowerDNS Authoritative 4.7 + sqlite backend (pdnsutil included)
#   bind9 bind9-utils bind9-dnsutils  named + tsig-keygen/named-checkconf, dig/nsupdate
#   knot                              Knot DNS 3.2 (knotd, knotc): the second RFC2136 server
#   sqlite3 openssl curl python3-venv
#   luajit                            compiles rendered LUA-record snippets (PowerDNS 4.7 links LuaJIT 2.1)
#   iproute2                          `ip`, to bring up loopback in a test's network namespace (a pod)
# The packaged daemons must not stay running on port 53: installation runs under a policy-rc.d
# that forbids service starts, and a daemon that started anyway is stopped by its pid file.
# Usage: apt-deps.sh          stdout: nothing.   Env: EXODNS_TESTBED_VERBOSE=1
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PKGS=(pdns-server pdns-backend-sqlite3 bind9 bind9-utils bind9-dnsutils knot sqlite3 openssl curl python3-venv luajit iproute2)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -eq 0 ]; then log "all packages present"; exit 0; fi

[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
need_cmd apt-get
export DEBIAN_FRONTEND=noninteractive
logf=$(cache_dir logs)/apt-deps.log
: >"$logf"

# Package lists: refresh only when a package is unknown (e.g. lists never downloaded).
known() { apt-cache show --no-all-versions "$1" >/dev/null 2>&1; }
unknown=()
for p in "${missing[@]}"; do known "$p" || unknown+=("$p"); done
if [ "${#unknown[@]}" -gt 0 ]; then
  log "apt lists do not know ${unknown[*]}; running apt-get update"
  apt-get update >>"$logf" 2>&1 || { show_log "$logf"; die "apt-get update failed"; }
  for p in "${unknown[@]}"; do known "$p" || die "package $p does not exist in the configured apt sources"; done
fi

# Forbid service starts during installation (Debian's invoke-rc.d honours policy-rc.d; exit 101
# = action not allowed). Keep an existing policy-rc.d; remove ours afterwards.
POLICY=/usr/sbin/policy-rc.d
ours=
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# temporary, from exodns scripts/testbed/apt-deps.sh\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"; ours=1
fi
cleanup() { if [ -n "$ours" ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

log "installing ${missing[*]}"
if ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$logf" 2>&1; then
  log "install failed; refreshing lists and retrying"
  apt-get update >>"$logf" 2>&1 || true
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$logf" 2>&1 \
    || { show_log "$logf"; die "apt-get install failed (log: $logf)"; }
fi
for p in "${missing[@]}"; do installed "$p" || die "$p still not installed (log: $logf)"; done

# A daemon that got started anyway (no policy-rc.d honoured, systemd...): stop it by its pid file.
stop_packaged() { # PIDFILE COMM
  if pid_alive "$1" "$2"; then
    warn "the $2 service was started by the package; stopping pid $(cat "$1")"
    stop_pidfile "$1" "$2" 15
  fi
}
stop_packaged /run/pdns/pdns.pid pdns_server
stop_packaged /run/named/named.pid named
stop_packaged /run/knot/knot.pid knotd
if command -v ss >/dev/null 2>&1 && ss -Hlnup 'sport = :53' 2>/dev/null | grep -Eq 'pdns|named|knotd'; then
  warn "a pdns/named/knotd daemon still listens on port 53:"
  ss -Hlnup 'sport = :53' >&2
fi
log "done"
