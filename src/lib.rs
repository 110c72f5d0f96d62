//! cam2mqtt: cheap Wi-Fi cameras → MQTT with Home Assistant discovery.
#![forbid(unsafe_code)]

pub mod io;
pub mod model;
pub mod proto;
pub mod secret;
pub mod sim;
pub mod publisher;
