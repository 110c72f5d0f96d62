//! RTSP: every camera as `rtsp://HOST:8554/<cam>` (issue 16).
//!
//! - [`rtp`], [`jpeg`]: the RTP payload formats (the protocol itself, ours);
//! - [`sdp`]: the session description;
//! - [`auth`]: the trust rule with Digest and Basic;
//! - [`conn`]: one client connection, sans-IO (RTSP messages by `rtsp-types`);
//! - [`play`]: one client's media: frames from the hub's live feed in, RTP
//!   and RTCP out, with the timing and the slow-client rules;
//! - [`server`]: the tokio glue (TCP listener, UDP port pair, fan-out).
//!
//! Must not depend on the supervisor or the protocols: like the HTTP front
//! end, it sees cameras only through the hub.

pub mod auth;
pub mod conn;
pub mod jpeg;
pub mod play;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod server;
