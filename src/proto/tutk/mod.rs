//! ThroughTek TUTK/IOTC, as Wyze cameras speak it (`tutk-iotc-wyze-protocol.md`,
//! corrected by `wyze.md`):
//! * [`transcode`]: the "Charlie" obfuscation of IOTC packets;
//! * [`iotc`]: the TransCode transport's packets (Disco, Session, DATA, keepalive);
//! * [`cc51`]: the CC51 transport of newer V4 firmware (HMAC-SHA1 tags);
//! * [`link`]: both transports raced at connect, then channel data;
//! * [`dtls`]: DTLS 1.2 with PSK (client and server), inside the IOTC channels;
//! * [`auth`]: AuthKey and the K10001 challenge answer;
//! * [`xxtea`]: the block cipher of that answer;
//! * [`av`]: AV login, ACK, IOCTRL and HL framing inside DTLS;
//! * [`kcmd`]: K-command payloads;
//! * [`frame`]: media packets, FRAMEINFO and loss-proof frame reassembly;
//! * [`session`]: the session that sequences all of it.

pub mod auth;
pub mod av;
pub mod cc51;
pub mod dtls;
pub mod frame;
pub mod iotc;
pub mod kcmd;
pub mod link;
pub mod session;
pub mod talk;
pub mod transcode;
pub mod xxtea;
