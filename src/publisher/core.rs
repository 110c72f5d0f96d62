//! The sans-IO publisher: bridge events and MQTT messages in, MQTT publishes,
//! command requests and discovery-record updates out. All topic, retain and
//! Home Assistant behaviour lives here; `publisher/mod.rs` only moves bytes to
//! and from rumqttc.
//!
//! Behaviour (zigbee2mqtt's, per CONTRACT.md):
//! - on connect: the bridge state, then discovery, availability, states and the
//!   last snapshot of every camera (retained, so they survive a broker that lost
//!   them); nothing is queued while disconnected, so nothing is sent twice;
//! - on `homeassistant/status = online`: discovery, then availability and states;
//! - every command gets exactly one `event`, also for unknown cameras and for
//!   `bridge/set/discover`; the camera republishes its state after a success;
//! - `bridge/info` changes are coalesced ([`INFO_DEBOUNCE`]);
//! - stale discovery configs are removed from a record of what this bridge
//!   published ([`DiscoveryRecord`]), never by reading other devices' configs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ha::{DiscoveryMessage, HaContext};
use super::topics::{Route, Topics};
use crate::bus::view::{Applied, Views};
use crate::bus::SessionPhase;
pub use crate::bus::{BridgeEvent, CommandInput, CommandRequest, Request};
use crate::model::{CameraId, CommandError};

/// MQTT delivery guarantee for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qos {
    /// Fire and forget (snapshots: the next one replaces it anyway).
    AtMostOnce,
    /// Delivered at least once (discovery, state, events).
    AtLeastOnce,
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// Retain flag.
    pub retain: bool,
    /// QoS.
    pub qos: Qos,
}

/// The discovery config topics this bridge has published, per camera, kept in
/// the state directory. It is how stale configs are found: a camera that was
/// configured and no longer is gets its recorded topics cleared; a camera whose
/// entities changed (capabilities, discovery format) gets the ones it no longer
/// has cleared. Other devices' configs are never read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryRecord {
    /// Topics by camera id (`bridge` for the bridge device's own).
    pub cameras: BTreeMap<String, RecordEntry>,
}

/// What the record holds for one camera.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordEntry {
    /// True if the camera came from the config file (so its absence from the
    /// config means it is gone); cameras found by LAN search or the cloud are
    /// removed only when their source says so.
    pub configured: bool,
    /// Retained discovery topics published for it.
    pub topics: BTreeSet<String>,
}

/// The record's key for the bridge device.
const BRIDGE_KEY: &str = "bridge";
/// `bridge/info` is published at most this often (changes in between coalesce).
pub const INFO_DEBOUNCE: Duration = Duration::from_millis(250);

/// Settings for [`PublisherCore`].
#[derive(Debug, Clone)]
pub struct PublisherSettings {
    /// Discovery settings and topic builder.
    pub ha: HaContext,
    /// HA's birth topic.
    pub status_topic: String,
    /// Ids of the cameras the config file names (static and demo-mode hosts).
    pub configured: BTreeSet<CameraId>,
}

/// The publisher's state machine.
#[derive(Debug)]
pub struct PublisherCore {
    settings: PublisherSettings,
    /// Every camera as the events described it: what is republished after a
    /// reconnect or Home Assistant's birth.
    cameras: Views,
    connected: bool,
    out: VecDeque<OutboundMessage>,
    requests: VecDeque<Request>,
    /// Commands rejected before reaching a camera, for the logs and tests.
    rejected: u64,
    /// `bridge/set/discover` requests waiting for their scan to finish.
    discover_pending: usize,
    /// `bridge/info` changed; publish it at this time.
    info_due: Option<Instant>,
    /// `None` when there is no state directory (no stale-config removal).
    record: Option<DiscoveryRecord>,
    /// The record changed and should be saved.
    record_dirty: bool,
    /// The record was swept against the config (once, at the first connect).
    swept: bool,
}

impl PublisherCore {
    /// A publisher with no cameras yet; `record` is what earlier runs published
    /// (`None` without a state directory).
    pub fn new(settings: PublisherSettings, record: Option<DiscoveryRecord>) -> Self {
        Self {
            settings,
            cameras: Views::default(),
            connected: false,
            out: VecDeque::new(),
            requests: VecDeque::new(),
            rejected: 0,
            discover_pending: 0,
            info_due: None,
            record,
            record_dirty: false,
            swept: false,
        }
    }

    fn topics(&self) -> &Topics {
        &self.settings.ha.topics
    }

    /// Topic filters to subscribe to after every (re)connect: one for every
    /// command (the bridge's own included) and HA's birth topic; they never overlap.
    pub fn subscriptions(&self) -> Vec<String> {
        vec![
            self.topics().command_filter(),
            self.settings.status_topic.clone(),
        ]
    }

    /// The next time [`PublisherCore::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.info_due
    }

    /// Publishes what came due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.info_due.is_some_and(|t| t <= now) {
            self.info_due = None;
            self.publish_bridge_info();
        }
    }

    /// The last will: `bridge/state = offline`, retained.
    pub fn last_will(&self) -> OutboundMessage {
        msg(
            self.topics().bridge_state(),
            "offline",
            true,
            Qos::AtLeastOnce,
        )
    }

    fn push(&mut self, topic: String, payload: impl Into<Bytes>, retain: bool, qos: Qos) {
        if self.connected {
            self.out.push_back(msg(topic, payload, retain, qos));
        }
    }

    fn push_discovery(&mut self, msgs: Vec<DiscoveryMessage>) {
        for m in msgs {
            self.push(m.topic, m.payload, true, Qos::AtLeastOnce);
        }
    }

    /// Records `topics` as the discovery configs of `key`, clearing the ones it
    /// had before and no longer has.
    fn record_topics(&mut self, key: &str, configured: bool, topics: BTreeSet<String>) {
        let Some(record) = &mut self.record else {
            return;
        };
        let entry = RecordEntry { configured, topics };
        let old = record.cameras.insert(key.to_string(), entry.clone());
        if old.as_ref() != Some(&entry) {
            self.record_dirty = true;
        }
        let stale: Vec<String> = old
            .map(|e| e.topics.difference(&entry.topics).cloned().collect())
            .unwrap_or_default();
        for topic in stale {
            tracing::info!(%topic, "removing a discovery config this bridge no longer publishes");
            self.push(topic, Bytes::new(), true, Qos::AtLeastOnce);
        }
    }

    /// At the first connect: clears the configs of cameras the config file
    /// named before and names no more.
    fn sweep_record(&mut self) {
        if self.swept {
            return;
        }
        self.swept = true;
        let Some(record) = &mut self.record else {
            tracing::info!(
                "no state directory: discovery configs of removed cameras are not cleaned up"
            );
            return;
        };
        let gone: Vec<(String, RecordEntry)> = record
            .cameras
            .iter()
            .filter(|(id, e)| {
                e.configured
                    && id.as_str() != BRIDGE_KEY
                    && CameraId::parse(id)
                        .map_or(true, |id| !self.settings.configured.contains(&id))
            })
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect();
        for (id, _) in &gone {
            record.cameras.remove(id);
        }
        if !gone.is_empty() {
            self.record_dirty = true;
        }
        for (id, entry) in gone {
            tracing::info!(camera = %id, "camera no longer configured; removing its entities");
            for topic in entry.topics {
                self.push(topic, Bytes::new(), true, Qos::AtLeastOnce);
            }
            for leaf in ["availability", "state", "snapshot", "last_snapshot"] {
                let topic = self.topics().camera(&id, leaf);
                self.push(topic, Bytes::new(), true, Qos::AtLeastOnce);
            }
        }
    }

    /// The broker accepted our connection (first time or after a reconnect).
    pub fn on_connected(&mut self, _now: Instant) {
        self.connected = true;
        let state = self.topics().bridge_state();
        self.push(state, "online", true, Qos::AtLeastOnce);
        self.republish_all();
        self.sweep_record();
        let ids: Vec<CameraId> = self.cameras.ids().cloned().collect();
        for id in ids {
            self.publish_snapshot(&id);
        }
    }

    /// The connection was lost: nothing is queued until the next connect, which
    /// republishes everything anyway.
    pub fn on_disconnected(&mut self) {
        self.connected = false;
        self.out.clear();
    }

    fn republish_all(&mut self) {
        let bridge = self.settings.ha.bridge_configs();
        let topics = bridge.iter().map(|m| m.topic.clone()).collect();
        self.push_discovery(bridge);
        self.record_topics(BRIDGE_KEY, true, topics);
        let ids: Vec<CameraId> = self.cameras.ids().cloned().collect();
        for id in &ids {
            self.publish_discovery(id);
        }
        for id in &ids {
            self.publish_availability(id);
            self.publish_state(id);
        }
        self.publish_bridge_info();
    }

    fn publish_discovery(&mut self, id: &CameraId) {
        let Some(e) = self.cameras.get(id) else {
            return;
        };
        let msgs = self.settings.ha.camera_configs(&e.info);
        let topics = msgs.iter().map(|m| m.topic.clone()).collect();
        let configured = self.settings.configured.contains(id);
        self.push_discovery(msgs);
        self.record_topics(id.as_str(), configured, topics);
    }

    fn publish_availability(&mut self, id: &CameraId) {
        if let Some(e) = self.cameras.get(id) {
            let topic = self.topics().camera(id.as_str(), "availability");
            let payload = if e.online { "online" } else { "offline" };
            self.push(topic, payload, true, Qos::AtLeastOnce);
        }
    }

    fn publish_state(&mut self, id: &CameraId) {
        // CameraState holds no secret and serialises infallibly.
        let state = self
            .cameras
            .get(id)
            .and_then(|e| e.state.as_ref())
            .map(|s| serde_json::to_string(s).unwrap_or_default());
        if let Some(state) = state {
            let topic = self.topics().camera(id.as_str(), "state");
            self.push(topic, state, true, Qos::AtLeastOnce);
        }
    }

    fn publish_snapshot(&mut self, id: &CameraId) {
        let snapshot = self.cameras.get(id).and_then(|e| e.snapshot.clone());
        if let Some(crate::bus::view::Snapshot { jpeg, taken_at }) = snapshot {
            let topic = self.topics().camera(id.as_str(), "snapshot");
            self.push(topic, jpeg, true, Qos::AtMostOnce);
            // Its own topic, published only once a snapshot exists: a timestamp
            // sensor never sees a non-date value (HA 2024.3 warns on "None").
            let topic = self.topics().camera(id.as_str(), "last_snapshot");
            self.push(topic, taken_at, true, Qos::AtMostOnce);
        }
    }

    fn info_changed(&mut self, now: Instant) {
        if self.info_due.is_none() {
            self.info_due = Some(now + INFO_DEBOUNCE);
        }
    }

    fn publish_bridge_info(&mut self) {
        let cameras: Vec<Value> = self
            .cameras
            .iter()
            .map(|e| {
                json!({
                    "id": e.info.id.as_str(),
                    "uid": e.info.uid,
                    "name": e.info.name,
                    "protocol": e.info.protocol.as_str(),
                    "state": if e.online { "online" } else { "offline" },
                })
            })
            .collect();
        let info = json!({ "version": env!("CARGO_PKG_VERSION"), "cameras": cameras });
        let topic = self.topics().bridge_info();
        self.push(topic, info.to_string(), true, Qos::AtLeastOnce);
    }

    fn publish_event(
        &mut self,
        topic: String,
        command: &str,
        result: &Result<(), CommandError>,
        extra: Option<(&str, Value)>,
    ) {
        let mut ev = json!({ "event_type": "command", "command": command, "ok": result.is_ok() });
        if let Err(e) = result {
            ev["error"] = json!(e.to_string());
        }
        if let Some((k, v)) = extra {
            ev[k] = v;
        }
        self.push(topic, ev.to_string(), false, Qos::AtLeastOnce);
    }

    fn camera_event(
        &mut self,
        camera: &str,
        command: &str,
        result: &Result<(), CommandError>,
        extra: Option<(&str, Value)>,
    ) {
        match result {
            Err(e) => tracing::warn!(camera, command, error = %e, "command failed"),
            Ok(()) => tracing::info!(camera, command, "command done"),
        }
        let topic = self.topics().camera(camera, "event");
        self.publish_event(topic, command, result, extra);
    }

    fn bridge_event(
        &mut self,
        command: &str,
        result: &Result<(), CommandError>,
        extra: Option<(&str, Value)>,
    ) {
        match result {
            Err(e) => tracing::warn!(command, error = %e, "bridge command failed"),
            Ok(()) => tracing::info!(command, "bridge command done"),
        }
        let topic = self.topics().bridge_event();
        self.publish_event(topic, command, result, extra);
    }

    /// An MQTT message arrived on one of our subscriptions (`retained`: a
    /// replay of a retained message at subscribe time).
    pub fn on_message(&mut self, topic: &str, payload: &Bytes, retained: bool) {
        if topic == self.settings.status_topic {
            if payload.as_ref() == b"online" {
                tracing::info!("Home Assistant came online; republishing discovery and states");
                self.republish_all();
            }
            return;
        }
        let topics = self.topics().clone();
        match topics.route(topic) {
            Some(Route::Bridge(name)) => self.on_bridge_command(name, retained),
            Some(Route::Camera { camera, command }) => {
                self.on_camera_command(camera, command, payload, retained)
            }
            None => tracing::debug!(topic, "ignoring message on unexpected topic"),
        }
    }

    fn on_bridge_command(&mut self, name: &str, retained: bool) {
        let shown: String = name.chars().take(64).collect();
        if retained {
            self.rejected += 1;
            let err = CommandError::Retained {
                command: shown.clone(),
            };
            self.bridge_event(&shown, &Err(err), None);
            return;
        }
        if name == "discover" {
            self.discover_pending += 1;
            self.requests.push_back(Request::Discover);
        } else {
            self.rejected += 1;
            let err = CommandError::UnknownBridgeCommand(shown.clone());
            self.bridge_event(&shown, &Err(err), None);
        }
    }

    /// A camera command: the checks that need MQTT (a retained command) or
    /// no camera (an unknown camera or command name) are made here; the rest
    /// of the one gate ([`crate::command`]) is the supervisor's, whose result
    /// comes back as a [`BridgeEvent::CommandResult`].
    fn on_camera_command(&mut self, camera: &str, name: &str, payload: &Bytes, retained: bool) {
        let kind = crate::command::kind(name);
        let shown: String = match kind {
            Ok(k) => k.name().to_string(),
            Err(_) => "unknown".to_string(),
        };
        let Some(entry) = CameraId::parse(camera)
            .ok()
            .and_then(|id| self.cameras.get(&id))
        else {
            self.rejected += 1;
            let err = crate::command::unknown_camera(camera, self.cameras.ids());
            // The camera's own event topic if the id could be one, else the bridge's.
            if CameraId::parse(camera).is_ok() {
                self.camera_event(camera, &shown, &Err(err), None);
            } else {
                self.bridge_event(&shown, &Err(err), None);
            }
            return;
        };
        let id = entry.info.id.clone();
        let result = if retained {
            Err(CommandError::Retained {
                command: shown.clone(),
            })
        } else {
            kind.and_then(|k| crate::command::admit(k, payload.len()).map(|()| k))
        };
        match result {
            Ok(kind) => self.requests.push_back(Request::Command(CommandRequest {
                camera: id,
                input: CommandInput::Payload {
                    kind,
                    payload: payload.clone(),
                },
                reply: None,
            })),
            Err(e) => {
                self.rejected += 1;
                self.camera_event(id.as_str(), &shown, &Err(e), None);
            }
        }
    }

    /// Something happened in the bridge.
    pub fn on_event(&mut self, now: Instant, event: BridgeEvent) {
        let applied = self.cameras.apply(&event);
        match event {
            BridgeEvent::Registered(info) => {
                self.publish_discovery(&info.id);
                self.publish_availability(&info.id);
                if applied != Applied::Unchanged {
                    self.info_changed(now);
                }
            }
            BridgeEvent::Removed(id) => {
                let Applied::Removed(e) = applied else {
                    return;
                };
                let msgs = self.settings.ha.camera_removal(&e.info);
                self.push_discovery(msgs);
                if let Some(record) = &mut self.record {
                    if let Some(entry) = record.cameras.remove(id.as_str()) {
                        self.record_dirty = true;
                        for topic in entry.topics {
                            self.push(topic, Bytes::new(), true, Qos::AtLeastOnce);
                        }
                    }
                }
                for leaf in ["availability", "state", "snapshot", "last_snapshot"] {
                    let topic = self.topics().camera(id.as_str(), leaf);
                    self.push(topic, Bytes::new(), true, Qos::AtLeastOnce);
                }
                self.info_changed(now);
            }
            BridgeEvent::Availability { camera, online } => {
                if applied == Applied::Changed {
                    tracing::info!(camera = %camera, online, "availability");
                    self.publish_availability(&camera);
                    self.info_changed(now);
                }
            }
            BridgeEvent::State { camera, .. } => {
                // The camera core sends a state only when it changed, or once
                // after a successful command (the contract's republish).
                self.publish_state(&camera);
            }
            BridgeEvent::Snapshot { camera, .. } => self.publish_snapshot(&camera),
            BridgeEvent::CommandResult {
                camera,
                command,
                result,
                playback,
            } => {
                // The camera sends its state after a successful command itself.
                let extra = playback.map(|p| ("playback", p.to_json()));
                self.camera_event(camera.as_str(), command.name(), &result, extra);
            }
            // Viewers are shown by the web UI, not published.
            BridgeEvent::Viewers { .. } => {}
            BridgeEvent::Scanned(report) => {
                if self.discover_pending > 0 {
                    self.discover_pending -= 1;
                    self.bridge_event("discover", &Ok(()), Some(("found", json!(report.found))));
                }
            }
        }
    }

    /// Events were lost (this reader lagged behind the hub): takes the hub's
    /// view as the truth and republishes everything from it. Command results
    /// that were lost get no event; the lag is logged.
    pub fn resync(&mut self, now: Instant, views: Views) {
        for id in self.cameras.ids().cloned().collect::<Vec<_>>() {
            if views.get(&id).is_none() {
                self.on_event(now, BridgeEvent::Removed(id));
            }
        }
        self.cameras = views;
        self.republish_all();
        let ids: Vec<CameraId> = self.cameras.ids().cloned().collect();
        for id in ids {
            self.publish_snapshot(&id);
        }
    }

    /// The bridge's health report (JSON), published retained.
    pub fn on_health(&mut self, report: String) {
        let topic = self.topics().bridge_health();
        self.push(topic, report, true, Qos::AtMostOnce);
    }

    /// Clean shutdown: every camera offline (its state's `session` reads
    /// `stopped`), then the bridge.
    pub fn on_shutdown(&mut self) {
        let ids: Vec<CameraId> = self.cameras.ids().cloned().collect();
        for id in ids {
            if let Some(e) = self.cameras.get_mut(&id) {
                e.online = false;
                if let Some(s) = &mut e.state {
                    s.session = SessionPhase::Stopped;
                }
            }
            self.publish_availability(&id);
            self.publish_state(&id);
        }
        let state = self.topics().bridge_state();
        self.push(state, "offline", true, Qos::AtLeastOnce);
    }

    /// Next message to publish.
    #[must_use]
    pub fn poll_outbound(&mut self) -> Option<OutboundMessage> {
        self.out.pop_front()
    }

    /// Next request for the supervisor.
    #[must_use]
    pub fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// The discovery record, when it changed and should be saved.
    #[must_use]
    pub fn poll_record(&mut self) -> Option<DiscoveryRecord> {
        if !std::mem::take(&mut self.record_dirty) {
            return None;
        }
        self.record.clone()
    }

    /// Commands rejected before reaching a camera.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

fn msg(topic: String, payload: impl Into<Bytes>, retain: bool, qos: Qos) -> OutboundMessage {
    OutboundMessage {
        topic,
        payload: payload.into(),
        retain,
        qos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DiscoveryMode;
    use crate::model::{CameraInfo, Capability, Protocol};

    fn t0() -> Instant {
        crate::io::clock::now()
    }

    fn settings(mode: DiscoveryMode, configured: &[&str]) -> PublisherSettings {
        PublisherSettings {
            ha: HaContext {
                topics: Topics::new("cam2mqtt"),
                prefix: "homeassistant".into(),
                mode,
                bridge_id: "cam2mqtt".into(),
                web_url: None,
                speech: false,
            },
            status_topic: "homeassistant/status".into(),
            configured: configured
                .iter()
                .map(|c| CameraId::parse(c).unwrap())
                .collect(),
        }
    }

    fn core() -> PublisherCore {
        PublisherCore::new(settings(DiscoveryMode::Entity, &["porch"]), None)
    }

    fn cam_named(id: &str) -> CameraInfo {
        CameraInfo {
            id: CameraId::parse(id).unwrap(),
            uid: id.into(),
            name: id.into(),
            protocol: Protocol::Demo,
            reach: crate::model::Reach::Host("127.0.0.1:8080".parse().unwrap()),
            model: "A9".into(),
            firmware: None,
            mac: None,
            resolutions: vec![],
            capabilities: vec![Capability::Snapshot, Capability::Wifi],
        }
    }

    fn cam() -> CameraInfo {
        cam_named("porch")
    }

    fn state_with_fps(fps: f64) -> crate::bus::CameraState {
        let mut s = crate::bus::CameraState::new(&cam(), 10);
        s.fps = fps;
        s
    }

    fn drain(c: &mut PublisherCore) -> Vec<OutboundMessage> {
        std::iter::from_fn(|| c.poll_outbound()).collect()
    }

    fn payload(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn count(out: &[OutboundMessage], topic: &str) -> usize {
        out.iter().filter(|m| m.topic == topic).count()
    }

    fn events_on(out: &[OutboundMessage], topic: &str) -> Vec<Value> {
        out.iter()
            .filter(|m| m.topic == topic)
            .map(|m| serde_json::from_slice(&m.payload).unwrap())
            .collect()
    }

    /// MQTT topic-filter matching (`+` one level, `#` the rest).
    fn matches(filter: &str, topic: &str) -> bool {
        let (mut f, mut t) = (filter.split('/'), topic.split('/'));
        loop {
            match (f.next(), t.next()) {
                (Some("#"), _) => return true,
                (Some("+"), Some(_)) => {}
                (Some(a), Some(b)) if a == b => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }

    #[test]
    fn ha_birth_republishes_discovery_then_availability_and_state() {
        let mut c = core();
        c.on_connected(t0());
        c.on_event(t0(), BridgeEvent::Registered(cam()));
        c.on_event(
            t0(),
            BridgeEvent::Availability {
                camera: cam().id,
                online: true,
            },
        );
        c.on_event(
            t0(),
            BridgeEvent::State {
                camera: cam().id,
                state: Box::new(state_with_fps(10.0)),
            },
        );
        drain(&mut c);
        c.on_message("homeassistant/status", &payload("offline"), false);
        assert!(drain(&mut c).is_empty());
        c.on_message("homeassistant/status", &payload("online"), false);
        let out = drain(&mut c);
        let first_avail = out
            .iter()
            .position(|m| m.topic == "cam2mqtt/porch/availability")
            .unwrap();
        let last_config = out
            .iter()
            .rposition(|m| m.topic.ends_with("/config"))
            .unwrap();
        assert!(
            last_config < first_avail,
            "discovery comes before availability"
        );
        assert!(out.iter().any(|m| m.topic == "cam2mqtt/porch/state"
            && m.retain
            && m.payload.windows(10).any(|w| w == b"\"fps\":10.0")));
        assert!(out.iter().all(|m| m.retain));
    }

    #[test]
    fn a_clean_shutdown_leaves_every_camera_offline_and_its_session_stopped() {
        let mut c = core();
        c.on_connected(t0());
        for id in ["porch", "yard"] {
            c.on_event(t0(), BridgeEvent::Registered(cam_named(id)));
            let camera = CameraId::parse(id).unwrap();
            c.on_event(
                t0(),
                BridgeEvent::Availability {
                    camera: camera.clone(),
                    online: true,
                },
            );
            let mut state = crate::bus::CameraState::new(&cam_named(id), 10);
            state.session = crate::bus::SessionPhase::Streaming;
            c.on_event(
                t0(),
                BridgeEvent::State {
                    camera,
                    state: Box::new(state),
                },
            );
        }
        drain(&mut c);
        c.on_shutdown();
        let out = drain(&mut c);
        for id in ["porch", "yard"] {
            let avail = out
                .iter()
                .filter(|m| m.topic == format!("cam2mqtt/{id}/availability"))
                .collect::<Vec<_>>();
            assert_eq!(avail.len(), 1);
            assert_eq!(&avail[0].payload[..], b"offline");
            assert!(avail[0].retain && avail[0].qos == Qos::AtLeastOnce);
            let states = events_on(&out, &format!("cam2mqtt/{id}/state"));
            assert_eq!(states.len(), 1);
            assert_eq!(states[0]["session"], "stopped");
            assert_eq!(states[0]["snapshot_interval_s"], 10, "the rest is kept");
        }
        let last = out.last().unwrap();
        assert_eq!(
            (last.topic.as_str(), &last.payload[..], last.retain),
            ("cam2mqtt/bridge/state", &b"offline"[..], true),
            "the bridge goes offline last"
        );
    }

    #[test]
    fn unknown_command_names_are_answered_here_and_the_rest_goes_to_the_supervisor_unread() {
        let mut c = core();
        c.on_connected(t0());
        c.on_event(t0(), BridgeEvent::Registered(cam()));
        drain(&mut c);
        c.on_message("cam2mqtt/porch/set/fly", &payload("now"), false);
        let events = events_on(&drain(&mut c), "cam2mqtt/porch/event");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["ok"], false);
        assert!(events[0]["error"]
            .as_str()
            .unwrap()
            .contains("unknown command"));
        assert!(c.poll_request().is_none());
        // Capability and value checks are the supervisor's (the one gate for
        // MQTT and REST): the payload goes there as it came.
        c.on_message("cam2mqtt/porch/set/wifi", &payload("{not json"), false);
        match c.poll_request() {
            Some(Request::Command(CommandRequest {
                camera,
                input: CommandInput::Payload { kind, payload },
                reply: None,
            })) => {
                assert_eq!(camera, cam().id);
                assert_eq!(kind, crate::model::CommandKind::Wifi);
                assert_eq!(&payload[..], b"{not json");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            drain(&mut c).is_empty(),
            "no event until the result comes back"
        );
    }

    #[test]
    fn a_command_result_is_one_event_and_no_extra_state() {
        let mut c = core();
        c.on_connected(t0());
        c.on_event(t0(), BridgeEvent::Registered(cam()));
        c.on_event(
            t0(),
            BridgeEvent::State {
                camera: cam().id,
                state: Box::new(state_with_fps(1.0)),
            },
        );
        drain(&mut c);
        c.on_event(
            t0(),
            BridgeEvent::CommandResult {
                camera: cam().id,
                command: crate::model::CommandKind::SnapshotInterval,
                result: Ok(()),
                playback: None,
            },
        );
        let out = drain(&mut c);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].topic, "cam2mqtt/porch/event");
        assert!(!out[0].retain);
    }

    #[test]
    fn nothing_is_sent_twice_at_startup() {
        let mut c = core();
        // Cameras register before the broker connection is up.
        c.on_event(t0(), BridgeEvent::Registered(cam()));
        c.on_event(
            t0(),
            BridgeEvent::Availability {
                camera: cam().id,
                online: false,
            },
        );
        assert!(
            drain(&mut c).is_empty(),
            "nothing queued while disconnected"
        );
        c.on_connected(t0());
        let out = drain(&mut c);
        let mut topics: Vec<&str> = out.iter().map(|m| m.topic.as_str()).collect();
        let n = topics.len();
        topics.sort_unstable();
        topics.dedup();
        assert_eq!(topics.len(), n, "each topic once: {out:?}");
        assert_eq!(count(&out, "cam2mqtt/porch/availability"), 1);
        assert_eq!(count(&out, "cam2mqtt/bridge/info"), 1);
    }

    #[test]
    fn bridge_info_changes_are_coalesced() {
        let base = t0();
        let mut c = core();
        c.on_connected(base);
        drain(&mut c);
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            let at = base + Duration::from_millis(10 * i as u64);
            c.on_event(at, BridgeEvent::Registered(cam_named(id)));
            c.on_event(
                at,
                BridgeEvent::Availability {
                    camera: CameraId::parse(id).unwrap(),
                    online: true,
                },
            );
        }
        assert_eq!(count(&drain(&mut c), "cam2mqtt/bridge/info"), 0);
        assert_eq!(c.poll_timeout(), Some(base + INFO_DEBOUNCE));
        c.handle_timeout(base + INFO_DEBOUNCE);
        let out = drain(&mut c);
        assert_eq!(count(&out, "cam2mqtt/bridge/info"), 1);
        let info: Value = serde_json::from_slice(&out[0].payload).unwrap();
        assert_eq!(info["cameras"].as_array().unwrap().len(), 3);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn every_command_topic_matches_exactly_one_subscription() {
        let c = core();
        let subs = c.subscriptions();
        for topic in [
            "cam2mqtt/bridge/set/discover",
            "cam2mqtt/porch/set/snapshot",
            "homeassistant/status",
        ] {
            let n = subs.iter().filter(|f| matches(f, topic)).count();
            assert_eq!(n, 1, "{topic} matches {n} of {subs:?}");
        }
        assert!(
            !subs.iter().any(|f| f.starts_with("homeassistant/+")),
            "no other device's discovery configs are read: {subs:?}"
        );
    }

    #[test]
    fn snapshots_are_republished_after_a_reconnect() {
        let mut c = core();
        c.on_connected(t0());
        c.on_event(t0(), BridgeEvent::Registered(cam()));
        c.on_event(
            t0(),
            BridgeEvent::Snapshot {
                camera: cam().id,
                jpeg: payload("jpeg"),
                taken_at: "2026-11-21T10:00:00Z".into(),
            },
        );
        drain(&mut c);
        c.on_disconnected();
        c.on_connected(t0());
        let out = drain(&mut c);
        let snap: Vec<&OutboundMessage> = out
            .iter()
            .filter(|m| m.topic == "cam2mqtt/porch/snapshot")
            .collect();
        assert_eq!(snap.len(), 1);
        assert!(snap[0].retain && snap[0].payload == "jpeg");
        assert_eq!(count(&out, "cam2mqtt/porch/last_snapshot"), 1);
    }

    #[test]
    fn commands_for_unknown_cameras_and_bridge_commands_get_one_event() {
        let mut c = core();
        c.on_connected(t0());
        c.on_event(t0(), BridgeEvent::Registered(cam()));
        drain(&mut c);
        c.on_message("cam2mqtt/garage/set/snapshot", &payload(""), false);
        c.on_message("cam2mqtt/bridge/set/fly", &payload(""), false);
        c.on_message("cam2mqtt/bridge/set/discover", &payload(""), false);
        let out = drain(&mut c);
        let garage = events_on(&out, "cam2mqtt/garage/event");
        assert_eq!(garage.len(), 1);
        let err = garage[0]["error"].as_str().unwrap();
        assert!(
            err.contains("unknown camera \"garage\"") && err.contains("porch"),
            "{err}"
        );
        let bridge = events_on(&out, "cam2mqtt/bridge/event");
        assert_eq!(bridge.len(), 1, "discover answers when the scan is done");
        assert!(bridge[0]["error"]
            .as_str()
            .unwrap()
            .contains("known: discover"));
        assert!(matches!(c.poll_request(), Some(Request::Discover)));
        // A periodic scan finishing gets no event; the requested one does.
        c.on_event(
            t0(),
            BridgeEvent::Scanned(crate::bus::ScanReport { found: 2 }),
        );
        let done = events_on(&drain(&mut c), "cam2mqtt/bridge/event");
        assert_eq!(done.len(), 1);
        assert_eq!(
            (done[0]["ok"].clone(), done[0]["found"].clone()),
            (json!(true), json!(2))
        );
        c.on_event(
            t0(),
            BridgeEvent::Scanned(crate::bus::ScanReport { found: 2 }),
        );
        assert!(drain(&mut c).is_empty());
    }

    #[test]
    fn retained_and_oversized_commands_are_refused_with_an_event() {
        let mut c = core();
        c.on_connected(t0());
        c.on_event(t0(), BridgeEvent::Registered(cam()));
        drain(&mut c);
        c.on_message("cam2mqtt/porch/set/snapshot", &payload(""), true);
        c.on_message(
            "cam2mqtt/porch/set/wifi",
            &Bytes::from(vec![b'x'; 1_100_000]),
            false,
        );
        let events = events_on(&drain(&mut c), "cam2mqtt/porch/event");
        assert_eq!(events.len(), 2);
        assert!(events[0]["error"].as_str().unwrap().contains("retained"));
        let big = events[1]["error"].as_str().unwrap();
        assert!(
            big.contains("1100000 bytes") && big.contains("4096"),
            "{big}"
        );
        assert!(c.poll_request().is_none());
    }

    #[test]
    fn a_camera_no_longer_configured_loses_its_recorded_configs_and_others_are_untouched() {
        // Run 1: cameras porch and gone, both configured.
        let mut first = PublisherCore::new(
            settings(DiscoveryMode::Entity, &["porch", "gone"]),
            Some(DiscoveryRecord::default()),
        );
        first.on_event(t0(), BridgeEvent::Registered(cam()));
        first.on_event(t0(), BridgeEvent::Registered(cam_named("gone")));
        first.on_connected(t0());
        drain(&mut first);
        let record = first.poll_record().expect("record changed");
        assert!(record.cameras.contains_key("gone") && record.cameras.contains_key("bridge"));
        let gone_topics = record.cameras["gone"].topics.clone();
        assert!(!gone_topics.is_empty());
        // Run 2: "gone" left the config.
        let mut second =
            PublisherCore::new(settings(DiscoveryMode::Entity, &["porch"]), Some(record));
        second.on_event(t0(), BridgeEvent::Registered(cam()));
        second.on_connected(t0());
        let out = drain(&mut second);
        let cleared: BTreeSet<String> = out
            .iter()
            .filter(|m| m.payload.is_empty() && m.topic.ends_with("/config"))
            .map(|m| m.topic.clone())
            .collect();
        assert_eq!(
            cleared, gone_topics,
            "exactly the recorded configs of the gone camera"
        );
        assert_eq!(count(&out, "cam2mqtt/gone/availability"), 1);
        let record = second.poll_record().expect("record changed");
        assert!(!record.cameras.contains_key("gone"));
        // Run 3: nothing changed, nothing cleared, nothing to save.
        let mut third =
            PublisherCore::new(settings(DiscoveryMode::Entity, &["porch"]), Some(record));
        third.on_event(t0(), BridgeEvent::Registered(cam()));
        third.on_connected(t0());
        assert!(drain(&mut third).iter().all(|m| !m.payload.is_empty()));
        assert!(third.poll_record().is_none());
    }

    #[test]
    fn switching_the_discovery_format_clears_the_old_format_topics() {
        let mut first = PublisherCore::new(
            settings(DiscoveryMode::Entity, &["porch"]),
            Some(DiscoveryRecord::default()),
        );
        first.on_connected(t0());
        first.on_event(t0(), BridgeEvent::Registered(cam()));
        drain(&mut first);
        let record = first.poll_record().unwrap();
        let mut second = PublisherCore::new(
            settings(DiscoveryMode::Device, &["porch"]),
            Some(record.clone()),
        );
        second.on_connected(t0());
        second.on_event(t0(), BridgeEvent::Registered(cam()));
        let out = drain(&mut second);
        let cleared = out
            .iter()
            .filter(|m| m.payload.is_empty() && m.topic.ends_with("/config"))
            .count();
        assert_eq!(
            cleared,
            record.cameras["porch"].topics.len() + record.cameras["bridge"].topics.len()
        );
        assert!(out
            .iter()
            .any(|m| m.topic == "homeassistant/device/cam2mqtt_porch/config"
                && !m.payload.is_empty()));
    }

    #[test]
    fn removal_clears_retained_configs() {
        let mut c = core();
        c.on_connected(t0());
        c.on_event(t0(), BridgeEvent::Registered(cam()));
        drain(&mut c);
        c.on_event(t0(), BridgeEvent::Removed(cam().id));
        let out = drain(&mut c);
        assert!(out
            .iter()
            .filter(|m| m.topic.ends_with("/config"))
            .all(|m| m.payload.is_empty() && m.retain));
    }
}
