use super::*;

fn access(user: &str, password: &str, token: &str) -> Access {
    let cfg = HttpConfig {
        username: user.into(),
        password: Secret::new(password),
        token: Secret::new(token),
        ..HttpConfig::default()
    };
    Access::from_config(&cfg, [7; 16])
}

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
const LAN: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 20));

/// The nonce of the first challenge.
fn nonce_of(a: &Access, now: u64) -> String {
    let c = &a.challenges(now, false)[0];
    let start = c.find("nonce=\"").unwrap() + 7;
    c[start..].split('"').next().unwrap().to_string()
}

fn digest_header(user: &str, password: &str, nonce: &str, method: &str, uri: &str) -> String {
    let p = DigestParams {
        username: user,
        realm: REALM,
        nonce,
        uri,
        response: "",
        ..DigestParams::default()
    };
    let response = digest_response(&p, REALM, method, password);
    format!(
        "Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\""
    )
}

#[test]
fn the_rfc_2617_example_digest() {
    // RFC 2617 §3.5: the worked example, with qop=auth.
    let header = r#"username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    let p = DigestParams::parse(header).unwrap();
    assert_eq!(p.qop, Some("auth"));
    assert_eq!(
        digest_response(&p, "testrealm@host.com", "GET", "Circle Of Life"),
        "6629fae49393a05397450978507c4ef1"
    );
}

#[test]
fn without_credentials_only_loopback_is_served() {
    let a = access("", "", "");
    assert_eq!(a.check(LOCAL, "DESCRIBE", None, 0), Ok(()));
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    assert_eq!(a.check(mapped, "DESCRIBE", None, 0), Ok(()));
    assert_eq!(a.check(LAN, "DESCRIBE", None, 0), Err(Denied::NotLocal));
}

#[test]
fn with_credentials_loopback_must_send_them_too() {
    let a = access("viewer", "s3cret", "");
    assert_eq!(
        a.check(LOCAL, "DESCRIBE", None, 0),
        Err(Denied::BadCredentials)
    );
    let basic = format!("Basic {}", BASE64.encode(b"viewer:s3cret"));
    assert_eq!(a.check(LAN, "DESCRIBE", Some(&basic), 0), Ok(()));
    let wrong = format!("Basic {}", BASE64.encode(b"viewer:guess"));
    assert_eq!(
        a.check(LAN, "DESCRIBE", Some(&wrong), 0),
        Err(Denied::BadCredentials)
    );
}

#[test]
fn a_digest_from_our_nonce_passes_and_a_wrong_one_does_not() {
    let a = access("viewer", "s3cret", "");
    let nonce = nonce_of(&a, 100);
    let uri = "rtsp://127.0.0.1:8554/door";
    let good = digest_header("viewer", "s3cret", &nonce, "DESCRIBE", uri);
    assert_eq!(a.check(LAN, "DESCRIBE", Some(&good), 130), Ok(()));
    // The digest covers the method.
    assert_eq!(
        a.check(LAN, "SETUP", Some(&good), 130),
        Err(Denied::BadCredentials)
    );
    let bad = digest_header("viewer", "guess", &nonce, "DESCRIBE", uri);
    assert_eq!(
        a.check(LAN, "DESCRIBE", Some(&bad), 130),
        Err(Denied::BadCredentials)
    );
    // A nonce this server did not make.
    let forged = digest_header(
        "viewer",
        "s3cret",
        "00000064aaaaaaaaaaaaaaaa",
        "DESCRIBE",
        uri,
    );
    assert_eq!(
        a.check(LAN, "DESCRIBE", Some(&forged), 130),
        Err(Denied::BadCredentials)
    );
    // Too old: stale, so the client retries with a fresh one.
    assert_eq!(
        a.check(LAN, "DESCRIBE", Some(&good), 100 + NONCE_LIFETIME_S + 1),
        Err(Denied::Stale)
    );
    assert!(a.challenges(5, true)[0].ends_with("stale=TRUE"));
}

#[test]
fn the_token_is_a_password_under_any_user_name() {
    let a = access("", "", "tok-123");
    let basic = format!("Basic {}", BASE64.encode(b"anyone:tok-123"));
    assert_eq!(a.check(LAN, "PLAY", Some(&basic), 0), Ok(()));
    let nonce = nonce_of(&a, 0);
    let d = digest_header("x", "tok-123", &nonce, "PLAY", "rtsp://h/door");
    assert_eq!(a.check(LAN, "PLAY", Some(&d), 1), Ok(()));
}

#[test]
fn hostile_headers_are_refused_without_a_panic() {
    let a = access("viewer", "s3cret", "");
    for h in [
        "",
        "Digest",
        "Digest username=",
        "Digest username=\"unterminated",
        "Digest ,,,,=,=\"\"",
        "Basic !!!",
        "Basic",
        "Bearer x",
        "Digest username=\"viewer\", realm=\"cam2mqtt\", nonce=\"é\", uri=\"/\", response=\"x\"",
    ] {
        assert_eq!(
            a.check(LAN, "DESCRIBE", Some(h), 0),
            Err(Denied::BadCredentials),
            "{h:?}"
        );
    }
}

#[test]
fn no_secret_appears_in_a_challenge_or_a_refusal() {
    let a = access("viewer", "s3cret", "tok-123");
    let text = format!(
        "{:?} {:?} {} {}",
        a.challenges(1, false),
        a,
        Denied::BadCredentials,
        Denied::NotLocal
    );
    assert!(
        !text.contains("s3cret") && !text.contains("tok-123"),
        "{text}"
    );
}
