//! `command::parse_command`: MQTT `set/<name>` payloads are untrusted.
//!
//! Input: the first byte picks the command name. `b % 16 < 12` picks
//! `CommandKind::ALL[b % 16]`; otherwise the name is the bytes up to the first NUL
//! (lossily made UTF-8) and the payload is what follows the NUL. For a picked
//! name the payload is everything after the first byte.
//!
//! Must never panic. For `wifi`, when the payload is a JSON object whose
//! `"password"` is a string, neither the error text nor the `Debug` form of the
//! parsed command may contain that password. An occurrence that the library's
//! own fixed wording explains (the password is a substring of the `Display` or
//! `Debug` text the library produces for unrelated payloads, e.g. a password
//! of `"a"` or `"}"`) is not counted as a leak.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use cam2mqtt::model::CameraCommand;
use cam2mqtt::model::CommandKind;
use cam2mqtt::command::parse_command;
use libfuzzer_sys::fuzz_target;

/// The wording (`Display` and `Debug`) of every `wifi` error for a payload that
/// has a password field, and the `Debug` of an accepted one, produced by the
/// library itself from payloads without interesting strings.
fn wifi_wording() -> &'static str {
    static WORDING: OnceLock<String> = OnceLock::new();
    WORDING.get_or_init(|| {
        [
            r#"{"ssid": 1, "password": "p"}"#,
            r#"{"password": "p"}"#,
            r#"{"ssid": "s", "password": "p", "k": 0}"#,
        ]
        .iter()
        .map(
            |p| match parse_command("wifi", &Bytes::from_static(p.as_bytes())) {
                Err(e) => format!("{e}\n{e:?}"),
                Ok(c) => panic!("{p} was accepted as {c:?}"),
            },
        )
        .chain(std::iter::once(
            match parse_command(
                "wifi",
                &Bytes::from_static(br#"{"ssid": "s", "password": "p"}"#),
            ) {
                Ok(c) => format!("{c:?}"),
                Err(e) => panic!("a valid wifi payload was refused: {e}"),
            },
        ))
        .collect::<Vec<_>>()
        .join("\n")
    })
}

fn check_wifi_secrecy(
    payload: &[u8],
    result: &Result<CameraCommand, cam2mqtt::model::CommandError>,
) {
    let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(payload)
    else {
        return;
    };
    let Some(serde_json::Value::String(password)) = obj.get("password") else {
        return;
    };
    if password.is_empty() || wifi_wording().contains(password.as_str()) {
        return;
    }
    match result {
        Err(e) => {
            let text = e.to_string();
            assert!(
                !text.contains(password.as_str()),
                "wifi error text leaks the password {password:?}: {text}"
            );
            let debug = format!("{e:?}");
            assert!(
                !debug.contains(password.as_str()),
                "wifi error Debug leaks the password {password:?}: {debug}"
            );
        }
        Ok(command) => {
            // The SSID is not secret and is printed; skip if it holds the password.
            if let CameraCommand::SetWifi { ssid, .. } = command {
                if ssid.contains(password.as_str())
                    || format!("{ssid:?}").contains(password.as_str())
                {
                    return;
                }
            }
            let debug = format!("{command:?}");
            assert!(
                !debug.contains(password.as_str()),
                "parsed wifi command Debug leaks the password {password:?}: {debug}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let pick = usize::from(selector % 16);
    let (name, payload): (String, &[u8]) = match CommandKind::ALL.get(pick).map(|k| k.name()) {
        Some(name) => ((*name).to_string(), rest),
        None => match rest.iter().position(|&b| b == 0) {
            Some(nul) => (
                String::from_utf8_lossy(&rest[..nul]).into_owned(),
                &rest[nul + 1..],
            ),
            None => (String::from_utf8_lossy(rest).into_owned(), &[][..]),
        },
    };
    let bytes = Bytes::copy_from_slice(payload);
    let result = parse_command(&name, &bytes);
    // Formatting must not panic either (errors go to MQTT and logs).
    if let Err(e) = &result {
        let _ = e.to_string();
    }
    if name == "wifi" {
        check_wifi_secrecy(payload, &result);
    }
});
