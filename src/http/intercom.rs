//! Intercom over HTTP: `POST api/cameras/<cam>/intercom` (an audio file as
//! the body, with `?volume=&mode=`, or the JSON of `set/intercom`) and
//! `POST api/cameras/<cam>/intercom/stop`. Both go through the same command
//! path as MQTT (one semantics, one set of errors); a playback is answered
//! when it ends (its event, with what was played, is on the event stream).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;

use super::api::command_answer;
use super::AppState;
use crate::bus::CommandInput;
use crate::model::{CameraCommand, CommandKind, IntercomRequest, IntercomSource, PlaybackMode};

use crate::command::PLAYBACK_WAIT;

/// `?volume=&mode=` of an upload.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UploadQuery {
    volume: Option<String>,
    mode: Option<String>,
}

/// `POST api/cameras/<cam>/intercom`.
pub async fn play(
    State(state): State<AppState>,
    Path(cam): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let kind = CommandKind::Intercom;
    let id = match camera(&state, &cam) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    if let Err(e) = crate::command::admit(kind, body.len()) {
        return command_answer(id.as_str(), kind.name(), Err(e));
    }
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let input = if json || body.trim_ascii_start().first() == Some(&b'{') {
        // The JSON of set/intercom, parsed for the camera like MQTT's.
        CommandInput::Payload {
            kind,
            payload: body,
        }
    } else {
        let volume = match q.volume.as_deref() {
            None => Ok(1.0),
            Some(v) => crate::command::volume(v.parse().ok(), v),
        };
        let mode = match q.mode.as_deref() {
            None => Ok(PlaybackMode::Refuse),
            Some(m) => crate::command::playback_mode(Some(m), m),
        };
        let (volume, mode) = match (volume, mode) {
            (Ok(v), Ok(m)) => (v, m),
            (Err(e), _) | (_, Err(e)) => return command_answer(id.as_str(), kind.name(), Err(e)),
        };
        if body.is_empty() {
            let e = crate::model::CommandError::BadValue {
                command: "intercom",
                reason: "empty body; send an audio file, or JSON with a url".into(),
            };
            return command_answer(id.as_str(), kind.name(), Err(e));
        }
        CommandInput::Parsed(CameraCommand::Intercom(IntercomRequest {
            source: IntercomSource::File(body),
            volume,
            mode,
        }))
    };
    let result = state.hub.command(id.clone(), input, PLAYBACK_WAIT).await;
    command_answer(id.as_str(), kind.name(), result)
}

/// `POST api/cameras/<cam>/intercom/stop`.
pub async fn stop(State(state): State<AppState>, Path(cam): Path<String>) -> Response {
    let kind = CommandKind::Intercom;
    let id = match camera(&state, &cam) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let input = CommandInput::Parsed(CameraCommand::IntercomStop);
    let result = state
        .hub
        .command(id.clone(), input, state.settings.command_timeout)
        .await;
    command_answer(id.as_str(), kind.name(), result)
}

/// The camera a path names, or the answer for an unknown one (the text MQTT
/// gives).
fn camera(state: &AppState, cam: &str) -> Result<crate::model::CameraId, Box<Response>> {
    state.hub.read(|v| {
        v.find(cam).map(|c| c.info.id.clone()).ok_or_else(|| {
            let shown: String = cam.chars().take(64).collect();
            let e = crate::command::unknown_camera(cam, v.ids());
            Box::new(command_answer(&shown, CommandKind::Intercom.name(), Err(e)))
        })
    })
}

/// `?rate=` of the push-to-talk socket.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TalkQuery {
    rate: Option<String>,
}

/// Largest WebSocket message taken (a quarter second of 48 kHz audio is
/// 24 KB).
pub const MAX_TALK_MESSAGE: usize = 64 << 10;

/// `GET api/cameras/<cam>/talk?rate=16000`: push-to-talk. The client sends
/// binary messages of mono 16-bit little-endian PCM at `rate` (8000–48000,
/// default 16000) while the button is held, and the text `stop` (or closes)
/// when it is let go; the bridge answers once, with the result as JSON
/// (`{"ok": true}` or `{"ok": false, "error": "..."}`), then closes. Talking
/// replaces a file that plays.
pub async fn talk(
    State(state): State<AppState>,
    Path(cam): Path<String>,
    Query(q): Query<TalkQuery>,
    ws: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    let id = match camera(&state, &cam) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let rate = match q.rate.as_deref().map(str::parse::<u32>) {
        None => 16_000,
        Some(Ok(r)) if (8_000..=48_000).contains(&r) => r,
        Some(_) => {
            let e = crate::model::CommandError::BadValue {
                command: "intercom",
                reason: "rate must be a sample rate from 8000 to 48000".into(),
            };
            return command_answer(id.as_str(), CommandKind::Intercom.name(), Err(e));
        }
    };
    ws.max_message_size(MAX_TALK_MESSAGE)
        .on_upgrade(move |socket| talk_session(state, id, rate, socket))
}

async fn talk_session(
    state: AppState,
    id: crate::model::CameraId,
    rate: u32,
    mut socket: axum::extract::ws::WebSocket,
) {
    use axum::extract::ws::Message;
    // A few seconds of audio may wait while the camera opens its speaker;
    // beyond that the socket is not read (TCP pushes back on the browser).
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<i16>>(64);
    let request = IntercomRequest {
        source: IntercomSource::Live(crate::model::LiveAudio::new(rate, rx)),
        volume: 1.0,
        mode: PlaybackMode::Replace,
    };
    let input = CommandInput::Parsed(CameraCommand::Intercom(request));
    let hub = state.hub.clone();
    let result = hub.command(id.clone(), input, PLAYBACK_WAIT);
    tokio::pin!(result);
    let mut tx = Some(tx);
    let max_samples = u64::from(rate) * crate::command::MAX_PLAYBACK.as_secs();
    let mut samples = 0u64;
    let outcome = loop {
        tokio::select! {
            r = &mut result => break Some(r),
            () = state.shutdown.cancelled() => break None,
            m = socket.recv() => match m {
                Some(Ok(Message::Binary(b))) => {
                    let pcm: Vec<i16> = b
                        .chunks_exact(2)
                        .map(|c| i16::from_le_bytes([c[0], c[1]]))
                        .collect();
                    samples += pcm.len() as u64;
                    if samples > max_samples {
                        tx = None; // the longest playback: the rest is not sent
                    }
                    if let Some(t) = &tx {
                        if t.send(pcm).await.is_err() {
                            tx = None;
                        }
                    }
                }
                Some(Ok(Message::Text(t))) if t.trim().eq_ignore_ascii_case("stop") => tx = None,
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    // Gone: what arrived still plays out; nobody to answer.
                    drop(tx.take());
                    return;
                }
                Some(Ok(_)) => {}
            },
        }
    };
    let body = match outcome {
        Some(Ok(())) => serde_json::json!({ "ok": true }),
        Some(Err(e)) => serde_json::json!({ "ok": false, "error": e.to_string() }),
        None => serde_json::json!({ "ok": false, "error": "the bridge is stopping" }),
    };
    let _ = socket.send(Message::Text(body.to_string().into())).await;
    let _ = socket.send(Message::Close(None)).await;
}
