# shellcheck shell=bash
# What bind.sh and knot.sh share: TSIG keys (one per algorithm) and zone files. Source it after
# lib.sh; do not execute it.
#
# Keys are named exodns-<algorithm> (exodns-hmac-sha256, ...) with a random 32-byte secret, kept
# in DIR/tsig.keys as "<algorithm> <name> <base64 secret>" lines: a fresh start makes new ones.

TSIG_ALGORITHMS=(hmac-md5 hmac-sha1 hmac-sha224 hmac-sha256 hmac-sha384 hmac-sha512)

tsig_make_keys() { # DIR -> writes DIR/tsig.keys, sets TSIG_FILE
  TSIG_FILE=$1/tsig.keys
  local alg
  : >"$TSIG_FILE"
  chmod 600 "$TSIG_FILE"
  for alg in "${TSIG_ALGORITHMS[@]}"; do
    printf '%s exodns-%s %s\n' "$alg" "$alg" "$(head -c 32 /dev/urandom | base64 -w0)" >>"$TSIG_FILE"
  done
}

# BIND key statements.
tsig_keys_bind() {
  local alg name secret
  while read -r alg name secret; do
    printf 'key "%s" { algorithm %s; secret "%s"; };\n' "$name" "$alg" "$secret"
  done <"$TSIG_FILE"
}

# `key "a"; key "b"; ...` for BIND's allow-update / allow-transfer.
tsig_key_names() {
  local alg name secret out=""
  while read -r alg name secret; do out+="key \"$name\"; "; done <"$TSIG_FILE"
  printf '%s' "$out"
}

# TSIG_KEY=<algorithm>:<name>:<secret> lines for the env output.
tsig_key_lines() {
  local alg name secret
  while read -r alg name secret; do printf 'TSIG_KEY=%s:%s:%s\n' "$alg" "$name" "$secret"; done <"$TSIG_FILE"
}

# A fresh zone: SOA, NS ns1.<zone>, ns1.<zone> A 127.0.0.1.
zone_file() { # ZONE
  cat <<ZONE
\$ORIGIN $1.
\$TTL 300
@   IN SOA ns1.$1. hostmaster.$1. 1 3600 600 86400 300
    IN NS  ns1.$1.
ns1 IN A   127.0.0.1
ZONE
}
