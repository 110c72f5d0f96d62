//! Unit tests of loading and validating the configuration.

use std::time::Duration;

use super::camera::COMMON_KEYS;
use super::*;
use crate::model::Protocol;
use crate::proto::demo::{AudioStart, FrameCheck};

/// The `[[cameras]]` entry the simulator prints and the integration tests use.
const DEMO: &str = "[[cameras]]\nprotocol=\"demo\"\nhost=\"127.0.0.1\"\nvideo_port=18080\naudio_port=18081\ncommand_port=18082\nframe_check=\"markers\"\nsilence_timeout_s=3\nsnapshot_interval_s=1\n";

fn demo_of(cam: &CameraConfig) -> &DemoCameraConfig {
    match &cam.kind {
        CameraKind::Demo(d) => d,
        other => panic!("not a demo camera: {other:?}"),
    }
}

#[test]
fn defaults_validate() {
    Config::default().validate().unwrap();
}

#[test]
fn errors_name_the_key() {
    let e = Config::from_toml("[mqtt]\nurl = \"http://x\"").unwrap_err();
    assert_eq!(e.key, "mqtt.url");
    let e = Config::from_toml("[snapshots]\ninterval_s = 99999").unwrap_err();
    assert_eq!(e.key, "snapshots.interval_s");
    let e = Config::from_toml("[mqtt]\nport = 5").unwrap_err();
    assert!(e.to_string().contains("port"), "{e}");
    let e = Config::from_toml("[[cameras]]\nprotocol = \"demo\"").unwrap_err();
    assert_eq!(e.key, "cameras[0].host");
    let e = Config::from_toml("[[cameras]]\nprotocol = \"foo\"\nhost=\"x\"").unwrap_err();
    assert!(e.to_string().contains("foo"), "{e}");
}

#[test]
fn broker_urls_parse() {
    assert_eq!(
        parse_broker_url("mqtt://h:1884").unwrap(),
        (false, "h".into(), 1884)
    );
    assert_eq!(
        parse_broker_url("mqtts://h").unwrap(),
        (true, "h".into(), 8883)
    );
    assert_eq!(
        parse_broker_url("mqtt://[::1]:1").unwrap(),
        (false, "::1".into(), 1)
    );
    assert!(parse_broker_url("mqtt://:1").is_err());
}

#[test]
fn a_demo_config_loads_unchanged() {
    let cfg = Config::from_toml(DEMO).unwrap();
    let cam = &cfg.cameras[0];
    assert_eq!(cam.protocol(), Protocol::Demo);
    assert_eq!(cam.host(), "127.0.0.1");
    assert_eq!(cam.uid(), "");
    assert!(cam.enabled);
    assert_eq!(cam.snapshot_interval_s, Some(1));
    let d = demo_of(cam);
    assert_eq!(
        (d.video_port, d.audio_port, d.command_port),
        (18080, 18081, 18082)
    );
    assert_eq!(d.frame_check, FrameCheck::Markers);
    assert_eq!(d.audio_start, AudioStart::Request);
    assert_eq!(d.silence_timeout(), Duration::from_secs(3));
    assert_eq!(cam.effective_id().as_str(), "demo_127_0_0_1_18080");

    let cfg = Config::from_toml("[[cameras]]\nprotocol=\"demo\"\nhost=\"192.168.4.153\"").unwrap();
    let d = demo_of(&cfg.cameras[0]);
    assert_eq!(
        (
            d.video_port,
            d.audio_port,
            d.command_port,
            d.silence_timeout_s
        ),
        (8080, 8070, 8090, 10)
    );
    assert_eq!(d.frame_check, FrameCheck::Header);
}

#[test]
fn video_port_on_a_tutk_camera_is_rejected_naming_the_key_the_camera_and_the_allowed_keys() {
    let e = Config::from_toml(
        "[[cameras]]\nid=\"garage\"\nprotocol=\"tutk\"\nuid=\"ABCDEFGHIJKLMNOPQRST\"\nenr=\"secret-enr\"\nvideo_port=8080",
    )
    .unwrap_err();
    assert_eq!(e.key, "cameras[0].video_port");
    assert_eq!(
        e.to_string(),
        "cameras[0].video_port: not a setting of a tutk camera (camera \"garage\"); \
         tutk cameras take: id, name, enabled, snapshot_interval_s, host, uid, enr, mac"
    );
    assert!(!e.to_string().contains("secret-enr"), "{e}");
}

#[test]
fn each_protocol_rejects_the_keys_of_the_others() {
    for (protocol, key, value) in [
        ("demo", "uid", "\"x\""),
        ("demo", "password", "\"pw\""),
        ("pppp", "enr", "\"x\""),
        ("pppp", "frame_check", "\"markers\""),
        ("tutk", "username", "\"admin\""),
        ("tutk", "silence_timeout_s", "5"),
    ] {
        let e = Config::from_toml(&format!(
            "[[cameras]]\nprotocol=\"{protocol}\"\nhost=\"10.0.0.9\"\n{key}={value}"
        ))
        .unwrap_err();
        assert_eq!(e.key, format!("cameras[0].{key}"), "{protocol}: {e}");
        assert!(
            e.message
                .contains(&format!("not a setting of a {protocol} camera")),
            "{e}"
        );
    }
}

#[test]
fn several_unknown_keys_are_named_together() {
    let e = Config::from_toml(
        "[[cameras]]\nprotocol=\"pppp\"\nhost=\"h\"\nzoom=1\nenr=\"x\"\naudio_port=1",
    )
    .unwrap_err();
    assert_eq!(e.key, "cameras[0].audio_port");
    assert!(
        e.message.contains("(camera \"h\")")
            && e.message.ends_with("; also not pppp settings: enr, zoom"),
        "{e}"
    );
}

#[test]
fn an_error_in_a_config_file_names_the_file_the_key_and_the_camera() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cams.toml");
    std::fs::write(
        &path,
        "[[cameras]]\nprotocol=\"demo\"\nhost=\"10.0.0.2\"\n\n\
         [[cameras]]\nprotocol=\"tutk\"\nuid=\"WYZEUID0123456789ABC\"\nenr=\"k\"\nvideo_port=8080\n",
    )
    .unwrap();
    let e = Config::load_with_env(Some(&path), Some(config::Map::new())).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(path.as_path()));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{}: cameras[1].video_port: ", path.display())),
        "{text}"
    );
    assert!(text.contains("(camera \"WYZEUID0123456789ABC\")"), "{text}");
    assert!(text.contains("tutk cameras take: "), "{text}");
}

#[test]
fn a_type_error_in_a_camera_names_the_key_and_the_camera() {
    let e = Config::from_toml(&DEMO.replace("video_port=18080", "video_port=\"x\"")).unwrap_err();
    assert_eq!(e.key, "cameras[0].video_port");
    assert!(
        e.message.contains("invalid type") && e.message.contains("(camera \"127.0.0.1\")"),
        "{e}"
    );

    let e = Config::from_toml(&DEMO.replace("\"markers\"", "\"crc\"")).unwrap_err();
    assert_eq!(e.key, "cameras[0].frame_check");
    assert!(e.message.contains("expected header or markers"), "{e}");

    let e = Config::from_toml(&DEMO.replace("video_port=18080", "video_port=70000")).unwrap_err();
    assert_eq!(e.key, "cameras[0].video_port");

    let e =
        Config::from_toml(&DEMO.replace("snapshot_interval_s=1", "snapshot_interval_s=\"soon\""))
            .unwrap_err();
    assert_eq!(e.key, "cameras[0].snapshot_interval_s");

    let e =
        Config::from_toml("[[cameras]]\nid=\"door\"\nprotocol=\"pppp\"\nuid=\"U\"\npassword=[1]")
            .unwrap_err();
    assert_eq!(e.key, "cameras[0].password");
    assert!(e.message.contains("(camera \"door\")"), "{e}");
}

#[test]
fn a_missing_protocol_is_an_error_listing_the_protocols() {
    let e = Config::from_toml("[[cameras]]\nid=\"porch\"\nhost=\"10.0.0.3\"").unwrap_err();
    assert_eq!(e.key, "cameras[0].protocol");
    assert_eq!(
        e.message,
        "missing (camera \"porch\"); one of demo, pppp, tutk"
    );
}

#[test]
fn an_unknown_protocol_lists_the_known_ones() {
    let e = Config::from_toml(&format!(
        "{DEMO}\n[[cameras]]\nprotocol=\"rtsp\"\nhost=\"cam\""
    ))
    .unwrap_err();
    assert_eq!(e.key, "cameras[1].protocol");
    assert_eq!(
        e.message,
        "unknown protocol \"rtsp\" (camera \"cam\"); one of demo, pppp, tutk"
    );
}

#[test]
fn pppp_and_tutk_cameras_load_with_their_own_keys() {
    let cfg = Config::from_toml(
        "[[cameras]]\nname=\"Door\"\nprotocol=\"pppp\"\nuid=\"ABCD-123456-ABCDE\"\nusername=\"admin\"\npassword=\"pw\"\n\
         [[cameras]]\nprotocol=\"tutk\"\nhost=\"10.0.0.7\"\nuid=\"WYZEUID0123456789ABC\"\nenr=\"enr-0123456789abc\"\nmac=\"AA:BB:CC:DD:EE:FF\"\nenabled=false",
    )
    .unwrap();
    let [door, wyze] = &cfg.cameras[..] else {
        panic!("{:?}", cfg.cameras)
    };
    assert_eq!(door.protocol(), Protocol::Pppp);
    // One id whether the UID is written with hyphens or without.
    assert_eq!(door.effective_id().as_str(), "abcd123456abcde");
    let mut compact = door.clone();
    if let CameraKind::Pppp(p) = &mut compact.kind {
        p.uid = "ABCD123456ABCDE".into();
    }
    assert_eq!(compact.effective_id(), door.effective_id());
    let CameraKind::Pppp(p) = &door.kind else {
        panic!()
    };
    assert_eq!((p.username.as_str(), p.password.expose()), ("admin", "pw"));
    assert_eq!(wyze.host(), "10.0.0.7");
    assert!(!wyze.enabled);
    let CameraKind::Tutk(t) = &wyze.kind else {
        panic!()
    };
    assert_eq!(
        (t.enr.expose(), t.mac.as_str()),
        ("enr-0123456789abc", "AA:BB:CC:DD:EE:FF")
    );
}

#[test]
fn pppp_needs_a_uid_or_host_and_tutk_needs_uid_and_enr() {
    let e = Config::from_toml("[[cameras]]\nid=\"x\"\nprotocol=\"pppp\"").unwrap_err();
    assert_eq!(e.key, "cameras[0].uid");
    Config::from_toml("[[cameras]]\nprotocol=\"pppp\"\nhost=\"10.0.0.4\"").unwrap();

    let e = Config::from_toml("[[cameras]]\nprotocol=\"tutk\"\nhost=\"h\"\nenr=\"k\"").unwrap_err();
    assert_eq!(e.key, "cameras[0].uid");
    let e = Config::from_toml(
        "[[cameras]]\nid=\"garage\"\nprotocol=\"tutk\"\nuid=\"ABCDEFGHIJKLMNOPQRST\"",
    )
    .unwrap_err();
    assert_eq!(e.key, "cameras[0].enr");
    assert!(
        e.message.contains("(camera \"garage\")") && e.message.contains("authenticate"),
        "{e}"
    );
}

#[test]
fn validation_errors_name_the_camera() {
    let e = Config::from_toml(&DEMO.replace("command_port=18082", "command_port=0")).unwrap_err();
    assert_eq!(e.key, "cameras[0].command_port");
    assert!(e.message.contains("(camera \"127.0.0.1\")"), "{e}");

    let e = Config::from_toml(&format!(
        "{DEMO}[[cameras]]\nid=\"tv\"\nprotocol=\"demo\"\nhost=\"h\"\nsnapshot_interval_s=4000"
    ))
    .unwrap_err();
    assert_eq!(e.key, "cameras[1].snapshot_interval_s");
    assert!(e.message.contains("(camera \"tv\")"), "{e}");

    let e =
        Config::from_toml("[[cameras]]\nid=\"bridge\"\nprotocol=\"demo\"\nhost=\"h\"").unwrap_err();
    assert_eq!(e.key, "cameras[0].id");
    assert!(e.message.contains("reserved"), "{e}");

    let two = "[[cameras]]\nid=\"a\"\nprotocol=\"demo\"\nhost=\"h1\"\n\
               [[cameras]]\nid=\"a\"\nprotocol=\"pppp\"\nhost=\"h2\"\n";
    let e = Config::from_toml(two).unwrap_err();
    assert_eq!(e.key, "cameras[1].id");
    assert!(e.message.contains("cameras[0]"), "{e}");
    Config::from_toml(&format!("{two}enabled=false")).unwrap();
}

#[test]
fn redacted_toml_round_trips_all_three_protocols_with_secrets_hidden() {
    let cfg = Config::from_toml(&format!(
        "[mqtt]\nusername = \"bridge\"\npassword = \"brokerpw\"\n\
         [wyze]\nemail = \"a@b.c\"\npassword = \"wyzepw\"\nkey_id = \"id\"\napi_key = \"wyzekey\"\n\
         {DEMO}\
         [[cameras]]\nid=\"door\"\nprotocol=\"pppp\"\nuid=\"ABCD-123456-ABCDE\"\nusername=\"admin\"\npassword=\"camerapw\"\n\
         [[cameras]]\nprotocol=\"tutk\"\nuid=\"WYZEUID0123456789ABC\"\nenr=\"wyzeenr-0123456789\"\nmac=\"AABBCCDDEEFF\"\nsnapshot_interval_s=30\n"
    ))
    .unwrap();
    let text = cfg.redacted_toml();
    for secret in ["brokerpw", "wyzepw", "wyzekey", "camerapw", "wyzeenr"] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
    for shown in [
        "protocol = \"demo\"",
        "protocol = \"pppp\"",
        "protocol = \"tutk\"",
        "password = \"<redacted>\"",
        "enr = \"<redacted>\"",
        "username = \"admin\"",
        "frame_check = \"markers\"",
    ] {
        assert!(text.contains(shown), "no {shown} in:\n{text}");
    }
    // The placeholders are not valid secrets (an ENR has at least 16
    // characters): put one back, and the rest loads as it is.
    let filled = text.replace("enr = \"<redacted>\"", "enr = \"wyzeenr-0123456789\"");
    let again = Config::from_toml(&filled).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.cameras.len(), 3);
    let protocols: Vec<Protocol> = again.cameras.iter().map(CameraConfig::protocol).collect();
    assert_eq!(protocols, [Protocol::Demo, Protocol::Pppp, Protocol::Tutk]);
    let ids = |c: &Config| {
        c.cameras
            .iter()
            .map(CameraConfig::effective_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&cfg));
    assert_eq!(demo_of(&again.cameras[0]).video_port, 18080);
    assert_eq!(again.cameras[2].snapshot_interval_s, Some(30));
    assert_eq!(again.redacted_toml(), text);
}

#[test]
fn a_config_and_a_camera_also_deserialize_through_serde() {
    let cfg = Config::from_toml(&format!(
        "{DEMO}[[cameras]]\nprotocol=\"pppp\"\nuid=\"ABCD-123456-ABCDE\"\npassword=\"pw\""
    ))
    .unwrap();
    let json = serde_json::to_value(&cfg).unwrap();
    assert_eq!(
        json["cameras"][1]["snapshot_interval_s"],
        serde_json::Value::Null
    );
    let again: Config = serde_json::from_value(json).unwrap();
    assert_eq!(demo_of(&again.cameras[0]).command_port, 18082);
    assert_eq!(again.cameras[1].snapshot_interval_s, None);

    let cam: CameraConfig = serde_json::from_value(serde_json::json!({
        "protocol": "tutk", "uid": "U", "enr": "k", "enabled": false
    }))
    .unwrap();
    assert_eq!((cam.protocol(), cam.enabled), (Protocol::Tutk, false));
    let e = serde_json::from_value::<CameraConfig>(serde_json::json!({
        "protocol": "tutk", "uid": "U", "audio_port": 1
    }))
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("audio_port: not a setting of a tutk camera (camera \"U\")"),
        "{e}"
    );
}

#[test]
fn the_key_lists_match_the_structs() {
    fn keys<T: Serialize + Default>() -> Vec<String> {
        let mut k: Vec<String> = serde_json::to_value(T::default())
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    }
    fn sorted(k: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
        k.sort();
        k
    }
    assert_eq!(keys::<DemoCameraConfig>(), sorted(DemoCameraConfig::KEYS));
    assert_eq!(keys::<PpppCameraConfig>(), sorted(PpppCameraConfig::KEYS));
    assert_eq!(keys::<TutkCameraConfig>(), sorted(TutkCameraConfig::KEYS));
    let common = serde_json::to_value(CameraConfig::demo("h")).unwrap();
    for k in COMMON_KEYS {
        assert!(common.get(k).is_some(), "{k}");
    }
}

#[test]
fn environment_overrides_still_apply_to_the_sections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, format!("[mqtt]\nclient_id = \"from-file\"\n{DEMO}")).unwrap();
    let env: config::Map<String, String> = [
        ("CAM2MQTT__MQTT__CLIENT_ID", "from-env"),
        ("CAM2MQTT__MQTT__USERNAME", "envuser"),
        ("CAM2MQTT__MQTT__PASSWORD", "envpw"),
        ("CAM2MQTT__SNAPSHOTS__INTERVAL_S", "30"),
        ("CAM2MQTT__DISCOVERY__DEMO_MODE_HOSTS", "10.0.0.1,10.0.0.2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let cfg = Config::load_with_env(Some(&path), Some(env)).unwrap();
    assert_eq!(cfg.mqtt.client_id, "from-env");
    assert_eq!(cfg.mqtt.password.expose(), "envpw");
    assert_eq!(cfg.snapshots.interval_s, 30);
    assert_eq!(cfg.discovery.demo_mode_hosts, ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(demo_of(&cfg.cameras[0]).video_port, 18080);
}

#[test]
fn wyze_hosts_default_to_the_wyze_cloud_and_can_point_elsewhere() {
    let cfg = Config::from_toml(DEMO).unwrap();
    assert_eq!(cfg.wyze.auth_url, "https://auth-prod.api.wyze.com");
    assert_eq!(cfg.wyze.api_url, "https://api.wyzecam.com");
    assert_eq!(cfg.wyze.ca_file, None);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let wyze = |ca_file: &Path| {
        format!(
            "[wyze]\nemail = \"a@b.c\"\npassword = \"wyzepw\"\ntotp_secret = \"wyzetotp\"\n\
             api_key = \"k\"\nkey_id = \"i\"\n\
             auth_url = \"https://127.0.0.1:4443\"\napi_url = \"https://127.0.0.1:4444\"\n\
             ca_file = {:?}\n{DEMO}",
            ca_file.display().to_string()
        )
    };
    let cfg = Config::from_toml(&wyze(&ca)).unwrap();
    assert_eq!(cfg.wyze.auth_url, "https://127.0.0.1:4443");
    assert_eq!(cfg.wyze.api_url, "https://127.0.0.1:4444");
    assert_eq!(cfg.wyze.ca_file.as_deref(), Some(ca.as_path()));
    // The client's own checks run at load time, so check-config sees them.
    let e = Config::from_toml(&wyze(&dir.path().join("missing.pem"))).unwrap_err();
    assert_eq!(e.key, "wyze.ca_file");
    let text = cfg.redacted_toml();
    assert!(
        !text.contains("wyzepw") && !text.contains("wyzetotp"),
        "{text}"
    );
    assert!(
        text.contains("auth_url = \"https://127.0.0.1:4443\""),
        "{text}"
    );
    let e = Config::from_toml(&format!("[wyze]\nauth_host = \"x\"\n{DEMO}")).unwrap_err();
    assert!(e.to_string().contains("auth_host"), "{e}");
}

#[test]
fn the_example_config_loads_and_its_camera_examples_use_only_their_protocols_keys() {
    let text = include_str!("../../config/cam2mqtt.example.toml");
    Config::from_toml(text).unwrap();
    // Each example: "# [[cameras]]" and the "# key = value" lines after it,
    // up to the first line that is not one.
    let mut examples: Vec<String> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        if line == "# [[cameras]]" {
            examples.push("[[cameras]]\n".into());
            open = true;
        } else if open {
            match line.strip_prefix("# ") {
                Some(l) if l.starts_with(' ') => {} // a comment's second line
                Some(l) => {
                    let example = examples.last_mut().expect("open example");
                    example.push_str(l);
                    example.push('\n');
                }
                None => open = false,
            }
        }
    }
    assert!(
        examples[0].contains("silence_timeout_s") && examples[2].contains("mac"),
        "{examples:?}"
    );
    let protocols = examples
        .iter()
        .map(|example| {
            let raw = config::Config::builder()
                .add_source(config::File::from_str(example, config::FileFormat::Toml))
                .build()
                .and_then(config::Config::try_deserialize::<RawConfig>)
                .unwrap_or_else(|e| panic!("{e}\n{example}"));
            // Keys and types only: the examples leave required secrets empty.
            let cfg = Config::try_from(raw).unwrap_or_else(|e| panic!("{e}\n{example}"));
            cfg.cameras[0].protocol()
        })
        .collect::<Vec<_>>();
    assert_eq!(protocols, [Protocol::Demo, Protocol::Pppp, Protocol::Tutk]);
}

#[test]
fn ids_are_derived_from_uid_or_address() {
    assert_eq!(
        CameraConfig::demo("192.168.4.153").effective_id().as_str(),
        "demo_192_168_4_153"
    );
    let mut c = CameraConfig::demo("127.0.0.1");
    if let CameraKind::Demo(d) = &mut c.kind {
        d.video_port = 18080;
    }
    assert_eq!(c.effective_id().as_str(), "demo_127_0_0_1_18080");
    let pppp = CameraConfig::new(CameraKind::Pppp(PpppCameraConfig {
        host: "10.0.0.5".into(),
        ..PpppCameraConfig::default()
    }));
    assert_eq!(pppp.effective_id().as_str(), "pppp_10_0_0_5");
    let tutk = CameraConfig::new(CameraKind::Tutk(TutkCameraConfig {
        uid: "WYZE-UID".into(),
        ..TutkCameraConfig::default()
    }));
    assert_eq!(tutk.effective_id().as_str(), "wyze_uid");
}

#[test]
fn http_keys_are_checked_and_name_what_is_allowed() {
    for (toml, key, says) in [
        ("[http]\nlive_fps = 0", "http.live_fps", "1 to 30"),
        ("[http]\nlive_fps = 31", "http.live_fps", "1 to 30"),
        ("[http]\nusername = \"viewer\"", "http.password", "both"),
        ("[http]\npassword = \"pw\"", "http.username", "both"),
        (
            "[http]\ntrusted_proxies = [\"ingress\"]",
            "http.trusted_proxies[0]",
            "IP address",
        ),
        (
            "[http]\nexternal_url = \"192.168.1.10:8099\"",
            "http.external_url",
            "http://",
        ),
        (
            "[http]\nhealth_interval_s = 100000",
            "http.health_interval_s",
            "86400",
        ),
        (
            "[http]\nlisten = \"localhost:8099\"",
            "http.listen",
            "IP:port",
        ),
        ("[rtsp]\nlisten = \"8554\"", "rtsp.listen", "0.0.0.0:8554"),
        (
            "[rtsp]\nurl = \"rtsp://viewer:pw@192.168.1.10:8554\"",
            "rtsp.url",
            "without credentials",
        ),
        ("[rtsp]\nurl = \"http://x\"", "rtsp.url", "rtsp://"),
    ] {
        let e = Config::from_toml(toml).unwrap_err();
        assert_eq!(e.key, key, "{toml}: {e}");
        assert!(e.message.contains(says), "{toml}: {e}");
    }
    let cfg = Config::from_toml(
        "[http]\nusername = \"viewer\"\npassword = \"pw-9f3\"\ntoken = \"tok-77a\"\n\
         trusted_proxies = [\"172.30.32.2\"]\nexternal_url = \"http://192.168.1.10:8099/\"",
    )
    .unwrap();
    let shown = cfg.redacted_toml();
    assert!(
        !shown.contains("pw-9f3") && !shown.contains("tok-77a"),
        "{shown}"
    );
    assert_eq!(cfg.http.live_fps, 5);
    // IPv6, and port 0 (the system picks one; the log names it).
    for listen in ["[::]:8099", "127.0.0.1:0"] {
        let toml = format!("[http]\nlisten = \"{listen}\"\n[rtsp]\nlisten = \"{listen}\"");
        let cfg = Config::from_toml(&toml).unwrap_or_else(|e| panic!("{listen}: {e}"));
        assert_eq!((&*cfg.http.listen, &*cfg.rtsp.listen), (listen, listen));
    }
}
