#!/usr/bin/env bash
# A throwaway PowerDNS Authoritative (Debian's pdns-server 4.7, gsqlite3 backend) on loopback.
#
#   pdns.sh start DIR [--keep-db]   start; wait until the REST API and DNS both answer
#   pdns.sh stop DIR                SIGTERM the pdns_server of DIR, wait for it to exit
#
# start prints exactly these lines on stdout (and writes them to DIR/env):
#   PDNS_PID=<pid>
#   PDNS_API_URL=http://127.0.0.1:<port>      (REST API under /api/v1, header X-API-Key)
#   PDNS_API_KEY=<key>
#   PDNS_DNS_PORT=<port>                      (udp + tcp)
#   PDNS_DNS_ADDR=127.0.0.1
# Fresh start: new sqlite DB, new free ports. --keep-db: same DB, same ports, same key as the last
# start in DIR (restart after `stop` for outage tests).
# Env: PDNS_API_KEY (default: random, or the previous one with --keep-db), PDNS_MAX_BODY_MB
#      (webserver-max-bodysize, default 2 = stock), PDNS_LUA_HC_INTERVAL (default 1),
#      PDNS_START_TIMEOUT (s, default 30), PDNS_LOG_REQUESTS=1 (log every API request, one
#      line each: `"PATCH /api/v1/servers/localhost/zones/<zone> HTTP/1.1" 204`, to count them).
# Config: LUA records on, every cache off, DNS and API only on 127.0.0.1. Log: DIR/pdns.log.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { usage_header; exit 2; }

find_schema() {
  local f
  for f in /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql \
           /usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql; do
    [ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
  done
  die "sqlite schema of pdns-backend-sqlite3 not found (run scripts/testbed/apt-deps.sh)"
}

write_conf() { # DIR DNS_PORT API_PORT KEY SOCKDIR
  cat >"$1/pdns.conf" <<CONF
# written by exodns scripts/testbed/pdns.sh
launch=gsqlite3
gsqlite3-database=$1/pdns.sqlite3
gsqlite3-pragma-synchronous=0
local-address=127.0.0.1
local-port=$2
webserver=yes
webserver-address=127.0.0.1
webserver-port=$3
webserver-allow-from=127.0.0.0/8
webserver-max-bodysize=${PDNS_MAX_BODY_MB:-2}
api=yes
api-key=$4
enable-lua-records=yes
lua-health-checks-interval=${PDNS_LUA_HC_INTERVAL:-1}
lua-health-checks-expire-delay=3600
default-soa-content=ns1.@ hostmaster.@ 0 10800 3600 604800 3600
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
zone-cache-refresh-interval=0
daemon=no
guardian=no
write-pid=no
socket-dir=$5
disable-syslog=yes
log-timestamp=yes
# Notice (5) adds the webserver's line per request.
loglevel=$([ "${PDNS_LOG_REQUESTS:-0}" = 1 ] && echo 5 || echo 4)
security-poll-suffix=
CONF
}

api_ready() { # PORT KEY
  curl -sf --max-time 2 -H "X-API-Key: $2" "http://127.0.0.1:$1/api/v1/servers/localhost" >/dev/null
}
dns_ready() { # PORT
  dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short version.bind CH TXT >/dev/null
}

cmd_start() {
  local dir=$1 keep=$2
  need_cmd pdns_server "apt-deps.sh"; need_cmd sqlite3 "apt-deps.sh"
  need_cmd dig "apt-deps.sh"; need_cmd curl
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if pid_alive "$dir/pdns.pid" pdns_server; then
    die "pdns_server already running in $dir (pid $(cat "$dir/pdns.pid"))"
  fi

  local dns_port="" api_port="" key="" attempts=3
  if [ "$keep" = 1 ]; then
    [ -f "$dir/pdns.sqlite3" ] && [ -f "$dir/state" ] || die "--keep-db: no previous DB/state in $dir"
    # shellcheck disable=SC1091
    . "$dir/state"           # DNS_PORT API_PORT API_KEY of the previous start
    # shellcheck disable=SC2153
    { dns_port=$DNS_PORT; api_port=$API_PORT; key=${PDNS_API_KEY:-$API_KEY}; }
    attempts=1               # same ports or nothing
  else
    key=${PDNS_API_KEY:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
    rm -f "$dir/pdns.sqlite3"
    sqlite3 "$dir/pdns.sqlite3" <"$(find_schema)" || die "could not create $dir/pdns.sqlite3"
  fi

  # The control socket path must fit in sun_path (108 bytes): fall back to a short private dir.
  local sockdir="$dir/run"
  if [ ${#sockdir} -gt 80 ]; then
    sockdir=$(cache_dir run)/pdns-$(printf '%s' "$dir" | md5sum | cut -c1-12)
  fi
  mkdir -p "$sockdir"

  local try pid="" ports start
  for ((try = 1; try <= attempts; try++)); do
    if [ "$keep" != 1 ]; then
      mapfile -t ports < <(free_port 2)
      dns_port=${ports[0]}; api_port=${ports[1]}
    fi
    write_conf "$dir" "$dns_port" "$api_port" "$key" "$sockdir"
    printf 'DNS_PORT=%s\nAPI_PORT=%s\nAPI_KEY=%s\n' "$dns_port" "$api_port" "$key" >"$dir/state"
    start=$(now)
    printf '\n==== start %s (dns %s, api %s)\n' "$(date -u +%FT%TZ)" "$dns_port" "$api_port" >>"$dir/pdns.log"
    pid=$(spawn "$dir/pdns.log" pdns_server --config-dir="$dir")
    printf '%s\n' "$pid" >"$dir/pdns.pid"
    if wait_for --pid "$pid" "${PDNS_START_TIMEOUT:-30}" "pdns_server API on :$api_port" api_ready "$api_port" "$key" \
       && wait_for --pid "$pid" 10 "pdns_server DNS on :$dns_port" dns_ready "$dns_port"; then
      log "pdns_server pid $pid ready in $(since "$start") s"
      break
    fi
    stop_pidfile "$dir/pdns.pid" pdns_server 5
    pid=""
    if [ "$try" -lt "$attempts" ] && grep -qiE 'address already in use|unable to bind' "$dir/pdns.log"; then
      log "port taken meanwhile; retrying with other ports"
      continue
    fi
    show_log "$dir/pdns.log" 30
    die "pdns_server did not become ready (log: $dir/pdns.log)"
  done
  [ -n "$pid" ] || die "pdns_server did not start"

  {
    printf 'PDNS_PID=%s\n' "$pid"
    printf 'PDNS_API_URL=http://127.0.0.1:%s\n' "$api_port"
    printf 'PDNS_API_KEY=%s\n' "$key"
    printf 'PDNS_DNS_PORT=%s\n' "$dns_port"
    printf 'PDNS_DNS_ADDR=127.0.0.1\n'
  } >"$dir/env"
  cat "$dir/env"
}

cmd_stop() {
  local dir=$1
  [ -d "$dir" ] || die "no such directory: $dir"
  stop_pidfile "$dir/pdns.pid" pdns_server 15
}

main() {
  [ $# -ge 2 ] || usage
  local cmd=$1 dir="" keep=0; shift
  for a in "$@"; do
    case "$a" in
      --keep-db) keep=1 ;;
      -*) usage ;;
      *) [ -z "$dir" ] || usage; dir=$a ;;
    esac
  done
  [ -n "$dir" ] || usage
  case "$cmd" in
    start) cmd_start "$dir" "$keep" ;;
    stop)  [ "$keep" = 0 ] || usage; cmd_stop "$dir" ;;
    *) usage ;;
  esac
}
main "$@"
