//! Leader election on a `coordination.k8s.io/v1` Lease, with a write fence.
//!
//! Upstream ExternalDNS has no leader election (its chart refuses more than one replica). exodns
//! runs any number of replicas: all keep their caches warm, one writes. We do not use
//! kube-lease-manager's automatic mode because, when the apiserver becomes unreachable, it keeps
//! retrying without ever reporting that leadership is lost, so a partitioned leader could keep
//! writing after another replica took over. Here the leader holds a *fence*: the instant until
//! which its last successful renewal lets it write. It is set to the start of that renewal plus
//! the renew deadline; a candidate takes over only after it has seen the same renew time for a
//! whole lease duration, measured on its own clock from when it first saw it. Since the renewal
//! started before the candidate could see it and the renew deadline is shorter than the lease
//! duration, the old leader stops writing before the new one starts, whatever the clocks say;
//! the difference between the two durations is the time a write already under way has to finish.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::KubeClient;
use crate::error::KubeError;

/// `--leader-election-*` settings (client-go's defaults).
#[derive(Debug, Clone)]
pub struct LeaderSettings {
    pub lease_name: String,
    pub namespace: String,
    /// Who we are in `holderIdentity` (the Pod name, plus a random suffix).
    pub identity: String,
    /// How long others wait, after the last renewal they saw, before taking over.
    pub lease_duration: Duration,
    /// How long after the start of its last successful renewal the leader may still write.
    pub renew_deadline: Duration,
    /// Time between attempts to acquire or renew.
    pub retry_period: Duration,
}

impl LeaderSettings {
    pub fn new(lease_name: &str, namespace: &str, identity: &str) -> Self {
        LeaderSettings {
            lease_name: lease_name.to_owned(),
            namespace: namespace.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    pub fn validate(&self) -> Result<(), KubeError> {
        let bad = |setting, message: &str| Err(KubeError::Config { setting, message: message.to_owned() });
        if self.lease_name.is_empty() {
            return bad("--leader-election-lease-name", "must not be empty");
        }
        if self.renew_deadline >= self.lease_duration {
            return bad("--leader-election-renew-deadline", "must be shorter than --leader-election-lease-duration");
        }
        if self.retry_period >= self.renew_deadline {
            return bad("--leader-election-retry-period", "must be shorter than --leader-election-renew-deadline");
        }
        if self.lease_duration.as_secs() < 1 || self.lease_duration.as_secs() > i32::MAX as u64 {
            return bad("--leader-election-lease-duration", "must be at least one second");
        }
        Ok(())
    }
}

/// The instant until which this replica may write. Shared with the controller's `Syncer`.
#[derive(Debug, Default)]
pub struct Fence {
    until: Mutex<Option<Instant>>,
}

impl Fence {
    fn set(&self, until: Option<Instant>) {
        *self.until.lock().unwrap_or_else(|p| p.into_inner()) = until;
    }

    fn until(&self) -> Option<Instant> {
        *self.until.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_open(&self) -> bool {
        self.until().is_some_and(|t| Instant::now() < t)
    }
}

/// What the election loop hands out: a leader flag to watch, and the fence.
pub struct Leadership {
    pub is_leader: watch::Receiver<bool>,
    pub fence: Arc<Fence>,
    pub task: tokio::task::JoinHandle<()>,
}

/// The renew time and holder we last saw on someone else's lease, and when we first saw them.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    holder: String,
    renew: Option<Timestamp>,
    duration: Duration,
    since: Instant,
}

pub struct LeaderElector {
    api: Api<Lease>,
    settings: LeaderSettings,
    observed: Option<Observed>,
}

enum Attempt {
    /// We hold the lease; the renewal started at this instant.
    Held(Instant),
    /// Someone else holds it.
    Other(String),
}

impl LeaderElector {
    pub fn new(client: &KubeClient, settings: LeaderSettings) -> Result<Self, KubeError> {
        settings.validate()?;
        let api = Api::namespaced(client.client().clone(), &settings.namespace);
        Ok(LeaderElector { api, settings, observed: None })
    }

    /// Runs the election until the returned task is aborted or `shutdown` resolves, when the
    /// lease is released if held.
    pub fn spawn(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Leadership {
        let (tx, is_leader) = watch::channel(false);
        let fence = Arc::new(Fence::default());
        let task = tokio::spawn(self.run(tx, fence.clone(), shutdown));
        Leadership { is_leader, fence, task }
    }

    async fn run(
        mut self,
        tx: watch::Sender<bool>,
        fence: Arc<Fence>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut held_until: Option<Instant> = None;
        loop {
            match self.attempt().await {
                Ok(Attempt::Held(started)) => {
                    let until = started + self.settings.renew_deadline;
                    held_until = Some(until);
                    fence.set(Some(until));
                    if !*tx.borrow() {
                        info!(lease = %self.settings.lease_name, identity = %self.settings.identity, "acquired the leader lease");
                    }
                    tx.send_if_modified(|v| !std::mem::replace(v, true));
                }
                Ok(Attempt::Other(holder)) => {
                    if held_until.take().is_some() {
                        warn!(holder, "lost the leader lease");
                    }
                    fence.set(None);
                    tx.send_if_modified(|v| std::mem::replace(v, false));
                }
                Err(e) => {
                    debug!("leader election: {e}");
                    if held_until.is_some_and(|t| Instant::now() >= t) {
                        warn!("could not renew the leader lease in time ({e}); stopping writes");
                        held_until = None;
                        fence.set(None);
                        tx.send_if_modified(|v| std::mem::replace(v, false));
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.retry_period) => {}
                _ = &mut shutdown => {
                    fence.set(None);
                    let _ = tx.send(false);
                    self.release().await;
                    return;
                }
            }
        }
    }

    fn now() -> MicroTime {
        MicroTime(Timestamp::now())
    }

    async fn attempt(&mut self) -> Result<Attempt, KubeError> {
        let started = Instant::now();
        let s = &self.settings;
        let Some(mut lease) = self.api.get_opt(&s.lease_name).await.map_err(|e| KubeError::from_kube(&e))? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(s.lease_name.clone()),
                    namespace: Some(s.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(s.identity.clone()),
                    lease_duration_seconds: Some(s.lease_duration.as_secs() as i32),
                    acquire_time: Some(Self::now()),
                    renew_time: Some(Self::now()),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Held(started)),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::Other(String::new())),
                Err(e) => Err(KubeError::from_kube(&e)),
            };
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder != s.identity {
            let observed = Observed {
                holder: holder.clone(),
                renew: spec.renew_time.as_ref().map(|t| t.0),
                duration: Duration::from_secs(spec.lease_duration_seconds.unwrap_or(0).max(0) as u64),
                since: started,
            };
            // Time runs from when we first saw this holder with this renew time, on our clock.
            let seen = match &self.observed {
                Some(o)
                    if o.holder == observed.holder && o.renew == observed.renew && o.duration == observed.duration =>
                {
                    o.since
                }
                _ => {
                    self.observed = Some(observed.clone());
                    started
                }
            };
            let free = holder.is_empty() || started >= seen + observed.duration;
            if !free {
                return Ok(Attempt::Other(holder));
            }
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            spec.acquire_time = Some(Self::now());
            info!(previous = %holder, "the leader lease is free or expired; taking it");
        }
        spec.holder_identity = Some(s.identity.clone());
        spec.lease_duration_seconds = Some(s.lease_duration.as_secs() as i32);
        spec.renew_time = Some(Self::now());
        // `replace` sends the resourceVersion we read: if anyone wrote in between, it fails.
        match self.api.replace(&s.lease_name, &PostParams::default(), &lease).await {
            Ok(_) => {
                self.observed = None;
                Ok(Attempt::Held(started))
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::Other(holder)),
            Err(e) => Err(KubeError::from_kube(&e)),
        }
    }

    /// Gives the lease up on shutdown so that another replica takes over at once.
    async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.settings.lease_name).await else { return };
        let Some(spec) = lease.spec.as_mut() else { return };
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(Self::now());
        match self.api.replace(&self.settings.lease_name, &PostParams::default(), &lease).await {
            Ok(_) => info!("released the leader lease"),
            Err(e) => warn!("could not release the leader lease: {}", KubeError::from_kube(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_must_leave_room_for_a_write() {
        let mut s = LeaderSettings::new("exodns", "default", "me");
        assert!(s.validate().is_ok());
        s.renew_deadline = s.lease_duration;
        assert!(s.validate().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn fence_closes_at_its_deadline() {
        let f = Fence::default();
        assert!(!f.is_open());
        f.set(Some(Instant::now() + Duration::from_secs(10)));
        assert!(f.is_open());
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!f.is_open());
    }
}
