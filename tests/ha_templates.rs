//! Home Assistant templates and the camera state are one truth: every
//! `value_json.<field>` in a discovery config that reads the camera's `state`
//! topic names a field the serialised [`CameraState`] has, for every
//! capability set and both discovery formats. A template naming a field the
//! state lacks would show "unknown" in Home Assistant forever.

use std::collections::BTreeSet;

use cam2mqtt::bus::CameraState;
use cam2mqtt::config::DiscoveryMode;
use cam2mqtt::model::{CameraId, CameraInfo, Capability, Protocol, Reach};
use cam2mqtt::publisher::ha::HaContext;
use cam2mqtt::publisher::topics::Topics;
use serde_json::Value;

fn ctx(mode: DiscoveryMode) -> HaContext {
    HaContext {
        topics: Topics::new("cam2mqtt"),
        prefix: "homeassistant".into(),
        mode,
        bridge_id: "cam2mqtt".into(),
        web_url: None,
        speech: true,
    }
}

fn camera(capabilities: Vec<Capability>) -> CameraInfo {
    CameraInfo {
        id: CameraId::parse("cam").unwrap(),
        uid: "cam".into(),
        name: "Cam".into(),
        protocol: Protocol::Pppp,
        reach: Reach::Uid {
            uid: "ABCD-123456-ABCDE".into(),
            last_known: None,
        },
        model: "m".into(),
        firmware: Some("1.0".into()),
        mac: Some("aa:bb:cc:dd:ee:ff".into()),
        resolutions: vec!["640x480".into(), "1280x720".into()],
        capabilities,
    }
}

/// The entity configs inside one discovery payload (both formats).
fn entity_configs(payload: &str) -> Vec<(String, Value)> {
    let v: Value = serde_json::from_str(payload).expect("discovery payload is JSON");
    match v.get("components").and_then(Value::as_object) {
        Some(cmps) => cmps.iter().map(|(k, c)| (k.clone(), c.clone())).collect(),
        None => vec![(
            v["unique_id"].as_str().unwrap_or("?").to_string(),
            v.clone(),
        )],
    }
}

/// Every `value_json.<ident>` in any string of `config`.
fn fields_read(config: &Value, out: &mut Vec<String>) {
    match config {
        Value::String(s) => {
            for (i, _) in s.match_indices("value_json.") {
                let field: String = s[i + "value_json.".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.push(field);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| fields_read(v, out)),
        Value::Object(o) => o.values().for_each(|v| fields_read(v, out)),
        _ => {}
    }
}

/// Templates reading `state_topic` that name a field `state` lacks, as
/// `(entity, field)`; also returns every field read, for sanity checks.
fn check(
    configs: &[(String, Value)],
    state_topic: &str,
    state: &Value,
) -> (Vec<(String, String)>, BTreeSet<String>) {
    let keys = state.as_object().expect("state is an object");
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    for (entity, config) in configs {
        if config.get("state_topic").and_then(Value::as_str) != Some(state_topic) {
            continue;
        }
        let mut fields = Vec::new();
        fields_read(config, &mut fields);
        for f in fields {
            if !keys.contains_key(&f) {
                missing.push((entity.clone(), f.clone()));
            }
            seen.insert(f);
        }
    }
    (missing, seen)
}

fn all_subsets() -> impl Iterator<Item = Vec<Capability>> {
    let n = Capability::ALL.len();
    (0u32..(1 << n)).map(move |mask| {
        Capability::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, c)| *c)
            .collect()
    })
}

#[test]
fn every_state_template_names_a_field_of_the_state_for_every_capability_set() {
    let mut seen_all = BTreeSet::new();
    for mode in [DiscoveryMode::Entity, DiscoveryMode::Device] {
        let ha = ctx(mode);
        for caps in all_subsets() {
            let cam = camera(caps.clone());
            let state = serde_json::to_value(CameraState::new(&cam, 10)).unwrap();
            let configs: Vec<(String, Value)> = ha
                .camera_configs(&cam)
                .iter()
                .flat_map(|m| entity_configs(&m.payload))
                .collect();
            let (missing, seen) = check(&configs, "cam2mqtt/cam/state", &state);
            assert!(missing.is_empty(), "{mode:?} {caps:?}: {missing:?}");
            seen_all.extend(seen);
        }
    }
    // The check looked at real templates, including those for optional hardware.
    for f in [
        "snapshot_interval_s",
        "fps",
        "bitrate_kbps",
        "resolution",
        "night_vision",
        "light",
        "signal_dbm",
        "signal_percent",
        "wifi_ssid",
        "wifi_password_set",
        "session",
        "last_error",
    ] {
        assert!(seen_all.contains(f), "no template reads {f}: {seen_all:?}");
    }
}

#[test]
fn a_template_naming_a_missing_field_is_caught() {
    let ha = ctx(DiscoveryMode::Entity);
    let cam = camera(Capability::ALL.to_vec());
    let state = serde_json::to_value(CameraState::new(&cam, 10)).unwrap();
    let mut configs: Vec<(String, Value)> = ha
        .camera_configs(&cam)
        .iter()
        .flat_map(|m| entity_configs(&m.payload))
        .collect();
    // Break one template, as a typo in ha.rs would.
    let (name, fps) = configs
        .iter_mut()
        .find(|(n, _)| n.ends_with("_fps"))
        .expect("the fps sensor");
    fps["value_template"] = Value::from("{{ value_json.frames_per_second }}");
    let name = name.clone();
    let (missing, _) = check(&configs, "cam2mqtt/cam/state", &state);
    assert_eq!(missing, vec![(name, "frames_per_second".to_string())]);
    // And a state that lost a field is caught too.
    let mut thin = state.clone();
    thin.as_object_mut().unwrap().remove("signal_dbm");
    let configs: Vec<(String, Value)> = ha
        .camera_configs(&cam)
        .iter()
        .flat_map(|m| entity_configs(&m.payload))
        .collect();
    let (missing, _) = check(&configs, "cam2mqtt/cam/state", &thin);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].1, "signal_dbm");
}
