//! Files of upstream ExternalDNS's Go module (`sigs.k8s.io/external-dns`), read at test time
//! from the module zip in Go's module cache (downloaded when missing), for the tests that hold
//! exodns to upstream's lists (flags, metrics). The zip, not the unpacked module: `go mod
//! download` refuses to unpack a module that needs a newer Go (v0.23.0 wants Go 1.27) but still
//! fetches and names its zip.

use std::process::Command;

/// `path` in upstream's module `version`. `None` (after a notice) when Go or the module proxy
/// cannot be had, unless `EXODNS_REQUIRE_PEERS=1`: then it panics.
pub fn upstream_file(version: &str, path: &str) -> Option<String> {
    let why = match read(version, path) {
        Ok(text) => return Some(text),
        Err(why) => why,
    };
    if std::env::var("EXODNS_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
        panic!("upstream's module {version}: {why}, and EXODNS_REQUIRE_PEERS=1");
    }
    eprintln!(
        "NOTICE: skipping upstream's {path} of {version}: {why}; set EXODNS_REQUIRE_PEERS=1 to make this a failure"
    );
    None
}

fn read(version: &str, path: &str) -> Result<String, String> {
    let module = format!("sigs.k8s.io/external-dns@{version}");
    let scratch = tempfile::tempdir().unwrap();
    // Outside any module, no workspace, no toolchain download: as scripts/testbed/lib.sh does.
    let out = Command::new("go")
        .args(["mod", "download", "-json", &module])
        .current_dir(scratch.path())
        .env("GOWORK", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .map_err(|e| format!("go: {e}"))?;
    let info: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| format!("go mod download: {}", String::from_utf8_lossy(&out.stderr)))?;
    let Some(zip) = info["Zip"].as_str().filter(|z| std::path::Path::new(z).is_file()) else {
        return Err(format!("go mod download: no zip: {}", info["Error"]));
    };
    let entry = format!("{module}/{path}");
    let read = "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())";
    let out = Command::new("python3").args(["-c", read, zip, &entry]).output().map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!("reading {entry} from {zip}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("{entry}: {e}"))
}
