//! REST and server-sent events.
//!
//! - `GET api/cameras`, `GET api/cameras/<cam>`: every camera as [`camera_json`]
//!   (its `state` is exactly the MQTT state).
//! - `POST api/cameras/<cam>/commands/<command>`: the body is the MQTT
//!   `set/<command>` payload; the command passes the same gate
//!   ([`crate::command`], in the supervisor) and gets the same error texts.
//! - `GET api/events`: `camera` (a [`camera_json`]: all of them at connect,
//!   then each that changes), `removed`, `command` (every command's result,
//!   from any front end) and `snapshot` events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use futures_util::Stream;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use super::{error, find_camera, AppState};
use crate::bus::view::{CameraView, Views};
use crate::bus::{BridgeEvent, CommandInput, Hub};
use crate::model::{CommandError, CommandKind};

/// One camera as the API shows it. Never holds a secret: the state has none,
/// and the description's secrets stay in the config.
pub fn camera_json(view: &CameraView, viewers: usize) -> Value {
    let info = &view.info;
    let id = info.id.as_str();
    let commands: Vec<&str> = CommandKind::ALL
        .into_iter()
        .filter(|k| info.can(k.capability()))
        .map(CommandKind::name)
        .collect();
    json!({
        "id": id,
        "name": info.name,
        "protocol": info.protocol.as_str(),
        "model": info.model,
        "uid": info.uid,
        "online": view.online,
        "status": view.status(),
        "commands": commands,
        "resolutions": info.resolutions,
        "night_vision_modes": info
            .night_vision_modes()
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>(),
        "state": view.state,
        "last_snapshot_at": view.snapshot.as_ref().map(|s| s.taken_at.clone()),
        "viewers": viewers,
        "stream": format!("api/cameras/{id}/stream.mjpeg"),
        "snapshot": format!("api/cameras/{id}/snapshot.jpg"),
    })
}

fn viewers(hub: &Hub, id: &crate::model::CameraId) -> usize {
    hub.live().get(id).map_or(0, |f| f.viewer_count())
}

fn all_cameras(hub: &Hub, views: &Views) -> Vec<Value> {
    views
        .iter()
        .map(|v| camera_json(v, viewers(hub, &v.info.id)))
        .collect()
}

/// `GET api/cameras`.
pub async fn cameras(State(state): State<AppState>) -> Response {
    let hub = &state.hub;
    let list = hub.read(|v| all_cameras(hub, v));
    Json(json!({ "cameras": list })).into_response()
}

/// `GET api/cameras/<cam>`.
pub async fn camera(State(state): State<AppState>, Path(cam): Path<String>) -> Response {
    let id = match find_camera(&state.hub, &cam) {
        Ok(id) => id,
        Err(text) => return error(StatusCode::NOT_FOUND, text),
    };
    let hub = &state.hub;
    match hub.read(|v| v.get(&id).map(|c| camera_json(c, viewers(hub, &id)))) {
        Some(c) => Json(c).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("unknown camera {cam:?}")),
    }
}

/// The HTTP status that fits a command error.
pub fn status_of(e: &CommandError) -> StatusCode {
    match e {
        CommandError::UnknownCommand(_)
        | CommandError::UnknownCamera(_)
        | CommandError::UnknownBridgeCommand(_) => StatusCode::NOT_FOUND,
        CommandError::BadValue { .. } | CommandError::Retained { .. } => StatusCode::BAD_REQUEST,
        CommandError::Lacks { .. } | CommandError::Unsupported { .. } => StatusCode::CONFLICT,
        CommandError::Offline => StatusCode::SERVICE_UNAVAILABLE,
        CommandError::TimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
        CommandError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
        CommandError::TooBig { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        CommandError::Refused(_) | CommandError::Cloud(_) => StatusCode::BAD_GATEWAY,
    }
}

pub fn command_answer(camera: &str, command: &str, result: Result<(), CommandError>) -> Response {
    match result {
        Ok(()) => Json(json!({ "ok": true, "camera": camera, "command": command })).into_response(),
        Err(e) => {
            let body = json!({
                "ok": false,
                "camera": camera,
                "command": command,
                "error": e.to_string(),
            });
            (status_of(&e), Json(body)).into_response()
        }
    }
}

/// `POST api/cameras/<cam>/commands/<command>`.
pub async fn command(
    State(state): State<AppState>,
    Path((cam, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let shown: String = cam.chars().take(64).collect();
    let kind = crate::command::kind(&name);
    let shown_command = kind.as_ref().map_or("unknown", |k| k.name());
    // The same order as MQTT: the camera, the command name, the size, then
    // (in the supervisor) what the camera can do and the value.
    let id = match state.hub.read(|v| v.find(&cam).map(|c| c.info.id.clone())) {
        Some(id) => id,
        None => {
            let e = state
                .hub
                .read(|v| crate::command::unknown_camera(&cam, v.ids()));
            return command_answer(&shown, shown_command, Err(e));
        }
    };
    let kind = match kind {
        Ok(k) => k,
        Err(e) => return command_answer(id.as_str(), shown_command, Err(e)),
    };
    if let Err(e) = crate::command::admit(kind, body.len()) {
        return command_answer(id.as_str(), kind.name(), Err(e));
    }
    let input = CommandInput::Payload {
        kind,
        payload: body,
    };
    let result = state
        .hub
        .command(id.clone(), input, state.settings.command_timeout)
        .await;
    command_answer(id.as_str(), kind.name(), result)
}

/// What one bridge event becomes on the event stream.
fn sse_events(hub: &Hub, event: &BridgeEvent) -> Vec<Event> {
    let camera_event = |id: &crate::model::CameraId| {
        hub.read(|v| v.get(id).map(|c| camera_json(c, viewers(hub, id))))
            .map(|c| Event::default().event("camera").data(c.to_string()))
    };
    match event {
        BridgeEvent::Registered(info) => camera_event(&info.id).into_iter().collect(),
        BridgeEvent::Availability { camera, .. }
        | BridgeEvent::State { camera, .. }
        | BridgeEvent::Viewers { camera, .. } => camera_event(camera).into_iter().collect(),
        BridgeEvent::Removed(id) => vec![Event::default()
            .event("removed")
            .data(json!({ "id": id.as_str() }).to_string())],
        BridgeEvent::Snapshot {
            camera, taken_at, ..
        } => vec![Event::default()
            .event("snapshot")
            .data(json!({ "camera": camera.as_str(), "taken_at": taken_at }).to_string())],
        BridgeEvent::CommandResult {
            camera,
            command,
            result,
            playback,
        } => {
            let mut body = json!({
                "camera": camera.as_str(),
                "command": command.name(),
                "ok": result.is_ok(),
            });
            if let Err(e) = result {
                body["error"] = json!(e.to_string());
            }
            if let Some(p) = playback {
                body["playback"] = p.to_json();
            }
            vec![Event::default().event("command").data(body.to_string())]
        }
        BridgeEvent::Scanned(_) => Vec::new(),
    }
}

fn camera_events(hub: &Hub) -> std::collections::VecDeque<Event> {
    hub.read(|v| all_cameras(hub, v))
        .into_iter()
        .map(|c| Event::default().event("camera").data(c.to_string()))
        .collect()
}

/// `GET api/events`.
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribed before the view is read: nothing is missed in between.
    let rx = state.hub.subscribe();
    let pending = camera_events(&state.hub);
    let stream = futures_util::stream::unfold(
        (rx, pending, state),
        |(mut rx, mut pending, state)| async move {
            loop {
                if let Some(ev) = pending.pop_front() {
                    return Some((Ok(ev), (rx, pending, state)));
                }
                let received = tokio::select! {
                    () = state.shutdown.cancelled() => return None,
                    r = rx.recv() => r,
                };
                match received {
                    Ok(event) => pending.extend(sse_events(&state.hub, &event)),
                    // Skipped ahead: every camera again, from the view.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        pending = camera_events(&state.hub);
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
