//! TLS towards the API: system roots refuse a private CA, `--tls-ca` trusts it,
//! `--pdns-skip-tls-verify` trusts anything, and client certificates work. Certificates come
//! from the `openssl` command (the test is skipped with a notice when it is missing).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use exodns_core::Secret;
use exodns_provider::Provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{PdnsConfig, PdnsProvider, RetryPolicy, TlsSettings};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// CA, server certificate for 127.0.0.1, client certificate; all signed by the CA.
fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=exodns test CA",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n").unwrap();
    for who in ["server", "client"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{who}.key"),
                "-out",
                &format!("{who}.csr"),
                "-subj",
                &format!("/CN={who}"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{who}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{who}.pem"),
                "-days",
                "2",
                "-extfile",
                &format!("{who}.ext"),
            ],
        );
    }
}

/// A TLS server answering every request with an empty zone list. With `client_ca`, it demands a
/// client certificate signed by it.
async fn tls_server(dir: &Path, client_ca: bool) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("server.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let builder =
        rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().unwrap();
    let builder = if client_ca {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap()).unwrap();
        builder.with_client_cert_verifier(
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap(),
        )
    } else {
        builder.with_no_client_auth()
    };
    let config = builder.with_single_cert(certs, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    url
}

fn provider(url: &str, tls: TlsSettings) -> PdnsProvider {
    let mut cfg = PdnsConfig::parse(url, Secret::new("k")).unwrap();
    cfg.retry = RetryPolicy::none();
    cfg.tls = tls;
    PdnsProvider::new(cfg).unwrap()
}

#[tokio::test]
async fn tls_ca_skip_verify_and_client_certificates() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("NOTICE: skipping: the openssl command is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("exodns-pdns-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_pki(&dir);

    let url = tls_server(&dir, false).await;
    // Private CA, system roots: refused.
    if let Ok(p) = PdnsProvider::new({
        let mut c = PdnsConfig::parse(&url, Secret::new("k")).unwrap();
        c.retry = RetryPolicy::none();
        c
    }) {
        let err = p.records().await.unwrap_err().to_string();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }
    // --tls-ca: trusted.
    let with_ca = TlsSettings { ca_file: Some(dir.join("ca.pem")), ..TlsSettings::default() };
    provider(&url, with_ca.clone()).records().await.unwrap();
    // --pdns-skip-tls-verify: anything goes.
    provider(&url, TlsSettings { skip_verify: true, ..TlsSettings::default() }).records().await.unwrap();

    // Mutual TLS.
    let url = tls_server(&dir, true).await;
    assert!(provider(&url, with_ca.clone()).records().await.is_err(), "no client certificate must be refused");
    let mtls = TlsSettings {
        client_cert_file: Some(dir.join("client.pem")),
        client_key_file: Some(dir.join("client.key")),
        ..with_ca
    };
    provider(&url, mtls).records().await.unwrap();

    // Bad files are reported with their path at construction.
    let mut cfg = PdnsConfig::parse(&url, Secret::new("k")).unwrap();
    cfg.tls.ca_file = Some(dir.join("missing.pem"));
    let err = PdnsProvider::new(cfg).unwrap_err().to_string();
    assert!(err.contains("missing.pem"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
