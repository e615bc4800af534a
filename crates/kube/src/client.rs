//! The Kubernetes client: where the configuration comes from (`--kubeconfig`, `--server`,
//! in-cluster), and a layer that holds every request to `--kube-api-qps` / `--kube-api-burst`
//! and `--kube-api-request-timeout`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use exodns_core::error_chain;
use http::{Request, Response};
use kube::client::{Body, ClientBuilder};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tower::buffer::Buffer;
use tower::{BoxError, Layer, Service, ServiceExt};

use crate::error::KubeError;

/// How to reach the apiserver (upstream's flags of the same names; the binary maps them).
#[derive(Debug, Clone, PartialEq)]
pub struct KubeSettings {
    /// `--kubeconfig`. Empty: `$KUBECONFIG`, else `~/.kube/config`, else the in-cluster
    /// service account.
    pub kubeconfig: Option<PathBuf>,
    /// `--server`: the apiserver URL, replacing the one of the kubeconfig or the in-cluster one.
    pub server: Option<String>,
    /// `--kube-api-qps` (5): requests per second, on average. Negative: no limit.
    pub qps: f32,
    /// `--kube-api-burst` (10): requests that may go at once after a quiet spell.
    pub burst: u32,
    /// `--kube-api-request-timeout` (30 s): for every request but watches, and for connecting.
    pub request_timeout: Duration,
}

/// Upstream's `--kube-api-qps` default.
pub const DEFAULT_QPS: f32 = 5.0;
/// Upstream's `--kube-api-burst` default.
pub const DEFAULT_BURST: u32 = 10;
/// Upstream's `--kube-api-request-timeout` default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for KubeSettings {
    fn default() -> Self {
        KubeSettings {
            kubeconfig: None,
            server: None,
            qps: DEFAULT_QPS,
            burst: DEFAULT_BURST,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl KubeSettings {
    /// Checks the numbers (as client-go does: QPS 0 means the default, a negative QPS no limit).
    pub fn validate(&self) -> Result<(), KubeError> {
        if !self.qps.is_finite() {
            return Err(KubeError::Config {
                setting: "--kube-api-qps",
                message: format!("{} is not a number", self.qps),
            });
        }
        if self.request_timeout.is_zero() {
            return Err(KubeError::Config {
                setting: "--kube-api-request-timeout",
                message: "must be longer than 0s".into(),
            });
        }
        if let Some(s) = &self.server {
            s.parse::<http::Uri>()
                .map_err(|e| KubeError::Config { setting: "--server", message: format!("{s:?} is not a URL: {e}") })?;
        }
        Ok(())
    }

    fn effective_qps(&self) -> Option<f64> {
        if self.qps < 0.0 {
            None
        } else if self.qps == 0.0 {
            Some(f64::from(DEFAULT_QPS))
        } else {
            Some(f64::from(self.qps))
        }
    }

    fn effective_burst(&self) -> u32 {
        if self.burst == 0 { DEFAULT_BURST } else { self.burst }
    }
}

/// The client configuration: `--kubeconfig` (its current context), else `$KUBECONFIG` or
/// `~/.kube/config`, else the in-cluster service account; `--server` replaces the URL. Upstream
/// reads only `~/.kube/config`, not `$KUBECONFIG`, and ignores `--server` in a cluster.
pub async fn load_config(settings: &KubeSettings) -> Result<Config, KubeError> {
    settings.validate()?;
    let mut config = if let Some(path) = settings.kubeconfig.as_ref().filter(|p| !p.as_os_str().is_empty()) {
        let kc = Kubeconfig::read_from(path)
            .map_err(|e| KubeError::Kubeconfig { path: path.clone(), message: error_chain(&e) })?;
        Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| KubeError::Kubeconfig { path: path.clone(), message: error_chain(&e) })?
    } else {
        match Config::from_kubeconfig(&KubeConfigOptions::default()).await {
            Ok(c) => c,
            Err(kc_err) => match Config::incluster() {
                Ok(c) => c,
                Err(ic_err) => match &settings.server {
                    // A bare URL (e.g. `kubectl proxy`): no credentials.
                    Some(s) => Config::new(s.parse().map_err(|e| KubeError::Config {
                        setting: "--server",
                        message: format!("{s:?} is not a URL: {e}"),
                    })?),
                    None => {
                        return Err(KubeError::NoConfig(format!(
                            "kubeconfig: {}; in-cluster: {}",
                            error_chain(&kc_err),
                            error_chain(&ic_err)
                        )));
                    }
                },
            },
        }
    };
    if let Some(s) = &settings.server {
        config.cluster_url = s
            .parse()
            .map_err(|e| KubeError::Config { setting: "--server", message: format!("{s:?} is not a URL: {e}") })?;
    }
    config.connect_timeout = Some(settings.request_timeout);
    Ok(config)
}

/// A client from the settings ([`load_config`] + [`client_from_config`]).
pub async fn connect(settings: &KubeSettings) -> Result<KubeClient, KubeError> {
    let config = load_config(settings).await?;
    client_from_config(config, settings)
}

/// A client over `config`, every request but watches held to the settings' rate and timeout.
/// Must be called inside a Tokio runtime.
pub fn client_from_config(config: Config, settings: &KubeSettings) -> Result<KubeClient, KubeError> {
    settings.validate()?;
    // Only ring is compiled in; make it the process default so rustls never has to guess.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = config.cluster_url.to_string();
    let origin = Origin {
        scheme: config.cluster_url.scheme_str().unwrap_or("https").to_owned(),
        host: config.cluster_url.authority().map(|a| a.to_string()).unwrap_or_default(),
    };
    let events_builder = ClientBuilder::try_from(config.clone()).map_err(|e| KubeError::Client(error_chain(&e)))?;
    let builder = ClientBuilder::try_from(config).map_err(|e| KubeError::Client(error_chain(&e)))?;
    let (watch_starts, _) = broadcast::channel(256);
    let layer = ThrottleLayer::new(settings.effective_qps(), settings.effective_burst(), settings.request_timeout)
        .with_watch_starts(watch_starts.clone())
        .with_origin(origin.clone());
    // Events have their own rate (the event sink's) rather than a share of --kube-api-qps: at
    // upstream's 5 per second, 50 objects going bad at once would be told of 10 s later.
    let events =
        events_builder.with_layer(&ThrottleLayer::new(None, 1, settings.request_timeout).with_origin(origin)).build();
    Ok(KubeClient { client: builder.with_layer(&layer).build(), events, watch_starts, url })
}

/// A kube-rs client with what exodns adds: the rate limit, and word of every watch request
/// the apiserver accepted (how a watch that resumed after an outage is known to be healthy
/// again, even when no object changed meanwhile: kube-rs's watcher reports no event then).
#[derive(Clone)]
pub struct KubeClient {
    client: Client,
    /// For Events only: the same apiserver, without the --kube-api-qps limit.
    events: Client,
    watch_starts: broadcast::Sender<WatchStart>,
    url: String,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient").field("url", &self.url).finish_non_exhaustive()
    }
}

impl KubeClient {
    /// The kube-rs client (for `Api`s of your own; requests go through the same limit).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client Events are posted with (limited by the event sink, not --kube-api-qps).
    pub(crate) fn events_client(&self) -> &Client {
        &self.events
    }

    /// The apiserver URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Word of each watch request answered by the apiserver, from now on.
    pub fn watch_starts(&self) -> broadcast::Receiver<WatchStart> {
        self.watch_starts.subscribe()
    }
}

/// A watch request the apiserver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStart {
    /// API group (`""` for the core group).
    pub group: String,
    /// Resource (`services`).
    pub plural: String,
    /// HTTP status of the answer.
    pub status: u16,
}

/// `(group, plural)` of a collection path: `/api/v1/namespaces/a/services` → `("", "services")`,
/// `/apis/g/v1/httproutes` → `("g", "httproutes")`, `/api/v1/namespaces` → `("", "namespaces")`.
pub(crate) fn collection_of(path: &str) -> Option<(String, String)> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", _v, rest @ ..] => ("", rest),
        ["apis", g, _v, rest @ ..] => (*g, rest),
        _ => return None,
    };
    let plural = match rest {
        ["namespaces", _ns, plural, ..] => plural,
        [plural, ..] => plural,
        [] => return None,
    };
    Some((group.to_owned(), (*plural).to_owned()))
}

// ---------------------------------------------------------------------------------------------
// Token bucket

/// A token bucket that hands out tokens in order: `qps` per second, at most `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket { qps, burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// Takes a token now and says how long to wait before using it (zero when one was saved
    /// up). Waiting callers queue up behind each other.
    pub fn reserve(&self) -> Duration {
        let left = self.take(|_| true).1 - 1.0;
        if left >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-left / self.qps) }
    }

    /// Takes a token if one is saved up; never queues.
    pub fn try_take(&self) -> bool {
        self.take(|tokens| tokens >= 1.0).0
    }

    /// Refills the bucket for the time since the last call, then takes a token if `whether`
    /// says so given the tokens there are (which may go negative: debt that later callers wait
    /// for). Whether it took one, and the tokens there were.
    fn take(&self, whether: impl FnOnce(f64) -> bool) -> (bool, f64) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, last) = *st;
        let refilled = (tokens + now.saturating_duration_since(last).as_secs_f64() * self.qps).min(self.burst);
        let took = whether(refilled);
        *st = (if took { refilled - 1.0 } else { refilled }, now);
        (took, refilled)
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tracing::trace!(?wait, "client-side throttling of a Kubernetes API request");
            tokio::time::sleep(wait).await;
        }
    }
}

/// The tower layer that applies the bucket and the request timeout.
#[derive(Debug, Clone)]
pub struct ThrottleLayer {
    bucket: Option<Arc<TokenBucket>>,
    timeout: Duration,
    watch_starts: Option<broadcast::Sender<WatchStart>>,
    origin: Option<Origin>,
}

/// The apiserver's scheme and host, for the request metrics (the requests carry only a path).
#[derive(Debug, Clone)]
pub struct Origin {
    scheme: String,
    host: String,
}

impl ThrottleLayer {
    pub fn new(qps: Option<f64>, burst: u32, timeout: Duration) -> Self {
        ThrottleLayer {
            bucket: qps.map(|q| Arc::new(TokenBucket::new(q, burst))),
            timeout,
            watch_starts: None,
            origin: None,
        }
    }

    /// Reports every request but watches to `exodns_core::observe` (upstream instruments its
    /// apiserver client too).
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// Reports every answered watch request on `tx`.
    pub fn with_watch_starts(mut self, tx: broadcast::Sender<WatchStart>) -> Self {
        self.watch_starts = Some(tx);
        self
    }
}

type BoxFut<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S> Layer<S> for ThrottleLayer
where
    S: Service<Request<Body>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + Sync,
    S::Response: Send + 'static,
{
    type Service = Throttle<S::Response, S::Future>;

    fn layer(&self, inner: S) -> Self::Service {
        Throttle {
            inner: Buffer::new(inner, 1024),
            bucket: self.bucket.clone(),
            timeout: self.timeout,
            watch_starts: self.watch_starts.clone(),
            origin: self.origin.clone(),
            _r: std::marker::PhantomData,
        }
    }
}

/// See [`ThrottleLayer`]. Watches are neither throttled nor timed out (as in client-go: they
/// are long-lived, and the watcher backs off on its own; the server ends them after ~5 min).
pub struct Throttle<R, F> {
    inner: Buffer<Request<Body>, F>,
    bucket: Option<Arc<TokenBucket>>,
    timeout: Duration,
    watch_starts: Option<broadcast::Sender<WatchStart>>,
    origin: Option<Origin>,
    _r: std::marker::PhantomData<fn() -> R>,
}

impl<R, F: Send + 'static> Clone for Throttle<R, F> {
    fn clone(&self) -> Self {
        Throttle {
            inner: self.inner.clone(),
            bucket: self.bucket.clone(),
            timeout: self.timeout,
            watch_starts: self.watch_starts.clone(),
            origin: self.origin.clone(),
            _r: std::marker::PhantomData,
        }
    }
}

/// Whether a request starts a watch (`?watch=true` or `?watch=1`).
pub(crate) fn is_watch<B>(req: &Request<B>) -> bool {
    req.uri().query().is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"))
}

impl<B, F, E> Service<Request<Body>> for Throttle<Response<B>, F>
where
    F: Future<Output = Result<Response<B>, E>> + Send + 'static,
    E: Into<BoxError> + Send + Sync,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFut<Response<B>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is awaited per request, after the token, on a clone of the buffer.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let watch = is_watch(&req);
        let inner = self.inner.clone();
        let bucket = self.bucket.clone().filter(|_| !watch);
        let timeout = self.timeout;
        let observed =
            self.origin.clone().filter(|_| !watch).map(|o| (o, req.method().clone(), req.uri().path().to_owned()));
        let report = self.watch_starts.clone().filter(|_| watch).and_then(|tx| {
            let (group, plural) = collection_of(req.uri().path())?;
            Some((tx, group, plural))
        });
        Box::pin(async move {
            if let Some(b) = bucket {
                b.acquire().await;
            }
            let fut = inner.oneshot(req);
            if watch {
                let res = fut.await;
                if let (Some((tx, group, plural)), Ok(r)) = (report, &res) {
                    let _ = tx.send(WatchStart { group, plural, status: r.status().as_u16() });
                }
                return res;
            }
            let started = std::time::Instant::now();
            let result = match tokio::time::timeout(timeout, fut).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {timeout:?} (--kube-api-request-timeout)").into()),
            };
            if let Some((origin, method, path)) = observed {
                exodns_core::observe::http_request(&exodns_core::observe::HttpRequest {
                    scheme: &origin.scheme,
                    host: &origin.host,
                    path: &path,
                    method: method.as_str(),
                    status: result.as_ref().ok().map(|r| r.status().as_u16()),
                    elapsed: started.elapsed(),
                });
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_burst_then_qps() {
        let b = TokenBucket::new(5.0, 10);
        let start = Instant::now();
        for _ in 0..10 {
            b.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst goes at once");
        for _ in 0..5 {
            b.acquire().await;
        }
        let e = start.elapsed();
        assert!(e >= Duration::from_millis(999) && e <= Duration::from_millis(1001), "{e:?}");
        // A quiet spell refills up to the burst, not beyond.
        tokio::time::advance(Duration::from_secs(60)).await;
        let t = Instant::now();
        for _ in 0..10 {
            b.acquire().await;
        }
        assert_eq!(t.elapsed(), Duration::ZERO);
        b.acquire().await;
        assert!(t.elapsed() >= Duration::from_millis(199));
    }

    #[tokio::test(start_paused = true)]
    async fn try_take_never_runs_into_debt() {
        let b = TokenBucket::new(2.0, 3);
        assert_eq!((0..5).map(|_| b.try_take()).filter(|t| *t).count(), 3, "the burst, then nothing");
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(b.try_take(), "one token after half a second at 2/s");
        assert!(!b.try_take());
        // Refused takes left no debt: a waiting caller is served after one token's time.
        assert!(b.reserve() <= Duration::from_millis(500));
    }

    #[test]
    fn watch_requests_are_recognised() {
        let r = |u: &str| Request::get(u).body(()).unwrap();
        assert!(is_watch(&r("/api/v1/services?&watch=true&timeoutSeconds=290&resourceVersion=1")));
        assert!(!is_watch(&r("/api/v1/services?limit=500")));
        assert!(!is_watch(&r("/api/v1/namespaces/watch=true/services")));
    }

    #[test]
    fn collections() {
        let c = |p: &str| collection_of(p).map(|(g, r)| format!("{g}|{r}"));
        assert_eq!(c("/api/v1/services").as_deref(), Some("|services"));
        assert_eq!(c("/api/v1/namespaces/apps/pods").as_deref(), Some("|pods"));
        assert_eq!(c("/api/v1/namespaces").as_deref(), Some("|namespaces"));
        assert_eq!(
            c("/apis/gateway.networking.k8s.io/v1/namespaces/a/httproutes").as_deref(),
            Some("gateway.networking.k8s.io|httproutes")
        );
        assert_eq!(c("/apis/discovery.k8s.io/v1/endpointslices").as_deref(), Some("discovery.k8s.io|endpointslices"));
        assert_eq!(c("/version"), None);
    }

    #[test]
    fn settings_checks() {
        let mut s = KubeSettings::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.effective_qps(), Some(5.0));
        s.qps = 0.0;
        assert_eq!(s.effective_qps(), Some(5.0));
        s.qps = -1.0;
        assert_eq!(s.effective_qps(), None);
        s.qps = f32::NAN;
        assert!(s.validate().unwrap_err().to_string().starts_with("--kube-api-qps"));
        let s = KubeSettings { server: Some("not a url".into()), ..Default::default() };
        assert!(s.validate().unwrap_err().to_string().starts_with("--server"));
    }
}
