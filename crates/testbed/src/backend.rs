//! Health-checked backends for PowerDNS LUA records: HTTP and TCP listeners on 127.0.0.2–.4 (the
//! same port on each address) that a test stops and starts again, so that `ifurlup`/`ifportup`
//! see a member die and come back.
//!
//! Each listener runs on a plain thread (not on a tokio runtime), so it keeps answering while a
//! test blocks or awaits. Stopping one closes its listening socket: PowerDNS's next check gets
//! "connection refused", as from a dead process. Connections are closed after each answer (no
//! keep-alive), so nothing of a stopped listener stays open.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The loopback addresses tests give their members (any 127.0.0.0/8 address binds on Linux
/// without set-up).
pub const BACKEND_ADDRS: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4)),
];

/// How often a stopped-to-be listener looks at its stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(5);
/// How long an HTTP connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// What a backend answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendKind {
    /// `GET <path>` (the query part ignored) → the current status (200 unless
    /// [`Backend::set_status`]) with the current body; any other path → 404.
    Http { path: String },
    /// Accepts and closes at once (all `ifportup` needs).
    Tcp,
}

#[derive(Debug)]
struct Shared {
    hits: AtomicU64,
    status: AtomicU16,
    body: Mutex<String>,
}

#[derive(Debug)]
struct Running {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// One listener on `addr:port`. Started when made; [`stop`](Backend::stop) and
/// [`start`](Backend::start) as often as a test needs; stopped on drop.
#[derive(Debug)]
pub struct Backend {
    addr: IpAddr,
    port: u16,
    kind: BackendKind,
    shared: Arc<Shared>,
    running: Option<Running>,
}

impl Backend {
    /// An HTTP listener on `addr:port` answering `GET path` with 200 and `body`.
    pub fn http(addr: IpAddr, port: u16, path: &str, body: &str) -> io::Result<Backend> {
        Backend::bind(addr, port, BackendKind::Http { path: path.to_owned() }, body)
    }

    /// A TCP listener on `addr:port`.
    pub fn tcp(addr: IpAddr, port: u16) -> io::Result<Backend> {
        Backend::bind(addr, port, BackendKind::Tcp, "")
    }

    fn bind(addr: IpAddr, port: u16, kind: BackendKind, body: &str) -> io::Result<Backend> {
        let shared =
            Arc::new(Shared { hits: AtomicU64::new(0), status: AtomicU16::new(200), body: Mutex::new(body.into()) });
        let mut b = Backend { addr, port, kind, shared, running: None };
        b.start()?;
        Ok(b)
    }

    /// Listens again on the same address and port (nothing when it already listens).
    pub fn start(&mut self) -> io::Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        // std sets SO_REUSEADDR on Unix: the port binds again while closed connections linger.
        let listener = TcpListener::bind(SocketAddr::new(self.addr, self.port))?;
        listener.set_nonblocking(true)?;
        self.port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let (kind, shared, flag) = (self.kind.clone(), Arc::clone(&self.shared), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name(format!("backend-{}:{}", self.addr, self.port))
            .spawn(move || serve(&listener, &kind, &shared, &flag))?;
        self.running = Some(Running { stop, thread });
        Ok(())
    }

    /// Closes the listening socket; returns once it is closed (new connections are refused).
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop.store(true, Ordering::SeqCst);
            let _ = r.thread.join();
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn kind(&self) -> &BackendKind {
        &self.kind
    }

    /// Connections accepted so far (HTTP: requests answered, whatever the path).
    pub fn hits(&self) -> u64 {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// The status of later HTTP answers (a 500 fails `ifurlup`'s check while the port stays open).
    pub fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// The body of later HTTP answers (to fail or pass a `stringmatch`).
    pub fn set_body(&self, body: &str) {
        *self.shared.body.lock().unwrap_or_else(|e| e.into_inner()) = body.to_owned();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(listener: &TcpListener, kind: &BackendKind, shared: &Arc<Shared>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                shared.hits.fetch_add(1, Ordering::SeqCst);
                if let BackendKind::Http { path } = kind {
                    let (path, shared) = (path.clone(), Arc::clone(shared));
                    // A thread per connection: a client that never sends its request must not
                    // hold the others up.
                    let _ = std::thread::Builder::new().name("backend-conn".into()).spawn(move || {
                        let _ = answer_http(stream, &path, &shared);
                    });
                }
                // Tcp: dropping the stream closes it.
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
}

fn answer_http(mut stream: TcpStream, path: &str, shared: &Shared) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("");
    let target_path = target.split('?').next().unwrap_or("");
    let (status, body) = if target_path == path || target == path {
        (shared.status.load(Ordering::SeqCst), shared.body.lock().unwrap_or_else(|e| e.into_inner()).clone())
    } else {
        (404, "not found\n".to_owned())
    };
    let reply = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        if status == 200 { "OK" } else { "Status" },
        body.len()
    );
    stream.write_all(reply.as_bytes())?;
    stream.flush()
}

/// The same kind of listener on several addresses and one port: the members of a LUA record
/// (`ifportup(port, {…})` probes one port on every address).
#[derive(Debug)]
pub struct Backends {
    port: u16,
    list: Vec<Backend>,
}

impl Backends {
    /// HTTP listeners on `addrs` (one free port shared by all), each answering `GET path` with
    /// 200 and `body`.
    pub fn http(addrs: &[IpAddr], path: &str, body: &str) -> io::Result<Backends> {
        Backends::on_one_port(addrs, |a, p| Backend::http(a, p, path, body))
    }

    /// TCP listeners on `addrs`, one free port shared by all.
    pub fn tcp(addrs: &[IpAddr]) -> io::Result<Backends> {
        Backends::on_one_port(addrs, Backend::tcp)
    }

    fn on_one_port(addrs: &[IpAddr], make: impl Fn(IpAddr, u16) -> io::Result<Backend>) -> io::Result<Backends> {
        let Some((&first, rest)) = addrs.split_first() else {
            return Err(io::Error::other("Backends need at least one address"));
        };
        let mut last = None;
        // The port the OS gave the first address may be taken on another one: try again.
        for _ in 0..20 {
            let b = make(first, 0)?;
            let port = b.port();
            let mut list = vec![b];
            for &a in rest {
                match make(a, port) {
                    Ok(b) => list.push(b),
                    Err(e) => {
                        last = Some(e);
                        break;
                    }
                }
            }
            if list.len() == addrs.len() {
                return Ok(Backends { port, list });
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no port free on every address")))
    }

    /// The port every listener uses.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The addresses, in the order given.
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.list.iter().map(Backend::addr).collect()
    }

    /// The listener on `addr`; panics when there is none (a test's mistake).
    pub fn get(&self, addr: IpAddr) -> &Backend {
        self.list.iter().find(|b| b.addr == addr).unwrap_or_else(|| panic!("no backend on {addr}"))
    }

    pub fn get_mut(&mut self, addr: IpAddr) -> &mut Backend {
        self.list.iter_mut().find(|b| b.addr == addr).unwrap_or_else(|| panic!("no backend on {addr}"))
    }

    /// Stops the listener on `addr`.
    pub fn stop(&mut self, addr: IpAddr) {
        self.get_mut(addr).stop();
    }

    /// Starts the listener on `addr` again, same port; panics when the port cannot be bound.
    pub fn start(&mut self, addr: IpAddr) {
        let port = self.port;
        self.get_mut(addr).start().unwrap_or_else(|e| panic!("listen again on {addr}:{port}: {e}"));
    }

    pub fn iter(&self) -> impl Iterator<Item = &Backend> {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: IpAddr, port: u16, path: &str) -> io::Result<String> {
        let mut s = TcpStream::connect_timeout(&SocketAddr::new(addr, port), Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: www.example.org\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn http_backends_share_a_port_stop_refuse_and_start_again() {
        let mut b = Backends::http(&BACKEND_ADDRS, "/healthz", "ok from backend").expect("listeners");
        let port = b.port();
        for a in BACKEND_ADDRS {
            let reply = get(a, port, "/healthz?x=1").expect("answer");
            assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
            assert!(reply.ends_with("\r\n\r\nok from backend"), "{reply}");
            assert!(get(a, port, "/other").expect("answer").starts_with("HTTP/1.1 404"));
        }
        let dead = BACKEND_ADDRS[1];
        b.stop(dead);
        let err = get(dead, port, "/healthz").expect_err("stopped listener");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        assert!(get(BACKEND_ADDRS[0], port, "/healthz").is_ok(), "the others keep answering");
        b.start(dead);
        assert!(get(dead, port, "/healthz").expect("answer again").contains("ok from backend"));
        assert_eq!(b.get(dead).port(), port);

        b.get(dead).set_status(503);
        b.get(dead).set_body("draining");
        let reply = get(dead, port, "/healthz").expect("answer");
        assert!(reply.starts_with("HTTP/1.1 503 ") && reply.ends_with("draining"), "{reply}");
        assert!(b.get(dead).hits() >= 4);
    }

    #[test]
    fn tcp_backends_accept_and_refuse_when_stopped() {
        let mut b = Backends::tcp(&BACKEND_ADDRS[..2]).expect("listeners");
        let target = SocketAddr::new(BACKEND_ADDRS[0], b.port());
        TcpStream::connect_timeout(&target, Duration::from_secs(2)).expect("connect");
        // The kernel completes a connection before the listener accepts it: wait for the accept.
        let hits = || b.get(BACKEND_ADDRS[0]).hits();
        crate::wait_until("the connection accepted", Duration::from_secs(2), || hits() == 1);
        b.stop(BACKEND_ADDRS[0]);
        let err = TcpStream::connect_timeout(&target, Duration::from_secs(2)).expect_err("stopped");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        b.start(BACKEND_ADDRS[0]);
        TcpStream::connect_timeout(&target, Duration::from_secs(2)).expect("connect again");
        let hits = || b.get(BACKEND_ADDRS[0]).hits();
        crate::wait_until("the second connection accepted", Duration::from_secs(2), || hits() == 2);
    }
}
