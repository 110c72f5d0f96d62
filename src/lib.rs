//! cam2mqtt: cheap Wi-Fi cameras → MQTT with Home Assistant discovery.
//!
//! ```text
//!  camera ──UDP── io::driver ── proto::<protocol>::Session (sans-IO)
//!                     │ events (frames via watch, the rest try_send)
//!                     ▼
//!            supervisor::camera::CameraTask ──BridgeEvent──▶ publisher::core ──▶ rumqttc ──▶ broker
//!                     ▲                                              │
//!            supervisor ◀──────────── Request (commands) ────────────┘
//! ```
//!
//! * `proto/` holds the protocol state machines. They never read a clock or
//!   touch a socket: they are fed datagrams, commands and `now`, and hand back
//!   datagrams, events and their next deadline (see [`proto`] for the drain
//!   contract). `clippy.toml` and `tests/sans_io.rs` enforce this.
//! * `io/` is the only place that awaits sockets and reads the clock.
//! * `sim/` holds the camera side of each protocol, for tests and `simulate`.
//! * `supervisor/` runs one task per camera and restarts failed sessions with
//!   backoff; `publisher/` turns bridge events into MQTT topics and Home
//!   Assistant discovery, and MQTT commands into requests.
#![forbid(unsafe_code)]

pub mod app;
pub mod broker;
pub mod bus;
pub mod cli;
pub mod config;
pub mod discovery;
pub mod io;
pub mod media;
pub mod model;
pub mod proto;
pub mod publisher;
pub mod secret;
pub mod sim;
pub mod supervisor;
