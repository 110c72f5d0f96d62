//! The TUTK LAN search for Wyze cameras known only by UID (a `[[cameras]]`
//! entry with `uid`, `enr` and `mac` but no `host`): the stage-1 Disco of
//! both IOTC transports (TransCode and CC51, as a session starts) to the
//! broadcast address and each `discovery.unicast_hosts` entry on UDP 32761
//! (`discovery.tutk_lan_search`). A camera answers only a Disco that carries
//! its UID and AuthKey (derived from its ENR and MAC), so only cameras whose
//! keys we hold can be found, and an answer proves it is the camera: a
//! TransCode answer names the UID, a CC51 answer carries an HMAC keyed with
//! it. The probe stops there (no session request), so it costs the camera
//! nothing.
//!
//! Such cameras are always reported (source `config`); the address found is
//! the listing's, and where the next session starts. The session looks for
//! the camera itself too (see [`crate::proto::tutk::link`]), so a camera that
//! moves while it runs is found again without a rescan.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::probe::{self, Probe};
use super::CameraSpec;
use crate::io::SocketFactory;
use crate::model::{CameraId, Reach};
use crate::proto::tutk::link::{Inbound, Link, TransportPolicy};
use crate::proto::tutk::session::TutkConfig;
use crate::proto::{SocketIx, SocketSpec, Transmit};

/// How often the Discos are repeated within one probe.
const RESEND: Duration = Duration::from_millis(500);

/// The configured TUTK cameras without a host.
#[derive(Debug, Clone, Default)]
pub struct TutkLan {
    cameras: Vec<(CameraId, TutkConfig)>,
}

impl TutkLan {
    /// A probe for `cameras` (their sessions' settings, which carry the
    /// search targets and share the memory the session starts from).
    pub fn new(cameras: Vec<(CameraId, TutkConfig)>) -> Self {
        Self { cameras }
    }

    /// Whether there is anything to look for.
    pub fn is_empty(&self) -> bool {
        self.cameras.is_empty()
    }

    /// Looks for every camera not in `skip` (running ones: a probe would not
    /// disturb their session, but it has nothing to learn) for up to
    /// `timeout`, and writes the address found into `specs`' listings; the
    /// next session of a camera found starts at that address.
    pub async fn refine<F: SocketFactory>(
        &self,
        factory: &F,
        timeout: Duration,
        skip: &HashSet<CameraId>,
        specs: impl Iterator<Item = &mut CameraSpec>,
    ) {
        let wanted: Vec<&(CameraId, TutkConfig)> = self
            .cameras
            .iter()
            .filter(|(id, _)| !skip.contains(id))
            .collect();
        if !wanted.is_empty() {
            for (id, addr) in probe(factory, timeout, &wanted).await {
                if let Some((_, cfg)) = wanted.iter().find(|(i, _)| *i == id) {
                    cfg.remember_address(addr);
                }
            }
        }
        // Every listing shows where its camera answered last (this probe or
        // a session).
        for spec in specs {
            let Some((_, cfg)) = self.cameras.iter().find(|(id, _)| *id == spec.info.id) else {
                continue;
            };
            let address = cfg.memory.lock().ok().and_then(|m| m.address);
            if let (Reach::Uid { last_known, .. }, Some(a)) = (&mut spec.info.reach, address) {
                *last_known = Some(a);
            }
        }
    }
}

/// Sends the cameras' Discos until each answered or `timeout` passed;
/// returns where each one that answered is.
async fn probe<F: SocketFactory>(
    factory: &F,
    timeout: Duration,
    cameras: &[&(CameraId, TutkConfig)],
) -> HashMap<CameraId, SocketAddr> {
    let spec = SocketSpec {
        bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        broadcast: true,
    };
    let mut search = TutkSearch {
        cameras,
        round: 0,
        links: Vec::new(),
        found: HashMap::new(),
    };
    probe::run(
        factory,
        spec,
        timeout,
        RESEND,
        "TUTK LAN search",
        &mut search,
    )
    .await;
    search.found
}

/// One search: the cameras, this round's links, who answered where.
struct TutkSearch<'a> {
    cameras: &'a [&'a (CameraId, TutkConfig)],
    round: u64,
    links: Vec<(CameraId, Link)>,
    found: HashMap<CameraId, SocketAddr>,
}

impl Probe for TutkSearch<'_> {
    /// A fresh link per round and camera not found yet: its first tick
    /// sends to every search target. An answer to an earlier round's Disco
    /// is as good (TransCode answers are told by UID, CC51 ones by their HMAC).
    fn round(&mut self) -> Vec<Transmit> {
        self.round += 1;
        self.links.clear();
        let mut out = Vec::new();
        for (id, cfg) in self.cameras.iter().copied() {
            if self.found.contains_key(id) {
                continue;
            }
            let mut link = cfg.link(self.round.to_le_bytes(), TransportPolicy::Race);
            link.connect_tick();
            while let Some((dst, payload)) = link.poll_transmit() {
                out.push(Transmit {
                    socket: SocketIx(0),
                    dst,
                    payload,
                });
            }
            self.links.push((id.clone(), link));
        }
        out
    }

    fn answer(&mut self, from: SocketAddr, payload: &[u8]) -> bool {
        for (id, link) in &mut self.links {
            if self.found.contains_key(id) {
                continue;
            }
            if matches!(link.handle(from, payload), Inbound::Step | Inbound::Up(_)) {
                tracing::info!(camera = %id, address = %link.peer(), "TUTK camera found on the LAN");
                self.found.insert(id.clone(), link.peer());
            }
        }
        self.found.len() == self.cameras.len()
    }
}
