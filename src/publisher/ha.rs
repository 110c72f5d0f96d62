//! Home Assistant MQTT discovery payloads: a pure function of [`CameraInfo`].
//!
//! Per-entity topics `<prefix>/<component>/cam2mqtt_<uid>/<object>/config`
//! (any HA version) or one per device `<prefix>/device/cam2mqtt_<uid>/config`
//! (HA ≥ 2024.11). Each entity has a stable `unique_id`, the full device block,
//! `origin`, and availability on both the bridge and the camera. A camera gets
//! only the entities its capabilities allow.

use serde_json::{json, Map, Value};

use super::topics::Topics;
use crate::bus::SessionPhase;
use crate::config::DiscoveryMode;
use crate::model::{CameraInfo, Capability};

/// What discovery needs besides the camera.
#[derive(Debug, Clone)]
pub struct HaContext {
    /// Topic builder.
    pub topics: Topics,
    /// Discovery prefix (`homeassistant`).
    pub prefix: String,
    /// Per-entity or per-device format.
    pub mode: DiscoveryMode,
    /// Bridge identity (MQTT client id), so two bridges on one broker stay apart.
    pub bridge_id: String,
    /// Web UI URL for `configuration_url`, when the HTTP server runs.
    pub web_url: Option<String>,
    /// Home Assistant's text-to-speech is set up: cameras with a speaker
    /// get a *Say* notify entity.
    pub speech: bool,
}

/// One retained discovery message.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryMessage {
    /// Config topic.
    pub topic: String,
    /// JSON payload (empty string = remove).
    pub payload: String,
}

/// An entity before it is wrapped for a discovery format.
struct Entity {
    component: &'static str,
    object: String,
    config: Map<String, Value>,
}

fn entity(component: &'static str, object: &str, config: Value) -> Entity {
    let config = match config {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Entity {
        component,
        object: object.to_string(),
        config,
    }
}

/// Makes `s` safe for a discovery topic segment (`[a-zA-Z0-9_-]`).
pub fn topic_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The object id of an entity id (`<domain>.<object_id>`): Home Assistant
/// takes only lower-case letters, digits and `_` there, so a UID's capitals
/// and hyphens are folded.
fn entity_object_id(node: &str, object: &str) -> String {
    crate::model::fold_to_id_chars(&format!("{node}_{object}"))
}

fn origin() -> Value {
    json!({ "name": "cam2mqtt", "sw": env!("CARGO_PKG_VERSION") })
}

impl HaContext {
    /// The bridge device's identifier (`via_device` of every camera).
    pub fn bridge_ident(&self) -> String {
        format!("cam2mqtt_bridge_{}", topic_safe(&self.bridge_id))
    }

    fn node(cam: &CameraInfo) -> String {
        format!("cam2mqtt_{}", topic_safe(&cam.uid))
    }

    fn device_block(&self, cam: &CameraInfo) -> Value {
        let mut dev = json!({
            "identifiers": [Self::node(cam)],
            "name": cam.name,
            "manufacturer": match cam.protocol {
                crate::model::Protocol::Tutk => "Wyze",
                _ => "Generic",
            },
            "model": cam.model,
            "via_device": self.bridge_ident(),
        });
        if let Some(mac) = &cam.mac {
            dev["connections"] = json!([["mac", mac]]);
        }
        if let Some(fw) = &cam.firmware {
            dev["sw_version"] = json!(fw);
        }
        if let Some(url) = &self.web_url {
            dev["configuration_url"] = json!(url);
        }
        dev
    }

    fn availability(&self, cam: &CameraInfo) -> Value {
        json!([
            { "topic": self.topics.bridge_state() },
            { "topic": self.topics.camera(cam.id.as_str(), "availability") },
        ])
    }

    /// The entities a camera gets for its capabilities.
    fn camera_entities(&self, cam: &CameraInfo) -> Vec<Entity> {
        let id = cam.id.as_str();
        let t = |leaf: &str| self.topics.camera(id, leaf);
        let set = |name: &str| self.topics.camera_set(id, name);
        let state = t("state");
        let mut out = Vec::new();
        if cam.can(Capability::Snapshot) {
            out.push(entity(
                "camera",
                "snapshot",
                json!({ "name": null, "topic": t("snapshot") }),
            ));
            out.push(entity(
                "button",
                "take_snapshot",
                json!({
                    "name": "Take snapshot", "command_topic": set("snapshot"), "icon": "mdi:camera",
                }),
            ));
            out.push(entity("number", "snapshot_interval", json!({
                "name": "Snapshot interval", "command_topic": set("snapshot_interval"),
                "state_topic": state, "value_template": "{{ value_json.snapshot_interval_s }}",
                "min": 0, "max": crate::command::MAX_SNAPSHOT_INTERVAL, "step": 1, "mode": "box",
                "unit_of_measurement": "s", "device_class": "duration", "entity_category": "config",
            })));
            out.push(entity("sensor", "fps", json!({
                "name": "Frame rate", "state_topic": state, "value_template": "{{ value_json.fps }}",
                "unit_of_measurement": "fps", "state_class": "measurement", "entity_category": "diagnostic",
            })));
            out.push(entity("sensor", "bitrate", json!({
                "name": "Bitrate", "state_topic": state, "value_template": "{{ value_json.bitrate_kbps }}",
                "unit_of_measurement": "kbit/s", "device_class": "data_rate", "state_class": "measurement",
                "entity_category": "diagnostic",
            })));
            out.push(entity("sensor", "frames_dropped", json!({
                "name": "Frames dropped", "state_topic": state, "value_template": "{{ value_json.frames_dropped }}",
                "state_class": "total_increasing", "entity_category": "diagnostic", "icon": "mdi:image-broken",
            })));
            out.push(entity(
                "sensor",
                "last_snapshot",
                json!({
                    "name": "Last snapshot", "state_topic": t("last_snapshot"),
                    "device_class": "timestamp", "entity_category": "diagnostic",
                }),
            ));
        }
        if cam.can(Capability::Resolution) && !cam.resolutions.is_empty() {
            out.push(entity(
                "select",
                "resolution",
                json!({
                    "name": "Resolution", "command_topic": set("resolution"), "state_topic": state,
                    "value_template": "{{ value_json.resolution }}", "options": cam.resolutions,
                    "entity_category": "config",
                }),
            ));
        }
        if cam.can(Capability::NightVision) {
            out.push(entity("select", "night_vision", json!({
                "name": "Night vision", "command_topic": set("night_vision"), "state_topic": state,
                "value_template": "{{ value_json.night_vision }}",
                "options": cam.night_vision_modes().iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "entity_category": "config", "icon": "mdi:weather-night",
            })));
        }
        if cam.can(Capability::Light) {
            out.push(entity("switch", "light", json!({
                "name": "Light", "command_topic": set("light"), "state_topic": state,
                "value_template": "{{ value_json.light }}", "payload_on": "on", "payload_off": "off",
                "state_on": "on", "state_off": "off",
            })));
        }
        if cam.can(Capability::IrLed) {
            out.push(entity("switch", "ir_led", json!({
                "name": "IR LED", "command_topic": set("ir_led"), "state_topic": state,
                "value_template": "{{ value_json.ir_led }}", "payload_on": "on", "payload_off": "off",
                "state_on": "on", "state_off": "off", "entity_category": "config", "icon": "mdi:led-on",
            })));
        }
        if cam.can(Capability::Reboot) {
            out.push(entity(
                "button",
                "reboot",
                json!({
                    "name": "Reboot", "command_topic": set("reboot"), "device_class": "restart",
                    "entity_category": "config",
                }),
            ));
        }
        if cam.can(Capability::Wifi) {
            out.push(entity("text", "wifi_ssid", json!({
                "name": "Wi-Fi SSID", "command_topic": set("wifi_ssid"), "state_topic": state,
                "value_template": "{{ value_json.wifi_ssid }}", "max": 31, "entity_category": "config",
                "icon": "mdi:wifi",
            })));
            // The state topic only ever says whether a password is staged, never the password.
            out.push(entity("text", "wifi_password", json!({
                "name": "Wi-Fi password", "command_topic": set("wifi_password"), "mode": "password",
                "state_topic": state, "value_template": "{{ '********' if value_json.wifi_password_set else '' }}",
                "max": 31, "entity_category": "config", "icon": "mdi:form-textbox-password",
            })));
            out.push(entity("button", "wifi_apply", json!({
                "name": "Apply Wi-Fi", "command_topic": set("wifi_apply"), "entity_category": "config",
                "icon": "mdi:wifi-arrow-up-down",
            })));
        }
        if cam.can(Capability::Intercom) {
            out.push(entity("text", "intercom_url", json!({
                "name": "Intercom URL", "command_topic": set("intercom"),
                "command_template": "{\"url\": \"{{ value }}\"}", "max": 255, "icon": "mdi:bullhorn",
            })));
            if self.speech {
                // MQTT notify: the message is the payload of set/say.
                out.push(entity(
                    "notify",
                    "say",
                    json!({
                        "name": "Say", "command_topic": set("say"), "icon": "mdi:account-voice",
                    }),
                ));
            }
            out.push(entity("button", "intercom_stop", json!({
                "name": "Stop intercom", "command_topic": set("intercom"), "payload_press": "stop",
                "icon": "mdi:volume-off",
            })));
            out.push(entity("sensor", "intercom", json!({
                "name": "Intercom", "state_topic": state, "value_template": "{{ value_json.intercom }}",
                "device_class": "enum", "options": ["idle", "playing", "talking"],
                "icon": "mdi:account-voice",
            })));
        }
        if cam.can(Capability::Ptz) {
            for dir in ["up", "down", "left", "right", "stop", "home"] {
                out.push(entity("button", &format!("ptz_{dir}"), json!({
                    "name": format!("PTZ {dir}"), "command_topic": set("ptz"), "payload_press": dir,
                })));
            }
        }
        if cam.can(Capability::Signal) {
            out.push(entity("sensor", "signal", json!({
                "name": "Signal", "state_topic": state, "value_template": "{{ value_json.signal_dbm }}",
                "unit_of_measurement": "dBm", "device_class": "signal_strength", "state_class": "measurement",
                "entity_category": "diagnostic",
            })));
        }
        if cam.can(Capability::SignalPercent) {
            // HA's signal_strength class takes only dB/dBm: a percentage has no class.
            out.push(entity("sensor", "signal_percent", json!({
                "name": "Signal", "state_topic": state, "value_template": "{{ value_json.signal_percent }}",
                "unit_of_measurement": "%", "state_class": "measurement", "icon": "mdi:wifi",
                "entity_category": "diagnostic",
            })));
        }
        // Session phase and last error stay available while the camera is offline:
        // that is when they explain why.
        let bridge_only = json!([{ "topic": self.topics.bridge_state() }]);
        out.push(entity("sensor", "session", json!({
            "name": "Session", "state_topic": state, "value_template": "{{ value_json.session }}",
            "device_class": "enum", "options": SessionPhase::ALL.map(SessionPhase::as_str), "entity_category": "diagnostic",
            "icon": "mdi:lan-connect", "availability": bridge_only,
        })));
        // HA states are at most 255 characters.
        out.push(entity("sensor", "last_error", json!({
            "name": "Last error", "state_topic": state,
            "value_template": "{{ (value_json.last_error or '')[:250] }}",
            "entity_category": "diagnostic", "icon": "mdi:alert-circle-outline", "availability": bridge_only,
        })));
        // The connectivity sensor must stay available while the camera is offline.
        out.push(entity("binary_sensor", "connectivity", json!({
            "name": "Connectivity", "state_topic": t("availability"), "payload_on": "online",
            "payload_off": "offline", "device_class": "connectivity", "entity_category": "diagnostic",
            "availability": [{ "topic": self.topics.bridge_state() }],
        })));
        out.push(entity(
            "event",
            "event",
            json!({
                "name": "Event", "state_topic": t("event"), "event_types": ["command"],
            }),
        ));
        out
    }

    fn finish(&self, node: &str, e: &mut Entity, availability: &Value) {
        e.config
            .insert("unique_id".into(), json!(format!("{node}_{}", e.object)));
        e.config
            .entry("availability")
            .or_insert_with(|| availability.clone());
        // An entity that declares an empty list reads the bridge state itself and is always available.
        if e.config
            .get("availability")
            .is_some_and(|a| a.as_array().is_some_and(Vec::is_empty))
        {
            e.config.remove("availability");
        } else {
            e.config.insert("availability_mode".into(), json!("all"));
        }
        e.config.insert(
            "default_entity_id".into(),
            json!(format!(
                "{}.{}",
                e.component,
                entity_object_id(node, &e.object)
            )),
        );
    }

    fn render(
        &self,
        node: &str,
        device: Value,
        availability: Value,
        mut entities: Vec<Entity>,
    ) -> Vec<DiscoveryMessage> {
        for e in &mut entities {
            self.finish(node, e, &availability);
        }
        match self.mode {
            DiscoveryMode::Off => Vec::new(),
            DiscoveryMode::Entity => entities
                .into_iter()
                .map(|mut e| {
                    e.config.insert("device".into(), device.clone());
                    e.config.insert("origin".into(), origin());
                    DiscoveryMessage {
                        topic: format!(
                            "{}/{}/{node}/{}/config",
                            self.prefix, e.component, e.object
                        ),
                        payload: Value::Object(e.config).to_string(),
                    }
                })
                .collect(),
            DiscoveryMode::Device => {
                let cmps: Map<String, Value> = entities
                    .into_iter()
                    .map(|mut e| {
                        e.config.insert("platform".into(), json!(e.component));
                        (e.object, Value::Object(e.config))
                    })
                    .collect();
                let payload = json!({ "device": device, "origin": origin(), "components": cmps });
                vec![DiscoveryMessage {
                    topic: format!("{}/device/{node}/config", self.prefix),
                    payload: payload.to_string(),
                }]
            }
        }
    }

    /// Discovery messages for one camera.
    pub fn camera_configs(&self, cam: &CameraInfo) -> Vec<DiscoveryMessage> {
        let node = Self::node(cam);
        self.render(
            &node,
            self.device_block(cam),
            self.availability(cam),
            self.camera_entities(cam),
        )
    }

    /// Empty retained messages that remove a camera's entities.
    pub fn camera_removal(&self, cam: &CameraInfo) -> Vec<DiscoveryMessage> {
        self.camera_configs(cam)
            .into_iter()
            .map(|m| DiscoveryMessage {
                topic: m.topic,
                payload: String::new(),
            })
            .collect()
    }

    /// Discovery messages for the bridge device itself.
    pub fn bridge_configs(&self) -> Vec<DiscoveryMessage> {
        let node = self.bridge_ident();
        let device = json!({
            "identifiers": [node],
            "name": "cam2mqtt bridge",
            "manufacturer": "cam2mqtt",
            "model": "Camera bridge",
            "sw_version": env!("CARGO_PKG_VERSION"),
        });
        let availability = json!([{ "topic": self.topics.bridge_state() }]);
        let info = self.topics.bridge_info();
        let entities = vec![
            entity(
                "binary_sensor",
                "connectivity",
                json!({
                    "name": "Connectivity", "state_topic": self.topics.bridge_state(), "payload_on": "online",
                    "payload_off": "offline", "device_class": "connectivity", "entity_category": "diagnostic",
                    "availability": [],
                }),
            ),
            entity(
                "sensor",
                "camera_count",
                json!({
                    "name": "Cameras", "state_topic": info, "value_template": "{{ value_json.cameras | count }}",
                    "icon": "mdi:cctv", "entity_category": "diagnostic",
                }),
            ),
            entity(
                "sensor",
                "version",
                json!({
                    "name": "Version", "state_topic": info, "value_template": "{{ value_json.version }}",
                    "entity_category": "diagnostic",
                }),
            ),
            entity(
                "button",
                "discover",
                json!({
                    "name": "Discover now", "command_topic": self.topics.bridge_set("discover"),
                    "icon": "mdi:magnify-scan",
                }),
            ),
        ];
        self.render(&node, device, availability, entities)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CameraId, Protocol};

    fn ctx(mode: DiscoveryMode) -> HaContext {
        HaContext {
            topics: Topics::new("cam2mqtt"),
            prefix: "homeassistant".into(),
            mode,
            bridge_id: "cam2mqtt".into(),
            web_url: None,
            speech: false,
        }
    }

    fn demo_cam() -> CameraInfo {
        CameraInfo {
            id: CameraId::parse("porch").unwrap(),
            uid: "demo_192_168_4_153".into(),
            name: "Porch".into(),
            protocol: Protocol::Demo,
            reach: crate::model::Reach::Host("192.168.4.153:8080".parse().unwrap()),
            model: "A9 (demo mode)".into(),
            firmware: None,
            mac: None,
            resolutions: vec![],
            capabilities: vec![Capability::Snapshot, Capability::Wifi],
        }
    }

    fn parse(m: &DiscoveryMessage) -> Value {
        serde_json::from_str(&m.payload).unwrap()
    }

    #[test]
    fn demo_camera_gets_exactly_its_entities() {
        let msgs = ctx(DiscoveryMode::Entity).camera_configs(&demo_cam());
        let topics: Vec<&str> = msgs.iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(
            topics,
            [
                "homeassistant/camera/cam2mqtt_demo_192_168_4_153/snapshot/config",
                "homeassistant/button/cam2mqtt_demo_192_168_4_153/take_snapshot/config",
                "homeassistant/number/cam2mqtt_demo_192_168_4_153/snapshot_interval/config",
                "homeassistant/sensor/cam2mqtt_demo_192_168_4_153/fps/config",
                "homeassistant/sensor/cam2mqtt_demo_192_168_4_153/bitrate/config",
                "homeassistant/sensor/cam2mqtt_demo_192_168_4_153/frames_dropped/config",
                "homeassistant/sensor/cam2mqtt_demo_192_168_4_153/last_snapshot/config",
                "homeassistant/text/cam2mqtt_demo_192_168_4_153/wifi_ssid/config",
                "homeassistant/text/cam2mqtt_demo_192_168_4_153/wifi_password/config",
                "homeassistant/button/cam2mqtt_demo_192_168_4_153/wifi_apply/config",
                "homeassistant/sensor/cam2mqtt_demo_192_168_4_153/session/config",
                "homeassistant/sensor/cam2mqtt_demo_192_168_4_153/last_error/config",
                "homeassistant/binary_sensor/cam2mqtt_demo_192_168_4_153/connectivity/config",
                "homeassistant/event/cam2mqtt_demo_192_168_4_153/event/config",
            ]
        );
        let cam = parse(&msgs[0]);
        assert_eq!(cam["name"], Value::Null);
        assert_eq!(cam["topic"], "cam2mqtt/porch/snapshot");
        assert_eq!(cam["unique_id"], "cam2mqtt_demo_192_168_4_153_snapshot");
        assert_eq!(cam["availability_mode"], "all");
        assert_eq!(cam["availability"][0]["topic"], "cam2mqtt/bridge/state");
        assert_eq!(
            cam["availability"][1]["topic"],
            "cam2mqtt/porch/availability"
        );
        assert_eq!(cam["device"]["via_device"], "cam2mqtt_bridge_cam2mqtt");
        assert_eq!(cam["origin"]["name"], "cam2mqtt");
        let pw = parse(&msgs[8]);
        assert_eq!(pw["mode"], "password");
        assert!(!pw["value_template"]
            .as_str()
            .unwrap()
            .contains("wifi_password\""));
        let last = parse(&msgs[6]);
        assert_eq!(last["state_topic"], "cam2mqtt/porch/last_snapshot");
        assert!(
            last.get("value_template").is_none(),
            "a timestamp sensor gets only dates"
        );
        let conn = parse(&msgs[10]);
        assert_eq!(conn["availability"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn device_mode_puts_every_component_in_one_message() {
        let msgs = ctx(DiscoveryMode::Device).camera_configs(&demo_cam());
        assert_eq!(msgs.len(), 1);
        assert_eq!(
            msgs[0].topic,
            "homeassistant/device/cam2mqtt_demo_192_168_4_153/config"
        );
        let v = parse(&msgs[0]);
        assert_eq!(v["device"]["name"], "Porch");
        assert_eq!(v["origin"]["name"], "cam2mqtt");
        let cmps = v["components"].as_object().unwrap();
        assert_eq!(cmps.len(), 14);
        assert_eq!(cmps["snapshot"]["platform"], "camera");
        assert_eq!(cmps["wifi_apply"]["platform"], "button");
        assert!(cmps.values().all(|c| c["unique_id"].is_string()));
    }

    #[test]
    fn off_mode_publishes_nothing_and_removal_empties_configs() {
        assert!(ctx(DiscoveryMode::Off)
            .camera_configs(&demo_cam())
            .is_empty());
        let removal = ctx(DiscoveryMode::Entity).camera_removal(&demo_cam());
        assert_eq!(removal.len(), 14);
        assert!(removal.iter().all(|m| m.payload.is_empty()));
    }

    #[test]
    fn bridge_device_has_connectivity_count_version_and_discover() {
        let msgs = ctx(DiscoveryMode::Entity).bridge_configs();
        let objects: Vec<String> = msgs
            .iter()
            .map(|m| m.topic.split('/').nth(3).unwrap().to_string())
            .collect();
        assert_eq!(
            objects,
            ["connectivity", "camera_count", "version", "discover"]
        );
        let conn = parse(&msgs[0]);
        assert!(conn.get("availability").is_none());
        let discover = parse(&msgs[3]);
        assert_eq!(discover["command_topic"], "cam2mqtt/bridge/set/discover");
    }

    #[test]
    fn more_capabilities_more_entities() {
        let mut cam = demo_cam();
        cam.capabilities
            .extend([Capability::Reboot, Capability::Ptz, Capability::Resolution]);
        cam.resolutions = vec!["640x480".into(), "320x240".into()];
        let msgs = ctx(DiscoveryMode::Entity).camera_configs(&cam);
        assert!(msgs.iter().any(|m| m.topic.contains("/reboot/")));
        assert!(msgs.iter().any(|m| m.topic.contains("/ptz_left/")));
        let sel = msgs
            .iter()
            .find(|m| m.topic.contains("/resolution/"))
            .unwrap();
        assert_eq!(parse(sel)["options"][1], "320x240");
    }

    #[test]
    fn every_default_entity_id_is_lower_case_even_for_an_upper_case_camera() {
        let mut cam = demo_cam();
        cam.id = CameraId::parse("Front-Door").unwrap();
        cam.uid = "DGOA-424242-SIMCA".into();
        cam.capabilities = Capability::ALL.to_vec();
        cam.resolutions = vec!["640x480".into()];
        for mode in [DiscoveryMode::Entity, DiscoveryMode::Device] {
            let msgs = ctx(mode).camera_configs(&cam);
            let v = parse(&msgs[0]);
            let configs: Vec<Value> = match v.get("components") {
                Some(c) => c.as_object().unwrap().values().cloned().collect(),
                None => msgs.iter().map(parse).collect(),
            };
            assert!(configs.len() > 20);
            for c in configs {
                let id = c["default_entity_id"].as_str().unwrap();
                let (domain, object) = id.split_once('.').unwrap();
                assert!(!domain.is_empty(), "{id}");
                assert!(
                    object
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                    "{id}"
                );
                assert!(object.starts_with("cam2mqtt_dgoa_424242_simca_"), "{id}");
            }
        }
        // The bridge's ids too.
        for m in ctx(DiscoveryMode::Entity).bridge_configs() {
            let id = parse(&m)["default_entity_id"].as_str().unwrap().to_string();
            assert_eq!(id, id.to_lowercase());
        }
    }

    #[test]
    fn the_signal_sensor_has_the_unit_the_camera_reports_and_night_vision_its_modes() {
        let find = |msgs: &[DiscoveryMessage], part: &str| {
            msgs.iter().find(|m| m.topic.contains(part)).map(parse)
        };
        let mut cam = demo_cam();
        cam.capabilities = vec![Capability::SignalPercent, Capability::NightVision];
        let msgs = ctx(DiscoveryMode::Entity).camera_configs(&cam);
        let pct = find(&msgs, "/signal_percent/").expect("a percent sensor");
        assert_eq!(pct["unit_of_measurement"], "%");
        assert_eq!(pct["value_template"], "{{ value_json.signal_percent }}");
        assert!(
            pct.get("device_class").is_none(),
            "signal_strength takes dB/dBm only"
        );
        assert!(find(&msgs, "/signal/").is_none());
        assert_eq!(
            find(&msgs, "/night_vision/").unwrap()["options"],
            json!(["on", "off"])
        );

        cam.capabilities = vec![
            Capability::Signal,
            Capability::NightVision,
            Capability::NightVisionAuto,
        ];
        let msgs = ctx(DiscoveryMode::Entity).camera_configs(&cam);
        let dbm = find(&msgs, "/signal/").expect("a dBm sensor");
        assert_eq!(dbm["unit_of_measurement"], "dBm");
        assert_eq!(dbm["device_class"], "signal_strength");
        assert!(find(&msgs, "/signal_percent/").is_none());
        assert_eq!(
            find(&msgs, "/night_vision/").unwrap()["options"],
            json!(["on", "off", "auto"])
        );
    }
}
