//! Bad config files, table-driven: each one is rejected by `check-config` and
//! by `run` alike, with exit code 2 and a message naming the key and the
//! file, before `run` connects to anything; and `check-config` makes no DNS
//! query (watched from outside with strace).
//!
//! DNS and this machine: `/etc/resolv.conf` points at a resolver off the
//! machine (10.255.255.53 here), so even a name under the reserved `.invalid`
//! TLD would send a query out. Every `cam2mqtt` here therefore runs with
//! `RES_OPTIONS=attempts:0`: glibc's resolver then gives up without sending
//! anything ("Temporary failure in name resolution"), so an unresolvable
//! name is rejected locally and no test sends traffic beyond loopback. The
//! strace test checks that too (no packet to port 53, even from `run`).
#![allow(clippy::disallowed_methods)] // out-of-process: real time

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `cam2mqtt --config <conf> --state-dir <dir> <command>` with the
/// resolver told never to send a query; kills it after 20 s.
fn cam2mqtt(conf: &Path, command: &str) -> Output {
    let state = conf.with_file_name("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
        .arg("--config")
        .arg(conf)
        .arg("--state-dir")
        .arg(&state)
        .arg(command)
        .env_remove("RUST_LOG")
        .env_remove("CAM2MQTT_CONFIG")
        .env("RES_OPTIONS", "attempts:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cam2mqtt");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "`{command}` did not exit within 20 s: it accepted the config\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// One bad config: its `mqtt.url` (default: a loopback listener of the test's
/// own, which must see no connection), extra `[discovery]` and `[mqtt]`
/// lines, the rest of the file, the key the error must name and more words
/// it must contain.
struct Case {
    name: &'static str,
    url: Option<&'static str>,
    mqtt: &'static str,
    discovery: &'static str,
    rest: &'static str,
    key: &'static str,
    says: &'static [&'static str],
    /// Only `run` rejects it (a name that does not resolve: `check-config`
    /// looks nothing up and accepts it).
    run_only: bool,
}

const fn case(name: &'static str, key: &'static str, rest: &'static str) -> Case {
    Case {
        name,
        url: None,
        mqtt: "",
        discovery: "",
        rest,
        key,
        says: &[],
        run_only: false,
    }
}

/// A TUTK camera that is fine but for what a case changes.
const TUTK: &str = "[[cameras]]\nid = \"garage\"\nprotocol = \"tutk\"\nhost = \"127.0.0.1\"\n\
                    uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2CAA8E000001\"\n";

fn cases() -> Vec<Case> {
    vec![
        Case {
            url: Some("mqtt://127.0.0.1:0"),
            says: &["port 0", "1 to 65535"],
            ..case("mqtt.url port 0", "mqtt.url", "")
        },
        Case {
            url: Some("mqtt://127.0.0.1:70000"),
            says: &["port 70000", "1 to 65535"],
            ..case("mqtt.url port 70000", "mqtt.url", "")
        },
        Case {
            says: &["port 0", "1 to 65535"],
            ..case(
                "camera host:port with port 0",
                "cameras[0].host",
                "[[cameras]]\nprotocol = \"tutk\"\nhost = \"127.0.0.1:0\"\n\
                 uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2CAA8E000001\"\n",
            )
        },
        Case {
            says: &["port 70000", "1 to 65535"],
            ..case(
                "camera host:port with port 70000",
                "cameras[0].host",
                "[[cameras]]\nprotocol = \"tutk\"\nhost = \"127.0.0.1:70000\"\n\
                 uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2CAA8E000001\"\n",
            )
        },
        Case {
            says: &["1 to 65535"],
            ..case(
                "demo video_port 70000",
                "cameras[0].video_port",
                "[[cameras]]\nprotocol = \"demo\"\nhost = \"127.0.0.1\"\nvideo_port = 70000\n",
            )
        },
        Case {
            says: &["port 0", "1 to 65535"],
            ..case(
                "demo command_port 0",
                "cameras[0].command_port",
                "[[cameras]]\nprotocol = \"demo\"\nhost = \"127.0.0.1\"\ncommand_port = 0\n",
            )
        },
        Case {
            discovery: "unicast_hosts = [\"127.0.0.2\", \"127.0.0.1:0\"]",
            says: &["port 0", "1 to 65535"],
            ..case("unicast_hosts port 0", "discovery.unicast_hosts[1]", "")
        },
        Case {
            discovery: "unicast_hosts = [\"127.0.0.1:70000\"]",
            says: &["port 70000", "1 to 65535"],
            ..case("unicast_hosts port 70000", "discovery.unicast_hosts[0]", "")
        },
        Case {
            says: &["\"foo\"", "neither a known key name nor 4 hex bytes", "camera, SHIX"],
            ..case(
                "psk foo",
                "cameras[0].psk",
                "[[cameras]]\nprotocol = \"pppp\"\nhost = \"127.0.0.1\"\nuid = \"DGOA-933765-NDBND\"\npsk = \"foo\"\n",
            )
        },
        Case {
            says: &["\"12345\"", "neither a known key name nor 4 hex bytes"],
            ..case(
                "psk 12345",
                "cameras[0].psk",
                "[[cameras]]\nprotocol = \"pppp\"\nhost = \"127.0.0.1\"\nuid = \"DGOA-933765-NDBND\"\npsk = \"12345\"\n",
            )
        },
        Case {
            says: &["\"2C:AA:8E\" is not a MAC address"],
            ..case(
                "tutk mac too short",
                "cameras[0].mac",
                "[[cameras]]\nid = \"garage\"\nprotocol = \"tutk\"\nhost = \"127.0.0.1\"\n\
                 uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2C:AA:8E\"\n",
            )
        },
        Case {
            says: &["is not a MAC address"],
            ..case(
                "demo mac not hex",
                "cameras[0].mac",
                "[[cameras]]\nprotocol = \"demo\"\nhost = \"127.0.0.1\"\nmac = \"GG:HH:II:JJ:KK:LL\"\n",
            )
        },
        Case {
            says: &["is not a TUTK UID", "20 capital letters and digits"],
            ..case(
                "tutk uid of the wrong shape",
                "cameras[0].uid",
                "[[cameras]]\nprotocol = \"tutk\"\nhost = \"127.0.0.1\"\n\
                 uid = \"WYZE-1234\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2CAA8E000001\"\n",
            )
        },
        Case {
            says: &["is not a PPPP UID", "DGOA-933765-NDBND"],
            ..case(
                "pppp uid of the wrong shape",
                "cameras[0].uid",
                "[[cameras]]\nprotocol = \"pppp\"\nhost = \"127.0.0.1\"\nuid = \"12345\"\n",
            )
        },
        Case {
            says: &["is not a Wyze ENR", "16 to 256 characters"],
            ..case(
                "enr too short",
                "cameras[0].enr",
                "[[cameras]]\nid = \"garage\"\nprotocol = \"tutk\"\nhost = \"127.0.0.1\"\n\
                 uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"tiny-enr\"\nmac = \"2CAA8E000001\"\n",
            )
        },
        Case {
            says: &["duplicate uid", "cameras[0]"],
            ..case(
                "two pppp cameras with one uid, with and without hyphens",
                "cameras[1].uid",
                "[[cameras]]\nid = \"front\"\nprotocol = \"pppp\"\nhost = \"127.0.0.1\"\nuid = \"DGOA-933765-NDBND\"\n\
                 [[cameras]]\nid = \"back\"\nprotocol = \"pppp\"\nhost = \"127.0.0.2\"\nuid = \"dgoa933765ndbnd\"\n",
            )
        },
        Case {
            says: &["duplicate uid", "cameras[0]"],
            ..case(
                "two tutk cameras with one uid",
                "cameras[1].uid",
                "[[cameras]]\nid = \"one\"\nprotocol = \"tutk\"\nhost = \"127.0.0.1\"\n\
                 uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2CAA8E000001\"\n\
                 [[cameras]]\nid = \"two\"\nprotocol = \"tutk\"\nhost = \"127.0.0.2\"\n\
                 uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2CAA8E000002\"\n",
            )
        },
        Case {
            discovery: "tutk_lan_search = false",
            says: &["cannot be found", "tutk_lan_search", "garage"],
            ..case(
                "a tutk camera without host while the tutk search is off",
                "cameras[0].host",
                "[[cameras]]\nid = \"garage\"\nprotocol = \"tutk\"\n\
                 uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2CAA8E000001\"\n",
            )
        },
        Case {
            says: &["cannot be found", "pppp_lan_search"],
            ..case(
                "a pppp camera without host and nowhere to search",
                "cameras[0].host",
                "[[cameras]]\nprotocol = \"pppp\"\nuid = \"DGOA-933765-NDBND\"\n",
            )
        },
        case(
            "homeassistant.discovery yes",
            "homeassistant.discovery",
            "[homeassistant]\ndiscovery = \"yes\"\n",
        )
        .saying(&["\"yes\"", "entity, device, off"]),
        case(
            "unknown protocol",
            "cameras[1].protocol",
            "[[cameras]]\nprotocol = \"demo\"\nhost = \"127.0.0.1\"\n[[cameras]]\nprotocol = \"rtsp\"\nhost = \"127.0.0.1\"\n",
        )
        .saying(&["\"rtsp\"", "demo, pppp, tutk"]),
        Case {
            discovery: "interval = 60",
            says: &["unknown field `interval`", "interval_s"],
            ..case("unknown key in a section", "discovery.interval", "")
        },
        Case {
            mqtt: "port = 1883",
            says: &["unknown field `port`"],
            ..case("unknown key in [mqtt]", "mqtt.port", "")
        },
        case("unknown section", "mqtt2", "[mqtt2]\nurl = \"x\"\n").saying(&["unknown field"]),
        case(
            "unknown key on a camera",
            "cameras[0].zoom",
            "[[cameras]]\nprotocol = \"demo\"\nhost = \"127.0.0.1\"\nzoom = 2\n",
        )
        .saying(&["not a setting of a demo camera"]),
        Case {
            mqtt: "password = \"brokerpw\"",
            says: &["user name"],
            ..case("a broker password without a user name", "mqtt.username", "")
        },
        Case {
            says: &["\"cam 1\" is not an IP address or host name"],
            ..case(
                "a host name with a space",
                "cameras[0].host",
                "[[cameras]]\nprotocol = \"demo\"\nhost = \"cam 1\"\n",
            )
        },
        case(
            "a wyze auth_url that is not https",
            "wyze.auth_url",
            "[wyze]\nemail = \"a@b.c\"\npassword = \"pw\"\napi_key = \"k\"\nkey_id = \"i\"\nauth_url = \"http://127.0.0.1:1\"\n",
        )
        .saying(&["https://"]),
        case(
            "a wyze ca_file that does not exist",
            "wyze.ca_file",
            "[wyze]\nemail = \"a@b.c\"\npassword = \"pw\"\napi_key = \"k\"\nkey_id = \"i\"\nca_file = \"/nonexistent/ca.pem\"\n",
        )
        .saying(&["/nonexistent/ca.pem"]),
        Case {
            says: &["cannot resolve", "cam.example.invalid"],
            run_only: true,
            ..case(
                "a camera host that does not resolve",
                "cameras[0].host",
                "[[cameras]]\nprotocol = \"demo\"\nhost = \"cam.example.invalid\"\n",
            )
        },
        Case {
            discovery: "unicast_hosts = [\"127.0.0.1\", \"vlan.example.invalid:32108\"]",
            says: &["cannot resolve", "vlan.example.invalid"],
            run_only: true,
            ..case(
                "a unicast host that does not resolve",
                "discovery.unicast_hosts[1]",
                "",
            )
        },
        Case {
            url: Some("mqtt://broker.example.invalid:1883"),
            says: &["cannot resolve", "broker.example.invalid"],
            run_only: true,
            ..case("a broker that does not resolve", "mqtt.url", TUTK)
        },
    ]
}

impl Case {
    fn saying(self, says: &'static [&'static str]) -> Self {
        Self { says, ..self }
    }

    fn toml(&self, broker: &str) -> String {
        format!(
            "[mqtt]\nurl = \"{}\"\n{}\n\n[discovery]\npppp_broadcast = false\ntutk_broadcast = false\n{}\n\n\
             [rtsp]\nlisten = \"\"\n\n[http]\nlisten = \"\"\n\n{}",
            self.url.unwrap_or(broker),
            self.mqtt,
            self.discovery,
            self.rest
        )
    }
}

/// Checks one command's answer to one case; returns what was wrong, if anything.
fn check(case: &Case, command: &str, conf: &Path, out: &Output) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = conf.display().to_string();
    let mut wrong = Vec::new();
    if out.status.code() != Some(2) {
        wrong.push(format!("exit {:?}, not 2", out.status.code()));
    }
    if stderr.contains("panicked") {
        wrong.push("a panic".into());
    }
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default();
    if !line.contains(&format!("{file}: {}: ", case.key)) {
        wrong.push(format!("no \"{file}: {}: \" in the error line", case.key));
    }
    for word in case.says {
        if !line.contains(word) {
            wrong.push(format!("no {word:?} in the error line"));
        }
    }
    if stderr.contains("EnrOfTheGarage") || stderr.contains("tiny-enr") {
        wrong.push("an ENR in the message".into());
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "{} / {command}: {}\n  stderr: {stderr}",
            case.name,
            wrong.join(", ")
        )
    })
}

#[test]
fn each_bad_config_gives_exit_2_from_check_config_and_run_naming_the_key_and_the_file() {
    // `run` would connect here first; it must not get that far.
    let broker = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    broker.set_nonblocking(true).unwrap();
    let broker_url = format!("mqtt://{}", broker.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let cases = cases();
    for (i, case) in cases.iter().enumerate() {
        let conf = dir.path().join(format!("case{i}")).join("bad.toml");
        std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
        std::fs::write(&conf, case.toml(&broker_url)).unwrap();

        let checked = cam2mqtt(&conf, "check-config");
        if case.run_only {
            if !checked.status.success() {
                failures.push(format!(
                    "{} / check-config: should accept (it resolves nothing), got {:?}: {}",
                    case.name,
                    checked.status.code(),
                    String::from_utf8_lossy(&checked.stderr)
                ));
            }
        } else {
            failures.extend(check(case, "check-config", &conf, &checked));
        }
        let ran = cam2mqtt(&conf, "run");
        failures.extend(check(case, "run", &conf, &ran));
        if let Ok((_, from)) = broker.accept() {
            failures.push(format!(
                "{} / run: connected to the broker from {from} before rejecting the config",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_good_config_in_the_same_form_passes_check_config() {
    // The control for the table: the base every case starts from is valid.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("good.toml");
    let good = Case {
        discovery: "unicast_hosts = [\"127.0.0.1:32108\"]",
        ..case("good", "", TUTK)
    };
    std::fs::write(&conf, good.toml("mqtt://127.0.0.1:1883")).unwrap();
    let out = cam2mqtt(&conf, "check-config");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("uid = \"ABCDEFGHIJKLMNOPQRST\""),
        "{printed}"
    );
    assert!(!printed.contains("EnrOfTheGarage"), "{printed}");
}

/// The network system calls (and the resolver's file opens) of one command,
/// traced with strace (which tests/run.sh installs when it is missing).
fn strace(conf: &Path, command: &str) -> (Output, String) {
    let trace = conf.with_file_name(format!("{command}.strace"));
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=network,open,openat", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_cam2mqtt"))
        .arg("--config")
        .arg(conf)
        .arg("--state-dir")
        .arg(conf.with_file_name("state"))
        .arg(command)
        .env_remove("RUST_LOG")
        .env_remove("CAM2MQTT_CONFIG")
        .env("RES_OPTIONS", "attempts:0")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run strace ({e}); install it: apt-get install -y strace (tests/run.sh does)")
        });
    let text = std::fs::read_to_string(&trace).unwrap_or_else(|e| {
        panic!(
            "strace wrote no trace ({e}); can this machine ptrace?\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, text)
}

/// Trace lines that show a name lookup: a DNS packet, the nscd or
/// systemd-resolved socket, or the resolver reading its files.
fn lookups(trace: &str) -> Vec<&str> {
    trace
        .lines()
        .filter(|l| {
            l.contains("htons(53)")
                || l.contains("nscd")
                || l.contains("io.systemd.Resolve")
                || l.contains("/etc/resolv.conf")
                || l.contains("/etc/hosts")
                || l.contains("/etc/gai.conf")
        })
        .collect()
}

#[test]
fn check_config_makes_no_dns_query_for_a_config_full_of_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("names.toml");
    std::fs::write(
        &conf,
        "[mqtt]\nurl = \"mqtt://broker.example.invalid:1883\"\n\n\
         [discovery]\npppp_broadcast = false\ntutk_broadcast = false\n\
         demo_mode_hosts = [\"demo.example.invalid\"]\nunicast_hosts = [\"vlan.example.invalid:32108\"]\n\n\
         [rtsp]\nlisten = \"\"\n\n[http]\nlisten = \"\"\n\n\
         [[cameras]]\nprotocol = \"demo\"\nhost = \"porch.example.invalid\"\n\n\
         [[cameras]]\nprotocol = \"pppp\"\nhost = \"door.example.invalid\"\nuid = \"DGOA-933765-NDBND\"\n\n\
         [[cameras]]\nprotocol = \"tutk\"\nhost = \"garage.example.invalid:32761\"\n\
         uid = \"ABCDEFGHIJKLMNOPQRST\"\nenr = \"EnrOfTheGarage0123456789\"\nmac = \"2CAA8E000001\"\n",
    )
    .unwrap();

    let (out, trace) = strace(&conf, "check-config");
    assert!(
        out.status.success(),
        "check-config rejected the config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("porch.example.invalid"),
        "the effective config is printed"
    );
    assert_eq!(lookups(&trace), Vec::<&str>::new(), "{trace}");
    let sends: Vec<&str> = trace
        .lines()
        .filter(|l| {
            ["connect(", "sendto(", "sendmsg(", "sendmmsg("]
                .iter()
                .any(|c| l.contains(c))
        })
        .collect();
    assert_eq!(sends, Vec::<&str>::new(), "check-config used the network");

    // The control: `run` on the same file does look the names up (so the
    // trace would show a lookup), fails on the first one with exit 2, and,
    // with RES_OPTIONS=attempts:0, sends no DNS packet either.
    let (out, trace) = strace(&conf, "run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: mqtt.url: cannot resolve", conf.display())),
        "{stderr}"
    );
    assert!(!lookups(&trace).is_empty(), "no lookup seen in:\n{trace}");
    assert!(
        !trace.lines().any(|l| l.contains("htons(53)")),
        "a DNS packet left:\n{trace}"
    );
}
