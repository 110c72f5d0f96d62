//! The async Wyze cloud client (reqwest over rustls/ring).
//!
//! One [`WyzeClient`] per account. Calls are serialised (one request at a
//! time), so concurrent callers never cause parallel logins. The token is
//! refreshed ~23 h after issue and on error 2001, with a full login when the
//! refresh fails; invalid credentials pause logins (5 min, doubling to 1 h)
//! until the client is rebuilt from a changed config; a low rate limit
//! (`X-RateLimit-Remaining` ≤ 10) makes the next call wait for the reset
//! (bounded). Wall-clock time comes from the injected [`Clock`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::api::{self, LoginOutcome, MfaAnswer};
use super::cache::{account_tag, Cache, Snapshot, StoredTokens};
use super::ratelimit::RateLimit;
use super::{Clock, SystemClock, WyzeCamera, WyzeError};
use crate::cloud::totp::Totp;
use crate::config::WyzeConfig;
use crate::secret::Secret;

mod http;
use http::transport_reason;

/// Tunables (defaults follow `wyze.md` §3/§6).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Token age after which it is refreshed before use (tokens last ~24 h).
    pub refresh_after: Duration,
    /// Wait for the rate-limit reset when at most this many calls remain.
    pub rate_limit_floor: u64,
    /// The longest such a wait may be.
    pub max_rate_limit_wait: Duration,
    /// First pause after invalid credentials.
    pub credential_backoff: Duration,
    /// The pause doubles up to this.
    pub max_credential_backoff: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            refresh_after: Duration::from_secs(23 * 3600),
            rate_limit_floor: 10,
            max_rate_limit_wait: Duration::from_secs(60),
            credential_backoff: Duration::from_secs(5 * 60),
            max_credential_backoff: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(20),
        }
    }
}

/// Where a [`CameraList`] came from.
#[derive(Debug)]
pub enum ListSource {
    /// Fresh from the cloud.
    Cloud,
    /// The cloud failed; this is the last list it gave.
    Cache {
        /// When that list was fetched (Unix seconds), if known.
        fetched_at: Option<u64>,
        /// Why the cloud call failed.
        cloud_error: WyzeError,
    },
}

/// The account's TUTK cameras.
#[derive(Debug)]
pub struct CameraList {
    /// The cameras.
    pub cameras: Vec<WyzeCamera>,
    /// Cloud or cache.
    pub source: ListSource,
}

/// Logins paused after invalid credentials.
#[derive(Debug, Clone)]
struct Pause {
    until: Duration,
    step: Duration,
    code: String,
}

/// What changes between calls.
#[derive(Debug)]
struct State {
    phone_id: String,
    tokens: Option<StoredTokens>,
    cameras: Vec<WyzeCamera>,
    cameras_at: Option<u64>,
    rate: Option<RateLimit>,
    pause: Option<Pause>,
}

/// A Wyze account's cloud client.
pub struct WyzeClient {
    http: reqwest::Client,
    email: String,
    password: Secret,
    api_key: Secret,
    key_id: String,
    totp: Option<Totp>,
    auth_url: String,
    api_url: String,
    account: String,
    clock: Arc<dyn Clock>,
    opts: ClientOptions,
    cache: Option<Cache>,
    state: tokio::sync::Mutex<State>,
}

impl std::fmt::Debug for WyzeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WyzeClient")
            .field("email", &self.email)
            .field("auth_url", &self.auth_url)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

fn random_phone_id() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// `[wyze]` as a client needs it, checked.
pub struct CheckedSettings {
    /// The TOTP generator, when a secret is set.
    totp: Option<Totp>,
    /// The login host, without a trailing `/`.
    auth_url: String,
    /// The app API host, without a trailing `/`.
    api_url: String,
    /// Extra root certificates from `wyze.ca_file`.
    roots: Vec<reqwest::Certificate>,
}

/// Checks `[wyze]` without touching the network: the required keys are set,
/// the TOTP secret is base32, both hosts are `https://` URLs and `ca_file`
/// holds PEM certificates. [`WyzeClient::new`] and the config validation
/// (`check-config` and `run`) both go through here.
pub fn check_settings(cfg: &WyzeConfig) -> Result<CheckedSettings, WyzeError> {
    for (key, empty) in [
        ("email", cfg.email.trim().is_empty()),
        ("password", cfg.password.is_empty()),
        ("api_key", cfg.api_key.is_empty()),
        ("key_id", cfg.key_id.trim().is_empty()),
    ] {
        if empty {
            return Err(WyzeError::NotConfigured { key });
        }
    }
    let totp = if cfg.totp_secret.is_empty() {
        None
    } else {
        Some(Totp::from_base32(&cfg.totp_secret)?)
    };
    let auth_url = cfg.auth_url.trim_end_matches('/').to_string();
    let api_url = cfg.api_url.trim_end_matches('/').to_string();
    for (key, url) in [("auth_url", &auth_url), ("api_url", &api_url)] {
        if !url.starts_with("https://") || url.len() == "https://".len() {
            return Err(WyzeError::Malformed {
                endpoint: key,
                reason: format!("wyze.{key} {url:?} must be an https:// URL"),
            });
        }
    }
    let mut roots = Vec::new();
    if let Some(path) = &cfg.ca_file {
        let ca_err = |reason: String| WyzeError::CaFile {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
        roots = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| ca_err("not a PEM certificate bundle".into()))?;
        if roots.is_empty() {
            return Err(ca_err("holds no certificate".into()));
        }
    }
    Ok(CheckedSettings {
        totp,
        auth_url,
        api_url,
        roots,
    })
}

impl WyzeClient {
    /// A client for `cfg`'s account with the system clock and default
    /// options, caching in `state_dir/wyze.json` when given.
    pub fn new(cfg: &WyzeConfig, state_dir: Option<&Path>) -> Result<Self, WyzeError> {
        Self::with_options(
            cfg,
            state_dir,
            Arc::new(SystemClock),
            ClientOptions::default(),
        )
    }

    /// The same with a chosen clock and options (tests move the clock).
    pub fn with_options(
        cfg: &WyzeConfig,
        state_dir: Option<&Path>,
        clock: Arc<dyn Clock>,
        opts: ClientOptions,
    ) -> Result<Self, WyzeError> {
        let checked = check_settings(cfg)?;
        let (totp, auth_url, api_url) = (checked.totp, checked.auth_url, checked.api_url);
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("cam2mqtt/", env!("CARGO_PKG_VERSION")))
            .timeout(opts.request_timeout)
            .connect_timeout(opts.request_timeout.min(Duration::from_secs(10)));
        for cert in checked.roots {
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| WyzeError::Http {
            endpoint: "client",
            status: None,
            reason: transport_reason(e),
        })?;
        let account = account_tag(&cfg.email, &cfg.key_id, &auth_url, &api_url);
        let cache = state_dir.map(Cache::in_dir);
        let snap = cache
            .as_ref()
            .and_then(Cache::load)
            .filter(|s| s.account == account)
            .unwrap_or_default();
        let state = State {
            phone_id: if snap.phone_id.is_empty() {
                random_phone_id()
            } else {
                snap.phone_id
            },
            tokens: snap.tokens,
            cameras: snap.cameras,
            cameras_at: snap.cameras_at,
            rate: None,
            pause: None,
        };
        Ok(Self {
            http,
            email: cfg.email.trim().to_string(),
            password: cfg.password.clone(),
            api_key: cfg.api_key.clone(),
            key_id: cfg.key_id.trim().to_string(),
            totp,
            auth_url,
            api_url,
            account,
            clock,
            opts,
            cache,
            state: tokio::sync::Mutex::new(state),
        })
    }

    /// The cameras: from the cloud, or, when it fails and a list was cached,
    /// the cached one (with a warning).
    pub async fn cameras(&self) -> Result<CameraList, WyzeError> {
        let mut st = self.state.lock().await;
        match self.fetch_locked(&mut st).await {
            Ok(cameras) => Ok(CameraList {
                cameras,
                source: ListSource::Cloud,
            }),
            Err(e) if !st.cameras.is_empty() => {
                tracing::warn!(error = %e, cameras = st.cameras.len(), "Wyze cloud unavailable; using the cached device list");
                Ok(CameraList {
                    cameras: st.cameras.clone(),
                    source: ListSource::Cache {
                        fetched_at: st.cameras_at,
                        cloud_error: e,
                    },
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The cameras from the cloud only (the cache is updated on success).
    pub async fn fetch_cameras(&self) -> Result<Vec<WyzeCamera>, WyzeError> {
        let mut st = self.state.lock().await;
        self.fetch_locked(&mut st).await
    }

    /// Asks the cloud to carry out `action` (`restart`, `power_on`,
    /// `power_off`) on the camera `mac` of `model`, renewing the token once
    /// on 2001.
    pub async fn run_action(&self, mac: &str, model: &str, action: &str) -> Result<(), WyzeError> {
        let mut st = self.state.lock().await;
        self.ensure_token_locked(&mut st).await?;
        match self.run_action_locked(&mut st, mac, model, action).await {
            Err(WyzeError::TokenExpired) => {
                tracing::debug!("Wyze access token expired (2001); renewing it");
                self.renew(&mut st).await?;
                self.run_action_locked(&mut st, mac, model, action).await
            }
            other => other,
        }?;
        tracing::info!(action, model, "Wyze cloud carried out the action");
        Ok(())
    }

    async fn run_action_locked(
        &self,
        st: &mut State,
        mac: &str,
        model: &str,
        action: &str,
    ) -> Result<(), WyzeError> {
        let Some(tokens) = &st.tokens else {
            return Err(WyzeError::TokenExpired);
        };
        let body = api::run_action_body(
            &tokens.pair.access,
            &st.phone_id,
            self.ts_ms(),
            model,
            mac,
            action,
        );
        let url = format!("{}{}", self.api_url, api::RUN_ACTION_PATH);
        let answer = self.post(st, "run_action", &url, false, &body).await?;
        api::check_code("run_action", &answer)
    }

    /// Makes sure a usable token is held: logs in when there is none,
    /// refreshes when it is old.
    pub async fn ensure_token(&self) -> Result<(), WyzeError> {
        let mut st = self.state.lock().await;
        self.ensure_token_locked(&mut st).await
    }

    fn now(&self) -> Duration {
        self.clock.unix_now()
    }

    async fn fetch_locked(&self, st: &mut State) -> Result<Vec<WyzeCamera>, WyzeError> {
        self.ensure_token_locked(st).await?;
        let cameras = match self.object_list(st).await {
            Err(WyzeError::TokenExpired) => {
                tracing::debug!("Wyze access token expired (2001); renewing it");
                self.renew(st).await?;
                self.object_list(st).await.inspect_err(|e| {
                    if matches!(e, WyzeError::TokenExpired) {
                        st.tokens = None;
                    }
                })?
            }
            other => other?,
        };
        st.cameras.clone_from(&cameras);
        st.cameras_at = Some(self.now().as_secs());
        self.save(st);
        tracing::debug!(cameras = cameras.len(), "Wyze device list fetched");
        Ok(cameras)
    }

    async fn ensure_token_locked(&self, st: &mut State) -> Result<(), WyzeError> {
        match &st.tokens {
            None => self.login(st).await,
            Some(t) => {
                let age = self.now().saturating_sub(Duration::from_secs(t.issued_at));
                if age >= self.opts.refresh_after {
                    tracing::debug!(age_s = age.as_secs(), "Wyze token due for refresh");
                    self.renew(st).await
                } else {
                    Ok(())
                }
            }
        }
    }

    async fn object_list(&self, st: &mut State) -> Result<Vec<WyzeCamera>, WyzeError> {
        let Some(tokens) = &st.tokens else {
            return Err(WyzeError::TokenExpired);
        };
        let body = api::object_list_body(&tokens.pair.access, &st.phone_id, self.ts_ms());
        let url = format!("{}{}", self.api_url, api::OBJECT_LIST_PATH);
        let answer = self.post(st, "get_object_list", &url, false, &body).await?;
        api::parse_device_list(&answer)
    }

    fn ts_ms(&self) -> u64 {
        u64::try_from(self.now().as_millis()).unwrap_or(u64::MAX)
    }

    /// Refresh, or a full login when there is nothing to refresh or it fails.
    async fn renew(&self, st: &mut State) -> Result<(), WyzeError> {
        if let Some(t) = st.tokens.clone() {
            let body =
                api::refresh_body(&t.pair.access, &t.pair.refresh, &st.phone_id, self.ts_ms());
            let url = format!("{}{}", self.api_url, api::REFRESH_PATH);
            let refreshed = self
                .post(st, "refresh_token", &url, false, &body)
                .await
                .and_then(|v| api::parse_refresh(&v));
            match refreshed {
                Ok(mut pair) => {
                    if pair.user_id.is_empty() {
                        pair.user_id = t.pair.user_id;
                    }
                    st.tokens = Some(StoredTokens {
                        pair,
                        issued_at: self.now().as_secs(),
                    });
                    self.save(st);
                    tracing::debug!("Wyze token refreshed");
                    return Ok(());
                }
                Err(e @ WyzeError::RateLimited { .. }) => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "Wyze token refresh failed; logging in again");
                }
            }
        }
        st.tokens = None;
        self.login(st).await
    }

    async fn login(&self, st: &mut State) -> Result<(), WyzeError> {
        let now = self.now();
        if let Some(p) = &st.pause {
            if now < p.until {
                return Err(WyzeError::LoginPaused {
                    code: p.code.clone(),
                    retry_in: p.until - now,
                });
            }
        }
        let url = format!("{}{}", self.auth_url, api::LOGIN_PATH);
        let hashed = api::hash_password(&self.password);
        let first = self
            .post(
                st,
                "login",
                &url,
                true,
                &api::login_body(&self.email, &hashed, None),
            )
            .await
            .and_then(|v| api::parse_login(&v));
        let pair = match first {
            Ok(LoginOutcome::Tokens(pair)) => pair,
            Ok(LoginOutcome::Mfa {
                options,
                totp_app_id,
            }) => {
                let (Some(totp), Some(app_id), true) = (
                    &self.totp,
                    totp_app_id,
                    options.iter().any(|o| o == api::MFA_TOTP),
                ) else {
                    return Err(WyzeError::MfaRequired { options });
                };
                let mut secs = self.now().as_secs();
                let left = totp.remaining(secs);
                if left <= 2 {
                    // Do not send a code that expires in flight.
                    tokio::time::sleep(Duration::from_secs(left)).await;
                    secs += left;
                }
                let answer = MfaAnswer {
                    verification_id: app_id,
                    code: Secret::new(totp.code(secs)),
                };
                let body = api::login_body(&self.email, &hashed, Some(&answer));
                let second = self
                    .post(st, "login", &url, true, &body)
                    .await
                    .and_then(|v| api::parse_login(&v));
                match second {
                    Ok(LoginOutcome::Tokens(pair)) => pair,
                    Ok(LoginOutcome::Mfa { .. }) => {
                        return Err(WyzeError::MfaRejected { status: 200 })
                    }
                    Err(WyzeError::Http {
                        status: Some(status @ (400 | 401)),
                        ..
                    }) => return Err(WyzeError::MfaRejected { status }),
                    Err(WyzeError::Api { code, .. }) if code == "3019" => {
                        return Err(WyzeError::MfaRejected { status: 200 })
                    }
                    Err(e) => return Err(self.note_login_error(st, e)),
                }
            }
            Err(e) => return Err(self.note_login_error(st, e)),
        };
        st.pause = None;
        st.tokens = Some(StoredTokens {
            pair,
            issued_at: self.now().as_secs(),
        });
        self.save(st);
        tracing::info!(email = %self.email, "logged in to the Wyze cloud");
        Ok(())
    }

    /// Pauses logins after invalid credentials: 5 min, doubling to 1 h.
    fn note_login_error(&self, st: &mut State, e: WyzeError) -> WyzeError {
        if let WyzeError::InvalidCredentials { code } = &e {
            let step = st.pause.as_ref().map_or(self.opts.credential_backoff, |p| {
                (p.step * 2).min(self.opts.max_credential_backoff)
            });
            st.pause = Some(Pause {
                until: self.now() + step,
                step,
                code: code.clone(),
            });
            tracing::warn!(code = %code, retry_in_s = step.as_secs(), "the Wyze cloud rejected the credentials; logins paused");
        }
        e
    }

    fn save(&self, st: &State) {
        let Some(cache) = &self.cache else { return };
        let snap = Snapshot {
            account: self.account.clone(),
            phone_id: st.phone_id.clone(),
            tokens: st.tokens.clone(),
            cameras: st.cameras.clone(),
            cameras_at: st.cameras_at,
        };
        if let Err(e) = cache.store(&snap) {
            tracing::warn!(path = %cache.path().display(), error = %e, "cannot write the Wyze cache");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WyzeConfig {
        WyzeConfig {
            email: "a@b.c".into(),
            password: Secret::new("pw"),
            api_key: Secret::new("key"),
            key_id: "kid".into(),
            ..WyzeConfig::default()
        }
    }

    #[test]
    fn missing_keys_are_named() {
        let mut c = cfg();
        c.api_key = Secret::default();
        let e = WyzeClient::new(&c, None).unwrap_err();
        assert_eq!(e.to_string(), "wyze.api_key is not set");
        let mut c = cfg();
        c.totp_secret = Secret::new("not base32!");
        assert!(matches!(WyzeClient::new(&c, None), Err(WyzeError::Totp(_))));
        let mut c = cfg();
        c.api_url = "http://plain".into();
        assert!(WyzeClient::new(&c, None).is_err());
    }

    #[test]
    fn a_bad_ca_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "nothing here").unwrap();
        let mut c = cfg();
        c.ca_file = Some(path.clone());
        let e = WyzeClient::new(&c, None).unwrap_err();
        assert!(e.to_string().contains("ca.pem"), "{e}");
    }

    #[test]
    fn phone_ids_look_like_uuids() {
        let id = random_phone_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(id, random_phone_id());
    }
}
