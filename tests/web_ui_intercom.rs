//! The web UI's intercom controls in headless Chromium, against the bridge
//! (`cam2mqtt run`) and a simulated Wyze camera whose speaker records what
//! it hears:
//!
//! - a 1 s 1 kHz WAV chosen in the file picker and played: the page shows
//!   "Playing …" while the request is pending, then how much was played
//!   (from the command event), its speaker indicator went through
//!   "playing", and the camera heard a second of tone;
//! - push-to-talk held with the mouse for 2 s (Chromium's fake microphone,
//!   a beep): the button is pressed and the indicator says "talking" while
//!   it is held, the page shows the talk's result, and the camera heard at
//!   least 1.5 s; held with Space, the keyboard talks too;
//! - Stop during a 10 s file: the page says it stopped, and after how long.
//!
//! Screenshots go to `<target>/web-ui/intercom*.png`. Without Chromium the
//! test is skipped with a message, except in CI (`CI` set), where it fails.

// Real time: a browser, a broker and the bridge run in real time.
#![allow(clippy::disallowed_methods)]

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use browser::{browser_programs, save_view, screenshot_dir, wait_js, Ctx, Driver};
use cam2mqtt::sim::runner::{SimCamera, SimTutkCamera, TutkSimOptions};
use cam2mqtt::sim::tutk::Playback;
use fantoccini::actions::{
    InputSource as _, KeyAction, KeyActions, MouseActions, PointerAction, MOUSE_BUTTON_LEFT,
};
use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use support::{bridge_config, Bridge, Mosquitto};

/// What the page's intercom shows: the result line, the speaker indicator,
/// the push-to-talk button, and (from the observer installed by
/// [`WATCH`]) every result text and indicator state seen since.
const INTERCOM: &str = r#"const c = document.querySelector('[data-command=intercom]');
    if (!c) return null;
    const r = c.querySelector('.result'), s = document.getElementById('c-ic-state'),
          b = document.getElementById('c-ic-ptt');
    return {class: r.className, text: r.textContent, state: s.dataset.state,
            pressed: b.getAttribute('aria-pressed'),
            seen: window.seen || null};"#;

/// Records every text of the intercom's result line and every state of its
/// speaker indicator (a 1 s playback is over between two polls).
const WATCH: &str = r#"window.seen = {results: [], states: []};
    const c = document.querySelector('[data-command=intercom]');
    const r = c.querySelector('.result'), s = document.getElementById('c-ic-state');
    const note = () => {
      const w = window.seen;
      if (w.results[w.results.length - 1] !== r.textContent) w.results.push(r.textContent);
      if (w.states[w.states.length - 1] !== s.dataset.state) w.states.push(s.dataset.state);
    };
    window.watcher && window.watcher.disconnect();
    window.watcher = new MutationObserver(note);
    window.watcher.observe(c, {subtree: true, childList: true, characterData: true, attributes: true});
    note();
    return null;"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intercom_controls_play_a_file_talk_and_stop_in_headless_chromium() {
    let started = Instant::now();
    let Some((chromium, chromedriver)) =
        browser_programs("intercom_controls_play_a_file_talk_and_stop_in_headless_chromium")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).expect("create the screenshot directory");

    // The bridge, its web server on loopback, and a Wyze camera with a
    // speaker (its login answer says so).
    let broker = Mosquitto::start();
    let sim = SimCamera::spawn_tutk(TutkSimOptions {
        listen: SocketAddr::from(([127, 0, 0, 21], 0)),
        ..TutkSimOptions::default()
    })
    .await
    .expect("simulated Wyze camera");
    let cfg = bridge_config(&broker.url(), &sim.config_snippet("door")).replacen(
        "[http]\nlisten = \"\"",
        "[http]\nlisten = \"127.0.0.1:0\"",
        1,
    );
    assert!(cfg.contains("127.0.0.1:0"), "{cfg}");
    let bridge = Bridge::run(&cfg, "info");
    let ctx = Ctx {
        log: bridge.log.clone(),
        what: "bridge",
    };
    let http = bridge.listening("http").port();

    let mut driver = Driver::start(&chromedriver, dir.path());
    let client = driver
        .connect(&chromium, &dir.path().join("profile"), support::free_port())
        .await;
    client
        .set_window_size(1280, 1200)
        .await
        .expect("set the window size");

    // Loopback is a secure context: the page may ask for the microphone.
    client
        .goto(&format!("http://127.0.0.1:{http}/#/camera/door"))
        .await
        .expect("open the camera's page");
    wait_js(
        &client,
        &ctx,
        "the camera streaming, with its intercom controls",
        Duration::from_secs(20),
        r#"return {badge: (document.querySelector('.title .badge') || {}).textContent,
                   intercom: !!document.getElementById('c-ic-ptt'), secure: window.isSecureContext};"#,
        |v| v["badge"] == "Streaming" && v["intercom"] == true,
    )
    .await;
    let labels = client
        .execute(
            r#"return ['c-ic-file', 'c-ic-url', 'c-ic-vol', 'c-ic-mode']
                 .map(id => (document.querySelector('label[for=' + id + ']') || {}).textContent || null);"#,
            vec![],
        )
        .await
        .expect("read the labels");
    assert!(
        labels.as_array().unwrap().iter().all(Value::is_string),
        "every intercom field has a label: {labels}"
    );
    scroll_to_intercom(&client).await;

    // (a) A file from the picker plays; the page says for how long.
    let tone = dir.path().join("tone-1s.wav");
    std::fs::write(&tone, tone_wav(1.0)).expect("write the WAV");
    play_file(&client, &tone).await;
    let done = wait_result(&client, &ctx, "the file's result with its length").await;
    assert_eq!(done["class"], "result ok", "{done}");
    let text = done["text"].as_str().unwrap();
    assert!(text.starts_with("Played tone-1s.wav ("), "{done}");
    let played = seconds_in(text);
    assert!((0.9..=1.1).contains(&played), "played {played} s: {done}");
    let seen = &done["seen"];
    assert!(
        seen["results"]
            .as_array()
            .unwrap()
            .contains(&json!("Playing tone-1s.wav…")),
        "the page said it was playing while the request was pending: {seen}"
    );
    assert!(
        seen["states"]
            .as_array()
            .unwrap()
            .contains(&json!("playing")),
        "the speaker indicator went through playing: {seen}"
    );
    wait_idle(&client, &ctx).await;
    let p = ended_playback(&sim, 1).await;
    let heard = p.duration().as_secs_f64();
    assert!(
        (0.9..=1.1).contains(&heard),
        "the camera heard {heard} s of the 1 s file"
    );
    save_view(&client, &shots, "intercom-file.png").await;

    // (b) Push-to-talk, held with the mouse for 2 s.
    client
        .execute(WATCH, vec![])
        .await
        .expect("watch the intercom");
    let ptt = client
        .find(Locator::Id("c-ic-ptt"))
        .await
        .expect("the push-to-talk button");
    let press = Instant::now();
    client
        .perform_actions(
            MouseActions::new("mouse".into())
                .then(PointerAction::MoveToElement {
                    element: ptt.clone(),
                    duration: None,
                    x: 0.0,
                    y: 0.0,
                })
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                }),
        )
        .await
        .expect("press push-to-talk");
    let held = wait_js(
        &client,
        &ctx,
        "the button pressed and the speaker talking",
        Duration::from_millis(1800),
        INTERCOM,
        |v| v["pressed"] == "true" && v["state"] == "talking",
    )
    .await;
    assert_eq!(held["text"], "Talking…", "{held}");
    save_view(&client, &shots, "intercom-talking.png").await;
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(press.elapsed())).await;
    client
        .perform_actions(MouseActions::new("mouse".into()).then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        }))
        .await
        .expect("let go of push-to-talk");
    let talked = wait_result(&client, &ctx, "the talk's result with its length").await;
    let text = talked["text"].as_str().unwrap();
    assert!(
        text.starts_with("Talked to the camera ("),
        "{talked}{}",
        ctx.tail()
    );
    assert_eq!(talked["pressed"], "false", "{talked}");
    let played = seconds_in(text);
    assert!(
        (1.5..=2.5).contains(&played),
        "talked {played} s in a 2 s hold: {talked}"
    );
    let p = ended_playback(&sim, 2).await;
    let heard = p.duration().as_secs_f64();
    assert!(
        heard >= 1.5,
        "the camera heard {heard} s of a 2 s hold: {}",
        summary(&p)
    );
    let loudest = p.pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(
        loudest > 1000,
        "the camera heard the fake microphone's beep, not silence (peak {loudest})"
    );
    wait_idle(&client, &ctx).await;

    // Space held on the focused button talks too.
    client
        .execute(
            "const b = document.getElementById('c-ic-ptt'); b.focus(); return document.activeElement === b;",
            vec![],
        )
        .await
        .expect("focus push-to-talk");
    client
        .perform_actions(
            KeyActions::new("keyboard".into())
                .then(KeyAction::Down { value: ' ' })
                .then(KeyAction::Pause {
                    duration: Duration::from_millis(1000),
                })
                .then(KeyAction::Up { value: ' ' }),
        )
        .await
        .expect("hold Space on push-to-talk");
    let talked = wait_result(&client, &ctx, "the keyboard talk's result").await;
    assert!(
        talked["text"]
            .as_str()
            .unwrap()
            .starts_with("Talked to the camera ("),
        "{talked}"
    );
    let p = ended_playback(&sim, 3).await;
    assert!(
        p.duration().as_secs_f64() >= 0.6,
        "the camera heard a 1 s hold: {}",
        summary(&p)
    );
    wait_idle(&client, &ctx).await;

    // (c) Stop during a 10 s file: the page says it stopped, and when.
    let long = dir.path().join("tone-10s.wav");
    std::fs::write(&long, tone_wav(10.0)).expect("write the WAV");
    play_file(&client, &long).await;
    wait_js(
        &client,
        &ctx,
        "the long file playing",
        Duration::from_secs(10),
        INTERCOM,
        |v| v["state"] == "playing",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    client
        .find(Locator::Id("c-ic-stop"))
        .await
        .expect("the Stop button")
        .click()
        .await
        .expect("click Stop");
    let stopped = wait_result(&client, &ctx, "the stopped file's result").await;
    assert_eq!(stopped["class"], "result ok", "{stopped}");
    let text = stopped["text"].as_str().unwrap();
    assert!(
        text.starts_with("Stopped tone-10s.wav after ") && text.ends_with(" of 10.0 s"),
        "{stopped}"
    );
    let played = seconds_in(text);
    assert!(
        (0.5..5.0).contains(&played),
        "stopped after {played} s: {stopped}"
    );
    let p = ended_playback(&sim, 4).await;
    assert!(
        p.duration().as_secs_f64() < 5.0,
        "the camera heard only the start: {}",
        summary(&p)
    );
    wait_idle(&client, &ctx).await;
    save_view(&client, &shots, "intercom-stopped.png").await;

    // The same controls on a phone.
    client
        .set_window_size(390, 844)
        .await
        .expect("set the window size");
    scroll_to_intercom(&client).await;
    let wide = client
        .execute(
            r#"const w = document.documentElement.clientWidth;
               return Array.from(document.querySelectorAll('main *'))
                 .filter(e => e.getBoundingClientRect().right > w + 1)
                 .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' +
                      Math.round(e.getBoundingClientRect().right) + '>' + w);"#,
            vec![],
        )
        .await
        .expect("measure the page");
    assert_eq!(wide, json!([]), "nothing is wider than a phone");
    save_view(&client, &shots, "intercom-phone.png").await;

    driver.close(client).await;
    drop(bridge);
    eprintln!(
        "web UI intercom test passed in {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
    );
}

/// A `secs` second 1 kHz tone at half scale, 16-bit mono at 16 kHz.
fn tone_wav(secs: f64) -> Vec<u8> {
    let rate = 16_000u32;
    let pcm: Vec<i16> = (0..(secs * f64::from(rate)) as u32)
        .map(|i| {
            let t = f64::from(i) / f64::from(rate);
            (0.5 * 32767.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
        })
        .collect();
    cam2mqtt::sim::playback::wav(&pcm, rate)
}

/// Chooses `path` in the file picker, starts watching the intercom, and
/// presses "Play file".
async fn play_file(client: &Client, path: &Path) {
    client
        .find(Locator::Id("c-ic-file"))
        .await
        .expect("the file picker")
        .send_keys(path.to_str().expect("a UTF-8 temp path"))
        .await
        .expect("choose the file");
    client
        .execute(WATCH, vec![])
        .await
        .expect("watch the intercom");
    client
        .find(Locator::Id("c-ic-play-file"))
        .await
        .expect("the Play file button")
        .click()
        .await
        .expect("click Play file");
}

/// Waits for a final result (ok or error) that has the played length.
async fn wait_result(client: &Client, ctx: &Ctx, what: &str) -> Value {
    wait_js(client, ctx, what, Duration::from_secs(15), INTERCOM, |v| {
        v["class"] == "result err"
            || (v["class"] == "result ok" && v["text"].as_str().is_some_and(|t| t.contains(" s")))
    })
    .await
}

/// Waits for the speaker indicator to say idle again.
async fn wait_idle(client: &Client, ctx: &Ctx) {
    wait_js(
        client,
        ctx,
        "the speaker idle",
        Duration::from_secs(5),
        INTERCOM,
        |v| v["state"] == "idle",
    )
    .await;
}

async fn scroll_to_intercom(client: &Client) {
    client
        .execute(
            "document.querySelector('[data-command=intercom]').scrollIntoView({block: 'center'}); return null;",
            vec![],
        )
        .await
        .expect("scroll to the intercom");
}

/// The first number of seconds in a result ("Played x (1.0 s)" → 1.0).
fn seconds_in(text: &str) -> f64 {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|w| w.contains('.') && w.len() > 1 && !w.ends_with('.'))
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no seconds in {text:?}"))
}

/// Playback number `n` of the camera, once it heard it end (at most 5 s).
async fn ended_playback(sim: &SimTutkCamera, n: usize) -> Playback {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all = sim.handle().playbacks();
        if let Some(p) = all.get(n - 1).filter(|p| p.ended) {
            assert_eq!(all.len(), n, "one playback each");
            assert!(p.logged_in, "{}", summary(p));
            assert_eq!(p.rejected, 0, "frames rejected: {}", summary(p));
            return p.clone();
        }
        assert!(
            Instant::now() < deadline,
            "playback {n} never ended; the camera has {}: {:?}",
            all.len(),
            all.iter().map(summary).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A playback without its samples (for messages).
fn summary(p: &Playback) -> String {
    format!(
        "logged_in {} ended {} codec {:?} rate {} frames {} rejected {} duration {:?}",
        p.logged_in,
        p.ended,
        p.codec,
        p.sample_rate,
        p.frames,
        p.rejected,
        p.duration()
    )
}
