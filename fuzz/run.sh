#!/usr/bin/env bash
# Fuzzes the webhook request decoders, the TXT registry's reading of a zone and the connector
# source's gob decoder for a bounded time: each cargo-fuzz target (changes, endpoints,
# domain_filter, txt_zone, connector_gob) runs SECONDS,
# starting from fuzz/seeds/. Exits non-zero on a crash
# (the input is kept under fuzz/artifacts/<target>/).
#
#   fuzz/run.sh [SECONDS]        default 60 per target
#
# Needs a nightly toolchain and cargo-fuzz; when missing, they are installed with rustup and
# `cargo install` (crates.io). When that is not possible, the script says so and runs the
# property tests of the same decoders instead (crates/webhook/tests/decoders_prop.rs,
# crates/sources/tests/connector_gob.rs) and the registry's fuzz entry point on fixed zones, which
# also run in every `cargo test`.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
case "$secs" in ''|*[!0-9]*) echo "usage: fuzz/run.sh [SECONDS]" >&2; exit 2 ;; esac

fallback() {
  echo "fuzz/run.sh: $1; running the decoder property tests instead" >&2
  cd .. && cargo test -p exodns-webhook --test decoders_prop && cargo test -p exodns-sources --test connector_gob \
    && exec cargo test -p exodns-core --lib registry::fuzzing
}

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz/run.sh: installing the nightly toolchain" >&2
  rustup toolchain install nightly --profile minimal >&2 || fallback "no nightly toolchain"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked >&2 || fallback "cargo-fuzz cannot be installed"
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
for target in changes endpoints domain_filter txt_zone connector_gob; do
  corpus=corpus/$target
  mkdir -p "$corpus" "artifacts/$target"
  cp -n seeds/* "$corpus"/ 2>/dev/null || true
  echo "fuzz/run.sh: $target for ${secs}s" >&2
  cargo +nightly fuzz run "$target" "$corpus" -- \
    -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 2>&1 | tail -n 12
  status=${PIPESTATUS[0]}
  if [ "$status" != 0 ]; then
    echo "fuzz/run.sh: $target FAILED (exit $status); inputs in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz/run.sh: all targets ran ${secs}s each without a crash"
