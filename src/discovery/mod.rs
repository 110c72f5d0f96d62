//! Finding cameras. Each *source* reports the cameras it can see; the
//! runner ([`run`], with a [`Tracker`]) turns its reports into [`DiscoveryEvent`]s for the
//! supervisor: `Found` for a new camera, `Updated` when a known camera's address
//! or credentials changed, `Lost` when an authoritative source (the config, a
//! cloud device list) no longer lists it.
//!
//! Sources: the configured cameras ([`configured`]), the demo-mode probe
//! ([`demo_probe`], `discovery.demo_mode_hosts`), the PPPP LAN search
//! ([`pppp_lan`]), the Wyze account's camera list ([`wyze_cloud`]) and the
//! TUTK LAN search for Wyze cameras known by UID ([`tutk_lan`]). Every source runs at start, every
//! `discovery.interval_s` and on `bridge/set/discover`; `cam2mqtt discover`
//! runs them once and prints what they found.
//!
//! A camera that left its protocol (a demo-mode camera that joined Wi-Fi) is
//! *forgotten* on the supervisor's request, so the next scan reports it again
//! when it answers.

pub mod configured;
pub mod demo_probe;
pub mod pppp_lan;
pub mod probe;
pub mod tutk_lan;
pub mod wyze_cloud;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bus::ScanReport;
use crate::io::SocketFactory;
use crate::model::{CameraCommand, CameraId, CameraInfo, CommandError, CommandKind};
use crate::proto::SessionFactory;

/// Everything needed to run one camera.
#[derive(Debug, Clone)]
pub struct CameraSpec {
    /// Identity and capabilities.
    pub info: CameraInfo,
    /// Snapshot interval from the config, in seconds (0 = on demand only).
    pub snapshot_interval_s: u32,
    /// Builds the protocol session and names its sockets.
    pub session: Arc<dyn SessionFactory>,
    /// What must change for the camera's session to restart (address, ports,
    /// credentials digest); never holds a secret in clear.
    pub fingerprint: String,
    /// Commands carried out without the session (through a cloud), if any.
    pub off_session: Option<Arc<dyn OffSession>>,
}

/// What an [`OffSession`] command returns: a future the camera task awaits.
pub type OffSessionFuture = Pin<Box<dyn Future<Output = Result<(), CommandError>> + Send>>;

/// Commands a camera's bridge carries out without the camera's session: a
/// Wyze camera's reboot goes through the account's cloud (no local reboot
/// command is documented for TUTK, `wyze.md` §2.1). The camera task runs
/// them whether or not a session is up, and reports each on the event topic
/// like any command.
pub trait OffSession: Send + Sync + fmt::Debug {
    /// The commands it takes (the session never sees these).
    fn kinds(&self) -> Vec<CommandKind>;
    /// Carries out `command` (one of [`OffSession::kinds`]).
    fn run(&self, command: CameraCommand) -> OffSessionFuture;
}

/// What discovery tells the supervisor.
#[derive(Debug, Clone)]
pub enum DiscoveryEvent {
    /// A camera to run (a running one is left alone unless it waits for discovery).
    Found(Box<CameraSpec>),
    /// A known camera's address or credentials changed: restart its session.
    Updated(Box<CameraSpec>),
    /// A camera gone for good: stop it and remove its entities.
    Lost(CameraId),
    /// A scan finished (after its other events).
    Scanned(ScanReport),
}

/// One camera as a source reported it.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The camera.
    pub spec: CameraSpec,
    /// Which source saw it (`config`, `demo_probe`, …).
    pub source: &'static str,
    /// Protocol details worth printing (PPPP: key, dialect).
    pub notes: Vec<(&'static str, String)>,
}

/// A printable summary of a [`Discovered`] camera (`cam2mqtt discover --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// `demo`, `pppp` or `tutk`.
    pub protocol: String,
    /// Topic id.
    pub id: String,
    /// UID, MAC or derived identity.
    pub uid: String,
    /// Address, when known.
    pub address: Option<String>,
    /// Model.
    pub model: String,
    /// Which source saw it.
    pub source: String,
    /// Protocol details (PPPP: key, dialect).
    #[serde(flatten)]
    pub notes: std::collections::BTreeMap<String, String>,
}

impl From<&Discovered> for Listing {
    fn from(d: &Discovered) -> Self {
        let info = &d.spec.info;
        Self {
            protocol: info.protocol.to_string(),
            id: info.id.to_string(),
            uid: info.uid.clone(),
            address: info.address().map(|a| a.to_string()),
            model: info.model.clone(),
            source: d.source.to_string(),
            notes: d
                .notes
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        }
    }
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<6} {:<28} {:<24} {:<22} {:<18} {}",
            self.protocol,
            self.id,
            self.uid,
            self.address.as_deref().unwrap_or("-"),
            self.model,
            self.source
        )?;
        for (k, v) in &self.notes {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// The sources of one bridge.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Cameras named in the config: always there (authoritative).
    pub configured: Vec<CameraSpec>,
    /// Demo-mode hosts to probe.
    pub demo_probe: demo_probe::DemoProbe,
    /// PPPP LAN search (and the configured PPPP cameras).
    pub pppp: Option<pppp_lan::PpppLan>,
    /// The Wyze account's camera list, when `[wyze]` names an account.
    pub wyze: Option<wyze_cloud::WyzeCloud>,
    /// The TUTK LAN search for configured Wyze cameras without a host.
    pub tutk_lan: tutk_lan::TutkLan,
}

impl Sources {
    /// Runs every source once. `skip` names cameras already running, which
    /// probes must not disturb (a demo-mode probe would steal their stream).
    pub async fn scan<F: SocketFactory>(
        &self,
        factory: &F,
        timeout: Duration,
        skip: &HashSet<CameraId>,
    ) -> Vec<Discovered> {
        let mut found: Vec<Discovered> = self
            .configured
            .iter()
            .map(|spec| Discovered {
                spec: spec.clone(),
                source: "config",
                notes: Vec::new(),
            })
            .collect();
        if !self.tutk_lan.is_empty() {
            let specs = found.iter_mut().map(|d| &mut d.spec);
            self.tutk_lan.refine(factory, timeout, skip, specs).await;
        }
        let configured: HashSet<&CameraId> = self.configured.iter().map(|s| &s.info.id).collect();
        let mut skip = skip.clone();
        skip.extend(configured.iter().map(|id| (*id).clone()));
        found.extend(self.demo_probe.scan(factory, timeout, &skip).await);
        if let Some(pppp) = &self.pppp {
            found.extend(pppp.scan(factory, timeout).await);
        }
        if let Some(wyze) = &self.wyze {
            // A camera also in the config keeps its configured settings.
            let cloud = wyze.scan().await;
            found.extend(
                cloud
                    .into_iter()
                    .filter(|d| !configured.contains(&d.spec.info.id)),
            );
        }
        found
    }

    /// Every camera the config names (without scanning).
    pub fn configured_specs(&self) -> Vec<CameraSpec> {
        let mut all: Vec<CameraSpec> = self.configured.clone();
        all.extend(self.demo_probe.targets().iter().cloned());
        if let Some(p) = &self.pppp {
            all.extend(p.configured_specs());
        }
        all
    }
}

/// Turns source reports into events: remembers what it reported.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Fingerprints of the cameras reported, by id.
    known: HashMap<CameraId, String>,
    /// Cameras the authoritative sources listed last time.
    authoritative: HashSet<CameraId>,
}

impl Tracker {
    /// The events for one scan's results. Cameras from the `config` source
    /// and the Wyze account's list (fresh or cached) are authoritative: one
    /// missing from a later scan is `Lost`.
    pub fn diff(&mut self, found: Vec<Discovered>) -> Vec<DiscoveryEvent> {
        let mut events = Vec::new();
        let mut listed = HashSet::new();
        for d in found {
            let id = d.spec.info.id.clone();
            if matches!(
                d.source,
                "config" | wyze_cloud::SOURCE_CLOUD | wyze_cloud::SOURCE_CACHE
            ) {
                listed.insert(id.clone());
            }
            match self.known.get(&id) {
                None => {
                    self.known.insert(id, d.spec.fingerprint.clone());
                    events.push(DiscoveryEvent::Found(Box::new(d.spec)));
                }
                Some(fp) if *fp != d.spec.fingerprint => {
                    self.known.insert(id, d.spec.fingerprint.clone());
                    events.push(DiscoveryEvent::Updated(Box::new(d.spec)));
                }
                // Unchanged; `Found` again lets a camera waiting for discovery restart.
                Some(_) => events.push(DiscoveryEvent::Found(Box::new(d.spec))),
            }
        }
        for gone in self.authoritative.difference(&listed) {
            self.known.remove(gone);
            events.push(DiscoveryEvent::Lost(gone.clone()));
        }
        self.authoritative = listed;
        events
    }

    /// Forgets `id`, so probes look for it again.
    pub fn forget(&mut self, id: &CameraId) {
        self.known.remove(id);
    }

    /// Cameras reported and not forgotten.
    pub fn known(&self) -> HashSet<CameraId> {
        self.known.keys().cloned().collect()
    }
}

/// How long one scan waits for probe answers in the daemon.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the sources at start, every `interval` and whenever `rescan` fires,
/// until `cancel`; `forget` takes ids of cameras to look for again.
pub async fn run<F: SocketFactory>(
    sources: Sources,
    factory: Arc<F>,
    interval: Duration,
    events: mpsc::Sender<DiscoveryEvent>,
    mut rescan: mpsc::Receiver<()>,
    mut forget: mpsc::Receiver<CameraId>,
    cancel: CancellationToken,
) {
    let mut tracker = Tracker::default();
    loop {
        let running = tracker.known();
        let found = tokio::select! {
            () = cancel.cancelled() => return,
            found = sources.scan(&*factory, SCAN_TIMEOUT, &running) => found,
        };
        let report = ScanReport { found: found.len() };
        for ev in tracker.diff(found) {
            if events.send(ev).await.is_err() {
                return;
            }
        }
        if events.send(DiscoveryEvent::Scanned(report)).await.is_err() {
            return;
        }
        let next = crate::io::clock::now() + interval;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                r = rescan.recv() => {
                    if r.is_none() {
                        return;
                    }
                    tracing::info!("discovery requested");
                    break;
                }
                Some(id) = forget.recv() => {
                    tracing::debug!(camera = %id, "looking for the camera again at the next scan");
                    tracker.forget(&id);
                }
                () = crate::io::clock::sleep_until(Some(next)), if !interval.is_zero() => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Capability, Protocol, Reach};
    use crate::proto::demo::DemoConfig;

    fn spec(id: &str, port: u16) -> Discovered {
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        let cfg = DemoConfig::new(addr, addr, addr, |_| true);
        Discovered {
            spec: CameraSpec {
                info: CameraInfo {
                    id: CameraId::parse(id).unwrap(),
                    uid: id.into(),
                    name: id.into(),
                    protocol: Protocol::Demo,
                    reach: Reach::Host(addr),
                    model: "A9".into(),
                    firmware: None,
                    mac: None,
                    resolutions: vec![],
                    capabilities: vec![Capability::Snapshot],
                },
                snapshot_interval_s: 10,
                fingerprint: format!("{cfg:?}"),
                session: Arc::new(cfg),
                off_session: None,
            },
            source: "config",
            notes: vec![],
        }
    }

    #[test]
    fn new_cameras_are_found_changed_ones_updated_and_missing_ones_lost() {
        let mut t = Tracker::default();
        let ev = t.diff(vec![spec("a", 1), spec("b", 2)]);
        assert!(matches!(
            &ev[..],
            [DiscoveryEvent::Found(_), DiscoveryEvent::Found(_)]
        ));
        let ev = t.diff(vec![spec("a", 1), spec("b", 3)]);
        assert!(matches!(&ev[0], DiscoveryEvent::Found(s) if s.info.id.as_str() == "a"));
        assert!(matches!(&ev[1], DiscoveryEvent::Updated(s) if s.info.id.as_str() == "b"));
        let ev = t.diff(vec![spec("a", 1)]);
        assert!(matches!(&ev[1], DiscoveryEvent::Lost(id) if id.as_str() == "b"));
        assert_eq!(t.known().len(), 1);
        t.forget(&CameraId::parse("a").unwrap());
        assert!(t.known().is_empty());
    }
}
