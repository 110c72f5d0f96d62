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

use super::{CameraSpec, Discovered};
use crate::io::clock;
use crate::io::driver::flush;
use crate::io::socket::recv_any;
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
        let mut pending: HashMap<SocketAddr, &CameraSpec> = self
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
        let socket = match factory.bind(SocketSpec::any_for(first)).await {
            Ok(s) => [s],
            Err(e) => {
                tracing::warn!(error = %e, "demo-mode probe: cannot bind a socket");
                return Vec::new();
            }
        };
        let mut found = Vec::new();
        let deadline = clock::now() + timeout;
        let mut buf = vec![0u8; 2048];
        let mut next = 0;
        while !pending.is_empty() && clock::now() < deadline {
            for dst in pending.keys() {
                let t = Transmit {
                    socket: SocketIx(0),
                    dst: *dst,
                    payload: START_VIDEO.to_vec(),
                };
                flush(&socket, t).await;
            }
            let resend_at = (clock::now() + RESEND).min(deadline);
            loop {
                tokio::select! {
                    r = recv_any(&socket, &mut next, &mut buf) => match r {
                        Ok((_, from, n)) => {
                            let payload = buf.get(..n).unwrap_or(&buf);
                            if VideoDatagram::decode(payload).is_ok() {
                                if let Some(spec) = pending.remove(&from) {
                                    tracing::debug!(camera = %spec.info.id, %from, "demo-mode camera answered");
                                    found.push(Discovered { spec: spec.clone(), source: "demo_probe", notes: Vec::new() });
                                }
                            }
                            if pending.is_empty() { break; }
                        }
                        Err(e) if crate::io::driver::is_transient(&e) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "demo-mode probe: socket failed");
                            return found;
                        }
                    },
                    () = clock::sleep_until(Some(resend_at)) => break,
                }
            }
        }
        for spec in pending.values() {
            tracing::debug!(camera = %spec.info.id, "demo-mode host did not answer the probe");
        }
        found
    }
}
