//! cam2mqtt: cheap Wi-Fi cameras → MQTT with Home Assistant discovery.
//!
//! ```text
//!  discovery::{configured, demo_probe, …} ──Found|Updated|Lost──▶ supervisor (registry)
//!         ▲ forget (camera left its mode)                              │ spawn, route
//!         │                                                            ▼
//!  camera ──UDP── io::driver ── proto::<protocol> Session   supervisor::camera (glue)
//!                    │ (every socket the SessionFactory asks for)  around CameraCore (sans-IO)
//!                    └────── SessionEvents ───────────────────────────▶ │
//!                                                                      │ bus::BridgeEvent
//!                                                                      ▼
//!            supervisor ◀──── bus::Request ──── publisher::core ──▶ rumqttc ──▶ broker
//! ```
//!
//! * `proto/` holds the protocol state machines. They never read a clock or
//!   touch a socket: they are fed datagrams, commands and `now`, and hand back
//!   datagrams, events and their next deadline (see [`proto`] for the drain
//!   contract). `clippy.toml` and `tests/sans_io.rs` enforce this; the camera
//!   core ([`supervisor::core`]), the media sink and the publisher core are
//!   sans-IO in the same way.
//! * `model` and `bus` are the shared vocabulary: camera identity and reach,
//!   commands ([`model::CommandKind`]), media, and the typed events and state
//!   the publisher serialises.
//! * `io/` is the only place that awaits sockets and reads the clock.
//! * `discovery/` turns its sources' reports into camera specs.
//! * `sim/` holds the camera side of each protocol, the in-memory network and
//!   the lossy link, for tests and `simulate`.
//! * `supervisor/` runs one task per camera; `publisher/` turns bridge events into
//!   MQTT topics and Home Assistant discovery, and MQTT commands into requests.
//! * `http/` (web UI, REST, live MJPEG, push-to-talk) and `rtsp/` (RTP
//!   packetisers so far) see cameras only through the hub (`bus/`).
//!
//! The layering (`proto` → `model` only; `io` ↛ `sim`; `supervisor`, `model` ↛
//! `publisher`; …) is checked by `tests/layering.rs`.
#![forbid(unsafe_code)]

pub mod addon;
pub mod app;
pub mod broker;
pub mod bus;
pub mod cli;
pub mod cloud;
pub mod command;
pub mod config;
pub mod discovery;
pub mod http;
pub mod io;
pub mod media;
pub mod model;
pub mod proto;
pub mod publisher;
pub mod rtsp;
pub mod secret;
pub mod sim;
pub mod supervisor;
