//! The Wyze cloud's wire format, pure: request bodies in, parsed answers out
//! (`wyze.md` §3). No HTTP and no clock here: callers pass the time (`ts`,
//! TOTP) and hand over the answer's JSON and headers.
//!
//! Field names are the documented ones: login answers carry `access_token`,
//! `refresh_token`, `user_id`, or for 2FA accounts `mfa_options` and
//! `mfa_details.totp_apps[].app_id`; app endpoints wrap their result in
//! `{"code": "1", "data": …}`, with `2001` for an expired access token;
//! cameras sit in `data.device_list[]`, some fields at top level and some in
//! `device_params`.

use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use super::{WyzeCamera, WyzeError};
use crate::secret::Secret;

/// `app_name` of the common payload.
pub const APP_NAME: &str = "com.hualai.WyzeCam";
/// App version the common payload claims.
pub const APP_VERSION: &str = "2.50.0";
/// `sc` for the app endpoints.
pub const SC: &str = "9f275790cab94a72bd206c8876429f3c";
/// Default `sv` (refresh and most endpoints).
pub const SV_DEFAULT: &str = "e1fe392906d54888a9b99b88de4162d7";
/// `sv` of `get_object_list` as go2rtc sends it.
pub const SV_OBJECT_LIST: &str = "9d74946e652647e9b6c9d59326aef104";
/// `sc` of `run_action` (a different app key than [`SC`]).
pub const SC_RUN_ACTION: &str = "01dd431d098546f9baf5233724fa2ee2";
/// `sv` of `run_action`.
pub const SV_RUN_ACTION: &str = "2c0edc06d4c5465b8c55af207144f0d9";
/// The 2FA option this bridge can answer by itself.
pub const MFA_TOTP: &str = "TotpVerificationCode";

/// Login path on the auth host.
pub const LOGIN_PATH: &str = "/api/user/login";
/// Refresh path on the API host.
pub const REFRESH_PATH: &str = "/app/user/refresh_token";
/// Device-list path on the API host.
pub const OBJECT_LIST_PATH: &str = "/app/v2/home_page/get_object_list";
/// Device-action path on the API host (`power_on`, `power_off`, `restart`).
pub const RUN_ACTION_PATH: &str = "/app/v2/auto/run_action";

/// Models that are not TUTK cameras (Gwell/IoTVideo P2P or KVS WebRTC): the
/// device list has them, the TUTK path cannot stream them (`wyze.md` §3).
pub const GWELL_MODELS: &[&str] = &[
    "GW_BE1", "AN_RDB1", "GW_DBD", "GW_GC1", "GW_GC2", "GW_WC", "GW_DUO", "LD_CFP", "AN_RSCW",
];

/// True for a model the TUTK path must skip.
pub fn is_gwell_model(model: &str) -> bool {
    GWELL_MODELS.contains(&model) || model.starts_with("GW_")
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The password as the login wants it: MD5 hex applied three times. A
/// password written `md5:<hex>` or `hashed:<hex>` is taken as already hashed.
pub fn hash_password(password: &Secret) -> Secret {
    let pw = password.expose();
    if let Some(h) = pw
        .strip_prefix("md5:")
        .or_else(|| pw.strip_prefix("hashed:"))
    {
        return Secret::new(h.trim().to_ascii_lowercase());
    }
    let once = md5_hex(pw.as_bytes());
    let twice = md5_hex(once.as_bytes());
    Secret::new(md5_hex(twice.as_bytes()))
}

/// A TOTP answer to a 2FA challenge.
#[derive(Debug, Clone)]
pub struct MfaAnswer {
    /// `verification_id`: the authenticator app's `app_id`.
    pub verification_id: String,
    /// The 6-digit code.
    pub code: Secret,
}

/// The login body: e-mail and hashed password, plus the TOTP answer when the
/// first answer asked for one.
pub fn login_body(email: &str, hashed_password: &Secret, mfa: Option<&MfaAnswer>) -> Value {
    let mut body = json!({ "email": email, "password": hashed_password.expose() });
    if let (Some(mfa), Some(obj)) = (mfa, body.as_object_mut()) {
        obj.insert("mfa_type".into(), MFA_TOTP.into());
        obj.insert("verification_id".into(), mfa.verification_id.clone().into());
        obj.insert("verification_code".into(), mfa.code.expose().into());
    }
    body
}

/// The payload every app endpoint takes (`wyze.md` §3): `sc`, `sv`, app
/// names and versions, `phone_system_type`, `ts` in ms, `access_token`, `phone_id`.
pub fn common_payload(sv: &str, access_token: &Secret, phone_id: &str, ts_ms: u64) -> Value {
    json!({
        "sc": SC,
        "sv": sv,
        "app_ver": format!("{APP_NAME}___{APP_VERSION}"),
        "app_version": APP_VERSION,
        "app_name": APP_NAME,
        "phone_system_type": 1,
        "ts": ts_ms,
        "access_token": access_token.expose(),
        "phone_id": phone_id,
    })
}

/// The refresh body: the common payload (with the old access token) plus `refresh_token`.
pub fn refresh_body(access: &Secret, refresh: &Secret, phone_id: &str, ts_ms: u64) -> Value {
    let mut body = common_payload(SV_DEFAULT, access, phone_id, ts_ms);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("refresh_token".into(), refresh.expose().into());
    }
    body
}

/// The `run_action` body (`wyze.md` §2.1: power and restart go through the
/// cloud): the common payload with the action's `sc`/`sv`, plus
/// `provider_key` (the model), `instance_id` (the MAC), `action_key`,
/// empty `action_params` and `custom_string`.
pub fn run_action_body(
    access: &Secret,
    phone_id: &str,
    ts_ms: u64,
    model: &str,
    mac: &str,
    action: &str,
) -> Value {
    let mut body = common_payload(SV_RUN_ACTION, access, phone_id, ts_ms);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("sc".into(), SC_RUN_ACTION.into());
        obj.insert("provider_key".into(), model.into());
        obj.insert("instance_id".into(), mac.into());
        obj.insert("action_key".into(), action.into());
        obj.insert("action_params".into(), json!({}));
        obj.insert("custom_string".into(), "".into());
    }
    body
}

/// The device-list body.
pub fn object_list_body(access: &Secret, phone_id: &str, ts_ms: u64) -> Value {
    common_payload(SV_OBJECT_LIST, access, phone_id, ts_ms)
}

/// Access and refresh tokens as an answer carried them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// Sent in every app request.
    pub access: Secret,
    /// Trades for a new pair.
    pub refresh: Secret,
    /// The account's id (not secret; empty when the answer has none).
    pub user_id: String,
}

/// What a login answer says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in.
    Tokens(TokenPair),
    /// 2FA: the options the account has, and the authenticator app id if one is set up.
    Mfa {
        /// `mfa_options`, e.g. `PrimaryPhone`, `TotpVerificationCode`, `Email`.
        options: Vec<String>,
        /// `mfa_details.totp_apps[0].app_id`.
        totp_app_id: Option<String>,
    },
}

/// A string field, or a number printed (Wyze sends codes either way).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn nonempty(v: Option<&Value>) -> Option<String> {
    text(v).filter(|s| !s.is_empty())
}

/// Checks the `code`/`errorCode` of an answer: `Ok` for success (`1`, `0`
/// or no code), else the typed error (`1000`/`1001` credentials, `2001`
/// expired token, others as [`WyzeError::Api`]).
pub fn check_code(endpoint: &'static str, body: &Value) -> Result<(), WyzeError> {
    let code = text(body.get("code")).or_else(|| text(body.get("errorCode")));
    let Some(code) = code else { return Ok(()) };
    match code.as_str() {
        "1" | "0" | "" => Ok(()),
        "1000" | "1001" => Err(WyzeError::InvalidCredentials { code }),
        "2001" => Err(WyzeError::TokenExpired),
        _ => {
            let message = nonempty(body.get("msg"))
                .or_else(|| nonempty(body.get("description")))
                .unwrap_or_default();
            Err(WyzeError::Api {
                endpoint,
                code,
                message: bounded(&message, 120),
            })
        }
    }
}

/// At most `max` characters of a server message, printable only.
fn bounded(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

fn malformed(endpoint: &'static str, reason: impl Into<String>) -> WyzeError {
    WyzeError::Malformed {
        endpoint,
        reason: reason.into(),
    }
}

/// Parses a login answer (errors first, then tokens or a 2FA challenge).
pub fn parse_login(body: &Value) -> Result<LoginOutcome, WyzeError> {
    check_code("login", body)?;
    let obj = body
        .as_object()
        .ok_or_else(|| malformed("login", "not a JSON object"))?;
    // Some hosts wrap the answer in `data`.
    let obj = obj.get("data").and_then(Value::as_object).unwrap_or(obj);
    if let (Some(access), Some(refresh)) = (
        nonempty(obj.get("access_token")),
        nonempty(obj.get("refresh_token")),
    ) {
        return Ok(LoginOutcome::Tokens(TokenPair {
            access: Secret::new(access),
            refresh: Secret::new(refresh),
            user_id: text(obj.get("user_id")).unwrap_or_default(),
        }));
    }
    let options: Vec<String> = obj
        .get("mfa_options")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| nonempty(Some(v))).collect())
        .unwrap_or_default();
    if options.is_empty() {
        return Err(malformed("login", "neither tokens nor mfa_options"));
    }
    let totp_app_id = obj
        .get("mfa_details")
        .and_then(|d| d.get("totp_apps"))
        .and_then(Value::as_array)
        .and_then(|apps| apps.first())
        .and_then(|app| nonempty(app.get("app_id")));
    Ok(LoginOutcome::Mfa {
        options,
        totp_app_id,
    })
}

/// Parses a refresh answer: `data.access_token` and `data.refresh_token`.
pub fn parse_refresh(body: &Value) -> Result<TokenPair, WyzeError> {
    check_code("refresh_token", body)?;
    let data = body
        .get("data")
        .ok_or_else(|| malformed("refresh_token", "no data"))?;
    match (
        nonempty(data.get("access_token")),
        nonempty(data.get("refresh_token")),
    ) {
        (Some(access), Some(refresh)) => Ok(TokenPair {
            access: Secret::new(access),
            refresh: Secret::new(refresh),
            user_id: text(data.get("user_id")).unwrap_or_default(),
        }),
        _ => Err(malformed("refresh_token", "data lacks the tokens")),
    }
}

/// A 0/1 (or boolean, or "1") flag.
fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        Some(Value::String(s)) => matches!(s.as_str(), "1" | "true"),
        _ => false,
    }
}

/// Parses `get_object_list`: the cameras (`product_type` `Camera` or
/// `Doorbell`) that the TUTK path can reach. Gwell models and entries
/// without `p2p_id` or `ip` are skipped with a debug log naming the model.
pub fn parse_device_list(body: &Value) -> Result<Vec<WyzeCamera>, WyzeError> {
    const EP: &str = "get_object_list";
    check_code(EP, body)?;
    let list = body
        .get("data")
        .and_then(|d| d.get("device_list"))
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(EP, "no data.device_list"))?;
    let empty = Map::new();
    let mut cameras = Vec::new();
    for dev in list {
        let product_type = text(dev.get("product_type")).unwrap_or_default();
        if !matches!(product_type.as_str(), "Camera" | "Doorbell") {
            continue;
        }
        let model = text(dev.get("product_model")).unwrap_or_default();
        let params = dev
            .get("device_params")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let uid = nonempty(params.get("p2p_id"));
        let ip = nonempty(params.get("ip"));
        let skip = if is_gwell_model(&model) {
            Some("Gwell model (not TUTK)")
        } else if uid.is_none() {
            Some("no p2p_id")
        } else if ip.is_none() {
            Some("no ip")
        } else {
            None
        };
        let (Some(uid), Some(ip), None) = (uid, ip, skip) else {
            tracing::debug!(model = %model, reason = skip.unwrap_or("?"), "skipping Wyze device");
            continue;
        };
        let Some(mac) = nonempty(dev.get("mac")) else {
            tracing::debug!(model = %model, reason = "no mac", "skipping Wyze device");
            continue;
        };
        cameras.push(WyzeCamera {
            nickname: text(dev.get("nickname")).unwrap_or_default(),
            mac,
            enr: Secret::new(text(dev.get("enr")).unwrap_or_default()),
            product_model: model,
            firmware_ver: text(dev.get("firmware_ver")).unwrap_or_default(),
            online: flag(dev.get("conn_state")),
            uid,
            ip,
            dtls: flag(params.get("dtls")),
            parent_dtls: flag(params.get("main_device_dtls")),
            parent_enr: nonempty(dev.get("parent_device_enr")).map(Secret::new),
            parent_mac: nonempty(dev.get("parent_device_mac")),
        });
    }
    Ok(cameras)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/data/wyze_cloud/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
    }

    #[test]
    fn password_is_md5_hex_three_times_unless_already_hashed() {
        // md5("password") = 5f4dcc3b5aa765d61d8327deb882cf99, applied twice more.
        let once = md5_hex(b"password");
        assert_eq!(once, "5f4dcc3b5aa765d61d8327deb882cf99");
        let want = md5_hex(md5_hex(once.as_bytes()).as_bytes());
        assert_eq!(hash_password(&Secret::new("password")).expose(), want);
        assert_eq!(
            hash_password(&Secret::new("md5:ABCDEF0123")).expose(),
            "abcdef0123"
        );
        assert_eq!(hash_password(&Secret::new("hashed:ab")).expose(), "ab");
    }

    #[test]
    fn login_body_adds_the_totp_answer_only_when_given() {
        let pw = Secret::new("h");
        let plain = login_body("a@b.c", &pw, None);
        assert_eq!(plain, json!({"email": "a@b.c", "password": "h"}));
        let mfa = MfaAnswer {
            verification_id: "app-1".into(),
            code: Secret::new("123456"),
        };
        let with = login_body("a@b.c", &pw, Some(&mfa));
        assert_eq!(with["mfa_type"], MFA_TOTP);
        assert_eq!(with["verification_id"], "app-1");
        assert_eq!(with["verification_code"], "123456");
    }

    #[test]
    fn refresh_body_is_the_common_payload_plus_the_refresh_token() {
        let body = refresh_body(&Secret::new("at"), &Secret::new("rt"), "phone", 1234);
        for key in [
            "sc",
            "sv",
            "app_ver",
            "app_version",
            "app_name",
            "phone_system_type",
            "ts",
            "access_token",
            "phone_id",
            "refresh_token",
        ] {
            assert!(body.get(key).is_some(), "{key} missing: {body}");
        }
        assert_eq!(body["app_ver"], "com.hualai.WyzeCam___2.50.0");
        assert_eq!(body["ts"], 1234);
        assert_eq!(body["refresh_token"], "rt");
        assert_eq!(
            object_list_body(&Secret::new("at"), "p", 1)["sv"],
            SV_OBJECT_LIST
        );
    }

    #[test]
    fn parses_a_token_login_answer() {
        let LoginOutcome::Tokens(t) = parse_login(&fixture("login_ok.json")).unwrap() else {
            panic!("tokens expected")
        };
        assert_eq!(t.access.expose(), "example-access-token");
        assert_eq!(t.refresh.expose(), "example-refresh-token");
        assert_eq!(t.user_id, "example-user-id");
    }

    #[test]
    fn parses_a_2fa_challenge_with_its_options_and_totp_app() {
        let out = parse_login(&fixture("login_mfa.json")).unwrap();
        assert_eq!(
            out,
            LoginOutcome::Mfa {
                options: vec!["PrimaryPhone".into(), "TotpVerificationCode".into()],
                totp_app_id: Some("example-totp-app-id".into()),
            }
        );
    }

    #[test]
    fn maps_error_codes_to_typed_errors() {
        assert!(matches!(
            parse_login(&fixture("login_invalid.json")),
            Err(WyzeError::InvalidCredentials { code }) if code == "1000"
        ));
        assert!(matches!(
            parse_device_list(&fixture("token_expired.json")),
            Err(WyzeError::TokenExpired)
        ));
        assert!(matches!(
            check_code("x", &json!({"code": 1001})),
            Err(WyzeError::InvalidCredentials { .. })
        ));
        let e = check_code("x", &json!({"code": "3019", "msg": "mfa\nwrong"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the Wyze cloud answered x with code 3019: mfawrong"
        );
        assert!(check_code("x", &json!({"code": "1"})).is_ok());
        assert!(parse_login(&json!({"user_id": "u"})).is_err());
    }

    #[test]
    fn parses_a_refresh_answer() {
        let t = parse_refresh(&fixture("refresh_ok.json")).unwrap();
        assert_eq!(t.access.expose(), "example-access-token-2");
        assert_eq!(t.refresh.expose(), "example-refresh-token-2");
        assert!(parse_refresh(&json!({"code": "1", "data": {}})).is_err());
    }

    #[test]
    fn device_list_keeps_reachable_tutk_cameras_with_fields_from_both_levels() {
        let cams = parse_device_list(&fixture("object_list.json")).unwrap();
        let names: Vec<&str> = cams.iter().map(|c| c.nickname.as_str()).collect();
        // Skipped: the plug (not a camera), the Gwell doorbell, the camera without ip.
        assert_eq!(names, ["Garage", "Front Door", "Backyard"]);
        let garage = &cams[0];
        assert_eq!(garage.mac, "D03F27000001");
        assert_eq!(garage.enr.expose(), "aKzdqckqZ8HUHFe5");
        assert_eq!(garage.product_model, "WYZE_CAKP2JFUS");
        assert_eq!(garage.firmware_ver, "4.36.11.8391");
        assert_eq!(garage.uid, "HSBJYB5HSETGCDWD111A");
        assert_eq!(garage.ip, "192.168.1.100");
        assert!(garage.online && garage.dtls && !garage.parent_dtls);
        assert!(garage.parent_enr.is_none() && garage.parent_mac.is_none());
        let door = &cams[1];
        assert_eq!(door.product_model, "WYZEDB3");
        assert!(!door.online);
        let outdoor = &cams[2];
        assert_eq!(outdoor.product_model, "WVOD1");
        assert!(outdoor.parent_dtls);
        assert_eq!(
            outdoor.parent_enr.as_ref().map(Secret::expose),
            Some("GkB9S7cX38GgzSC6")
        );
        assert_eq!(outdoor.parent_mac.as_deref(), Some("D03F27BA5E01"));
    }

    #[test]
    fn gwell_models_are_recognised() {
        assert!(is_gwell_model("GW_BE1") && is_gwell_model("AN_RDB1"));
        assert!(is_gwell_model("GW_NEW_ONE"));
        assert!(!is_gwell_model("HL_CAM4"));
    }
}
