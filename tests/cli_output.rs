//! What the command line prints: `discover` into a pipe the reader closed,
//! and the `[[cameras]]` entries `simulate` prints (distinct ids across
//! processes, distinct UIDs, the hardware the simulated cameras have).

#![allow(clippy::disallowed_methods)] // real time: subprocesses

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cam2mqtt"));
    c.env_remove("RUST_LOG").env_remove("CAM2MQTT_CONFIG");
    c
}

/// Starts `simulate` with `args` and reads what it prints until `entries`
/// `[[cameras]]` entries are complete, then stops it.
fn simulate(args: &[&str], entries: usize) -> String {
    let mut child: Child = bin()
        .arg("simulate")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run cam2mqtt simulate");
    let mut out = String::new();
    let mut seen = 0;
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    for line in lines {
        let line = line.expect("text");
        if line.starts_with("[[cameras]]") {
            seen += 1;
        }
        let done = seen == entries && line.is_empty();
        out.push_str(&line);
        out.push('\n');
        if done {
            break;
        }
    }
    child.kill().expect("stop the simulator");
    child.wait().expect("simulator exit");
    out
}

fn values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key} = ")))
        .collect()
}

#[test]
fn discover_into_a_closed_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cam2mqtt.toml");
    std::fs::write(
        &conf,
        "[discovery]\npppp_broadcast = false\ntutk_broadcast = false\ndemo_mode_hosts = [\"127.0.0.1:9\"]\n",
    )
    .unwrap();
    let mut child = bin()
        .args(["--config", &conf.to_string_lossy()])
        .args(["--state-dir", &dir.path().join("state").to_string_lossy()])
        .args(["discover", "--json", "--timeout", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cam2mqtt discover");
    // The reader goes away before anything is printed, as `| head -c 1` does
    // once it has its byte.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("discover exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn two_simulators_print_different_camera_ids() {
    let a = simulate(&["--protocol", "pppp", "--listen", "127.0.0.31:0"], 1);
    let b = simulate(&["--protocol", "pppp", "--listen", "127.0.0.31:0"], 1);
    let (a, b) = (values(&a, "id"), values(&b, "id"));
    assert_eq!((a.len(), b.len()), (1, 1), "{a:?} {b:?}");
    assert_ne!(a, b);
    let t = simulate(&["--protocol", "tutk", "--listen", "127.0.0.31:0"], 1);
    let t = values(&t, "id");
    assert!(t[0].starts_with("\"sim_tutk_127_0_0_31_"), "{t:?}");
}

#[test]
fn simulated_pppp_cameras_get_distinct_uids_and_offer_their_ptz_and_light() {
    let text = simulate(
        &[
            "--protocol",
            "pppp",
            "--count",
            "3",
            "--listen",
            "127.0.0.32:0",
        ],
        3,
    );
    let uids = values(&text, "uid");
    assert_eq!(uids.len(), 3, "{text}");
    let distinct: std::collections::BTreeSet<_> = uids.iter().collect();
    assert_eq!(distinct.len(), 3, "{uids:?}");
    let ids: std::collections::BTreeSet<_> = values(&text, "id").into_iter().collect();
    assert_eq!(ids.len(), 3, "{text}");
    assert_eq!(values(&text, "ptz"), ["true"; 3], "{text}");
    assert_eq!(values(&text, "light"), ["true"; 3], "{text}");
    // What it printed loads as a bridge config.
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let cfg = cam2mqtt::config::Config::from_toml(&body).expect("a loadable config");
    assert_eq!(cfg.cameras.len(), 3);
}
