//! A TUTK camera's settings ([`TutkConfig`], the [`SessionFactory`] of its
//! sessions), what a camera's sessions remember across restarts
//! ([`Memory`]), and the per-model facts the session needs (`wyze.md` §1.4,
//! §1.7).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::super::auth;
use super::super::dtls::CipherSuite;
use super::super::iotc::WireUid;
use super::super::kcmd::FrameSize;
use super::super::link::{Link, Transport, TransportPolicy};
use super::super::transcode::TailPolicy;
use super::TutkSession;
use crate::model::{CameraCommand, CommandError, Protocol};
use crate::proto::{Session, SessionFactory, SocketSpec};
use crate::secret::Secret;

/// Models whose firmware takes the older K10052 resolution command (`wyze.md` §1.7).
pub(super) const K10052_MODELS: &[&str] = &["WYZEDB3", "WVOD1", "HL_WCO2", "WYZEC1"];
/// Models that stream 2K (`wyze.md` §1.7).
const QHD_MODELS: &[&str] = &["HL_CAM3P", "HL_PANP", "HL_CAM4", "HL_DB2", "HL_CFL2"];
/// Battery cameras that need K10000's wake flag (`wyze.md` §1.4).
pub(super) const WAKE_MODELS: &[&str] = &["WVOD1", "HL_WCO2"];

/// How to get a keyframe after a loss, instead of waiting for the next GOP.
/// `wyze.md` §6 suggests re-sending K10056 (the SDK-based bridge does so when
/// the frame size is off) or `IOTypeReceiveFirstFrame`; neither is confirmed
/// on a real camera, so it is a per-camera setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyframeRequest {
    /// Re-send the resolution command with the current size (default).
    #[default]
    ResendResolution,
    /// Wait for the camera's next keyframe.
    Off,
}

/// What a session remembers across restarts of the same camera (in memory).
#[derive(Debug, Default)]
pub struct Memory {
    /// The transport that answered last time: tried first.
    pub transport: Option<Transport>,
    /// The resolution set from Home Assistant, applied again after a reconnect.
    pub resolution: Option<FrameSize>,
    /// The model the camera reported (K10003), when the config named none.
    pub model: Option<String>,
    /// Where a camera found by search answered last: the next session
    /// starts there (DHCP may still move it; the search goes on beside).
    pub address: Option<SocketAddr>,
}

/// A TUTK camera's settings: the [`SessionFactory`] of its sessions.
#[derive(Debug, Clone)]
pub struct TutkConfig {
    /// UID as configured (20 characters).
    pub uid: String,
    /// The camera's ENR: DTLS PSK, AV password and K-auth key.
    pub enr: Secret,
    /// The camera's MAC (for the AuthKey).
    pub mac: String,
    /// For a camera behind a base station: the parent's ENR and MAC, used for
    /// the AuthKey and appended to the ENR for K-auth (`wyze.md` §3).
    pub parent: Option<(Secret, String)>,
    /// Where the camera listens (for a camera known only by UID: a guess,
    /// the broadcast address, with [`TutkConfig::search`] set).
    pub peer: SocketAddr,
    /// Where else the stage-1 Disco goes while connecting, once a second
    /// (the broadcast address and `discovery.unicast_hosts`, port 32761);
    /// empty for a camera at a fixed `host`. See [`super::link`].
    pub search: Vec<SocketAddr>,
    /// Model from the cloud list (`HL_CAM4`, …), if known.
    pub model: Option<String>,
    /// TransCode tail permutation.
    pub tail: TailPolicy,
    /// Which transports to try.
    pub transport: TransportPolicy,
    /// How to ask for a keyframe after a loss.
    pub keyframe: KeyframeRequest,
    /// DTLS suites to offer.
    pub suites: Vec<CipherSuite>,
    /// No datagram for this long ends the session.
    pub silence: Duration,
    /// Remembered across restarts.
    pub memory: Arc<Mutex<Memory>>,
}

impl TutkConfig {
    /// Defaults for a camera at `peer`.
    pub fn new(uid: &str, enr: Secret, mac: &str, peer: SocketAddr) -> Self {
        Self {
            uid: uid.to_string(),
            enr,
            mac: mac.to_string(),
            parent: None,
            peer,
            search: Vec::new(),
            model: None,
            tail: TailPolicy::default(),
            transport: TransportPolicy::default(),
            keyframe: KeyframeRequest::default(),
            suites: CipherSuite::ALL.to_vec(),
            silence: Duration::from_secs(5),
            memory: Arc::default(),
        }
    }

    /// The IOTC link a session (or a LAN probe) starts with: to where the
    /// camera answered last when it is looked for by UID, else to `peer`;
    /// searching `search` too when that is set.
    pub fn link(&self, sid: [u8; 8], policy: TransportPolicy) -> Link {
        let wire_uid = WireUid::new(&self.uid).unwrap_or(WireUid([0; 20]));
        // A camera behind a base station: the parent's keys make the AuthKey.
        let (enr, mac) = self
            .parent
            .as_ref()
            .map_or((&self.enr, &self.mac), |(e, m)| (e, m));
        let authkey = auth::authkey(enr, mac);
        let remembered = self.memory.lock().ok().and_then(|m| m.address);
        let peer = match remembered {
            Some(a) if !self.search.is_empty() => a,
            _ => self.peer,
        };
        let mut link = Link::new(wire_uid, authkey, sid, peer, self.tail, policy);
        if !self.search.is_empty() {
            let mut targets = self.search.clone();
            targets.push(self.peer);
            link.set_search(targets);
        }
        link
    }

    /// Records where the camera answered (a LAN probe found it): the next
    /// session starts there.
    pub fn remember_address(&self, address: SocketAddr) {
        if let Ok(mut m) = self.memory.lock() {
            m.address = Some(address);
        }
    }

    /// The model: configured, or as the camera reported it last time.
    pub fn model(&self) -> Option<String> {
        self.model
            .clone()
            .or_else(|| self.memory.lock().ok().and_then(|m| m.model.clone()))
    }

    pub(super) fn model_is(&self, list: &[&str]) -> bool {
        self.model().is_some_and(|m| list.contains(&m.as_str()))
    }

    /// The resolutions this model offers, as `WIDTHxHEIGHT`.
    pub fn resolutions(&self) -> Vec<FrameSize> {
        FrameSize::ALL
            .into_iter()
            .filter(|s| *s != FrameSize::Qhd2k || self.model_is(QHD_MODELS))
            .collect()
    }
}

/// `WIDTHxHEIGHT` of a frame size.
pub fn resolution_name(s: FrameSize) -> String {
    let (w, h) = s.dimensions();
    format!("{w}x{h}")
}

impl SessionFactory for TutkConfig {
    fn protocol(&self) -> Protocol {
        Protocol::Tutk
    }

    fn sockets(&self) -> Vec<SocketSpec> {
        let mut spec = SocketSpec::any_for(self.peer);
        // A search may go to a broadcast address.
        spec.broadcast = !self.search.is_empty();
        vec![spec]
    }

    fn build(&self, wall: SystemTime) -> Box<dyn Session> {
        Box::new(TutkSession::new(self.clone(), wall))
    }

    fn check(&self, command: &CameraCommand) -> Result<(), CommandError> {
        match command {
            CameraCommand::SetResolution(r) => self.parse_resolution(r).map(|_| ()),
            _ => Ok(()),
        }
    }
}

impl TutkConfig {
    pub(super) fn parse_resolution(&self, r: &str) -> Result<FrameSize, CommandError> {
        let sizes = self.resolutions();
        sizes
            .iter()
            .copied()
            .find(|s| resolution_name(*s) == r)
            .ok_or_else(|| CommandError::BadValue {
                command: "resolution",
                reason: format!(
                    "{r:?}; allowed: {}",
                    sizes
                        .iter()
                        .map(|s| resolution_name(*s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }
}
