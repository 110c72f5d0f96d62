//! The HTTP side on `http.listen`: the web UI ([`ui`]), live MJPEG and
//! snapshots ([`mjpeg`]), REST and server-sent events ([`api`]), health and
//! metrics ([`health`], [`metrics`]).
//!
//! It sees the bridge only through the hub ([`crate::bus::Hub`]): the view for
//! what it shows, the broadcast for what it pushes, the live feeds for
//! pictures, and command requests with a reply for what it is asked to do.
//! `tests/layering.rs` keeps it that way (`http` imports only `bus`,
//! `command`, `model`, `config`, `media` and `secret`).
//!
//! Every route sits behind the trust rule ([`auth`]). URLs in pages and JSON
//! are relative, so it works behind Home Assistant's ingress, which serves it
//! under `/api/hassio_ingress/<token>/`.

pub mod api;
pub mod auth;
pub mod health;
pub mod intercom;
pub mod metrics;
pub mod mjpeg;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

use crate::bus::Hub;
use crate::config::HttpConfig;

/// How long a REST command waits for the camera's answer before 504.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// What the HTTP side needs besides the hub.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Who may use it.
    pub access: auth::Access,
    /// Frames older than this make a camera unhealthy.
    pub health_window: Duration,
    /// How long a command may take before 504.
    pub command_timeout: Duration,
}

impl HttpSettings {
    /// The settings `cfg` gives.
    pub fn from_config(cfg: &HttpConfig) -> Self {
        Self {
            access: auth::Access::from_config(cfg),
            health_window: health::window(cfg.health_interval_s),
            command_timeout: COMMAND_TIMEOUT,
        }
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The hub.
    pub hub: Hub,
    /// The settings.
    pub settings: Arc<HttpSettings>,
    /// Cancelled at shutdown: endless streams end then.
    pub shutdown: CancellationToken,
    /// Prometheus registry and its families.
    pub metrics: Arc<metrics::Metrics>,
}

/// The router with every route behind the trust rule.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(ui::index))
        .route("/ui/{file}", get(ui::asset))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::render))
        .route("/api/health", get(health::api_health))
        .route("/api/cameras", get(api::cameras))
        .route("/api/cameras/{cam}", get(api::camera))
        .route("/api/cameras/{cam}/snapshot.jpg", get(mjpeg::snapshot))
        .route("/api/cameras/{cam}/stream.mjpeg", get(mjpeg::stream))
        .route("/api/cameras/{cam}/commands/{command}", post(api::command))
        .route("/api/cameras/{cam}/intercom", post(intercom::play))
        .route("/api/cameras/{cam}/intercom/stop", post(intercom::stop))
        .route("/api/cameras/{cam}/talk", get(intercom::talk))
        .route("/api/events", get(api::events))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::command::max_payload(crate::model::CommandKind::Intercom) + 1,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such page or endpoint".into())
}

/// A JSON error answer: `{"error": text}`.
pub fn error(status: StatusCode, text: String) -> Response {
    (status, Json(serde_json::json!({ "error": text }))).into_response()
}

/// The trust rule, before any handler.
async fn guard(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let read_only = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if auth::is_health_probe(peer.ip(), read_only, request.uri().path()) {
        return next.run(request).await;
    }
    // Computed in a block: nothing borrowed from the request lives across
    // the await below.
    let verdict = {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        // A WebSocket (push-to-talk) acts on the camera like a POST: the
        // same cross-site checks (a page elsewhere must not open one).
        let upgrade = header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
        let changes = upgrade
            || !matches!(
                *request.method(),
                axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
            );
        let access = &state.settings.access;
        access
            .check(peer.ip(), header("authorization"))
            .and_then(|()| {
                access.check_browser(
                    peer.ip(),
                    changes,
                    header("host"),
                    // Behind a reverse proxy the page's own host is the one
                    // the proxy forwards (a browser cannot set this header
                    // on a cross-site request).
                    header("x-forwarded-host").or(header("host")),
                    header("origin"),
                    header("sec-fetch-site"),
                )
            })
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(denied @ (auth::Denied::CrossSite | auth::Denied::HostName(_))) => {
            tracing::info!(%peer, path = %request.uri().path(), "HTTP request refused: {denied}");
            error(StatusCode::FORBIDDEN, denied.to_string())
        }
        Err(denied) => {
            tracing::debug!(%peer, path = %request.uri().path(), "HTTP request refused: {denied}");
            let mut response = error(StatusCode::UNAUTHORIZED, denied.to_string());
            if state.settings.access.wants_basic() {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"cam2mqtt\", charset=\"UTF-8\""),
                );
            }
            response
        }
    }
}

/// Binds `listen` (`IP:port`).
pub async fn bind(listen: &str) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen).await
}

/// Serves until `state.shutdown` is cancelled; open streams end then.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

/// The camera a path names, or the text MQTT gives for an unknown one.
pub fn find_camera(hub: &Hub, cam: &str) -> Result<crate::model::CameraId, String> {
    hub.read(|v| {
        v.find(cam)
            .map(|c| c.info.id.clone())
            .ok_or_else(|| crate::command::unknown_camera(cam, v.ids()).to_string())
    })
}
