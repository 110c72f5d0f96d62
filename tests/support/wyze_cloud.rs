//! A mock Wyze cloud over HTTPS for integration tests.
//!
//! `MockWyze::start(account)` serves, on `https://127.0.0.1:<port>` with a
//! fresh self-signed certificate (its PEM written to `ca_file`), the three
//! calls the bridge makes (`wyze.md` §3):
//!
//! * `POST /api/user/login` — checks the `apikey`/`keyid` headers and the
//!   triple-MD5 password (error 1000 otherwise); for a 2FA account, answers
//!   the first login with `mfa_options` and checks the TOTP code of the second
//!   (with `cam2mqtt::cloud::totp`, ±1 step; HTTP 400 when wrong);
//! * `POST /app/user/refresh_token` — trades a known refresh token for a new pair;
//! * `POST /app/v2/home_page/get_object_list` — the configured cameras, or
//!   code 2001 for an unknown or expired access token.
//!
//! Knobs: expire the access tokens, fail every call with HTTP 500, fail
//! refreshes, send rate-limit headers, count requests per endpoint. The
//! server runs on its own thread and runtime, so sync tests, async tests and
//! tests that run the bridge binary can all use it; it stops on drop.
//! Self-contained: it uses nothing else from `tests/support`.
#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::disallowed_methods)] // the mock checks TOTP codes against real time

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

/// The account the mock knows.
#[derive(Debug, Clone)]
pub struct Account {
    /// Login e-mail.
    pub email: String,
    /// Password in clear (the mock checks its triple MD5).
    pub password: String,
    /// Developer API key (`apikey` header).
    pub api_key: String,
    /// Developer key id (`keyid` header).
    pub key_id: String,
    /// Base32 TOTP secret of the account's authenticator app.
    pub totp_secret: Option<String>,
    /// `mfa_options` the account answers a first login with (empty: no 2FA).
    pub mfa_options: Vec<String>,
}

/// The authenticator app id the mock hands out.
pub const TOTP_APP_ID: &str = "mock-totp-app-1";

impl Account {
    /// An account without 2FA.
    pub fn new(email: &str, password: &str, api_key: &str, key_id: &str) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            api_key: api_key.into(),
            key_id: key_id.into(),
            totp_secret: None,
            mfa_options: Vec::new(),
        }
    }

    /// A fixed test account (`user@example.com`).
    pub fn example() -> Self {
        Self::new(
            "user@example.com",
            "correct horse battery",
            "APIKEY0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS",
            "1f4c7a2e-0000-4000-8000-00000000abcd",
        )
    }

    /// With 2FA by SMS and an authenticator app holding `secret` (base32).
    pub fn with_totp(mut self, secret: &str) -> Self {
        self.totp_secret = Some(secret.into());
        self.mfa_options = vec!["PrimaryPhone".into(), "TotpVerificationCode".into()];
        self
    }

    /// With 2FA by SMS only.
    pub fn with_sms_only(mut self) -> Self {
        self.totp_secret = None;
        self.mfa_options = vec!["PrimaryPhone".into()];
        self
    }

    /// The `[wyze]` settings that log in to `cloud` as this account.
    pub fn config(&self, cloud: &MockWyze) -> cam2mqtt::config::WyzeConfig {
        cam2mqtt::config::WyzeConfig {
            email: self.email.clone(),
            password: cam2mqtt::secret::Secret::new(self.password.clone()),
            api_key: cam2mqtt::secret::Secret::new(self.api_key.clone()),
            key_id: self.key_id.clone(),
            totp_secret: cam2mqtt::secret::Secret::new(
                self.totp_secret.clone().unwrap_or_default(),
            ),
            auth_url: cloud.url.clone(),
            api_url: cloud.url.clone(),
            ca_file: Some(cloud.ca_file.clone()),
            ..Default::default()
        }
    }

    /// The same as a `[wyze]` TOML block (for a bridge config file).
    pub fn toml(&self, cloud: &MockWyze) -> String {
        format!(
            "[wyze]\nemail = {:?}\npassword = {:?}\napi_key = {:?}\nkey_id = {:?}\ntotp_secret = {:?}\n\
             auth_url = {:?}\napi_url = {:?}\nca_file = {:?}\n",
            self.email,
            self.password,
            self.api_key,
            self.key_id,
            self.totp_secret.clone().unwrap_or_default(),
            cloud.url,
            cloud.url,
            cloud.ca_file.display().to_string(),
        )
    }
}

/// The mock's endpoints, for counting requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/api/user/login`.
    Login,
    /// `/app/user/refresh_token`.
    Refresh,
    /// `/app/v2/home_page/get_object_list`.
    ObjectList,
    /// `/app/v2/auto/run_action`.
    RunAction,
}

/// A `run_action` the mock carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// `instance_id`: the camera's MAC.
    pub mac: String,
    /// `provider_key`: its model.
    pub model: String,
    /// `action_key`: `restart`, `power_on`, `power_off`.
    pub action: String,
}

#[derive(Default)]
struct Inner {
    cameras: Vec<Value>,
    counts: HashMap<Endpoint, usize>,
    access: HashSet<String>,
    refresh: HashSet<String>,
    issued: u64,
    fail_500: bool,
    fail_refresh: bool,
    rate_limit: Option<(u64, String)>,
    user_agents: Vec<String>,
    actions: Vec<Action>,
}

/// A running mock cloud; stops when dropped.
pub struct MockWyze {
    /// `https://127.0.0.1:<port>`: use as both `auth_url` and `api_url`.
    pub url: String,
    /// Its address.
    pub addr: SocketAddr,
    /// PEM of its self-signed certificate (for `ca_file`).
    pub ca_file: PathBuf,
    account: Account,
    inner: Arc<Mutex<Inner>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for MockWyze {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The triple-MD5 hex the login expects.
pub fn triple_md5(password: &str) -> String {
    md5_hex(md5_hex(md5_hex(password.as_bytes()).as_bytes()).as_bytes())
}

impl MockWyze {
    /// Starts the mock for `account`, with no cameras.
    pub fn start(account: Account) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the mock's certificate");
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("self-signed certificate");
        let ca_file = dir.path().join("mock-wyze-ca.pem");
        std::fs::write(&ca_file, cert.cert.pem()).expect("write the certificate PEM");
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the mock");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("mock address");
        let inner = Arc::new(Mutex::new(Inner::default()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let (served, state) = (account.clone(), inner.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("mock runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                loop {
                    let (tcp, _) = tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => match accepted {
                            Ok(a) => a,
                            Err(_) => continue,
                        },
                    };
                    let (acceptor, account, state) =
                        (acceptor.clone(), served.clone(), state.clone());
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let service = hyper::service::service_fn(move |req| {
                            let (account, state) = (account.clone(), state.clone());
                            async move { Ok::<_, Infallible>(handle(&account, &state, req).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
        });
        Self {
            url: format!("https://{addr}"),
            addr,
            ca_file,
            account,
            inner,
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account it serves.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The `device_list` it answers with (each entry as the cloud writes it;
    /// see [`camera`]).
    pub fn set_cameras(&self, cameras: Vec<Value>) {
        self.inner().cameras = cameras;
    }

    /// Forgets every access token: the next device list answers 2001.
    pub fn expire_access_tokens(&self) {
        self.inner().access.clear();
    }

    /// Makes refreshes fail (or work again).
    pub fn fail_refresh(&self, fail: bool) {
        self.inner().fail_refresh = fail;
    }

    /// Answers every call with HTTP 500 (or stops doing so).
    pub fn fail_with_500(&self, fail: bool) {
        self.inner().fail_500 = fail;
    }

    /// Sends `X-RateLimit-Remaining: remaining` and `X-RateLimit-Reset-By: reset_by`.
    pub fn set_rate_limit(&self, remaining: u64, reset_by: &str) {
        self.inner().rate_limit = Some((remaining, reset_by.into()));
    }

    /// Stops sending rate-limit headers.
    pub fn clear_rate_limit(&self) {
        self.inner().rate_limit = None;
    }

    /// How many requests `endpoint` got.
    pub fn requests(&self, endpoint: Endpoint) -> usize {
        self.inner().counts.get(&endpoint).copied().unwrap_or(0)
    }

    /// The `User-Agent` of every request so far.
    pub fn user_agents(&self) -> Vec<String> {
        self.inner().user_agents.clone()
    }

    /// The `run_action` calls accepted so far.
    pub fn actions(&self) -> Vec<Action> {
        self.inner().actions.clone()
    }
}

/// A `device_list` entry of a TUTK camera, fields where the cloud puts them.
pub fn camera(nickname: &str, model: &str, mac: &str, uid: &str, ip: &str, enr: &str) -> Value {
    json!({
        "product_type": "Camera",
        "product_model": model,
        "nickname": nickname,
        "mac": mac,
        "enr": enr,
        "firmware_ver": "4.36.11.8391",
        "conn_state": 1,
        "parent_device_mac": "",
        "parent_device_enr": "",
        "device_params": { "p2p_id": uid, "ip": ip, "dtls": 1, "main_device_dtls": 0 },
    })
}

/// A few cameras: a V3, an Outdoor cam behind its base station, and a Gwell
/// Doorbell Pro (which the client must skip).
pub fn sample_cameras() -> Vec<Value> {
    let mut outdoor = camera(
        "Backyard",
        "WVOD1",
        "D03F27000006",
        "HSBJYB5HSETGCDWD666A",
        "192.168.1.106",
        "HUHFe5aKzdqckqZ8",
    );
    outdoor["parent_device_mac"] = "D03F27BA5E01".into();
    outdoor["parent_device_enr"] = "GkB9S7cX38GgzSC6".into();
    outdoor["device_params"]["main_device_dtls"] = 1.into();
    let mut gwell = camera("Doorbell Pro", "GW_BE1", "D03F27000004", "", "", "");
    gwell["product_type"] = "Doorbell".into();
    vec![
        camera(
            "Garage",
            "WYZE_CAKP2JFUS",
            "D03F27000001",
            "HSBJYB5HSETGCDWD111A",
            "192.168.1.100",
            "aKzdqckqZ8HUHFe5",
        ),
        outdoor,
        gwell,
    ]
}

fn reply(status: StatusCode, body: Value, rate: &Option<(u64, String)>) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some((remaining, reset)) = rate {
        b = b
            .header("X-RateLimit-Remaining", remaining.to_string())
            .header("X-RateLimit-Reset-By", reset.as_str());
    }
    b.body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn totp_ok(secret: &str, code: &str) -> bool {
    let Ok(totp) = cam2mqtt::cloud::totp::Totp::from_base32(&cam2mqtt::secret::Secret::new(secret))
    else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    [now.saturating_sub(30), now, now + 30]
        .iter()
        .any(|t| totp.code(*t) == code)
}

fn issue(inner: &mut Inner) -> Value {
    inner.issued += 1;
    let (access, refresh) = (
        format!("mock-access-{}", inner.issued),
        format!("mock-refresh-{}", inner.issued),
    );
    inner.access.insert(access.clone());
    inner.refresh.insert(refresh.clone());
    json!({ "access_token": access, "refresh_token": refresh, "user_id": "mock-user" })
}

async fn handle(
    account: &Account,
    state: &Mutex<Inner>,
    req: Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (apikey, keyid, agent) = (header("apikey"), header("keyid"), header("user-agent"));
    let body: Value = match req.into_body().collect().await {
        Ok(b) => serde_json::from_slice(&b.to_bytes()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let mut inner = state.lock().unwrap_or_else(|e| e.into_inner());
    let rate = inner.rate_limit.clone();
    let endpoint = match path.as_str() {
        "/api/user/login" => Endpoint::Login,
        "/app/user/refresh_token" => Endpoint::Refresh,
        "/app/v2/home_page/get_object_list" => Endpoint::ObjectList,
        "/app/v2/auto/run_action" => Endpoint::RunAction,
        _ => return reply(StatusCode::NOT_FOUND, json!({"msg": "not found"}), &rate),
    };
    *inner.counts.entry(endpoint).or_default() += 1;
    inner.user_agents.push(agent);
    if inner.fail_500 {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"msg": "oops"}),
            &rate,
        );
    }
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match endpoint {
        Endpoint::Login => {
            if apikey != account.api_key
                || keyid != account.key_id
                || text("email") != account.email
                || text("password") != triple_md5(&account.password)
            {
                let invalid = json!({
                    "errorCode": 1000,
                    "description": "Invalid credentials, please check username, password, keyid or apikey",
                });
                return reply(StatusCode::BAD_REQUEST, invalid, &rate);
            }
            if account.mfa_options.is_empty() {
                let tokens = issue(&mut inner);
                return reply(StatusCode::OK, tokens, &rate);
            }
            if body.get("mfa_type").is_none() {
                let totp_apps = if account.totp_secret.is_some() {
                    json!([{ "app_id": TOTP_APP_ID, "app_name": "Authenticator" }])
                } else {
                    json!([])
                };
                let challenge = json!({
                    "access_token": "", "refresh_token": "", "user_id": "mock-user",
                    "mfa_options": account.mfa_options,
                    "mfa_details": { "primary_option": "PrimaryPhone", "totp_apps": totp_apps },
                    "sms_session_id": "mock-sms-session", "email_session_id": "mock-email-session",
                });
                return reply(StatusCode::OK, challenge, &rate);
            }
            let good = account.totp_secret.as_deref().is_some_and(|secret| {
                text("mfa_type") == "TotpVerificationCode"
                    && text("verification_id") == TOTP_APP_ID
                    && totp_ok(secret, &text("verification_code"))
            });
            if good {
                let tokens = issue(&mut inner);
                reply(StatusCode::OK, tokens, &rate)
            } else {
                reply(
                    StatusCode::BAD_REQUEST,
                    json!({"description": "wrong verification code"}),
                    &rate,
                )
            }
        }
        Endpoint::Refresh => {
            let old = text("refresh_token");
            if inner.fail_refresh || !inner.refresh.remove(&old) || text("phone_id").is_empty() {
                // The mock's own choice: real refresh failures are not documented.
                return reply(
                    StatusCode::OK,
                    json!({"code": "2002", "msg": "RefreshTokenError"}),
                    &rate,
                );
            }
            let data = issue(&mut inner);
            reply(
                StatusCode::OK,
                json!({"code": "1", "msg": "", "data": data}),
                &rate,
            )
        }
        Endpoint::ObjectList => {
            if !inner.access.contains(&text("access_token"))
                || text("phone_id").is_empty()
                || body.get("ts").is_none()
            {
                return reply(
                    StatusCode::OK,
                    json!({"code": "2001", "msg": "AccessTokenError", "data": {}}),
                    &rate,
                );
            }
            let list = json!({"code": "1", "msg": "", "data": {"device_list": inner.cameras}});
            reply(StatusCode::OK, list, &rate)
        }
        Endpoint::RunAction => {
            if !inner.access.contains(&text("access_token")) {
                return reply(
                    StatusCode::OK,
                    json!({"code": "2001", "msg": "AccessTokenError", "data": {}}),
                    &rate,
                );
            }
            // The endpoint's own app key pair (wyze.md §3), and a camera the
            // account has.
            let mac = text("instance_id");
            let known = inner.cameras.iter().any(|c| {
                c.get("mac").and_then(Value::as_str) == Some(mac.as_str())
                    && c.get("product_model").and_then(Value::as_str)
                        == Some(text("provider_key").as_str())
            });
            if text("sc") != "01dd431d098546f9baf5233724fa2ee2"
                || text("sv") != "2c0edc06d4c5465b8c55af207144f0d9"
                || !body.get("action_params").is_some_and(Value::is_object)
                || !known
            {
                return reply(
                    StatusCode::OK,
                    json!({"code": "1004", "msg": "parameter error", "data": {}}),
                    &rate,
                );
            }
            inner.actions.push(Action {
                mac,
                model: text("provider_key"),
                action: text("action_key"),
            });
            reply(
                StatusCode::OK,
                json!({"code": "1", "msg": "", "data": {"result": 1}}),
                &rate,
            )
        }
    }
}
