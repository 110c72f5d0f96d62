//! The sans-IO publisher: bridge events and MQTT messages in, MQTT publishes and
//! command requests out. All topic, retain and Home Assistant behaviour lives
//! here; `publisher/mod.rs` only moves bytes to and from rumqttc.
//!
//! Behaviour (zigbee2mqtt's, per CONTRACT.md): on connect, publish the bridge
//! state, discovery, availability and last states; on `homeassistant/status =
//! online`, republish discovery, then availability and states; every command
//! gets exactly one `event` (the camera republishes its state after a
//! successful one).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};

use super::ha::{DiscoveryMessage, HaContext};
use super::topics::{parse_command, Route, Topics};
pub use crate::bus::{BridgeEvent, Request};
use crate::model::{CameraId, CameraInfo, CommandError};

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

#[derive(Debug)]
struct CameraEntry {
    info: CameraInfo,
    online: bool,
    /// The state JSON last published (republished on reconnect and HA birth).
    state: Option<String>,
}

/// Settings for [`PublisherCore`].
#[derive(Debug, Clone)]
pub struct PublisherSettings {
    /// Discovery settings and topic builder.
    pub ha: HaContext,
    /// HA's birth topic.
    pub status_topic: String,
}

/// The publisher's state machine.
#[derive(Debug)]
pub struct PublisherCore {
    settings: PublisherSettings,
    cameras: BTreeMap<CameraId, CameraEntry>,
    out: VecDeque<OutboundMessage>,
    requests: VecDeque<Request>,
    /// Commands parsed but rejected before reaching a camera, for the logs/tests.
    rejected: u64,
    /// After connecting, retained discovery configs of this bridge are collected
    /// until this time, then those no camera owns any more are cleared.
    sweep_until: Option<Instant>,
    /// Discovery topics of this bridge found retained on the broker.
    retained_configs: BTreeSet<String>,
    /// Filters to drop once the sweep is done.
    unsubscribe: VecDeque<String>,
}

/// How long after connecting the retained discovery configs are read back.
pub const SWEEP_GRACE: Duration = Duration::from_secs(5);

impl PublisherCore {
    /// A publisher with no cameras yet.
    pub fn new(settings: PublisherSettings) -> Self {
        Self {
            settings,
            cameras: BTreeMap::new(),
            out: VecDeque::new(),
            requests: VecDeque::new(),
            rejected: 0,
            sweep_until: None,
            retained_configs: BTreeSet::new(),
            unsubscribe: VecDeque::new(),
        }
    }

    fn topics(&self) -> &Topics {
        &self.settings.ha.topics
    }

    /// Topic filters to subscribe to after every (re)connect.
    pub fn subscriptions(&self) -> Vec<String> {
        let mut subs: Vec<String> = self.topics().command_filters().into();
        subs.push(self.settings.status_topic.clone());
        subs.extend(self.sweep_filters());
        subs
    }

    /// Where retained discovery configs live (both formats, so switching the
    /// format also cleans up the old one).
    fn sweep_filters(&self) -> [String; 2] {
        let p = &self.settings.ha.prefix;
        [format!("{p}/+/+/+/config"), format!("{p}/device/+/config")]
    }

    /// True if a discovery payload was published by this bridge.
    fn is_ours(&self, payload: &[u8]) -> bool {
        let Ok(v) = serde_json::from_slice::<Value>(payload) else {
            return false;
        };
        let bridge = self.settings.ha.bridge_ident();
        let dev = v.get("device").or_else(|| v.get("dev"));
        let via = dev
            .and_then(|d| d.get("via_device"))
            .and_then(Value::as_str);
        let ids = dev
            .and_then(|d| d.get("identifiers"))
            .and_then(Value::as_array);
        via == Some(bridge.as_str())
            || ids.is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(bridge.as_str())))
    }

    fn on_retained_config(&mut self, topic: &str, payload: &Bytes, retained: bool) {
        if retained && self.sweep_until.is_some() && !payload.is_empty() && self.is_ours(payload) {
            self.retained_configs.insert(topic.to_string());
        }
    }

    /// The next time [`PublisherCore::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sweep_until
    }

    /// Ends the sweep when its time has come: clears configs no camera owns.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.sweep_until.is_none_or(|t| now < t) {
            return;
        }
        self.sweep_until = None;
        let mut current: BTreeSet<String> = self
            .settings
            .ha
            .bridge_configs()
            .into_iter()
            .map(|m| m.topic)
            .collect();
        for e in self.cameras.values() {
            current.extend(
                self.settings
                    .ha
                    .camera_configs(&e.info)
                    .into_iter()
                    .map(|m| m.topic),
            );
        }
        let stale: Vec<String> = std::mem::take(&mut self.retained_configs)
            .into_iter()
            .filter(|t| !current.contains(t))
            .collect();
        for topic in stale {
            tracing::info!(%topic, "removing discovery config of a camera that is gone");
            self.push(topic, Bytes::new(), true, Qos::AtLeastOnce);
        }
        self.unsubscribe.extend(self.sweep_filters());
    }

    /// Next filter to unsubscribe from.
    #[must_use]
    pub fn poll_unsubscribe(&mut self) -> Option<String> {
        self.unsubscribe.pop_front()
    }

    /// The last will: `bridge/state = offline`, retained.
    pub fn last_will(&self) -> OutboundMessage {
        self.msg(
            self.topics().bridge_state(),
            "offline",
            true,
            Qos::AtLeastOnce,
        )
    }

    fn msg(
        &self,
        topic: String,
        payload: impl Into<Bytes>,
        retain: bool,
        qos: Qos,
    ) -> OutboundMessage {
        OutboundMessage {
            topic,
            payload: payload.into(),
            retain,
            qos,
        }
    }

    fn push(&mut self, topic: String, payload: impl Into<Bytes>, retain: bool, qos: Qos) {
        let m = self.msg(topic, payload, retain, qos);
        self.out.push_back(m);
    }

    fn push_discovery(&mut self, msgs: Vec<DiscoveryMessage>) {
        for m in msgs {
            self.push(m.topic, m.payload, true, Qos::AtLeastOnce);
        }
    }

    /// The broker accepted our connection (first time or after a reconnect).
    pub fn on_connected(&mut self, now: Instant) {
        self.sweep_until = Some(now + SWEEP_GRACE);
        self.retained_configs.clear();
        let state = self.topics().bridge_state();
        self.push(state, "online", true, Qos::AtLeastOnce);
        self.republish_all();
    }

    fn republish_all(&mut self) {
        self.push_discovery(self.settings.ha.bridge_configs());
        let ids: Vec<CameraId> = self.cameras.keys().cloned().collect();
        for id in &ids {
            if let Some(e) = self.cameras.get(id) {
                let msgs = self.settings.ha.camera_configs(&e.info);
                self.push_discovery(msgs);
            }
        }
        for id in &ids {
            self.publish_availability(id);
            self.publish_state(id);
        }
        self.publish_bridge_info();
    }

    fn publish_availability(&mut self, id: &CameraId) {
        if let Some(e) = self.cameras.get(id) {
            let topic = self.topics().camera(id.as_str(), "availability");
            let payload = if e.online { "online" } else { "offline" };
            self.push(topic, payload, true, Qos::AtLeastOnce);
        }
    }

    fn publish_state(&mut self, id: &CameraId) {
        if let Some(state) = self.cameras.get(id).and_then(|e| e.state.clone()) {
            let topic = self.topics().camera(id.as_str(), "state");
            self.push(topic, state, true, Qos::AtLeastOnce);
        }
    }

    fn publish_bridge_info(&mut self) {
        let cameras: Vec<Value> = self
            .cameras
            .values()
            .map(|e| {
                json!({
                    "id": e.info.id.as_str(),
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
        camera: &CameraId,
        command: &str,
        result: &Result<(), CommandError>,
    ) {
        let mut ev = json!({ "event_type": "command", "command": command, "ok": result.is_ok() });
        if let Err(e) = result {
            ev["error"] = json!(e.to_string());
            tracing::warn!(camera = %camera, command, error = %e, "command failed");
        } else {
            tracing::info!(camera = %camera, command, "command done");
        }
        let topic = self.topics().camera(camera.as_str(), "event");
        self.push(topic, ev.to_string(), false, Qos::AtLeastOnce);
    }

    /// An MQTT message arrived on one of our subscriptions (`retained`: a
    /// replay of a retained message at subscribe time).
    pub fn on_message(&mut self, topic: &str, payload: &Bytes, retained: bool) {
        if topic.starts_with(&format!("{}/", self.settings.ha.prefix)) && topic.ends_with("/config")
        {
            self.on_retained_config(topic, payload, retained);
            return;
        }
        if topic == self.settings.status_topic {
            if payload.as_ref() == b"online" {
                tracing::info!("Home Assistant came online; republishing discovery and states");
                self.republish_all();
            }
            return;
        }
        let topics = self.topics().clone();
        match topics.route(topic) {
            Some(Route::Bridge("discover")) => self.requests.push_back(Request::Discover),
            Some(Route::Bridge(other)) => {
                tracing::warn!(command = other, "unknown bridge command; known: discover");
            }
            Some(Route::Camera { camera, command }) => {
                self.on_camera_command(camera, command, payload)
            }
            None => tracing::debug!(topic, "ignoring message on unexpected topic"),
        }
    }

    fn on_camera_command(&mut self, camera: &str, name: &str, payload: &Bytes) {
        let Some(entry) = CameraId::parse(camera)
            .ok()
            .and_then(|id| self.cameras.get(&id))
        else {
            self.rejected += 1;
            tracing::warn!(
                camera,
                command = name,
                "command for an unknown camera ignored"
            );
            return;
        };
        let (id, protocol) = (entry.info.id.clone(), entry.info.protocol);
        let can = |c| entry.info.can(c);
        let result = parse_command(name, payload).and_then(|cmd| {
            if can(cmd.required_capability()) {
                Ok(cmd)
            } else {
                Err(CommandError::Unsupported {
                    command: cmd.name(),
                    protocol,
                })
            }
        });
        match result {
            Ok(command) => self.requests.push_back(Request::Command {
                camera: id,
                command,
            }),
            Err(e) => {
                self.rejected += 1;
                let shown = if matches!(e, CommandError::UnknownCommand(_)) {
                    "unknown"
                } else {
                    name
                };
                let shown = shown.to_string();
                self.publish_event(&id, &shown, &Err(e));
            }
        }
    }

    /// Something happened in the bridge.
    pub fn on_event(&mut self, event: BridgeEvent) {
        match event {
            BridgeEvent::Registered(info) => {
                let id = info.id.clone();
                let msgs = self.settings.ha.camera_configs(&info);
                let online = self.cameras.get(&id).is_some_and(|e| e.online);
                let state = self.cameras.get(&id).and_then(|e| e.state.clone());
                self.cameras.insert(
                    id.clone(),
                    CameraEntry {
                        info,
                        online,
                        state,
                    },
                );
                self.push_discovery(msgs);
                self.publish_availability(&id);
                self.publish_bridge_info();
            }
            BridgeEvent::Removed(id) => {
                if let Some(e) = self.cameras.remove(&id) {
                    let msgs = self.settings.ha.camera_removal(&e.info);
                    self.push_discovery(msgs);
                    for leaf in ["availability", "state", "snapshot", "last_snapshot"] {
                        let topic = self.topics().camera(id.as_str(), leaf);
                        self.push(topic, Bytes::new(), true, Qos::AtLeastOnce);
                    }
                    self.publish_bridge_info();
                }
            }
            BridgeEvent::Availability { camera, online } => {
                let changed = match self.cameras.get_mut(&camera) {
                    Some(e) if e.online != online => {
                        e.online = online;
                        true
                    }
                    _ => false,
                };
                if changed {
                    tracing::info!(camera = %camera, online, "availability");
                    self.publish_availability(&camera);
                    self.publish_bridge_info();
                }
            }
            BridgeEvent::State { camera, state } => {
                if let Some(e) = self.cameras.get_mut(&camera) {
                    // CameraState holds no secret and serialises infallibly.
                    e.state = Some(serde_json::to_string(&state).unwrap_or_default());
                    self.publish_state(&camera);
                }
            }
            BridgeEvent::Snapshot {
                camera,
                jpeg,
                taken_at,
            } => {
                if self.cameras.contains_key(&camera) {
                    let topic = self.topics().camera(camera.as_str(), "snapshot");
                    self.push(topic, jpeg, true, Qos::AtMostOnce);
                    // Its own topic, published only once a snapshot exists: a timestamp
                    // sensor never sees a non-date value (HA 2024.3 warns on "None").
                    let topic = self.topics().camera(camera.as_str(), "last_snapshot");
                    self.push(topic, taken_at, true, Qos::AtMostOnce);
                }
            }
            BridgeEvent::CommandResult {
                camera,
                command,
                result,
            } => {
                // The camera sends its state after a successful command itself.
                self.publish_event(&camera, command, &result);
            }
        }
    }

    /// Clean shutdown: every camera offline, then the bridge.
    pub fn on_shutdown(&mut self) {
        let ids: Vec<CameraId> = self.cameras.keys().cloned().collect();
        for id in ids {
            if let Some(e) = self.cameras.get_mut(&id) {
                e.online = false;
            }
            self.publish_availability(&id);
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

    /// Commands rejected before reaching a camera.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DiscoveryMode;
    use crate::model::{CameraCommand, Capability, Protocol};

    fn core() -> PublisherCore {
        PublisherCore::new(PublisherSettings {
            ha: HaContext {
                topics: Topics::new("cam2mqtt"),
                prefix: "homeassistant".into(),
                mode: DiscoveryMode::Entity,
                bridge_id: "cam2mqtt".into(),
                web_url: None,
            },
            status_topic: "homeassistant/status".into(),
        })
    }

    fn cam() -> CameraInfo {
        CameraInfo {
            id: CameraId::parse("porch").unwrap(),
            uid: "porch".into(),
            name: "Porch".into(),
            protocol: Protocol::Demo,
            reach: crate::model::Reach::Host("127.0.0.1:8080".parse().unwrap()),
            model: "A9".into(),
            firmware: None,
            mac: None,
            resolutions: vec![],
            capabilities: vec![Capability::Snapshot, Capability::Wifi],
        }
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

    #[test]
    fn ha_birth_republishes_discovery_then_availability_and_state() {
        let mut c = core();
        c.on_connected(crate::io::clock::now());
        c.on_event(BridgeEvent::Registered(cam()));
        c.on_event(BridgeEvent::Availability {
            camera: cam().id,
            online: true,
        });
        c.on_event(BridgeEvent::State {
            camera: cam().id,
            state: Box::new(state_with_fps(10.0)),
        });
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
    fn malformed_and_unsupported_commands_get_one_event_each() {
        let mut c = core();
        c.on_event(BridgeEvent::Registered(cam()));
        drain(&mut c);
        c.on_message("cam2mqtt/porch/set/reboot", &payload(""), false);
        c.on_message("cam2mqtt/porch/set/wifi", &payload("{not json"), false);
        c.on_message("cam2mqtt/porch/set/fly", &payload("now"), false);
        let events: Vec<Value> = drain(&mut c)
            .iter()
            .filter(|m| m.topic == "cam2mqtt/porch/event")
            .map(|m| serde_json::from_slice(&m.payload).unwrap())
            .collect();
        assert_eq!(events.len(), 3);
        assert!(events
            .iter()
            .all(|e| e["ok"] == false && e["event_type"] == "command"));
        assert!(events[0]["error"]
            .as_str()
            .unwrap()
            .contains("not supported"));
        assert!(events[1]["error"].as_str().unwrap().contains("not JSON"));
        assert!(events[2]["error"]
            .as_str()
            .unwrap()
            .contains("unknown command"));
        assert!(c.poll_request().is_none());
        c.on_message("cam2mqtt/porch/set/snapshot", &payload(""), false);
        assert!(matches!(
            c.poll_request(),
            Some(Request::Command {
                command: CameraCommand::Snapshot,
                ..
            })
        ));
    }

    #[test]
    fn a_command_result_is_one_event_and_no_extra_state() {
        let mut c = core();
        c.on_event(BridgeEvent::Registered(cam()));
        c.on_event(BridgeEvent::State {
            camera: cam().id,
            state: Box::new(state_with_fps(1.0)),
        });
        drain(&mut c);
        c.on_event(BridgeEvent::CommandResult {
            camera: cam().id,
            command: "snapshot_interval",
            result: Ok(()),
        });
        let out = drain(&mut c);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].topic, "cam2mqtt/porch/event");
        assert!(!out[0].retain);
    }

    #[test]
    fn stale_configs_of_this_bridge_are_cleared_after_the_grace_period_and_others_kept() {
        let t0 = crate::io::clock::now();
        let mut c = core();
        c.on_connected(t0);
        c.on_event(BridgeEvent::Registered(cam()));
        assert!(c
            .subscriptions()
            .contains(&"homeassistant/+/+/+/config".to_string()));
        let ours = payload(
            r#"{"device": {"identifiers": ["cam2mqtt_gone"], "via_device": "cam2mqtt_bridge_cam2mqtt"}}"#,
        );
        let other_bridge =
            payload(r#"{"device": {"identifiers": ["x"], "via_device": "cam2mqtt_bridge_other"}}"#);
        let current = "homeassistant/camera/cam2mqtt_porch/snapshot/config";
        c.on_message(
            "homeassistant/camera/cam2mqtt_gone/snapshot/config",
            &ours,
            true,
        );
        c.on_message(
            "homeassistant/sensor/cam2mqtt_gone/fps/config",
            &ours,
            false,
        ); // live, not retained: ignored
        c.on_message(
            "homeassistant/camera/x/snapshot/config",
            &other_bridge,
            true,
        );
        c.on_message(current, &ours, true);
        drain(&mut c);
        assert_eq!(c.poll_timeout(), Some(t0 + SWEEP_GRACE));
        c.handle_timeout(t0 + SWEEP_GRACE - Duration::from_millis(1));
        assert!(
            drain(&mut c).is_empty(),
            "nothing before the grace period ends"
        );
        c.handle_timeout(t0 + SWEEP_GRACE);
        let out = drain(&mut c);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(
            out[0].topic,
            "homeassistant/camera/cam2mqtt_gone/snapshot/config"
        );
        assert!(out[0].payload.is_empty() && out[0].retain);
        assert_eq!(
            c.poll_unsubscribe().as_deref(),
            Some("homeassistant/+/+/+/config")
        );
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn removal_clears_retained_configs() {
        let mut c = core();
        c.on_event(BridgeEvent::Registered(cam()));
        drain(&mut c);
        c.on_event(BridgeEvent::Removed(cam().id));
        let out = drain(&mut c);
        assert!(out
            .iter()
            .filter(|m| m.topic.ends_with("/config"))
            .all(|m| m.payload.is_empty() && m.retain));
    }
}
