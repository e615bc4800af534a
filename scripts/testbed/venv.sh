#!/usr/bin/env bash
# A cached Python virtualenv with the Python test peers:
#   octodns==1.22.0 + octodns-powerdns==1.2.0   (sync benchmark peer: octodns-sync)
#   moto[server]==5.2.5                         (Route53 endpoint: moto_server)
# Lives at $EXODNS_CACHE/venv-<hash of the requirements and the Python version>; created only when
# missing (a half-built venv from an interrupted run is rebuilt).
# Usage: venv.sh      stdout: the venv path (one line). Its pip freeze: <venv>/requirements.lock
# Env: EXODNS_CACHE, EXODNS_PYTHON (default /usr/bin/python3, Debian's, else python3 on PATH),
#      PIP_INDEX_URL etc. are passed to pip as usual.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUIREMENTS='octodns==1.22.0
octodns-powerdns==1.2.0
moto[server]==5.2.5'

py=${EXODNS_PYTHON:-}
if [ -z "$py" ]; then
  if [ -x /usr/bin/python3 ]; then py=/usr/bin/python3; else py=$(command -v python3 || true); fi
fi
[ -n "$py" ] && [ -x "$py" ] || die "python3 not found (set EXODNS_PYTHON)"
pyver=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
hash=$(printf '%s\n%s\n' "$REQUIREMENTS" "$pyver" | sha256sum | cut -c1-12)
venv=$(cache_dir)/venv-$hash

if [ -f "$venv/.exodns-complete" ]; then printf '%s\n' "$venv"; exit 0; fi

exec 9>"$(cache_dir run)/$(basename "$venv").lock"
flock 9
if [ ! -f "$venv/.exodns-complete" ]; then
  start=$(now)
  logf=$(cache_dir logs)/venv-$hash.log
  : >"$logf"
  log "creating $venv with $py ($pyver)"
  rm -rf "$venv"
  # venvs are not relocatable (entry-point shebangs hold the path): build in place, mark when done.
  "$py" -m venv "$venv" >>"$logf" 2>&1 || { show_log "$logf"; die "python3 -m venv failed (is python3-venv installed? run apt-deps.sh)"; }
  printf '%s\n' "$REQUIREMENTS" >"$venv/requirements.txt"
  if ! { "$venv/bin/pip" install --disable-pip-version-check --no-input -q -r "$venv/requirements.txt"; } >>"$logf" 2>&1; then
    show_log "$logf"; die "pip install failed (log: $logf)"
  fi
  # Check what got installed, and that the entry points exist.
  "$venv/bin/python" - "$venv/requirements.txt" >>"$logf" 2>&1 <<'PY' || { show_log "$logf"; die "installed versions do not match (log: $logf)"; }
import re, sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    m = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line.strip())
    if m and version(m.group(1)) != m.group(3):
        sys.exit(f"{m.group(1)}: installed {version(m.group(1))}, wanted {m.group(3)}")
PY
  for b in octodns-sync moto_server; do
    [ -x "$venv/bin/$b" ] || die "$venv/bin/$b missing after install"
  done
  "$venv/bin/pip" freeze --disable-pip-version-check >"$venv/requirements.lock"
  touch "$venv/.exodns-complete"
  log "venv ready in $(since "$start") s"
fi
exec 9>&-
printf '%s\n' "$venv"
