//! [`WebhookRecorder`]: an ExternalDNS webhook provider that holds an empty zone and records the
//! `Changes` it is sent, so that a test can read what a webhook client (upstream ExternalDNS, or
//! exodns) would write.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The webhook protocol's media type (version 1).
pub const WEBHOOK_MEDIA_TYPE: &str = "application/external.dns.webhook+json;version=1";

/// A webhook provider on a loopback port: `GET /` negotiates (no domain filter, or the one given
/// to [`WebhookRecorder::with_domain_filter`]), `GET /records` is an empty zone,
/// `POST /adjustendpoints` echoes its body, and every `POST` is recorded. Plain HTTP/1.1 with
/// keep-alive and `Content-Length` bodies, which is what the clients send. Stops on drop.
pub struct WebhookRecorder {
    addr: SocketAddr,
    posts: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for WebhookRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecorder").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl WebhookRecorder {
    /// Starts one with no domain filter (`{}`).
    pub fn start() -> std::io::Result<WebhookRecorder> {
        WebhookRecorder::with_domain_filter("{}")
    }

    /// Starts one that answers `GET /` with `filter` (upstream's `DomainFilter` JSON, e.g.
    /// `{"include":["example.org"]}`).
    pub fn with_domain_filter(filter: &str) -> std::io::Result<WebhookRecorder> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let posts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s, filter) = (posts.clone(), stop.clone(), filter.to_owned());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (p, filter) = (p.clone(), filter.clone());
                std::thread::spawn(move || serve(conn, &p, &filter));
            }
        });
        Ok(WebhookRecorder { addr, posts, stop })
    }

    /// `http://127.0.0.1:PORT`, for `--webhook-provider-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bodies of the POSTs to `path` so far (`/records`: the `Changes`), in order.
    pub fn bodies(&self, path: &str) -> Vec<String> {
        self.posts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }
}

impl Drop for WebhookRecorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: TcpStream, posts: &Mutex<Vec<(String, String)>>, filter: &str) {
    let Ok(mut out) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).trim().to_owned();
        let (status, answer) = match (method.as_str(), path.as_str()) {
            ("GET", "/") => ("200 OK", filter.to_owned()),
            ("GET", "/records") => ("200 OK", "[]".to_owned()),
            ("POST", "/adjustendpoints") => ("200 OK", body.clone()),
            ("POST", "/records") => ("204 No Content", String::new()),
            _ => ("404 Not Found", String::new()),
        };
        if method == "POST" {
            posts.lock().unwrap_or_else(|p| p.into_inner()).push((path, body));
        }
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {WEBHOOK_MEDIA_TYPE}\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        if out.write_all(head.as_bytes()).and_then(|()| out.write_all(answer.as_bytes())).is_err() {
            return;
        }
    }
}
