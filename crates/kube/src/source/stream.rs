//! The list+watch of one resource, as kube-rs's `watcher` does it (list, then watch from the
//! list's resourceVersion, list again when the watch cannot resume; the same events and errors),
//! but with the list streamed: no list response is held whole, nor all its decoded objects.
//!
//! The list comes from the apiserver's streaming list (a watch with `sendInitialEvents=true`,
//! the WatchList feature) when the apiserver serves it; an apiserver that refuses the parameter
//! (the feature gate is off by default in Kubernetes 1.33) answers 422 once, and this client then
//! lists as before: one answer from the watch cache, its objects decoded one by one as the body
//! arrives ([`ListSplitter`]). At 10 000 Services the body alone is 15 MB (issue 18).

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use http_body_util::BodyExt;
use kube::api::{Api, ListParams, VersionMatch, WatchParams};
use kube::client::Body;
use kube::core::{ApiResource, ListMeta, Status, WatchEvent};
use kube::runtime::watcher::{self, Event, ListSemantic};
use kube::{Client, Resource, ResourceExt};
use tracing::{debug, info};

use crate::list_split::{ListSplitter, Piece};

/// Whether the apiserver serves streaming lists: not known yet, yes, no.
#[derive(Debug, Default)]
pub(crate) struct StreamingLists(AtomicU8);

const UNKNOWN: u8 = 0;
const SERVED: u8 = 1;
const REFUSED: u8 = 2;

impl StreamingLists {
    fn worth_trying(&self) -> bool {
        self.0.load(Ordering::Relaxed) != REFUSED
    }

    fn set(&self, v: u8) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Whether the last streaming list was served (`None`: none tried yet), for tests.
    pub(crate) fn served(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            UNKNOWN => None,
            v => Some(v == SERVED),
        }
    }
}

type Events<K> = BoxStream<'static, kube::Result<WatchEvent<K>>>;

enum State<K> {
    Empty,
    /// A list request (of the page after `continue_token`) to send.
    List {
        continue_token: Option<String>,
    },
    /// A list response being read.
    Listing {
        body: Body,
        split: ListSplitter,
        meta: ListMeta,
    },
    /// A streaming list: its objects until the bookmark that ends them.
    InitialWatch {
        stream: Events<K>,
    },
    InitListed {
        resource_version: String,
    },
    Watching {
        resource_version: String,
        stream: Events<K>,
    },
}

/// kube-rs's `watcher` over `api`, the list streamed (see the module's comment). `lists` is
/// shared by the watches of one client.
pub(crate) fn watcher<K>(
    api: Api<K>,
    client: Client,
    url_path: String,
    config: watcher::Config,
    lists: std::sync::Arc<StreamingLists>,
) -> impl Stream<Item = watcher::Result<Event<K>>> + Send
where
    K: Resource<DynamicType = ApiResource> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let w = Watcher { api, client, url_path, config, lists };
    futures::stream::unfold((w, State::Empty), |(w, mut state)| async move {
        loop {
            let (event, next) = w.step(state).await;
            state = next;
            if let Some(event) = event {
                return Some((event, (w, state)));
            }
        }
    })
}

struct Watcher<K> {
    api: Api<K>,
    client: Client,
    url_path: String,
    config: watcher::Config,
    lists: std::sync::Arc<StreamingLists>,
}

type Step<K> = (Option<watcher::Result<Event<K>>>, State<K>);

impl<K> Watcher<K>
where
    K: Resource<DynamicType = ApiResource> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    fn watch_params(&self, initial: bool) -> WatchParams {
        let c = &self.config;
        WatchParams {
            label_selector: c.label_selector.clone(),
            field_selector: c.field_selector.clone(),
            timeout: c.timeout,
            bookmarks: c.bookmarks,
            send_initial_events: initial,
        }
    }

    fn list_params(&self, continue_token: Option<String>) -> ListParams {
        let c = &self.config;
        let (resource_version, version_match) = match c.list_semantic {
            ListSemantic::Any => (Some("0".to_owned()), Some(VersionMatch::NotOlderThan)),
            ListSemantic::MostRecent => (None, None),
        };
        ListParams {
            label_selector: c.label_selector.clone(),
            field_selector: c.field_selector.clone(),
            version_match,
            resource_version,
            limit: c.page_size,
            continue_token,
            ..ListParams::default()
        }
    }

    async fn watch(&self, initial: bool, version: &str) -> kube::Result<Events<K>> {
        Ok(self.api.watch(&self.watch_params(initial), version).await?.boxed())
    }

    async fn step(&self, state: State<K>) -> Step<K> {
        match state {
            State::Empty if self.lists.worth_trying() => match self.watch(true, "0").await {
                Ok(stream) => (Some(Ok(Event::Init)), State::InitialWatch { stream }),
                Err(kube::Error::Api(s)) if refuses_streaming(&s) => {
                    if self.lists.served() != Some(false) {
                        // Not the apiserver's message: it reads "Forbidden", which is not about RBAC.
                        info!(
                            status = s.code,
                            "the apiserver does not serve streaming lists (WatchList); listing instead"
                        );
                    }
                    self.lists.set(REFUSED);
                    (Some(Ok(Event::Init)), State::List { continue_token: None })
                }
                Err(e) => (Some(Err(watcher::Error::WatchStartFailed(e))), State::Empty),
            },
            State::Empty => (Some(Ok(Event::Init)), State::List { continue_token: None }),
            State::List { continue_token } => match self.list(continue_token).await {
                Ok(body) => (None, State::Listing { body, split: ListSplitter::default(), meta: ListMeta::default() }),
                Err(e) => (Some(Err(watcher::Error::InitialListFailed(e))), State::Empty),
            },
            State::Listing { body, split, meta } => self.listing(body, split, meta).await,
            State::InitialWatch { mut stream } => match self.next(&mut stream).await {
                Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                    (Some(Ok(Event::InitApply(o))), State::InitialWatch { stream })
                }
                // Not sent during a streaming list (the API's documentation).
                Some(Ok(WatchEvent::Deleted(_))) => (None, State::InitialWatch { stream }),
                Some(Ok(WatchEvent::Bookmark(bm))) => {
                    if bm.metadata.annotations.contains_key("k8s.io/initial-events-end") {
                        if self.lists.served() != Some(true) {
                            debug!("the apiserver serves streaming lists");
                        }
                        self.lists.set(SERVED);
                        let resource_version = bm.metadata.resource_version;
                        (Some(Ok(Event::InitDone)), State::Watching { resource_version, stream })
                    } else {
                        (None, State::InitialWatch { stream })
                    }
                }
                Some(Ok(WatchEvent::Error(e))) => {
                    let next = if e.code == 410 { State::Empty } else { State::InitialWatch { stream } };
                    (Some(Err(watcher::Error::WatchError(e.boxed()))), next)
                }
                Some(Err(e)) => (Some(Err(watcher::Error::WatchFailed(e))), State::InitialWatch { stream }),
                None => (None, State::Empty),
            },
            State::InitListed { resource_version } => match self.watch(false, &resource_version).await {
                Ok(stream) => (None, State::Watching { resource_version, stream }),
                Err(e) => (Some(Err(watcher::Error::WatchStartFailed(e))), State::InitListed { resource_version }),
            },
            State::Watching { resource_version, mut stream } => match self.next(&mut stream).await {
                Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => match o.resource_version() {
                    Some(rv) if !rv.is_empty() => {
                        (Some(Ok(Event::Apply(o))), State::Watching { resource_version: rv, stream })
                    }
                    _ => (Some(Err(watcher::Error::NoResourceVersion)), State::Empty),
                },
                Some(Ok(WatchEvent::Deleted(o))) => match o.resource_version() {
                    Some(rv) if !rv.is_empty() => {
                        (Some(Ok(Event::Delete(o))), State::Watching { resource_version: rv, stream })
                    }
                    _ => (Some(Err(watcher::Error::NoResourceVersion)), State::Empty),
                },
                Some(Ok(WatchEvent::Bookmark(bm))) => {
                    (None, State::Watching { resource_version: bm.metadata.resource_version, stream })
                }
                Some(Ok(WatchEvent::Error(e))) => {
                    // 410 Gone: the watch cannot resume from there; list again.
                    let next = if e.code == 410 { State::Empty } else { State::Watching { resource_version, stream } };
                    (Some(Err(watcher::Error::WatchError(e.boxed()))), next)
                }
                Some(Err(e)) => {
                    (Some(Err(watcher::Error::WatchFailed(e))), State::Watching { resource_version, stream })
                }
                None => (None, State::InitListed { resource_version }),
            },
        }
    }

    /// The next event of a watch, `None` when it ends or says nothing for longer than the
    /// server's timeout (a connection whose end never arrived).
    async fn next(&self, stream: &mut Events<K>) -> Option<kube::Result<WatchEvent<K>>> {
        let idle = Duration::from_secs(u64::from(self.config.timeout.unwrap_or(290)) + 5);
        tokio::time::timeout(idle, stream.next()).await.ok().flatten()
    }

    /// Sends a list request; the response's body, not read yet.
    async fn list(&self, continue_token: Option<String>) -> kube::Result<Body> {
        let mut req = kube::core::Request::new(&self.url_path)
            .list(&self.list_params(continue_token))
            .map_err(kube::Error::BuildRequest)?;
        req.extensions_mut().insert("list");
        let res = self.client.send(req.map(Body::from)).await?;
        let status = res.status();
        if status.is_client_error() || status.is_server_error() {
            // As kube-rs reads an error: a Status, or the text of the body.
            let bytes = res.into_body().collect_bytes().await?;
            let st = serde_json::from_slice::<Status>(&bytes).unwrap_or_else(|_| {
                let text = String::from_utf8_lossy(&bytes);
                Status::failure(text.trim(), "Failed to parse error data").with_code(status.as_u16())
            });
            return Err(kube::Error::Api(st.boxed()));
        }
        Ok(res.into_body())
    }

    /// Reads the list response up to its next object (or its end).
    async fn listing(&self, mut body: Body, mut split: ListSplitter, mut meta: ListMeta) -> Step<K> {
        let failed = |e| (Some(Err(watcher::Error::InitialListFailed(e))), State::Empty);
        loop {
            match split.next_piece() {
                Ok(Some((Piece::Item, bytes))) => match serde_json::from_slice::<K>(bytes) {
                    Ok(o) => return (Some(Ok(Event::InitApply(o))), State::Listing { body, split, meta }),
                    Err(e) => return failed(kube::Error::SerdeError(e)),
                },
                Ok(Some((Piece::Metadata, bytes))) => match serde_json::from_slice(bytes) {
                    Ok(m) => {
                        meta = m;
                        continue;
                    }
                    Err(e) => return failed(kube::Error::SerdeError(e)),
                },
                Ok(Some((Piece::End, _))) => break,
                Ok(None) => {}
                Err(e) => return failed(kube::Error::ReadEvents(std::io::Error::other(e))),
            }
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        split.feed(data);
                    }
                }
                Some(Err(e)) => return failed(e),
                None => {
                    let e = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the list response ended early");
                    return failed(kube::Error::ReadEvents(e));
                }
            }
        }
        let resource_version = meta.resource_version.filter(|s| !s.is_empty());
        match (meta.continue_.filter(|s| !s.is_empty()), resource_version) {
            (Some(token), _) => (None, State::List { continue_token: Some(token) }),
            (None, Some(resource_version)) => (Some(Ok(Event::InitDone)), State::InitListed { resource_version }),
            (None, None) => (Some(Err(watcher::Error::NoResourceVersion)), State::Empty),
        }
    }
}

/// An apiserver that does not serve streaming lists refuses `sendInitialEvents` as invalid
/// (422; "forbidden unless the WatchList feature gate is enabled"), or as a bad request.
fn refuses_streaming(s: &Status) -> bool {
    s.code == 422 || (s.code == 400 && s.message.contains("sendInitialEvents"))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http::{Request, Response};
    use http_body_util::StreamBody;
    use hyper::body::Frame;
    use k8s_openapi::api::core::v1::Service;
    use serde_json::{Value, json};

    use super::*;
    use crate::resources::{Obj, api_resource};

    fn svc(name: &str, rv: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv,
                "managedFields": [{"manager": "x", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"type": "LoadBalancer"}})
    }

    fn line(kind: &str, object: Value) -> String {
        format!("{}\n", json!({"type": kind, "object": object}))
    }

    type Body = StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

    /// A response whose body arrives in frames of `size` bytes.
    fn response(status: u16, body: &[u8], size: usize) -> Response<Body> {
        let frames: Vec<_> = body.chunks(size).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
        Response::builder().status(status).body(StreamBody::new(futures::stream::iter(frames))).unwrap()
    }

    /// A fake apiserver: `answer` maps each request's path and query to a response; the
    /// requests, in order.
    fn client(answer: impl Fn(&str) -> Response<Body> + Send + Sync + 'static) -> (Client, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (answer, log) = (Arc::new(answer), seen.clone());
        let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
            let uri = req.uri().to_string();
            log.lock().unwrap().push(uri.clone());
            let res = answer(&uri);
            async move { Ok::<_, Infallible>(res) }
        });
        (Client::new(svc, "default"), seen)
    }

    async fn first<S: Stream<Item = watcher::Result<Event<Obj<Service>>>> + Unpin>(s: &mut S, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..n {
            let name = |o: &Obj<Service>| o.0.metadata.name.clone().unwrap_or_default();
            out.push(match s.next().await.expect("an event") {
                Ok(Event::Init) => "init".to_owned(),
                Ok(Event::InitApply(o)) => format!("init-apply {}", name(&o)),
                Ok(Event::InitDone) => "init-done".to_owned(),
                Ok(Event::Apply(o)) => format!("apply {}", name(&o)),
                Ok(Event::Delete(o)) => format!("delete {}", name(&o)),
                Err(e) => format!("error {e}"),
            });
        }
        out
    }

    fn watch_of(
        client: Client,
        lists: &Arc<StreamingLists>,
    ) -> impl Stream<Item = watcher::Result<Event<Obj<Service>>>> {
        let ar = api_resource(exodns_sources::Watched::Services, "v1");
        let api = Api::all_with(client.clone(), &ar);
        let path = <Obj<Service> as Resource>::url_path(&ar, None);
        // As `Shared::watcher_config` asks: one answer from the watch cache.
        let mut config = watcher::Config::default().any_semantic();
        config.page_size = None;
        watcher(api, client, path, config, lists.clone())
    }

    const REFUSED_BODY: &str = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid","code":422,
        "message":"sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"}"#;

    /// An apiserver without streaming lists: one 422, then a list read object by object
    /// however its body is cut (metadata after the items here), then the watch from the list's
    /// resourceVersion. The next watch of the same client lists at once.
    #[tokio::test]
    async fn refused_streaming_list_falls_back_to_a_list_read_as_it_arrives() {
        let list = serde_json::to_vec_pretty(&json!({"kind": "ServiceList", "apiVersion": "v1",
            "items": [svc("a", "1"), svc("b", "2"), svc("c", "3")], "metadata": {"resourceVersion": "10"}}))
        .unwrap();
        let body = list.clone();
        let (client, seen) = client(move |uri| {
            if uri.contains("sendInitialEvents=true") {
                response(422, REFUSED_BODY.as_bytes(), 1000)
            } else if uri.contains("watch=true") {
                response(200, line("ADDED", svc("d", "11")).as_bytes(), 5)
            } else {
                response(200, &body, 7)
            }
        });
        let lists = Arc::new(StreamingLists::default());
        let mut w = Box::pin(watch_of(client, &lists));
        let got = first(&mut w, 6).await;
        assert_eq!(got, ["init", "init-apply a", "init-apply b", "init-apply c", "init-done", "apply d"]);
        assert_eq!(lists.served(), Some(false));
        let seen = seen.lock().unwrap().clone();
        assert!(seen[1].contains("resourceVersion=0") && !seen[1].contains("watch"), "{seen:?}");
        assert!(seen[2].contains("watch=true") && seen[2].contains("resourceVersion=10"), "{seen:?}");
        assert!(!seen[2].contains("sendInitialEvents"), "{seen:?}");

        let (client, seen) = client_listing(&list);
        let mut w = Box::pin(watch_of(client, &lists));
        assert_eq!(first(&mut w, 2).await, ["init", "init-apply a"]);
        assert!(!seen.lock().unwrap()[0].contains("watch"));
    }

    fn client_listing(list: &[u8]) -> (Client, Arc<Mutex<Vec<String>>>) {
        let list = list.to_vec();
        client(move |_| response(200, &list, 4096))
    }

    /// A list body that ends early or is not a list is the list's error; the next attempt
    /// starts over with `Init`.
    #[tokio::test]
    async fn a_broken_list_is_an_initial_list_error() {
        let lists = Arc::new(StreamingLists::default());
        lists.set(REFUSED);
        for (body, why) in [
            (&br#"{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"}},{"metad"#[..], "ended early"),
            (&br#"[{"metadata":{}}]"#[..], "not a JSON list"),
            (&br#"{"items":[{"metadata":{"name":7}}]}"#[..], "invalid type"),
        ] {
            let (client, _) = client_listing(body);
            let mut w = Box::pin(watch_of(client, &lists));
            let mut got = Vec::new();
            while !got.last().is_some_and(|e: &String| e.starts_with("error")) {
                got.extend(first(&mut w, 1).await);
            }
            got.extend(first(&mut w, 1).await);
            assert!(got[..got.len() - 2].iter().all(|e| e == "init" || e == "init-apply a"), "{got:?}");
            let err = &got[got.len() - 2];
            assert!(err.starts_with("error failed to perform initial object list") && err.contains(why), "{got:?}");
            assert_eq!(got[got.len() - 1], "init");
        }
    }

    /// An apiserver with streaming lists: the objects up to the bookmark that ends them, then
    /// the same watch goes on; no list request.
    #[tokio::test]
    async fn served_streaming_list() {
        let bookmark = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"resourceVersion": "20",
            "annotations": {"k8s.io/initial-events-end": "true"}}});
        let body = [
            line("ADDED", svc("a", "1")),
            line("ADDED", svc("b", "2")),
            line("BOOKMARK", bookmark),
            line("MODIFIED", svc("a", "21")),
        ]
        .concat();
        let (client, seen) = client(move |_| response(200, body.as_bytes(), 9));
        let lists = Arc::new(StreamingLists::default());
        let mut w = Box::pin(watch_of(client, &lists));
        assert_eq!(first(&mut w, 5).await, ["init", "init-apply a", "init-apply b", "init-done", "apply a"]);
        assert_eq!(lists.served(), Some(true));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("sendInitialEvents=true") && seen[0].contains("resourceVersionMatch=NotOlderThan"));
    }
}
