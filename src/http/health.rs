//! `GET /healthz` (for a container health check: the process answers and
//! MQTT is connected) and `GET /api/health` (per camera, from frames
//! received; see [`crate::bus::health`]).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::AppState;

/// The window a camera's frames are judged in (`health_interval_s` does not
/// change it: health must notice a silent camera within seconds).
pub fn window(_health_interval_s: u32) -> Duration {
    crate::bus::health::WINDOW
}

/// `GET /healthz`: 200 while MQTT is connected, else 503.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let up = state.hub.status().mqtt_connected();
    let body = Json(json!({
        "status": if up { "ok" } else { "mqtt_disconnected" },
        "mqtt_connected": up,
    }));
    if up {
        body.into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

/// `GET /api/health`.
pub async fn api_health(State(state): State<AppState>) -> Response {
    Json(crate::bus::health::report(&state.hub)).into_response()
}
