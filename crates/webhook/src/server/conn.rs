//! One client connection: HTTP/1.1 with a header-read timeout that answers 408, an idle timeout
//! for keep-alive connections, and graceful shutdown.
//!
//! hyper's own header timeout closes the socket without a word; here a watchdog follows what
//! the connection is doing (waiting for headers, answering, idle) and, when a client is too slow
//! with its headers, takes the socket back from hyper and answers 408 with a message.
//!
//! A request refused before its body was read (413, or 408 for a slow body) ends the connection;
//! closing a socket with unread data makes the kernel send a reset, and a client that writes its
//! whole body before reading (Python's urllib) then sees a broken pipe instead of the answer. So
//! after such an answer the connection lingers: it sends its FIN and reads and drops what the
//! client still sends, for at most [`LINGER`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;
use tracing::debug;

use crate::metrics::ServerMetrics;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub read_header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// How long a connection refused before its body was read goes on reading (and dropping) it.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

const HEAD: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

/// What the connection is doing, shared by the socket wrapper, the service and the watchdog.
struct Activity {
    epoch: Instant,
    phase: AtomicU8,
    /// Milliseconds since `epoch` when the phase began.
    since: AtomicU64,
    /// Bytes arrived during the current HEAD phase.
    got_bytes: AtomicBool,
    /// An answer was sent without reading the request body: linger before closing.
    body_unread: AtomicBool,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        // A new connection waits for its first request's headers.
        Activity {
            epoch: Instant::now(),
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
            got_bytes: AtomicBool::new(false),
            body_unread: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn set(&self, phase: u8) {
        self.since.store(self.now_ms(), Ordering::Relaxed);
        self.got_bytes.store(false, Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
        self.changed.notify_one();
    }

    fn on_bytes(&self) {
        match self.phase.load(Ordering::Acquire) {
            IDLE => {
                self.set(HEAD);
                self.got_bytes.store(true, Ordering::Relaxed);
            }
            HEAD => self.got_bytes.store(true, Ordering::Relaxed),
            _ => {}
        }
    }

    /// When the current phase runs out, if it can.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let since = self.epoch + Duration::from_millis(self.since.load(Ordering::Relaxed));
        match self.phase.load(Ordering::Acquire) {
            HEAD => Some(since + limits.read_header_timeout),
            IDLE => Some(since + limits.idle_timeout),
            _ => None,
        }
    }
}

/// The socket, reporting arriving bytes to the [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_bytes();
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that marks the connection idle once it is sent (or dropped).
struct Guarded {
    inner: Body,
    activity: Arc<Activity>,
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.activity.set(IDLE);
    }
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn timeout_response(limits: &Limits) -> Vec<u8> {
    let body = format!(
        "the request headers did not arrive within {:?} (--webhook-provider-read-header-timeout)\n",
        limits.read_header_timeout
    );
    format!(
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends FIN after the answer, then reads and drops what the client still sends (the body that
/// was refused) until it closes or [`LINGER`] passes, so that the answer is not lost to a reset.
async fn linger(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let mut sink = vec![0u8; 64 * 1024];
    let drain = async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Serves one connection until the client leaves, a timeout closes it, or shutdown.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    metrics: Arc<ServerMetrics>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked { inner: stream, activity: activity.clone() });
    let act = activity.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        act.set(BUSY);
        let act = act.clone();
        let app = app.clone();
        // Boxed: taking the socket back from hyper needs an `Unpin` future.
        Box::pin(async move {
            let resp = app.oneshot(req.map(Body::new)).await?;
            if matches!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
                act.body_unread.store(true, Ordering::Relaxed);
            }
            Ok::<_, std::convert::Infallible>(resp.map(|inner| Guarded { inner, activity: act }))
        })
    });
    let mut conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true)
        .serve_connection(io, service);

    loop {
        let deadline = activity.deadline(&limits);
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            res = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => {
                if let Err(e) = res {
                    debug!(%peer, "connection ended: {e}");
                    return;
                }
                let stream = conn.into_parts().io.into_inner().inner;
                if activity.body_unread.load(Ordering::Relaxed) {
                    linger(stream).await;
                } else {
                    let mut stream = stream;
                    let _ = stream.shutdown().await;
                }
                return;
            }
            () = activity.changed.notified() => {}
            () = sleep => {
                let now = Instant::now();
                match activity.deadline(&limits) {
                    Some(d) if d <= now => {}
                    _ => continue, // the phase moved on meanwhile
                }
                if activity.phase.load(Ordering::Acquire) == IDLE {
                    metrics.idle_closed();
                    debug!(%peer, "closing idle keep-alive connection");
                    return; // dropping the connection closes the socket
                }
                metrics.header_timeout();
                let got_bytes = activity.got_bytes.load(Ordering::Relaxed);
                debug!(%peer, got_bytes, "request headers too slow; closing");
                if got_bytes {
                    // Take the socket back from hyper and answer 408 ourselves.
                    let parts = conn.into_parts();
                    let mut stream = parts.io.into_inner().inner;
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        stream.write_all(&timeout_response(&limits)).await?;
                        stream.shutdown().await
                    })
                    .await;
                }
                return;
            }
            () = async { let _ = stop.wait_for(|s| *s).await; } => {
                Pin::new(&mut conn).graceful_shutdown();
                if let Err(e) = (&mut conn).await {
                    debug!(%peer, "connection ended during shutdown: {e}");
                }
                return;
            }
        }
    }
}
