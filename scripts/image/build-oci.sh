#!/usr/bin/env bash
# Build the exodns container image as an OCI image-layout archive, without a container engine:
# the same image as deploy/docker/Dockerfile (static musl binary on scratch, user 65532, entrypoint
# /usr/local/bin/exodns, /etc/passwd and /etc/group from deploy/docker/rootfs/, a CA bundle).
#
#   scripts/image/build-oci.sh OUT.tar [--binary PATH] [--repository REPO] [--no-ca]
#
#   --binary PATH      use this static binary instead of building one
#   --repository REPO  image name recorded in the archive (default ghcr.io/exodns/exodns)
#   --no-ca            leave the CA bundle out
#
# Without --binary it builds `cargo build --locked --release --target x86_64-unknown-linux-musl
# -p exodns` (adding the rustup target when missing). ring needs a C compiler for the target:
# musl-gcc (Debian: musl-tools) when installed, else the host gcc (works for ring's C and asm).
# Debug info is left out (CARGO_PROFILE_RELEASE_DEBUG=false, STRIP=debuginfo), as in the
# Dockerfile. CARGO_TARGET_DIR is honoured. SOURCE_DATE_EPOCH (default: the last commit's time)
# fixes every timestamp, so the same binary gives a byte-identical archive.
#
# Load it: `docker load -i OUT.tar`, `podman load -i OUT.tar`, `skopeo copy oci-archive:OUT.tar …`,
# `ctr image import OUT.tar`. Prints one JSON line: archive, ref, manifest/config/layer digests.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=x86_64-unknown-linux-musl

die() { echo "build-oci.sh: $*" >&2; exit 1; }
usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

out="" binary="" repository="ghcr.io/exodns/exodns" ca=/etc/ssl/certs/ca-certificates.crt
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=${2:?}; shift 2 ;;
    --repository) repository=${2:?}; shift 2 ;;
    --no-ca) ca=""; shift ;;
    -h|--help) usage ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$out" ] || usage; out=$1; shift ;;
  esac
done
[ -n "$out" ] || usage
command -v python3 >/dev/null || die "python3 is needed"
if [ -n "$ca" ] && [ ! -f "$ca" ]; then
  echo "build-oci.sh: no CA bundle at $ca (install ca-certificates); building without one" >&2
  ca=""
fi

if [ -z "$binary" ]; then
  command -v cargo >/dev/null || die "cargo is needed (or pass --binary)"
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
    echo "build-oci.sh: rustup target add $target" >&2
    rustup target add "$target" >&2
  fi
  cc_var=CC_${target//-/_}
  if [ -z "${!cc_var:-}" ]; then
    if command -v musl-gcc >/dev/null; then export "$cc_var=musl-gcc"; else export "$cc_var=gcc"; fi
  fi
  # Without debug info (the workspace's release profile keeps line tables): 17 MB instead of 78.
  export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo
  echo "build-oci.sh: cargo build --release --target $target -p exodns (${cc_var}=${!cc_var})" >&2
  (cd "$root" && cargo build --locked --release --target "$target" -p exodns >&2)
  target_dir=${CARGO_TARGET_DIR:-$root/target}
  case "$target_dir" in /*) ;; *) target_dir=$root/$target_dir ;; esac
  binary=$target_dir/$target/release/exodns
fi
[ -x "$binary" ] || die "no executable at $binary"

version=$("$binary" --version | awk '{print $2}')
[ -n "$version" ] || die "$binary --version printed no version"
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || true)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

mkdir -p "$(dirname "$out")"
python3 "$here/oci.py" --binary "$binary" --rootfs "$root/deploy/docker/rootfs" --out "$out" \
  --version "$version" --repository "$repository" --revision "$revision" \
  ${ca:+--ca-bundle "$ca"}
