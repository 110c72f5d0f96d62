//! Bad config files, table-driven: each one gives exit 2 from both
//! `check-config` and `run`, with a message naming the key and the file; a
//! host name that does not resolve is caught by `run` (it resolves names
//! before starting anything) and `check-config` resolves nothing.
//!
//! `run` is started in a network namespace of its own (`unshare -n`): if a
//! bad config slipped through, nothing it sent could leave this machine, and
//! a name lookup fails at once instead of asking the configured resolver.

#![allow(clippy::disallowed_methods)] // subprocesses in real time

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A broker port nothing listens on.
const MQTT: &str = "[mqtt]\nurl = \"mqtt://127.0.0.1:9\"\n\n";

/// A whole config around `body`: the broker above (unless the body has its
/// own) and, in every case, no LAN broadcasts.
fn compose(body: &str) -> String {
    let mqtt = if body.contains("[mqtt]") { "" } else { MQTT };
    let quiet = "pppp_broadcast = false\ntutk_broadcast = false\n";
    if body.contains("[discovery]\n") {
        format!(
            "{mqtt}{}",
            body.replacen("[discovery]\n", &format!("[discovery]\n{quiet}"), 1)
        )
    } else {
        format!("{mqtt}{body}\n[discovery]\n{quiet}")
    }
}
const UID: &str = "HSBJYB5HSETGCDWD111A";
const ENR: &str = "aKzdqckqZ8HUHFe5aKzdqckqZ8HUHFe5";

fn tutk(extra: &str) -> String {
    format!("[[cameras]]\nprotocol = \"tutk\"\nuid = \"{UID}\"\nenr = \"{ENR}\"\nmac = \"AABBCCDDEEFF\"\nhost = \"127.0.0.1\"\n{extra}")
}

/// (what, config body, key the message must name, more text it must hold)
fn cases() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let pppp = |extra: &str| {
        format!("[[cameras]]\nprotocol = \"pppp\"\nuid = \"DGOA-123456-ABCDE\"\n{extra}")
    };
    vec![
        (
            "broker port 0",
            "[mqtt]\nurl = \"mqtt://127.0.0.1:0\"\n".into(),
            "mqtt.url",
            "1 to 65535",
        ),
        (
            "broker port 70000",
            "[mqtt]\nurl = \"mqtt://127.0.0.1:70000\"\n".into(),
            "mqtt.url",
            "70000",
        ),
        (
            "camera host port 70000",
            tutk("").replace("\"127.0.0.1\"", "\"127.0.0.1:70000\""),
            "cameras[0].host",
            "1 to 65535",
        ),
        (
            "camera host port 0",
            tutk("").replace("\"127.0.0.1\"", "\"127.0.0.1:0\""),
            "cameras[0].host",
            "1 to 65535",
        ),
        (
            "unicast host port 70000",
            "[discovery]\nunicast_hosts = [\"127.0.0.1:70000\"]\n".into(),
            "discovery.unicast_hosts[0]",
            "1 to 65535",
        ),
        (
            "unicast host port 0",
            "[discovery]\nunicast_hosts = [\"127.0.0.1:0\"]\n".into(),
            "discovery.unicast_hosts[0]",
            "1 to 65535",
        ),
        (
            "demo-mode host port 0",
            "[discovery]\ndemo_mode_hosts = [\"127.0.0.1:0\"]\n".into(),
            "discovery.demo_mode_hosts[0]",
            "1 to 65535",
        ),
        (
            "video port 70000",
            "[[cameras]]\nprotocol = \"demo\"\nhost = \"127.0.0.1\"\nvideo_port = 70000\n".into(),
            "cameras[0].video_port",
            "16 bit",
        ),
        (
            "web port 0",
            "[http]\nlisten = \"127.0.0.1:0\"\n".into(),
            "http.listen",
            "0.0.0.0:8099",
        ),
        (
            "psk not a key name",
            pppp("psk = \"foo\"\n"),
            "cameras[0].psk",
            "known keys: none, \"camera\"",
        ),
        (
            "psk not 4 hex bytes",
            pppp("psk = \"12345\"\n"),
            "cameras[0].psk",
            "4 key bytes in hex",
        ),
        (
            "pppp uid",
            "[[cameras]]\nprotocol = \"pppp\"\nuid = \"DGOA-ABCDEF-ABCDE\"\n".into(),
            "cameras[0].uid",
            "serial number",
        ),
        (
            "tutk uid",
            tutk("").replace(UID, "HSBJYB5"),
            "cameras[0].uid",
            "20 capital letters and digits",
        ),
        (
            "enr",
            tutk("").replace(ENR, "tooshort"),
            "cameras[0].enr",
            "16 (or 32)",
        ),
        (
            "mac",
            tutk("").replace("AABBCCDDEEFF", "AA:BB:CC"),
            "cameras[0].mac",
            "12 hex digits",
        ),
        (
            "missing mac",
            tutk("").replace("mac = \"AABBCCDDEEFF\"\n", ""),
            "cameras[0].mac",
            "missing",
        ),
        (
            "two cameras with one uid",
            format!(
                "{}\n[[cameras]]\nid = \"b\"\nprotocol = \"pppp\"\nuid = \"dgoa123456abcde\"\n",
                pppp("id = \"a\"\n")
            ),
            "cameras[1].uid",
            "duplicate UID",
        ),
        (
            "a tutk camera that cannot be found",
            "[discovery]\ntutk_lan_search = false\n\n".to_string()
                + &tutk("").replace("host = \"127.0.0.1\"\n", ""),
            "cameras[0].host",
            "cannot be found",
        ),
        (
            "discovery format",
            "[homeassistant]\ndiscovery = \"yes\"\n".into(),
            "homeassistant.discovery",
            "allowed: entity, device, off",
        ),
        (
            "protocol",
            "[[cameras]]\nprotocol = \"rtsp\"\nhost = \"127.0.0.1\"\n".into(),
            "cameras[0].protocol",
            "demo",
        ),
        (
            "unknown key",
            "[mqtt]\nurll = \"mqtt://127.0.0.1:1883\"\n".into(),
            "urll",
            "url",
        ),
    ]
}

/// Runs the binary with `args` (in a fresh network namespace when `isolated`),
/// killed after 20 s.
fn cam2mqtt(args: &[&str], isolated: bool) -> Output {
    let bin = env!("CARGO_BIN_EXE_cam2mqtt");
    let mut cmd = if isolated {
        let mut c = Command::new("unshare");
        c.arg("-n").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let mut child = cmd
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CAM2MQTT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cam2mqtt (unshare is in util-linux)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn write(dir: &tempfile::TempDir, body: &str) -> String {
    let path = dir.path().join("cam2mqtt.toml");
    std::fs::write(&path, body).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn every_bad_config_is_exit_2_from_check_config_and_run_naming_the_key_and_the_file() {
    let mut failures = Vec::new();
    for (what, body, key, also) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(&dir, &compose(&body));
        let state = dir.path().join("state").to_string_lossy().into_owned();
        for command in ["check-config", "run"] {
            let out = cam2mqtt(
                &["--config", &file, "--state-dir", &state, command],
                command == "run",
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            let ok = out.status.code() == Some(2)
                && stderr.contains(key)
                && stderr.contains(&file)
                && stderr.contains(also)
                && !stderr.contains("panicked");
            if !ok {
                failures.push(format!(
                    "{what} ({command}): {:?}\n{stderr}",
                    out.status.code()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_configs_around_the_bad_values_are_good() {
    // So each failure above is the bad value's, not the scaffolding's.
    for body in [
        "",
        "[discovery]\nunicast_hosts = [\"127.0.0.1\"]\n",
        &tutk(""),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = write(&dir, &compose(body));
        let out = cam2mqtt(&["--config", &file, "check-config"], false);
        assert!(
            out.status.success(),
            "{body}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_name_that_does_not_resolve_stops_run_naming_the_key_and_check_config_resolves_nothing() {
    let names = [
        ("[mqtt]\nurl = \"mqtt://broker.invalid:1883\"\n".to_string(), "mqtt.url"),
        (
            "[[cameras]]\nprotocol = \"demo\"\nhost = \"cam.invalid\"\n".to_string(),
            "cameras[0].host",
        ),
        (
            "[[cameras]]\nprotocol = \"pppp\"\nuid = \"DGOA-123456-ABCDE\"\nhost = \"cam.invalid\"\n".to_string(),
            "cameras[0].host",
        ),
        (
            "[discovery]\nunicast_hosts = [\"cams.invalid\"]\n".to_string(),
            "discovery.unicast_hosts[0]",
        ),
    ];
    for (body, key) in names {
        let dir = tempfile::tempdir().unwrap();
        let file = write(&dir, &compose(&body));
        let state = dir.path().join("state").to_string_lossy().into_owned();
        let out = cam2mqtt(&["--config", &file, "--state-dir", &state, "run"], true);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        assert!(
            stderr.contains(key) && stderr.contains(&file) && stderr.contains("cannot resolve"),
            "{key}: {stderr}"
        );
        // check-config accepts the names as they are, and looks none up:
        // strace shows it opens no socket at all, where `run` does (the
        // lookup), which shows the check can see one.
        for (command, sockets_expected) in [("check-config", false), ("run", true)] {
            let trace = dir.path().join(format!("{command}.trace"));
            let trace_s = trace.to_string_lossy().into_owned();
            let out = Command::new("unshare")
                .args([
                    "-n",
                    "strace",
                    "-f",
                    "-qq",
                    "-e",
                    "trace=socket,connect,sendto,sendmsg",
                    "-o",
                    &trace_s,
                ])
                .arg(env!("CARGO_BIN_EXE_cam2mqtt"))
                .args(["--config", &file, "--state-dir", &state, command])
                .env_remove("RUST_LOG")
                .output()
                .expect("strace (apt-get install strace)");
            let calls = std::fs::read_to_string(&trace).unwrap_or_default();
            let inet = calls
                .lines()
                .filter(|l| l.contains("AF_INET") || l.contains("AF_INET6") || l.contains("nscd"))
                .count();
            if sockets_expected {
                assert!(inet > 0, "{key}: run looked nothing up?\n{calls}");
                assert_eq!(out.status.code(), Some(2));
            } else {
                assert!(
                    out.status.success(),
                    "{key}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(inet, 0, "{key}: check-config touched the network:\n{calls}");
            }
        }
    }
}
