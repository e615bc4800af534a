#!/usr/bin/env bash
# Google Cloud DNS, Azure DNS, Cloudflare and Hetzner providers at scale against the fakes
# (bench/clouds/cloud_bench.rs, cf_hz.rs): N records with their ownership TXT into an empty zone,
# then an idle sync, through the release exodns binary; for Cloudflare upstream ExternalDNS
# v0.22.0 too, reading the same DNSEndpoint from a kube-apiserver. Medians of RUNS runs as markdown.
#
#   bench/clouds/run.sh [RUNS] [N] [PROVIDERS]   defaults: 3 runs, N = 10000,
#                                                google,azure,cloudflare,hetzner
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/testbed/lib.sh"
bench_init clouds "${1:-3}" "${2:-10000}"
echo "building exodns and cloud-bench (release)..." >&2
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p exodns -p exodns-it --bin exodns --bin cloud-bench
"$CARGO_TARGET_DIR/release/cloud-bench" "$CARGO_TARGET_DIR/release/exodns" "$N" "$RUNS" "${3:-google,azure,cloudflare,hetzner}" | tee "$OUT/results.md"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/results.md"
