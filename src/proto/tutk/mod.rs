//! ThroughTek TUTK/IOTC, as Wyze cameras speak it (`tutk-iotc-wyze-protocol.md`,
//! corrected by `wyze.md`). Pure building blocks so far: [`transcode`] (the
//! "Charlie" obfuscation of IOTC packets) and [`xxtea`] for the K10001
//! challenge-response. The transports, DTLS, AV layer and session are the next
//! steps of the Wyze issue.

pub mod dtls;
pub mod transcode;
pub mod xxtea;
