//! The Wyze cloud: the account's camera list, a discovery source for
//! Wyze/TUTK cameras (`wyze.md` §3, §6).
//!
//! * [`api`] — pure request builders and answer parsers (fixture-tested).
//! * [`client`] — the async HTTPS client: login (developer key + triple-MD5,
//!   TOTP 2FA), token refresh, device list, rate limits, back-off.
//! * [`ratelimit`] — the rate-limit headers and their date format.
//! * [`cache`] — `wyze.json` in the state directory: tokens and the last
//!   device list, so restarts reuse the token and cameras keep their ENR/IP
//!   while the cloud is down.
//!
//! What this module must not do: put a token, password, API key, ENR or TOTP
//! secret into an error text, a log line or `Debug` output (they live in
//! [`Secret`]s), or read a clock other than through its [`Clock`].

pub mod api;
pub mod cache;
pub mod client;
pub mod ratelimit;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use client::{CameraList, ClientOptions, ListSource, WyzeClient};

use crate::config::TutkCameraConfig;
use crate::secret::Secret;

/// One camera from the account's device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WyzeCamera {
    /// `nickname`: the name the user gave it in the app.
    pub nickname: String,
    /// `mac`, as the cloud writes it (12 hex digits, no separators).
    pub mac: String,
    /// `enr`: the camera's key (DTLS PSK, K-auth, authkey).
    pub enr: Secret,
    /// `product_model`, e.g. `HL_CAM4`.
    pub product_model: String,
    /// `firmware_ver`: decides the transport (V4 ≥ 4.52.9.5332 is CC51).
    pub firmware_ver: String,
    /// `conn_state == 1`: the cloud saw it recently.
    pub online: bool,
    /// `device_params.p2p_id`: the 20-character TUTK UID.
    pub uid: String,
    /// `device_params.ip`: its LAN address.
    pub ip: String,
    /// `device_params.dtls`: speaks DTLS over IOTC.
    pub dtls: bool,
    /// `device_params.main_device_dtls`: its base station speaks DTLS.
    pub parent_dtls: bool,
    /// `parent_device_enr`: cameras behind a base station derive keys from it.
    pub parent_enr: Option<Secret>,
    /// `parent_device_mac`: the base station's MAC, for the same reason.
    pub parent_mac: Option<String>,
}

/// Everything the TUTK session needs to reach one Wyze camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TutkTarget {
    /// TUTK UID.
    pub uid: String,
    /// LAN address (the cloud's `ip`).
    pub host: String,
    /// The camera's ENR.
    pub enr: Secret,
    /// The camera's MAC.
    pub mac: String,
    /// Model (`product_model`).
    pub model: String,
    /// Firmware version.
    pub firmware: String,
    /// Display name (`nickname`, or the MAC when it has none).
    pub name: String,
    /// Speaks DTLS.
    pub dtls: bool,
    /// Base-station ENR and MAC, for cameras behind one.
    pub parent: Option<ParentKey>,
}

/// The base station a camera hangs off (Outdoor cams).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentKey {
    /// `parent_device_enr`.
    pub enr: Secret,
    /// `parent_device_mac`.
    pub mac: String,
    /// `main_device_dtls`.
    pub dtls: bool,
}

impl WyzeCamera {
    /// What a TUTK camera session needs (`wyze.md` §1.2, §1.4, §3).
    pub fn tutk_target(&self) -> TutkTarget {
        let parent = match (&self.parent_enr, &self.parent_mac) {
            (Some(enr), Some(mac)) if !enr.is_empty() && !mac.is_empty() => Some(ParentKey {
                enr: enr.clone(),
                mac: mac.clone(),
                dtls: self.parent_dtls,
            }),
            _ => None,
        };
        TutkTarget {
            uid: self.uid.clone(),
            host: self.ip.clone(),
            enr: self.enr.clone(),
            mac: self.mac.clone(),
            model: self.product_model.clone(),
            firmware: self.firmware_ver.clone(),
            name: if self.nickname.trim().is_empty() {
                self.mac.clone()
            } else {
                self.nickname.trim().to_string()
            },
            dtls: self.dtls,
            parent,
        }
    }
}

impl TutkTarget {
    /// ENR and MAC the IOTC authkey is derived from: the base station's for
    /// a camera behind one, else the camera's own.
    pub fn authkey_source(&self) -> (&Secret, &str) {
        match &self.parent {
            Some(p) => (&p.enr, &p.mac),
            None => (&self.enr, &self.mac),
        }
    }

    /// The ENR the K10001 challenge is answered with: `enr + parent_enr`
    /// behind a base station, else the camera's ENR.
    pub fn k_auth_enr(&self) -> Secret {
        match &self.parent {
            Some(p) => Secret::new(format!("{}{}", self.enr.expose(), p.enr.expose())),
            None => self.enr.clone(),
        }
    }

    /// The `[[cameras]]` TUTK settings this target fills in.
    pub fn camera_config(&self) -> TutkCameraConfig {
        TutkCameraConfig {
            host: self.host.clone(),
            uid: self.uid.clone(),
            enr: self.enr.clone(),
            mac: self.mac.clone(),
        }
    }
}

/// Why a Wyze cloud call failed. No variant carries a token, password, API
/// key, ENR or TOTP secret, so the texts are safe to log and publish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WyzeError {
    /// A required `[wyze]` key is empty.
    #[error("wyze.{key} is not set")]
    NotConfigured {
        /// The key, e.g. `api_key`.
        key: &'static str,
    },
    /// Error 1000/1001: e-mail, password, key id or API key wrong.
    #[error(
        "the Wyze cloud rejected the credentials (code {code}): check wyze.email, \
         wyze.password, wyze.key_id and wyze.api_key"
    )]
    InvalidCredentials {
        /// The cloud's code.
        code: String,
    },
    /// Logins are paused after invalid credentials (no login storm).
    #[error(
        "Wyze login paused for {}s after the cloud rejected the credentials (code {code}); \
         fix the [wyze] settings",
        retry_in.as_secs()
    )]
    LoginPaused {
        /// The code that caused the pause.
        code: String,
        /// Until the next attempt.
        retry_in: Duration,
    },
    /// The account wants a second factor this bridge cannot give.
    #[error(
        "the Wyze account asks for two-factor authentication (it offers: {}); {}",
        options.join(", "),
        if options.iter().any(|o| o == api::MFA_TOTP) {
            "set wyze.totp_secret to the base32 secret of its authenticator app"
        } else {
            "only an authenticator app (TotpVerificationCode) can be answered: add one to the account and set wyze.totp_secret"
        }
    )]
    MfaRequired {
        /// `mfa_options` of the account.
        options: Vec<String>,
    },
    /// The TOTP code was refused.
    #[error("the Wyze cloud refused the TOTP code (HTTP {status}): check wyze.totp_secret and the system clock")]
    MfaRejected {
        /// HTTP status of the answer.
        status: u16,
    },
    /// `wyze.totp_secret` is unusable.
    #[error("wyze.totp_secret: {0}")]
    Totp(#[from] crate::cloud::totp::TotpError),
    /// The rate limit is used up until `until` (Unix seconds).
    #[error("Wyze rate limit reached; calls resume at {}", humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(*until)))]
    RateLimited {
        /// When calls may resume (Unix seconds).
        until: u64,
    },
    /// Error 2001 persisted after a refresh and a new login.
    #[error("the Wyze access token expired and could not be renewed")]
    TokenExpired,
    /// Any other error code in an answer.
    #[error("the Wyze cloud answered {endpoint} with code {code}: {message}")]
    Api {
        /// Which call.
        endpoint: &'static str,
        /// The cloud's code.
        code: String,
        /// Its message (bounded, control characters removed).
        message: String,
    },
    /// Transport failure or an HTTP error status.
    #[error("HTTP error on Wyze {endpoint}: {reason}")]
    Http {
        /// Which call.
        endpoint: &'static str,
        /// The HTTP status, when an answer came.
        status: Option<u16>,
        /// Status or transport error.
        reason: String,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from Wyze {endpoint}: {reason}")]
    Malformed {
        /// Which call.
        endpoint: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// `wyze.ca_file` could not be used.
    #[error("wyze.ca_file {path}: {reason}")]
    CaFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Where the client reads wall-clock time (token age, TOTP, rate-limit
/// reset): the system clock in the bridge, a [`ManualClock`] in tests.
pub trait Clock: Send + Sync {
    /// Now, since the Unix epoch.
    fn unix_now(&self) -> Duration;
}

/// The system clock, through [`crate::io::clock::wall`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> Duration {
        crate::io::clock::wall()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }
}

/// A clock tests set and move by hand (millisecond resolution).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock showing `unix`.
    pub fn new(unix: Duration) -> Self {
        Self(AtomicU64::new(millis(unix)))
    }

    /// Moves it forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(millis(by), Ordering::SeqCst);
    }

    /// Sets it to `unix`.
    pub fn set(&self, unix: Duration) {
        self.0.store(millis(unix), Ordering::SeqCst);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Clock for ManualClock {
    fn unix_now(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera() -> WyzeCamera {
        WyzeCamera {
            nickname: " Backyard ".into(),
            mac: "D03F27000006".into(),
            enr: Secret::new("HUHFe5aKzdqckqZ8"),
            product_model: "WVOD1".into(),
            firmware_ver: "4.17.4.100".into(),
            online: true,
            uid: "HSBJYB5HSETGCDWD666A".into(),
            ip: "192.168.1.106".into(),
            dtls: true,
            parent_dtls: true,
            parent_enr: Some(Secret::new("GkB9S7cX38GgzSC6")),
            parent_mac: Some("D03F27BA5E01".into()),
        }
    }

    #[test]
    fn a_camera_behind_a_base_station_keys_off_its_parent() {
        let t = camera().tutk_target();
        assert_eq!(t.uid, "HSBJYB5HSETGCDWD666A");
        assert_eq!(t.host, "192.168.1.106");
        assert_eq!(t.name, "Backyard");
        assert_eq!(
            (t.model.as_str(), t.firmware.as_str()),
            ("WVOD1", "4.17.4.100")
        );
        let (enr, mac) = t.authkey_source();
        assert_eq!((enr.expose(), mac), ("GkB9S7cX38GgzSC6", "D03F27BA5E01"));
        assert_eq!(t.k_auth_enr().expose(), "HUHFe5aKzdqckqZ8GkB9S7cX38GgzSC6");
        assert!(t.parent.as_ref().is_some_and(|p| p.dtls));
        let cfg = t.camera_config();
        assert_eq!(
            (cfg.host.as_str(), cfg.uid.as_str()),
            (t.host.as_str(), t.uid.as_str())
        );
        assert_eq!(cfg.enr.expose(), "HUHFe5aKzdqckqZ8");
        assert!(!format!("{t:?}").contains("HUHFe5"), "ENR in Debug");
    }

    #[test]
    fn a_standalone_camera_uses_its_own_key_and_falls_back_to_the_mac_as_name() {
        let mut c = camera();
        c.parent_enr = Some(Secret::new(""));
        c.nickname = String::new();
        let t = c.tutk_target();
        assert!(t.parent.is_none());
        assert_eq!(t.name, "D03F27000006");
        assert_eq!(t.authkey_source().1, "D03F27000006");
        assert_eq!(t.k_auth_enr().expose(), "HUHFe5aKzdqckqZ8");
    }

    #[test]
    fn error_texts_name_the_2fa_options_and_what_to_set() {
        let e = WyzeError::MfaRequired {
            options: vec!["PrimaryPhone".into(), "TotpVerificationCode".into()],
        };
        let text = e.to_string();
        assert!(
            text.contains("PrimaryPhone, TotpVerificationCode"),
            "{text}"
        );
        assert!(text.contains("wyze.totp_secret"), "{text}");
        let sms = WyzeError::MfaRequired {
            options: vec!["PrimaryPhone".into()],
        };
        assert!(sms.to_string().contains("only an authenticator app"));
        let rl = WyzeError::RateLimited { until: 0 };
        assert!(rl.to_string().contains("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Duration::from_secs(100));
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.unix_now(), Duration::from_millis(101_500));
        c.set(Duration::from_secs(5));
        assert_eq!(c.unix_now(), Duration::from_secs(5));
    }
}
