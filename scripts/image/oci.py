#!/usr/bin/env python3
"""Write the exodns container image as an OCI image-layout archive, without a container engine.

The image is the one deploy/docker/Dockerfile builds: one layer holding

    /usr/local/bin/exodns              the static (musl) binary, 0755
    /etc/passwd, /etc/group            from deploy/docker/rootfs/ (user nonroot = 65532)
    /etc/ssl/certs/ca-certificates.crt a CA bundle (optional)
    /home/nonroot                      owned by 65532, the user's home (unused: the root fs is read-only)

and a config with User 65532:65532, Entrypoint ["/usr/local/bin/exodns"], port 7979 and OCI labels.

The archive (a tar of an OCI image layout: oci-layout, index.json, blobs/sha256/...) also holds a
docker-archive manifest.json, so both `docker load` / `podman load` and OCI tools (skopeo
`oci-archive:`, crane, containerd `ctr import`) read it. Every file is written in a fixed order with
a fixed mtime (SOURCE_DATE_EPOCH), so the same inputs give byte-identical archives.

Usage: oci.py --binary PATH --rootfs DIR --out OUT.tar --version V [--ca-bundle FILE]
              [--repository R] [--revision SHA] [--source URL] [--created-epoch N]
"""

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tarfile

ENTRYPOINT = "/usr/local/bin/exodns"
USER = "65532:65532"
UID = GID = 65532

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def die(msg):
    print(f"oci.py: {msg}", file=sys.stderr)
    sys.exit(1)


def check_static_elf(path):
    """The binary must be a static x86-64 ELF: scratch has no dynamic loader or libc."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            die(f"{path}: not a 64-bit little-endian ELF file")
        (e_machine,) = struct.unpack_from("<H", head, 18)
        if e_machine != 62:
            die(f"{path}: not an x86-64 binary (e_machine {e_machine})")
        (e_phoff,) = struct.unpack_from("<Q", head, 32)
        e_phentsize, e_phnum = struct.unpack_from("<HH", head, 54)
        f.seek(e_phoff)
        for _ in range(e_phnum):
            ph = f.read(e_phentsize)
            (p_type,) = struct.unpack_from("<I", ph, 0)
            if p_type == 3:  # PT_INTERP
                die(f"{path}: dynamically linked (has an ELF interpreter); build for x86_64-unknown-linux-musl")


def tar_info(name, *, mode, uid=0, gid=0, mtime, kind=tarfile.REGTYPE, size=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.uname = ti.gname = ""
    ti.mtime = mtime
    ti.size = size
    return ti


def make_layer(binary, rootfs, ca_bundle, mtime):
    """The uncompressed layer tar, deterministic."""
    entries = []  # (path, kind, mode, uid, gid, data)

    def d(path, mode=0o755, uid=0, gid=0):
        entries.append((path, tarfile.DIRTYPE, mode, uid, gid, None))

    def f(path, data, mode=0o644):
        entries.append((path, tarfile.REGTYPE, mode, 0, 0, data))

    d("etc")
    for name in ("passwd", "group"):
        with open(os.path.join(rootfs, "etc", name), "rb") as fh:
            f(f"etc/{name}", fh.read())
    if ca_bundle:
        d("etc/ssl")
        d("etc/ssl/certs")
        with open(ca_bundle, "rb") as fh:
            f("etc/ssl/certs/ca-certificates.crt", fh.read())
    d("home")
    d("home/nonroot", 0o700, UID, GID)
    d("usr")
    d("usr/local")
    d("usr/local/bin")
    with open(binary, "rb") as fh:
        f(ENTRYPOINT.lstrip("/"), fh.read(), 0o755)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, mode, uid, gid, data in sorted(entries, key=lambda e: e[0]):
            ti = tar_info(path, mode=mode, uid=uid, gid=gid, mtime=mtime, kind=kind, size=len(data or b""))
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def gzip_bytes(data):
    out = io.BytesIO()
    # mtime=0 and no file name: the gzip header is the same on every run.
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        gz.write(data)
    return out.getvalue()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--rootfs", required=True, help="deploy/docker/rootfs (etc/passwd, etc/group)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--ca-bundle", default="")
    ap.add_argument("--repository", default="ghcr.io/exodns/exodns")
    ap.add_argument("--revision", default="")
    ap.add_argument("--source", default="https://example.invalid/exodns")
    ap.add_argument("--created-epoch", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    a = ap.parse_args()

    check_static_elf(a.binary)
    mtime = a.created_epoch
    created = dt.datetime.fromtimestamp(mtime, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    layer_tar = make_layer(a.binary, a.rootfs, a.ca_bundle, mtime)
    layer_gz = gzip_bytes(layer_tar)
    diff_id = sha256(layer_tar)

    labels = {
        "org.opencontainers.image.title": "exodns",
        "org.opencontainers.image.description": "Keeps DNS in step with a Kubernetes cluster (ExternalDNS-compatible)",
        "org.opencontainers.image.version": a.version,
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.source": a.source,
        "org.opencontainers.image.created": created,
    }
    if a.revision:
        labels["org.opencontainers.image.revision"] = a.revision
    env = ["PATH=/usr/local/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"] if a.ca_bundle else ["PATH=/usr/local/bin"]
    config = {
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": USER,
            "Entrypoint": [ENTRYPOINT],
            "Env": env,
            "WorkingDir": "/",
            "ExposedPorts": {"7979/tcp": {}},
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "scripts/image/build-oci.sh (deploy/docker/Dockerfile without a daemon)"}],
    }
    config_bytes = canonical(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": sha256(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": MT_LAYER, "digest": sha256(layer_gz), "size": len(layer_gz)}],
        "annotations": {k: v for k, v in labels.items() if k in ("org.opencontainers.image.version", "org.opencontainers.image.created", "org.opencontainers.image.revision")},
    }
    manifest_bytes = canonical(manifest)
    ref = f"{a.repository}:{a.version}"
    index = {
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": [{
            "mediaType": MT_MANIFEST,
            "digest": sha256(manifest_bytes),
            "size": len(manifest_bytes),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": a.version, "io.containerd.image.name": ref},
        }],
    }
    blob = lambda data: "blobs/sha256/" + hashlib.sha256(data).hexdigest()
    docker_manifest = [{"Config": blob(config_bytes), "RepoTags": [ref], "Layers": [blob(layer_gz)]}]

    files = [
        ("oci-layout", canonical({"imageLayoutVersion": "1.0.0"})),
        ("index.json", canonical(index)),
        ("manifest.json", canonical(docker_manifest)),
        (blob(config_bytes), config_bytes),
        (blob(layer_gz), layer_gz),
        (blob(manifest_bytes), manifest_bytes),
    ]
    tmp = a.out + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dname in ("blobs", "blobs/sha256"):
            tar.addfile(tar_info(dname, mode=0o755, mtime=mtime, kind=tarfile.DIRTYPE))
        for name, data in sorted(files, key=lambda e: e[0]):
            tar.addfile(tar_info(name, mode=0o644, mtime=mtime, size=len(data)), io.BytesIO(data))
    os.replace(tmp, a.out)
    print(json.dumps({
        "archive": a.out,
        "ref": ref,
        "manifest": sha256(manifest_bytes),
        "config": sha256(config_bytes),
        "layer": sha256(layer_gz),
        "layer_size": len(layer_gz),
    }))


if __name__ == "__main__":
    main()
