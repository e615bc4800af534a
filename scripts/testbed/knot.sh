#!/usr/bin/env bash
# A throwaway Knot DNS 3.2 (Debian's knot) primary on loopback, for RFC2136 tests.
#
#   knot.sh start DIR   start knotd; wait until DNS answers
#   knot.sh stop DIR    SIGTERM the knotd of DIR, wait for it to exit
#
# Zones: $KNOT_ZONES (space-separated, default "example.test"), each fresh from a file with SOA,
# NS ns1.<zone> and ns1.<zone> A 127.0.0.1; changes are kept in the journal (the file is never
# rewritten). One TSIG key per algorithm (tsig.sh); UPDATE and AXFR are allowed only with one of
# them. start prints the same lines as bind.sh (DNS_PID, DNS_ADDR, DNS_PORT, TSIG_KEY...; no
# TLS: Knot 3.2 has no DNS-over-TLS listener) and writes them to DIR/env.
# Env: KNOT_ZONES, KNOT_START_TIMEOUT (s, default 30). Log: DIR/knot.log.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/tsig.sh"

usage() { usage_header; exit 2; }

write_conf() { # DIR PORT
  local dir=$1 port=$2 alg name secret ids="" z
  {
    cat <<CONF
# written by exodns scripts/testbed/knot.sh
server:
    rundir: "$dir"
    pidfile: "$dir/knot.pid"
    listen: 127.0.0.1@$port
log:
  - target: stderr
    any: info
database:
    storage: "$dir/db"
key:
CONF
    while read -r alg name secret; do
      printf '  - id: %s\n    algorithm: %s\n    secret: %s\n' "$name" "$alg" "$secret"
      ids+="${ids:+, }$name"
    done <"$TSIG_FILE"
    cat <<CONF
acl:
  - id: exodns
    key: [$ids]
    action: [update, transfer]
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
CONF
    for z in $ZONES; do
      printf '  - domain: %s\n    file: "%s/%s.zone"\n    acl: exodns\n' "$z" "$dir" "$z"
    done
  } >"$dir/knot.conf"
}

dns_ready() { # PORT ZONE
  dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short "$2" SOA | grep -q hostmaster
}

cmd_start() {
  local dir=$1
  need_cmd knotd "apt-deps.sh"; need_cmd knotc "apt-deps.sh"; need_cmd dig "apt-deps.sh"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  # The control socket lives in rundir and must fit in sun_path (108 bytes).
  [ ${#dir} -le 90 ] || die "directory path too long for knotd's control socket: $dir"
  if pid_alive "$dir/knot.pid" knotd; then die "knotd already running in $dir (pid $(cat "$dir/knot.pid"))"; fi
  ZONES=${KNOT_ZONES:-example.test}
  tsig_make_keys "$dir"
  rm -rf "$dir/db"; mkdir -p "$dir/db"
  local z
  for z in $ZONES; do zone_file "$z" >"$dir/$z.zone"; done

  local try pid="" port start
  for ((try = 1; try <= 3; try++)); do
    port=$(free_port 1)
    write_conf "$dir" "$port"
    knotc -c "$dir/knot.conf" conf-check >>"$dir/knot.log" 2>&1 || { show_log "$dir/knot.log"; die "knotc conf-check failed"; }
    start=$(now)
    printf '\n==== start %s (dns %s)\n' "$(date -u +%FT%TZ)" "$port" >>"$dir/knot.log"
    pid=$(spawn "$dir/knot.log" knotd -c "$dir/knot.conf")
    printf '%s\n' "$pid" >"$dir/knot.pid"
    if wait_for --pid "$pid" "${KNOT_START_TIMEOUT:-30}" "knotd DNS on :$port" dns_ready "$port" "${ZONES%% *}"; then
      log "knotd pid $pid ready in $(since "$start") s"
      break
    fi
    stop_pidfile "$dir/knot.pid" knotd 5
    pid=""
    if [ "$try" -lt 3 ] && grep -qiE 'address already in use|failed to bind' "$dir/knot.log"; then
      log "port taken meanwhile; retrying with another port"
      continue
    fi
    show_log "$dir/knot.log" 30
    die "knotd did not become ready (log: $dir/knot.log)"
  done
  [ -n "$pid" ] || die "knotd did not start"

  { printf 'DNS_PID=%s\nDNS_ADDR=127.0.0.1\nDNS_PORT=%s\n' "$pid" "$port"; tsig_key_lines; } >"$dir/env"
  cat "$dir/env"
}

cmd_stop() {
  local dir=$1
  [ -d "$dir" ] || die "no such directory: $dir"
  stop_pidfile "$dir/knot.pid" knotd 15
}

main() {
  [ $# -eq 2 ] || usage
  case "$1" in
    start) cmd_start "$2" ;;
    stop) cmd_stop "$2" ;;
    *) usage ;;
  esac
}
main "$@"
