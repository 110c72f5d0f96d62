//! RTSP: every camera as `rtsp://HOST:8554/<cam>` (issue 16). This stop
//! lands the RTP side that is the protocol itself — the packetisers
//! ([`rtp`], [`jpeg`]) — with their test vectors; the server (RTSP messages, SDP,
//! sessions, fan-out from the hub, RTCP, authentication, back-channel)
//! follows.
//!
//! Must not depend on the supervisor or the protocols: like the HTTP front
//! end, it sees cameras only through the hub.

pub mod conn;
pub mod jpeg;
pub mod rtp;
pub mod sdp;
