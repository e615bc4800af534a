#!/usr/bin/env bash
# Google Cloud DNS and Azure DNS providers at scale against the fakes (bench/clouds/cloud_bench.rs):
# N records with their ownership TXT into an empty zone, then an idle sync, through the release
# exodns binary; medians of RUNS runs as markdown.
#
#   bench/clouds/run.sh [RUNS] [N]        defaults: 3 runs, N = 10000
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/testbed/lib.sh"
bench_init clouds "${1:-3}" "${2:-10000}"
echo "building exodns and cloud-bench (release)..." >&2
cargo build --quiet --release --manifest-path "$ROOT/Cargo.toml" -p exodns -p exodns-it --bin exodns --bin cloud-bench
"$CARGO_TARGET_DIR/release/cloud-bench" "$CARGO_TARGET_DIR/release/exodns" "$N" "$RUNS" | tee "$OUT/results.md"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/results.md"
