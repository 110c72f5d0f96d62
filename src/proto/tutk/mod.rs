//! ThroughTek TUTK/IOTC, as Wyze cameras speak it (`tutk-iotc-wyze-protocol.md`,
//! corrected by `wyze.md`). Pure building blocks so far:
//! * [`transcode`]: the "Charlie" obfuscation of IOTC packets;
//! * [`iotc`]: the TransCode transport's packets (Disco, Session, DATA, keepalive);
//! * [`cc51`]: the CC51 transport of newer V4 firmware (HMAC-SHA1 tags);
//! * [`auth`]: AuthKey and the K10001 challenge answer;
//! * [`xxtea`]: the block cipher of that answer;
//! * [`av`]: AV login, ACK, IOCTRL and HL framing inside DTLS;
//! * [`kcmd`]: K-command payloads;
//! * [`frame`]: media packets, FRAMEINFO and loss-proof frame reassembly.
//!
//! DTLS and the session that sequences all of it are the next steps of the
//! Wyze issue.

pub mod auth;
pub mod av;
pub mod cc51;
pub mod frame;
pub mod iotc;
pub mod kcmd;
pub mod transcode;
pub mod xxtea;
