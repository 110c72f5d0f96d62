//! PPPP (CS2 P2P, "iLnk"): the protocol of most cheap A9-style cameras after
//! they leave demo mode ("Little Stars", "HDWiFiCamPro", "YsxLite" apps).
//!
//! Layers, bottom up (`pppp.md` §8): [`obfuscate`] (XOR of whole datagrams,
//! key detection by first byte) → [`wire`] (framing, lenient lengths) and
//! [`uid`] → [`drw`] (the reliable DRW channels: reorder buffer, batched acks,
//! retransmission) → [`xq`] (binary-dialect payload obfuscation) →
//! [`dialect`] (the JSON, binary and CGI command codecs inside DRW channel 0).
//! Media
//! (§3.4–3.5): [`media`] cuts the video channel into JPEG frames and
//! interleaved audio, [`audio`] decodes ADPCM and A-law.

pub mod audio;
pub mod client;
pub mod dialect;
pub mod drw;
pub mod media;
pub mod obfuscate;
pub mod session;
pub mod talk;
pub mod uid;
pub mod wire;
pub mod xq;
