#!/usr/bin/env bash
# A throwaway BIND 9.18 (Debian's bind9) primary on loopback, for RFC2136 tests.
#
#   bind.sh start DIR   start named; wait until DNS (and DNS over TLS, with BIND_TLS=1) answers
#   bind.sh stop DIR    SIGTERM the named of DIR, wait for it to exit
#
# Zones: $BIND_ZONES (space-separated, default "example.test"), each fresh from a file with SOA,
# NS ns1.<zone> and ns1.<zone> A 127.0.0.1. One TSIG key per algorithm (tsig.sh); UPDATE and AXFR
# are allowed only with one of them. Queries are open to 127.0.0.0/8.
# start prints exactly these lines on stdout (and writes them to DIR/env):
#   DNS_PID=<pid>
#   DNS_ADDR=127.0.0.1
#   DNS_PORT=<port>                    (udp + tcp)
#   TSIG_KEY=<algorithm>:<name>:<base64 secret>   (one line per algorithm, dig -y form)
# and, with BIND_TLS=1, a DNS-over-TLS listener with a certificate for 127.0.0.1 and localhost:
#   TLS_PORT=<port>
#   TLS_CA=DIR/ca.pem                  (the CA that signed it)
# and, with BIND_STATS=1, BIND's statistics channel (JSON at STATS_URL/json/v1/server: counts of
# UPDATE and QUERY messages, AXFRs, TCP requests), for benchmarks:
#   STATS_URL=http://127.0.0.1:<port>
# Env: BIND_ZONES, BIND_TLS, BIND_STATS, BIND_START_TIMEOUT (s, default 30). Log: DIR/named.log.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/tsig.sh"

usage() { usage_header; exit 2; }

write_conf() { # DIR DNS_PORT TLS_PORT(or empty) STATS_PORT(or empty)
  local dir=$1 port=$2 tls_port=$3 stats_port=$4 z names
  names=$(tsig_key_names)
  {
    echo "# written by exodns scripts/testbed/bind.sh"
    tsig_keys_bind
    if [ -n "$tls_port" ]; then
      printf 'tls local-tls { key-file "%s/server.key"; cert-file "%s/server.pem"; };\n' "$dir" "$dir"
    fi
    if [ -n "$stats_port" ]; then
      printf 'statistics-channels { inet 127.0.0.1 port %s allow { 127.0.0.1; }; };\n' "$stats_port"
    fi
    cat <<CONF
controls { };
options {
    directory "$dir";
    pid-file "$dir/named.pid";
    session-keyfile "$dir/session.key";
    managed-keys-directory "$dir";
    listen-on port $port { 127.0.0.1; };
CONF
    if [ -n "$tls_port" ]; then
      printf '    listen-on port %s tls local-tls { 127.0.0.1; };\n' "$tls_port"
    fi
    cat <<CONF
    listen-on-v6 { none; };
    recursion no;
    allow-query { 127.0.0.0/8; };
    allow-transfer { none; };
    dnssec-validation no;
    notify no;
};
CONF
    for z in $ZONES; do
      printf 'zone "%s" {\n    type primary;\n    file "%s/%s.db";\n' "$z" "$dir" "$z"
      printf '    allow-update { %s };\n    allow-transfer { %s };\n};\n' "$names" "$names"
    done
  } >"$dir/named.conf"
}

dns_ready() { # PORT ZONE
  dig @127.0.0.1 -p "$1" +time=1 +tries=1 +short "$2" SOA | grep -q hostmaster
}
tls_ready() { # PORT ZONE
  dig @127.0.0.1 -p "$1" +tls +time=1 +tries=1 +short "$2" SOA | grep -q hostmaster
}

cmd_start() {
  local dir=$1
  need_cmd named "apt-deps.sh"; need_cmd named-checkconf "apt-deps.sh"; need_cmd dig "apt-deps.sh"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  if pid_alive "$dir/named.pid" named; then die "named already running in $dir (pid $(cat "$dir/named.pid"))"; fi
  ZONES=${BIND_ZONES:-example.test}
  tsig_make_keys "$dir"
  local z
  for z in $ZONES; do
    rm -f "$dir/$z.db" "$dir/$z.db.jnl"
    zone_file "$z" >"$dir/$z.db"
  done
  local tls=${BIND_TLS:-0}
  if [ "$tls" = 1 ]; then need_cmd openssl "apt-deps.sh"; make_pki "$dir"; fi

  local try pid="" ports port tls_port="" stats_port="" start
  for ((try = 1; try <= 3; try++)); do
    mapfile -t ports < <(free_port 3)
    port=${ports[0]}
    if [ "$tls" = 1 ]; then tls_port=${ports[1]}; fi
    if [ "${BIND_STATS:-0}" = 1 ]; then stats_port=${ports[2]}; fi
    write_conf "$dir" "$port" "$tls_port" "$stats_port"
    named-checkconf "$dir/named.conf" >>"$dir/named.log" 2>&1 || { show_log "$dir/named.log"; die "named-checkconf failed"; }
    start=$(now)
    printf '\n==== start %s (dns %s, tls %s)\n' "$(date -u +%FT%TZ)" "$port" "${tls_port:-none}" >>"$dir/named.log"
    # -g: foreground, logging to stderr; -4: IPv4 only; -n 1: one worker thread.
    pid=$(spawn "$dir/named.log" named -g -4 -n 1 -c "$dir/named.conf")
    local first=${ZONES%% *}
    if wait_for --pid "$pid" "${BIND_START_TIMEOUT:-30}" "named DNS on :$port" dns_ready "$port" "$first" \
       && { [ -z "$tls_port" ] || wait_for --pid "$pid" 10 "named DNS over TLS on :$tls_port" tls_ready "$tls_port" "$first"; }; then
      log "named pid $pid ready in $(since "$start") s"
      break
    fi
    printf '%s\n' "$pid" >"$dir/named.pid"
    stop_pidfile "$dir/named.pid" named 5
    pid=""
    if [ "$try" -lt 3 ] && grep -qiE 'address in use|already in use' "$dir/named.log"; then
      log "port taken meanwhile; retrying with other ports"
      continue
    fi
    show_log "$dir/named.log" 30
    die "named did not become ready (log: $dir/named.log)"
  done
  [ -n "$pid" ] || die "named did not start"
  # named writes the pid file itself; write it too, so that stop works even before it does.
  printf '%s\n' "$pid" >"$dir/named.pid"

  {
    printf 'DNS_PID=%s\nDNS_ADDR=127.0.0.1\nDNS_PORT=%s\n' "$pid" "$port"
    tsig_key_lines
    if [ -n "$tls_port" ]; then printf 'TLS_PORT=%s\nTLS_CA=%s/ca.pem\n' "$tls_port" "$dir"; fi
    if [ -n "$stats_port" ]; then printf 'STATS_URL=http://127.0.0.1:%s\n' "$stats_port"; fi
  } >"$dir/env"
  cat "$dir/env"
}

# A CA and a server certificate for 127.0.0.1 / localhost that it signed (rustls refuses a
# self-signed CA certificate as a server's).
make_pki() { # DIR
  local d=$1
  [ -f "$d/server.pem" ] && return 0
  ossl() { openssl "$@" >>"$d/openssl.log" 2>&1 || die "openssl $1 failed (log: $d/openssl.log)"; }
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
    -days 7 -subj "/CN=exodns test CA"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
    -subj "/CN=localhost"
  ossl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -out "$d/server.pem" \
    -days 7 -extfile "$d/server.ext"
}

cmd_stop() {
  local dir=$1
  [ -d "$dir" ] || die "no such directory: $dir"
  stop_pidfile "$dir/named.pid" named 15
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
