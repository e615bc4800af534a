//! The OCI image archive of `scripts/image/build-oci.sh`.

use super::*;

fn sha256_hex(path: &Path) -> String {
    let o = run(Command::new("sha256sum").arg(path));
    assert!(o.status.success(), "sha256sum {}", path.display());
    text(&o.stdout).split_whitespace().next().unwrap().to_owned()
}

fn untar(archive: &Path, into: &Path, gz: bool) {
    std::fs::create_dir_all(into).unwrap();
    let o = run(Command::new("tar").arg(if gz { "-xzf" } else { "-xf" }).arg(archive).arg("-C").arg(into));
    assert!(o.status.success(), "tar {}: {}", archive.display(), text(&o.stderr));
}

/// The archive of `scripts/image/build-oci.sh`: a valid OCI image layout (digests and sizes match)
/// whose image runs as a non-root user with the exodns entrypoint; the binary from its layer runs
/// `--version` (it is static: scratch has no libc).
#[test]
fn oci_archive_holds_a_non_root_image_running_exodns() {
    let work = tempfile::tempdir().unwrap();
    let archive = match std::env::var_os("EXODNS_OCI_ARCHIVE") {
        Some(p) => PathBuf::from(p),
        None => {
            if !exodns_testbed::have_program("cargo") || !exodns_testbed::have_program("python3") {
                return skip_or_fail("cargo and python3 for scripts/image/build-oci.sh");
            }
            let out = work.path().join("exodns-oci.tar");
            // Its own target dir (the outer cargo holds the lock of this build's): `oci-image`
            // inside this build's target dir, or EXODNS_OCI_TARGET_DIR.
            let target = std::env::var_os("EXODNS_OCI_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
                let exe = std::env::current_exe().unwrap(); // <target>/<profile>/deps/it-<hash>
                exe.ancestors().nth(3).map_or_else(|| repo_root().join("target"), Path::to_path_buf).join("oci-image")
            });
            let o = run(Command::new("bash")
                .arg(repo_root().join("scripts/image/build-oci.sh"))
                .arg(&out)
                .env("CARGO_TARGET_DIR", &target)
                .env_remove("RUSTFLAGS"));
            assert!(o.status.success(), "build-oci.sh failed:\n{}", text(&o.stderr));
            out
        }
    };
    let layout = work.path().join("layout");
    untar(&archive, &layout, false);
    let read_json = |p: PathBuf| -> Value {
        serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
    };
    assert_eq!(read_json(layout.join("oci-layout"))["imageLayoutVersion"], "1.0.0");
    let index = read_json(layout.join("index.json"));
    assert_eq!(index["schemaVersion"], 2);
    let blob = |d: &Value| -> PathBuf {
        let digest = d["digest"].as_str().unwrap();
        let hex = digest.strip_prefix("sha256:").unwrap_or_else(|| panic!("not sha256: {digest}"));
        let p = layout.join("blobs/sha256").join(hex);
        assert_eq!(sha256_hex(&p), hex, "digest of {}", p.display());
        assert_eq!(std::fs::metadata(&p).unwrap().len(), d["size"].as_u64().unwrap(), "size of {}", p.display());
        p
    };
    let desc = &index["manifests"][0];
    assert_eq!(desc["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(desc["platform"], json!({"architecture": "amd64", "os": "linux"}));
    let manifest = read_json(blob(desc));
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
    let config = read_json(blob(&manifest["config"]));
    let user = config["config"]["User"].as_str().expect("config.User");
    let uid: u32 = user.split(':').next().unwrap().parse().expect("numeric user");
    assert_ne!(uid, 0, "image runs as root");
    assert_eq!(uid, 65532);
    assert_eq!(config["config"]["Entrypoint"], json!(["/usr/local/bin/exodns"]));
    assert_eq!(config["config"]["Labels"]["org.opencontainers.image.title"], "exodns");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), config["rootfs"]["diff_ids"].as_array().unwrap().len());

    // The docker-archive manifest points at the same blobs.
    let docker = read_json(layout.join("manifest.json"));
    assert_eq!(
        docker[0]["Config"],
        format!("blobs/sha256/{}", manifest["config"]["digest"].as_str().unwrap().trim_start_matches("sha256:"))
    );

    let rootfs = work.path().join("rootfs");
    for (layer, diff_id) in layers.iter().zip(config["rootfs"]["diff_ids"].as_array().unwrap()) {
        assert_eq!(layer["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
        let p = blob(layer);
        // diff_id: the digest of the uncompressed layer.
        let plain = work.path().join("layer.tar");
        let o = run(Command::new("sh").arg("-c").arg(format!("gzip -dc '{}' > '{}'", p.display(), plain.display())));
        assert!(o.status.success());
        assert_eq!(format!("sha256:{}", sha256_hex(&plain)), diff_id.as_str().unwrap(), "diff_id");
        untar(&p, &rootfs, true);
    }
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).expect("/etc/passwd in the image");
    assert!(
        passwd.lines().any(|l| l.split(':').nth(2) == Some(&uid.to_string())),
        "uid {uid} not in /etc/passwd:\n{passwd}"
    );
    let bin = rootfs.join("usr/local/bin/exodns");
    let o = run(Command::new(&bin).arg("--version"));
    assert!(o.status.success(), "{} --version: {}", bin.display(), text(&o.stderr));
    let version = text(&o.stdout);
    assert!(version.starts_with("exodns "), "{version}");
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.version"],
        version.trim().trim_start_matches("exodns ")
    );
    // Static: no ELF interpreter (scratch has no dynamic loader).
    let elf = std::fs::read(&bin).unwrap();
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) =
        (u16::from_le_bytes([elf[54], elf[55]]) as usize, u16::from_le_bytes([elf[56], elf[57]]) as usize);
    let interp = (0..phnum).any(|i| u32::from_le_bytes(elf[phoff + i * phentsize..][..4].try_into().unwrap()) == 3);
    assert!(!interp, "the image's binary is dynamically linked");
}
