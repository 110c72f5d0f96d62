//! The Wyze cloud client against the HTTPS mock (`tests/support/wyze_cloud.rs`):
//! logins (plain, TOTP 2FA, 2FA it cannot answer), token refresh, back-off
//! after invalid credentials, rate limits, the state-dir cache, device
//! fields, and that no secret reaches an error text or a debug log.
#![allow(clippy::disallowed_methods)] // measures real waits with Instant::now

#[path = "support/wyze_cloud.rs"]
mod wyze_cloud_mock;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cam2mqtt::cloud::wyze::ratelimit::format_reset_by;
use cam2mqtt::cloud::wyze::{
    ClientOptions, ListSource, ManualClock, WyzeCamera, WyzeClient, WyzeError,
};
use wyze_cloud_mock::{sample_cameras, Account, Endpoint, MockWyze};

/// 2026-11-21T10:00:00Z, the manual clock's start.
const T0: Duration = Duration::from_secs(1_795_255_200);
/// "12345678901234567890" in base32 (the RFC 6238 seed).
const TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn cloud(account: Account) -> MockWyze {
    let cloud = MockWyze::start(account);
    cloud.set_cameras(sample_cameras());
    cloud
}

fn client_at(cloud: &MockWyze, clock: Arc<ManualClock>, opts: ClientOptions) -> WyzeClient {
    WyzeClient::with_options(&cloud.account().config(cloud), None, clock, opts).unwrap()
}

fn client(cloud: &MockWyze) -> WyzeClient {
    WyzeClient::new(&cloud.account().config(cloud), None).unwrap()
}

fn by_name<'a>(cams: &'a [WyzeCamera], name: &str) -> &'a WyzeCamera {
    cams.iter().find(|c| c.nickname == name).unwrap()
}

#[tokio::test]
async fn plain_login_lists_the_tutk_cameras_with_fields_from_both_levels() {
    let cloud = cloud(Account::example());
    let client = client(&cloud);
    let list = client.cameras().await.unwrap();
    assert!(matches!(list.source, ListSource::Cloud));
    let names: Vec<&str> = list.cameras.iter().map(|c| c.nickname.as_str()).collect();
    assert_eq!(
        names,
        ["Garage", "Backyard"],
        "the Gwell doorbell is skipped"
    );
    let garage = by_name(&list.cameras, "Garage");
    assert_eq!(garage.uid, "HSBJYB5HSETGCDWD111A");
    assert_eq!(garage.ip, "192.168.1.100");
    assert_eq!(garage.enr.expose(), "aKzdqckqZ8HUHFe5");
    assert_eq!(garage.product_model, "WYZE_CAKP2JFUS");
    assert!(garage.online && garage.dtls && garage.parent_enr.is_none());
    let outdoor = by_name(&list.cameras, "Backyard");
    assert_eq!(
        outdoor.parent_enr.as_ref().map(|s| s.expose()),
        Some("GkB9S7cX38GgzSC6")
    );
    assert_eq!(outdoor.parent_mac.as_deref(), Some("D03F27BA5E01"));
    assert!(outdoor.parent_dtls);
    let target = outdoor.tutk_target();
    assert_eq!(target.authkey_source().1, "D03F27BA5E01");

    client.cameras().await.unwrap();
    assert_eq!(cloud.requests(Endpoint::Login), 1, "the token is reused");
    assert_eq!(cloud.requests(Endpoint::ObjectList), 2);
    let agents = cloud.user_agents();
    assert!(
        agents.iter().all(|a| a.starts_with("cam2mqtt/")),
        "{agents:?}"
    );
}

#[tokio::test]
async fn a_2fa_account_logs_in_with_the_totp_code() {
    let cloud = cloud(Account::example().with_totp(TOTP_SECRET));
    let list = client(&cloud).cameras().await.unwrap();
    assert_eq!(list.cameras.len(), 2);
    assert_eq!(
        cloud.requests(Endpoint::Login),
        2,
        "challenge, then the code"
    );
}

#[tokio::test]
async fn a_2fa_account_without_a_totp_secret_gets_a_clear_error() {
    let account = Account::example().with_totp(TOTP_SECRET);
    let cloud = cloud(account.clone());
    let mut cfg = account.config(&cloud);
    cfg.totp_secret = Default::default();
    let e = WyzeClient::new(&cfg, None)
        .unwrap()
        .cameras()
        .await
        .unwrap_err();
    assert!(matches!(&e, WyzeError::MfaRequired { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("PrimaryPhone, TotpVerificationCode"),
        "{text}"
    );
    assert!(text.contains("set wyze.totp_secret"), "{text}");

    // SMS-only 2FA cannot be answered even with a TOTP secret configured.
    let sms = self::cloud(Account::example().with_sms_only());
    let mut cfg = sms.account().config(&sms);
    cfg.totp_secret = cam2mqtt::secret::Secret::new(TOTP_SECRET);
    let e = WyzeClient::new(&cfg, None)
        .unwrap()
        .cameras()
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("(it offers: PrimaryPhone)"), "{text}");
    assert!(text.contains("only an authenticator app"), "{text}");
    assert_eq!(sms.requests(Endpoint::Login), 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_on_2001_and_a_failed_refresh_logs_in_again() {
    let cloud = cloud(Account::example());
    let client = client(&cloud);
    client.cameras().await.unwrap();
    cloud.expire_access_tokens();
    let list = client.cameras().await.unwrap();
    assert_eq!(list.cameras.len(), 2);
    assert_eq!(cloud.requests(Endpoint::Refresh), 1);
    assert_eq!(cloud.requests(Endpoint::Login), 1);
    assert_eq!(
        cloud.requests(Endpoint::ObjectList),
        3,
        "one 2001, one retry"
    );

    cloud.expire_access_tokens();
    cloud.fail_refresh(true);
    client.cameras().await.unwrap();
    assert_eq!(cloud.requests(Endpoint::Refresh), 2);
    assert_eq!(
        cloud.requests(Endpoint::Login),
        2,
        "fell back to a full login"
    );
}

#[tokio::test]
async fn reboot_is_the_restart_action_of_run_action_and_survives_an_expired_token() {
    let cloud = cloud(Account::example());
    let client = client(&cloud);
    let garage = by_name(&client.cameras().await.unwrap().cameras, "Garage").clone();
    client
        .run_action(&garage.mac, &garage.product_model, "restart")
        .await
        .unwrap();
    cloud.expire_access_tokens();
    client
        .run_action(&garage.mac, &garage.product_model, "restart")
        .await
        .expect("renewed on 2001, then carried out");
    let done = cloud.actions();
    assert_eq!(done.len(), 2);
    assert_eq!(
        (
            done[0].mac.as_str(),
            done[0].model.as_str(),
            done[0].action.as_str()
        ),
        (garage.mac.as_str(), "WYZE_CAKP2JFUS", "restart")
    );
    assert_eq!(
        cloud.requests(Endpoint::RunAction),
        3,
        "one 2001, one retry"
    );
    assert_eq!(cloud.requests(Endpoint::Refresh), 1);
    // A camera the account does not have: the cloud's error, typed, no secret.
    let e = client
        .run_action("000000000000", "WYZE_CAKP2JFUS", "restart")
        .await
        .unwrap_err();
    assert!(matches!(e, WyzeError::Api { .. }), "{e:?}");
    let text = e.to_string();
    assert!(!text.contains(&cloud.account().password), "{text}");
}

#[tokio::test]
async fn the_token_is_refreshed_23_hours_after_issue_before_it_fails() {
    let cloud = cloud(Account::example());
    let clock = Arc::new(ManualClock::new(T0));
    let client = client_at(&cloud, clock.clone(), ClientOptions::default());
    client.cameras().await.unwrap();
    clock.advance(Duration::from_secs(22 * 3600));
    client.cameras().await.unwrap();
    assert_eq!(cloud.requests(Endpoint::Refresh), 0, "not yet due");
    clock.advance(Duration::from_secs(3600));
    client.cameras().await.unwrap();
    assert_eq!(cloud.requests(Endpoint::Refresh), 1);
    assert_eq!(cloud.requests(Endpoint::Login), 1);
    assert_eq!(cloud.requests(Endpoint::ObjectList), 3, "no call hit 2001");
}

#[tokio::test]
async fn invalid_credentials_pause_logins_5_minutes_doubling_to_an_hour() {
    let account = Account::example();
    let cloud = cloud(account.clone());
    let mut cfg = account.config(&cloud);
    cfg.password = cam2mqtt::secret::Secret::new("wrong password");
    let clock = Arc::new(ManualClock::new(T0));
    let client =
        WyzeClient::with_options(&cfg, None, clock.clone(), ClientOptions::default()).unwrap();
    let e = client.cameras().await.unwrap_err();
    assert!(
        matches!(&e, WyzeError::InvalidCredentials { code } if code == "1000"),
        "{e:?}"
    );
    for _ in 0..5 {
        let e = client.cameras().await.unwrap_err();
        assert!(matches!(e, WyzeError::LoginPaused { .. }), "{e:?}");
    }
    assert_eq!(cloud.requests(Endpoint::Login), 1, "no login storm");

    let mut logins = 1;
    for pause_min in [5, 10, 20, 40, 60, 60] {
        clock.advance(Duration::from_secs(pause_min * 60 - 1));
        assert!(client.cameras().await.is_err());
        assert_eq!(cloud.requests(Endpoint::Login), logins, "still paused");
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            client.cameras().await,
            Err(WyzeError::InvalidCredentials { .. })
        ));
        logins += 1;
        assert_eq!(
            cloud.requests(Endpoint::Login),
            logins,
            "after {pause_min} min"
        );
    }
}

#[tokio::test]
async fn a_low_rate_limit_makes_the_next_call_wait_for_the_reset_bounded() {
    let cloud = cloud(Account::example());
    let clock = Arc::new(ManualClock::new(T0));
    let opts = ClientOptions {
        max_rate_limit_wait: Duration::from_millis(400),
        ..ClientOptions::default()
    };
    let client = client_at(&cloud, clock.clone(), opts);

    // Plenty left: no wait.
    cloud.set_rate_limit(100, &format_reset_by(T0.as_secs() + 3600));
    let start = Instant::now();
    client.cameras().await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(300));

    // 5 left, reset in 1 h: each call waits the bound (400 ms), not an hour.
    cloud.set_rate_limit(5, &format_reset_by(T0.as_secs() + 3600));
    client.cameras().await.unwrap();
    let start = Instant::now();
    client.cameras().await.unwrap();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(380), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");

    // Reset already passed: no wait.
    cloud.set_rate_limit(5, &format_reset_by(T0.as_secs() - 1));
    client.cameras().await.unwrap();
    let start = Instant::now();
    client.cameras().await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(300));

    // None left and the reset far away: refused without a request.
    cloud.set_rate_limit(0, &format_reset_by(T0.as_secs() + 3600));
    client.cameras().await.unwrap();
    let before = cloud.requests(Endpoint::ObjectList);
    let e = client.fetch_cameras().await.unwrap_err();
    assert!(
        matches!(e, WyzeError::RateLimited { until } if until == T0.as_secs() + 3600),
        "{e:?}"
    );
    assert_eq!(cloud.requests(Endpoint::ObjectList), before);
}

#[tokio::test]
async fn the_cache_survives_a_restart_and_stands_in_when_the_cloud_fails() {
    let cloud = cloud(Account::example());
    let state = tempfile::tempdir().unwrap();
    let cfg = cloud.account().config(&cloud);
    let first = WyzeClient::new(&cfg, Some(state.path())).unwrap();
    first.cameras().await.unwrap();
    drop(first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(state.path().join("wyze.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    let second = WyzeClient::new(&cfg, Some(state.path())).unwrap();
    second.cameras().await.unwrap();
    assert_eq!(
        cloud.requests(Endpoint::Login),
        1,
        "the cached token was reused"
    );
    assert_eq!(cloud.requests(Endpoint::ObjectList), 2);

    cloud.fail_with_500(true);
    let third = WyzeClient::new(&cfg, Some(state.path())).unwrap();
    let list = third.cameras().await.unwrap();
    let ListSource::Cache { cloud_error, .. } = &list.source else {
        panic!("expected the cached list, got {:?}", list.source)
    };
    assert!(
        matches!(
            cloud_error,
            WyzeError::Http {
                status: Some(500),
                ..
            }
        ),
        "{cloud_error:?}"
    );
    assert_eq!(
        by_name(&list.cameras, "Garage").enr.expose(),
        "aKzdqckqZ8HUHFe5"
    );
    assert_eq!(by_name(&list.cameras, "Garage").ip, "192.168.1.100");
    assert!(matches!(
        third.fetch_cameras().await,
        Err(WyzeError::Http {
            status: Some(500),
            ..
        })
    ));

    // Without a cache the failure is an error.
    let bare = WyzeClient::new(&cfg, None).unwrap();
    assert!(bare.cameras().await.is_err());
}

/// Collects what `tracing` writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps the texts a result shows: the error's `Display` and `Debug`, or the list's `Debug`.
fn note(texts: &mut Vec<String>, r: Result<cam2mqtt::cloud::wyze::CameraList, WyzeError>) {
    texts.push(match r {
        Ok(list) => format!("{list:?}"),
        Err(e) => format!("{e} / {e:?}"),
    });
}

#[tokio::test]
async fn no_secret_reaches_an_error_text_or_the_debug_log() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let account = Account::example().with_totp(TOTP_SECRET);
    let cloud = cloud(account.clone());
    let cfg = account.config(&cloud);
    let mut texts = Vec::new();

    let state = tempfile::tempdir().unwrap();
    let good = WyzeClient::new(&cfg, Some(state.path())).unwrap();
    texts.push(format!("{good:?}"));
    note(&mut texts, good.cameras().await);
    cloud.expire_access_tokens();
    note(&mut texts, good.cameras().await);
    cloud.fail_with_500(true);
    note(&mut texts, good.cameras().await); // from the cache, with a warning
    cloud.fail_with_500(false);

    let mut no_totp = cfg.clone();
    no_totp.totp_secret = Default::default();
    note(
        &mut texts,
        WyzeClient::new(&no_totp, None).unwrap().cameras().await,
    );
    let mut wrong = cfg.clone();
    wrong.password = cam2mqtt::secret::Secret::new("wrong password");
    let wrong = WyzeClient::new(&wrong, None).unwrap();
    note(&mut texts, wrong.cameras().await);
    note(&mut texts, wrong.cameras().await);
    let mut bad_totp = cfg.clone();
    bad_totp.totp_secret = cam2mqtt::secret::Secret::new("AAAAAAAAAAAAAAAA");
    note(
        &mut texts,
        WyzeClient::new(&bad_totp, None).unwrap().cameras().await,
    );
    assert!(texts.len() >= 8, "{texts:#?}");

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("DEBUG"), "debug output was captured:\n{log}");
    assert!(log.contains("using the cached device list"), "{log}");
    let hashed = wyze_cloud_mock::triple_md5(&account.password);
    let secrets = [
        account.password.as_str(),
        "wrong password",
        account.api_key.as_str(),
        hashed.as_str(),
        TOTP_SECRET,
        "mock-access-",
        "mock-refresh-",
        "aKzdqckqZ8HUHFe5",
        "HUHFe5aKzdqckqZ8",
        "GkB9S7cX38GgzSC6",
    ];
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
        for text in &texts {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

/// The account's list is a discovery source: `cam2mqtt discover --json`
/// lists its TUTK cameras (Gwell skipped) with UID, LAN address and model,
/// and never an ENR or token; the second run reuses the cached token.
#[test]
fn discover_lists_the_accounts_cameras_without_secrets() {
    let cloud = MockWyze::start(Account::example());
    cloud.set_cameras(sample_cameras());
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("cam2mqtt.toml");
    std::fs::write(
        &conf,
        format!(
            "[discovery]\npppp_lan_search = false\n\n{}",
            cloud.account().toml(&cloud)
        ),
    )
    .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
            .args(["--config"])
            .arg(&conf)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args([
                "--log-level",
                "debug",
                "discover",
                "--json",
                "--timeout",
                "1s",
            ])
            .env_remove("RUST_LOG")
            .output()
            .expect("run cam2mqtt")
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let list: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let list = list.as_array().expect("an array");
    let uids: Vec<&str> = list.iter().map(|c| c["uid"].as_str().unwrap()).collect();
    assert_eq!(
        uids,
        ["HSBJYB5HSETGCDWD111A", "HSBJYB5HSETGCDWD666A"],
        "{list:?}"
    );
    assert_eq!(list[0]["protocol"], "tutk");
    assert_eq!(list[0]["address"], "192.168.1.100:32761");
    assert_eq!(list[0]["model"], "WYZE_CAKP2JFUS");
    assert_eq!(list[0]["source"], "wyze_cloud");
    for secret in ["aKzdqckqZ8HUHFe5", "HUHFe5aKzdqckqZ8", "GkB9S7cX38GgzSC6"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} leaked"
        );
    }
    let logins = cloud.requests(Endpoint::Login);
    assert!(run().status.success());
    assert_eq!(
        cloud.requests(Endpoint::Login),
        logins,
        "the cached token is reused"
    );
}
