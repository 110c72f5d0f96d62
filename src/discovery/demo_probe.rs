//! The demo-mode probe: asks each `discovery.demo_mode_hosts` camera for video
//! (`42 76` to its video port, resent every [`RESEND`]) and reports the ones
//! whose video port answers with a well-formed video datagram.
//!
//! A demo-mode camera streams to whoever asked last, so the bridge never probes
//! a camera it is already running (the runner passes them as `skip`); `cam2mqtt
//! discover` while the bridge runs does take the stream over for a moment, and
//! the bridge's session then restarts after its silence timeout.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use super::probe::{self, Probe};
use super::{CameraSpec, Discovered};
use crate::io::SocketFactory;
use crate::model::CameraId;
use crate::proto::demo::wire::{VideoDatagram, START_VIDEO};
use crate::proto::{SocketIx, SocketSpec, Transmit};

/// How often the start request is resent while a camera has not answered.
pub const RESEND: Duration = Duration::from_millis(500);

/// The demo-mode hosts to probe.
#[derive(Debug, Clone, Default)]
pub struct DemoProbe {
    targets: Vec<CameraSpec>,
}

impl DemoProbe {
    /// Probes `targets` (specs built from `demo_mode_hosts`).
    pub fn new(targets: Vec<CameraSpec>) -> Self {
        Self { targets }
    }

    /// The hosts it probes.
    pub fn targets(&self) -> &[CameraSpec] {
        &self.targets
    }

    /// Probes every target not in `skip` for at most `timeout`; returns those
    /// that answered. A socket failure is logged and ends the scan early.
    pub async fn scan<F: SocketFactory>(
        &self,
        factory: &F,
        timeout: Duration,
        skip: &HashSet<CameraId>,
    ) -> Vec<Discovered> {
        let pending: HashMap<SocketAddr, &CameraSpec> = self
            .targets
            .iter()
            .filter(|s| !skip.contains(&s.info.id))
            .filter_map(|s| s.info.address().map(|a| (a, s)))
            .collect();
        if pending.is_empty() {
            return Vec::new();
        }
        let Some(first) = pending.keys().next().copied() else {
            return Vec::new();
        };
        let mut probe = DemoRound {
            pending,
            found: Vec::new(),
        };
        let spec = SocketSpec::any_for(first);
        probe::run(
            factory,
            spec,
            timeout,
            RESEND,
            "demo-mode probe",
            &mut probe,
        )
        .await;
        let DemoRound { pending, found } = probe;
        for spec in pending.values() {
            tracing::debug!(camera = %spec.info.id, "demo-mode host did not answer the probe");
        }
        found
    }
}

/// One demo-mode probe: the hosts still to answer, the cameras that did.
struct DemoRound<'a> {
    pending: HashMap<SocketAddr, &'a CameraSpec>,
    found: Vec<Discovered>,
}

impl Probe for DemoRound<'_> {
    fn round(&mut self) -> Vec<Transmit> {
        self.pending
            .keys()
            .map(|dst| Transmit {
                socket: SocketIx(0),
                dst: *dst,
                payload: START_VIDEO.to_vec(),
            })
            .collect()
    }

    fn answer(&mut self, from: SocketAddr, payload: &[u8]) -> bool {
        if VideoDatagram::decode(payload).is_ok() {
            if let Some(spec) = self.pending.remove(&from) {
                tracing::debug!(camera = %spec.info.id, %from, "demo-mode camera answered");
                self.found.push(Discovered {
                    spec: spec.clone(),
                    source: "demo_probe",
                    notes: Vec::new(),
                });
            }
        }
        self.pending.is_empty()
    }
}
