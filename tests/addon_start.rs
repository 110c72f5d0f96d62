//! Runs the Home Assistant app's start script (`hass-addon/cam2mqtt/run.sh`)
//! the way its interpreter does, with stub `bashio` functions, and checks what
//! it hands to the bridge: the broker of Home Assistant's MQTT service as
//! `CAM2MQTT_ADDON_MQTT_*` variables, and exactly
//! `--addon-options /data/options.json --state-dir /data run` for
//! `/usr/bin/cam2mqtt`. The script is not edited for the test:
//!
//! * bashio runs a script by sourcing it after its library (`lib/bashio`:
//!   `source "$0" "$@"`, with errexit, nounset and pipefail on); the test
//!   does the same with a stub library in place of the real one.
//! * `exec` is a shell function in the stub library (bash looks functions up
//!   before builtins), which checks that the program is `/usr/bin/cam2mqtt`
//!   and then really execs a fake binary: a separate process that records
//!   the arguments and the environment it got, so "exported" is tested as the
//!   bridge would see it.
//! * Every bashio function the script may use is a stub; reading an option
//!   (`bashio::config…`) fails the run: options are the binary's business.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the fake MQTT service returns: distinctive values, so a leak is
/// unmistakable.
const HOST: &str = "core-mosquitto";
const PORT: &str = "1884";
const USERNAME: &str = "addons-user-7d1f";
const PASSWORD: &str = "pw-Zq8#'\"$(not-run) 9x";
const SSL: &str = "true";

const VARIABLES: [&str; 5] = [
    "CAM2MQTT_ADDON_MQTT_HOST",
    "CAM2MQTT_ADDON_MQTT_PORT",
    "CAM2MQTT_ADDON_MQTT_USERNAME",
    "CAM2MQTT_ADDON_MQTT_PASSWORD",
    "CAM2MQTT_ADDON_MQTT_SSL",
];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("hass-addon/cam2mqtt/run.sh")
}

/// The stub bashio library. `STUB_MQTT=1` makes the MQTT service available;
/// its values come from `STUB_MQTT_*` so the stubs hold no secret of their
/// own. Logs go to stdout like bashio's.
const STUBS: &str = r#"
set -o errexit -o errtrace -o nounset -o pipefail
shopt -s inherit_errexit 2>/dev/null || true

bashio::log() { printf '%s\n' "$*"; }
bashio::log.trace() { :; }
bashio::log.debug() { printf '[DEBUG] %s\n' "$*"; }
bashio::log.info() { printf '[INFO] %s\n' "$*"; }
bashio::log.notice() { printf '[NOTICE] %s\n' "$*"; }
bashio::log.warning() { printf '[WARNING] %s\n' "$*"; }
bashio::log.error() { printf '[ERROR] %s\n' "$*"; }
bashio::log.fatal() { printf '[FATAL] %s\n' "$*"; }
bashio::exit.nok() { printf '[FATAL] %s\n' "$*"; exit 1; }
bashio::exit.ok() { exit 0; }

bashio::services.available() {
    printf 'services.available %s\n' "$1" >> "$STUB_CALLS"
    [ "$1" = mqtt ] && [ "${STUB_MQTT:-0}" = 1 ]
}
bashio::services() {
    printf 'services %s %s\n' "$1" "${2:-}" >> "$STUB_CALLS"
    [ "$1" = mqtt ] && [ "${STUB_MQTT:-0}" = 1 ] || return 1
    case "${2:-}" in
        host) printf '%s' "$STUB_MQTT_HOST" ;;
        port) printf '%s' "$STUB_MQTT_PORT" ;;
        username) printf '%s' "$STUB_MQTT_USERNAME" ;;
        password) printf '%s' "$STUB_MQTT_PASSWORD" ;;
        ssl) printf '%s' "$STUB_MQTT_SSL" ;;
        *) return 1 ;;
    esac
}

# Options are read by the binary (--addon-options), never by the script.
bashio::config() { printf 'run.sh read option %s\n' "$*" >&2; exit 97; }
bashio::config.has_value() { bashio::config "$@"; }
bashio::config.exists() { bashio::config "$@"; }
bashio::config.true() { bashio::config "$@"; }
bashio::config.false() { bashio::config "$@"; }
bashio::config.is_empty() { bashio::config "$@"; }
bashio::config.equals() { bashio::config "$@"; }

exec() {
    if [ "$1" != /usr/bin/cam2mqtt ]; then
        printf 'run.sh execs %s, not /usr/bin/cam2mqtt\n' "$1" >&2
        exit 98
    fi
    shift
    builtin exec "$FAKE_CAM2MQTT" "$@"
}
"#;

/// The fake bridge: one argument per line, then the environment (NUL
/// separated, as `env -0` prints it), then exits 0.
const FAKE: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$@" > "$FAKE_OUT.args"
env -0 > "$FAKE_OUT.env"
"#;

struct Run {
    /// Exit status of the script.
    status: std::process::ExitStatus,
    /// Its stdout and stderr together.
    output: String,
    /// The fake bridge's arguments, if it ran.
    args: Option<Vec<String>>,
    /// The fake bridge's environment, if it ran.
    env: Option<BTreeMap<String, String>>,
    /// The stubs' record of bashio calls.
    calls: String,
    /// What the program wrote to `$FAKE_OUT.config`, if anything.
    config: Option<String>,
}

fn run(mqtt_service: bool) -> Run {
    run_with(mqtt_service, FAKE, &[])
}

/// Runs the script; `fake` is the program its `exec` starts in place of
/// `/usr/bin/cam2mqtt`, `env` more variables for it.
fn run_with(mqtt_service: bool, fake_program: &str, extra: &[(&str, &Path)]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let stubs = dir.path().join("bashio-stubs.sh");
    std::fs::write(&stubs, STUBS).expect("stubs");
    let fake = dir.path().join("cam2mqtt");
    std::fs::write(&fake, fake_program).expect("fake");
    make_executable(&fake);
    let out = dir.path().join("bridge");
    let calls = dir.path().join("calls");
    std::fs::write(&calls, "").expect("calls");

    // As bashio does: the library first, then `source "$0" "$@"`.
    let mut command = Command::new("bash");
    command
        .arg("--noprofile")
        .arg("--norc")
        .arg("-c")
        .arg(r#"source "$STUB_LIB"; source "$0" "$@""#)
        .arg(script())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("STUB_LIB", &stubs)
        .env("STUB_CALLS", &calls)
        .env("FAKE_CAM2MQTT", &fake)
        .env("FAKE_OUT", &out)
        .env("STUB_MQTT", if mqtt_service { "1" } else { "0" })
        .env("STUB_MQTT_HOST", HOST)
        .env("STUB_MQTT_PORT", PORT)
        .env("STUB_MQTT_USERNAME", USERNAME)
        .env("STUB_MQTT_PASSWORD", PASSWORD)
        .env("STUB_MQTT_SSL", SSL);
    for (k, v) in extra {
        command.env(k, v);
    }
    let result = command.output().expect("run bash");
    let mut output = String::from_utf8_lossy(&result.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&result.stderr));

    let args = std::fs::read_to_string(out.with_extension("args"))
        .ok()
        .map(|a| a.lines().map(str::to_owned).collect());
    let env = std::fs::read(out.with_extension("env")).ok().map(|bytes| {
        bytes
            .split(|b| *b == 0)
            .filter_map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                let (k, v) = entry.split_once('=')?;
                Some((k.to_owned(), v.to_owned()))
            })
            .collect()
    });
    Run {
        status: result.status,
        output,
        args,
        env,
        calls: std::fs::read_to_string(&calls).unwrap_or_default(),
        config: std::fs::read_to_string(out.with_extension("config")).ok(),
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

const EXPECTED_ARGS: [&str; 5] = [
    "--addon-options",
    "/data/options.json",
    "--state-dir",
    "/data",
    "run",
];

#[test]
fn with_the_mqtt_service_the_broker_is_exported_and_the_bridge_started() {
    let run = run(true);
    assert!(
        run.status.success(),
        "run.sh failed ({}):\n{}",
        run.status,
        run.output
    );
    assert_eq!(
        run.args.as_deref(),
        Some(&EXPECTED_ARGS.map(String::from)[..]),
        "the bridge's arguments; output:\n{}",
        run.output
    );
    let env = run.env.expect("the bridge's environment");
    let expected = [HOST, PORT, USERNAME, PASSWORD, SSL];
    for (name, value) in VARIABLES.iter().zip(expected) {
        assert_eq!(
            env.get(*name).map(String::as_str),
            Some(value),
            "{name} in the bridge's environment"
        );
    }
    assert!(
        run.calls.contains("services.available mqtt"),
        "the script asks whether the MQTT service is there: {}",
        run.calls
    );
}

#[test]
fn without_the_mqtt_service_nothing_is_exported_and_the_bridge_still_starts() {
    let run = run(false);
    assert!(
        run.status.success(),
        "run.sh failed ({}):\n{}",
        run.status,
        run.output
    );
    assert_eq!(
        run.args.as_deref(),
        Some(&EXPECTED_ARGS.map(String::from)[..]),
        "the bridge's arguments; output:\n{}",
        run.output
    );
    let env = run.env.expect("the bridge's environment");
    let exported: Vec<&String> = env
        .keys()
        .filter(|k| k.starts_with("CAM2MQTT_ADDON_"))
        .collect();
    assert!(
        exported.is_empty(),
        "nothing is exported without the service: {exported:?}"
    );
    assert!(
        !run.calls.contains("services mqtt"),
        "the service is not read when it is not there: {}",
        run.calls
    );
}

#[test]
fn no_password_or_user_name_reaches_the_output() {
    for service in [true, false] {
        let run = run(service);
        assert!(run.status.success(), "run.sh failed:\n{}", run.output);
        for secret in [PASSWORD, USERNAME] {
            assert!(
                !run.output.contains(secret),
                "the script printed {secret:?}:\n{}",
                run.output
            );
        }
    }
}

#[test]
fn the_script_is_valid_bash_and_bashio_runs_it() {
    let text = std::fs::read_to_string(script()).expect("run.sh");
    assert_eq!(
        text.lines().next(),
        Some("#!/usr/bin/with-contenv bashio"),
        "s6-overlay's with-contenv gives the script the container's environment; bashio runs it"
    );
    assert!(
        !text.contains("set -x") && !text.contains("xtrace"),
        "tracing would print the broker password"
    );
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(script())
        .output()
        .expect("bash -n");
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // shellcheck when it is installed (`apt-get install shellcheck`).
    match Command::new("shellcheck").arg(script()).output() {
        Ok(out) => assert!(
            out.status.success(),
            "shellcheck run.sh:\n{}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => eprintln!("shellcheck is not installed; skipped"),
    }
}

/// In place of the bridge: the real binary, given the same arguments with
/// the add-on's paths moved into the test's directory and `run` replaced by
/// `check-config`, so it prints the effective config it would run with (in
/// the environment the script gave it) instead of starting.
const REAL: &str = r#"#!/usr/bin/env bash
args=()
for a in "$@"; do
    case "$a" in
        /data/options.json) args+=("$OPTIONS") ;;
        /data) args+=("$STATE") ;;
        run) args+=(check-config) ;;
        *) args+=("$a") ;;
    esac
done
RES_OPTIONS=attempts:0 "$CAM2MQTT" "${args[@]}" > "$FAKE_OUT.config" 2>&1
"#;

/// The effective config the real binary prints after `run.sh` started it
/// with these options.
fn effective_config(mqtt_service: bool, options: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let options_file = dir.path().join("options.json");
    std::fs::write(&options_file, options).expect("options");
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_cam2mqtt"));
    let empty = dir.path().join("addon_configs");
    std::fs::create_dir(&empty).expect("config dir");
    let run = run_with(
        mqtt_service,
        REAL,
        &[
            ("OPTIONS", &options_file),
            ("STATE", dir.path()),
            ("CAM2MQTT", &binary),
            // No config.toml of the user's under the options.
            ("CAM2MQTT_ADDON_CONFIG_DIR", &empty),
        ],
    );
    assert!(run.status.success(), "run.sh failed:\n{}", run.output);
    run.config.expect("check-config's output")
}

#[test]
fn the_bridge_uses_the_services_broker_unless_the_user_set_one() {
    let no_override = r#"{"cameras": [], "log_level": "info", "wyze": {}, "discovery": {"pppp_broadcast": false, "tutk_broadcast": false}, "mqtt": {}}"#;
    let config = effective_config(true, no_override);
    assert!(
        config.contains("url = \"mqtts://core-mosquitto:1884\""),
        "the service's broker, TLS as it says:\n{config}"
    );
    assert!(
        config.contains("username = \"addons-user-7d1f\""),
        "{config}"
    );
    assert!(!config.contains(PASSWORD), "a password printed:\n{config}");

    let with_override = r#"{"cameras": [], "log_level": "info", "wyze": {}, "discovery": {"pppp_broadcast": false, "tutk_broadcast": false},
        "mqtt": {"url": "mqtt://192.168.1.2:1883", "username": "mine", "password": "my-broker-pass"}}"#;
    let config = effective_config(true, with_override);
    assert!(
        config.contains("url = \"mqtt://192.168.1.2:1883\""),
        "the user's override:\n{config}"
    );
    assert!(config.contains("username = \"mine\""), "{config}");
    assert!(
        !config.contains("core-mosquitto") && !config.contains("addons-user-7d1f"),
        "the service's broker leaked into the override:\n{config}"
    );
    assert!(!config.contains("my-broker-pass"), "{config}");
}
