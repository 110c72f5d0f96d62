use super::*;
use crate::config::CameraKind;

const SAMPLE: &str = include_str!("../../tests/data/addon/options.json");

fn service() -> ServiceBroker {
    ServiceBroker {
        host: "core-mosquitto".into(),
        port: 1883,
        username: "addons".into(),
        password: Secret::new("service-pass-44"),
        ssl: false,
    }
}

fn around() -> Surroundings {
    Surroundings::with_broker(Some(service()))
}

#[test]
fn a_full_sample_maps_to_the_effective_config() {
    let a = map(SAMPLE, None, &around()).expect("the sample maps");
    let c = &a.config;
    assert_eq!(a.log_level, "debug");
    // The user's broker override wins over the Supervisor's service.
    assert_eq!(c.mqtt.url, "mqtt://192.168.1.2:1884");
    assert_eq!(c.mqtt.username, "bridge");
    assert_eq!(c.mqtt.password.expose(), "mqtt-pass-55");
    // The web UI on the ingress port, trusting the ingress proxy, with the
    // LAN credentials and the live rate.
    assert_eq!(c.http.listen, HTTP_LISTEN);
    assert_eq!(c.http.trusted_proxies, vec![INGRESS_PROXY.to_string()]);
    assert_eq!(c.http.username, "viewer");
    assert_eq!(c.http.password.expose(), "web-pass-66");
    assert_eq!(c.http.live_fps, 3);
    assert_eq!(c.rtsp.listen, "0.0.0.0:8555");
    assert_eq!(c.snapshots.interval_s, 15);
    assert_eq!(c.discovery.interval_s, 120);
    assert!(!c.discovery.pppp_broadcast && !c.discovery.tutk_broadcast);
    assert_eq!(c.discovery.unicast_hosts.len(), 2);
    // The Wyze account with its 2FA secret.
    assert_eq!(c.wyze.email, "me@example.com");
    assert_eq!(c.wyze.totp_secret.expose(), "JBSWY3DPEHPK3PXP");
    assert_eq!(c.wyze.key_id, "key-id-99");
    // Three cameras, one per protocol; empty optional fields are left out.
    assert_eq!(c.cameras.len(), 3);
    let porch = &c.cameras[0];
    assert_eq!((porch.id.as_str(), porch.name.as_str()), ("porch", "Porch"));
    assert_eq!(porch.snapshot_interval_s, Some(5));
    let CameraKind::Pppp(p) = &porch.kind else {
        panic!("porch is pppp: {:?}", porch.kind)
    };
    assert_eq!(
        (p.host.as_str(), p.uid.as_str()),
        ("192.168.1.40", "DGOA-933765-NDBND")
    );
    assert_eq!(p.password.expose(), "pppp-pass-31");
    let CameraKind::Tutk(t) = &c.cameras[1].kind else {
        panic!("garage is tutk")
    };
    assert_eq!(t.enr.expose(), "enr-secret-0123456");
    assert_eq!(t.mac, "2CAA8E000001");
    assert!(matches!(c.cameras[2].kind, CameraKind::Demo(_)));
    // Nothing secret in what check-config prints.
    let shown = c.redacted_toml();
    for secret in [
        "mqtt-pass-55",
        "web-pass-66",
        "wyze-pass-77",
        "wyze-api-key-88",
        "JBSWY3DPEHPK3PXP",
        "pppp-pass-31",
        "enr-secret-0123456",
    ] {
        assert!(!shown.contains(secret), "{secret} in:\n{shown}");
    }
}

#[test]
fn without_an_override_the_supervisors_broker_is_used_and_without_either_the_error_says_what_to_do()
{
    let minimal = r#"{"cameras": [], "log_level": "info"}"#;
    let a = map(minimal, None, &around()).unwrap();
    assert_eq!(a.config.mqtt.url, "mqtt://core-mosquitto:1883");
    assert_eq!(a.config.mqtt.username, "addons");
    assert_eq!(a.config.mqtt.password.expose(), "service-pass-44");
    let tls = ServiceBroker {
        ssl: true,
        port: 8883,
        ..service()
    };
    assert_eq!(
        map(minimal, None, &Surroundings::with_broker(Some(tls)))
            .unwrap()
            .config
            .mqtt
            .url,
        "mqtts://core-mosquitto:8883"
    );
    // An empty override is no override.
    let empty = r#"{"mqtt": {"url": "", "username": ""}}"#;
    assert_eq!(
        map(empty, None, &around()).unwrap().config.mqtt.url,
        "mqtt://core-mosquitto:1883"
    );
    let e = map(minimal, None, &Surroundings::with_broker(None)).unwrap_err();
    assert_eq!(e.key, "mqtt.url");
    assert!(e.message.contains("Mosquitto broker add-on"), "{e}");
}

#[test]
fn the_service_broker_comes_from_the_start_scripts_variables() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(ServiceBroker::from_env(&env(&[])).unwrap(), None);
    let b = ServiceBroker::from_env(&env(&[
        ("CAM2MQTT_ADDON_MQTT_HOST", "core-mosquitto"),
        ("CAM2MQTT_ADDON_MQTT_PORT", "1883"),
        ("CAM2MQTT_ADDON_MQTT_USERNAME", "addons"),
        ("CAM2MQTT_ADDON_MQTT_PASSWORD", "pw"),
        ("CAM2MQTT_ADDON_MQTT_SSL", "false"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(
        (b.host.as_str(), b.port, b.ssl),
        ("core-mosquitto", 1883, false)
    );
    let e = ServiceBroker::from_env(&env(&[
        ("CAM2MQTT_ADDON_MQTT_HOST", "h"),
        ("CAM2MQTT_ADDON_MQTT_PORT", "many"),
    ]))
    .unwrap_err();
    assert!(e.message.contains("\"many\""), "{e}");
    // bashio prints `null` for what the service does not have: a broker
    // without a login, and no broker at all.
    let b = ServiceBroker::from_env(&env(&[
        ("CAM2MQTT_ADDON_MQTT_HOST", "core-mosquitto"),
        ("CAM2MQTT_ADDON_MQTT_PORT", "null"),
        ("CAM2MQTT_ADDON_MQTT_USERNAME", "null"),
        ("CAM2MQTT_ADDON_MQTT_PASSWORD", "null"),
        ("CAM2MQTT_ADDON_MQTT_SSL", "null"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!((b.port, b.username.as_str(), b.ssl), (1883, "", false));
    assert!(b.password.expose().is_empty());
    let none = ServiceBroker::from_env(&env(&[("CAM2MQTT_ADDON_MQTT_HOST", "null")])).unwrap();
    assert_eq!(none, None);
}

#[test]
fn bad_options_are_rejected_naming_the_option() {
    for (options, key, says) in [
        (
            r#"{"cameras": [{"protocol": "demo", "host": "192.168.4.153", "uid": "X"}]}"#,
            "cameras[0].uid",
            "not a setting of a demo camera",
        ),
        (
            r#"{"cameras": [{"protocol": "tutk", "host": "10.0.0.9"}]}"#,
            "cameras[0].uid",
            "",
        ),
        (
            r#"{"cameras": [{"protocol": "zigbee", "host": "10.0.0.9"}]}"#,
            "cameras[0].protocol",
            "pppp",
        ),
        (r#"{"cameras": "porch"}"#, "cameras", "not a list"),
        (r#"{"live_fps": 99}"#, "http.live_fps", "1 to 30"),
        (r#"{"rtsp_port": 70000}"#, "rtsp_port", "not a port"),
        (r#"{"log_level": "loud"}"#, "log_level", "trace, debug"),
        (
            r#"{"snapshot_interval": 5}"#,
            "snapshot_interval",
            "options:",
        ),
        (r#"{"web_username": "viewer"}"#, "http.password", "both"),
        (
            r#"{"discovery": {"interval_s": "often"}}"#,
            "discovery.interval_s",
            "",
        ),
        ("[1, 2]", "(options)", "JSON object"),
        ("{not json", "(options)", "JSON"),
    ] {
        let e = map(options, None, &around()).unwrap_err();
        assert_eq!(e.key, key, "{options}: {e}");
        assert!(e.message.contains(says), "{options}: {e}");
    }
}

#[test]
fn a_user_config_fills_in_under_the_options_and_a_set_option_wins() {
    let user = "[snapshots]\ninterval_s = 30\njpeg_quality = 60\n\n\
                [[cameras]]\nid = \"attic\"\nprotocol = \"demo\"\nhost = \"192.168.4.153\"\n";
    let path = Path::new("/config/config.toml");
    // No cameras in the options: the user config's stay; its snapshot
    // interval is overridden by the option, its quality kept.
    let a = map(
        r#"{"cameras": [], "snapshot_interval_s": 12}"#,
        Some((user, path)),
        &around(),
    )
    .unwrap();
    assert_eq!(a.config.snapshots.interval_s, 12);
    assert_eq!(a.config.snapshots.jpeg_quality, 60);
    assert_eq!(a.config.cameras.len(), 1);
    assert_eq!(a.config.cameras[0].id, "attic");
    // Cameras in the options replace the user config's list.
    let a = map(SAMPLE, Some((user, path)), &around()).unwrap();
    assert_eq!(a.config.cameras.len(), 3);
    // A broker in config.toml is the user's choice over the service's.
    let with_broker = "[mqtt]\nurl = \"mqtt://10.0.0.5:1883\"\n";
    let a = map("{}", Some((with_broker, path)), &around()).unwrap();
    assert_eq!(a.config.mqtt.url, "mqtt://10.0.0.5:1883");
    // A broken user config is named as the file it is.
    let e = map("{}", Some(("[snapshots\n", path)), &around()).unwrap_err();
    assert_eq!(e.file.as_deref(), Some(path));
}

#[test]
fn rtsp_is_on_by_default_and_port_0_turns_it_off() {
    let on = map(r#"{"cameras": []}"#, None, &around()).unwrap();
    assert_eq!(on.config.rtsp.listen, "0.0.0.0:8554");
    let off = map(r#"{"cameras": [], "rtsp_port": 0}"#, None, &around()).unwrap();
    assert_eq!(off.config.rtsp.listen, "");
}
