//! The camera's AV layer inside DTLS channel 0 (`wyze.md` §1.4): the AV
//! login, the client's ACKs (liveness), and K-commands in IOCTRL frames,
//! K-auth (K10000–K10003) first.
//!
//! Every K-command is answered with id + 1, and idempotently: a resend with
//! the same command sequence gets the same bytes again (the client resends
//! every second until it has an answer), so a challenge is never re-rolled
//! under a client that is still waiting for the first one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;

use super::handle::{AuthOutcome, ReceivedCommand};
use super::Ctx;
use crate::proto::tutk::auth::{ChallengeStatus, DEFAULT_CHALLENGE_KEY};
use crate::proto::tutk::av::{self, Ack, Hl, Ioctrl, Login, LoginReply, LOGIN_OK};
use crate::proto::tutk::kcmd::{self, id};
use crate::proto::tutk::xxtea;

/// The `result` byte of a refused AV login (any value but `0x10` is a
/// refusal; the references name none).
pub const LOGIN_REFUSED: u8 = 0x00;
/// A second login this soon after an accepted one is the other half of the
/// pair (#1 and #2 arrive ~10 ms apart) and is not answered again.
pub const LOGIN_PAIR_WINDOW: Duration = Duration::from_millis(500);
/// The HL version the camera answers with (its protocol level).
pub const CAMERA_HL_VERSION: u16 = 36;
/// Most remembered answers (for resends) per session.
const MAX_REMEMBERED: usize = 512;

/// K10010 / K10011 and K-auth flags the camera acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Video on or off.
    Video(bool),
    /// Audio on or off.
    Audio(bool),
    /// Send a keyframe next (K10056/K10052, same or new size).
    Keyframe,
    /// Intercom on (dial the client's back channel) or off.
    Talk(bool),
}

/// Where the AV login is.
#[derive(Debug)]
enum LoginState {
    /// No login accepted yet.
    Await,
    /// Accepted at `at` (the pair's second half is not answered again).
    Accepted { at: Instant },
}

/// Where K-auth is.
#[derive(Debug)]
enum KAuth {
    /// No K10000 yet.
    Idle,
    /// K10001 sent; the answer must decrypt to `secret`.
    Challenged { secret: [u8; 16] },
    /// K10003 "1" sent: other K-commands are served.
    Accepted,
}

/// One session's AV state.
#[derive(Debug)]
pub(super) struct Av {
    login: LoginState,
    kauth: KAuth,
    /// The camera's AV sequence counter (its control messages).
    av_seq: u32,
    /// Answers by (command, cmd_seq), for resends.
    answered: HashMap<(u16, u16), Vec<u8>>,
}

impl Av {
    pub fn new() -> Self {
        Self {
            login: LoginState::Await,
            kauth: KAuth::Idle,
            av_seq: 0,
            answered: HashMap::new(),
        }
    }

    /// Handles one AV message; answers go to `out`, actions to `actions`.
    pub fn on_message(
        &mut self,
        ctx: &mut Ctx,
        now: Instant,
        msg: &[u8],
        out: &mut Vec<Vec<u8>>,
        actions: &mut Vec<Action>,
    ) {
        match av::magic(msg) {
            Some(0x0000 | 0x2000) => self.on_login(ctx, now, msg, out),
            Some(av::MAGIC_ACK) if Ack::decode(msg).is_ok() => {
                ctx.shared.count(|c| c.acks_received += 1);
            }
            Some(av::MAGIC_IOCTRL) if matches!(self.login, LoginState::Accepted { .. }) => {
                match Ioctrl::decode(msg) {
                    Ok(f) => self.on_ioctrl(ctx, f, out, actions),
                    Err(_) => ctx.shared.count(|c| c.ignored_datagrams += 1),
                }
            }
            _ => ctx.shared.count(|c| c.ignored_datagrams += 1),
        }
    }

    fn on_login(&mut self, ctx: &mut Ctx, now: Instant, msg: &[u8], out: &mut Vec<Vec<u8>>) {
        let Ok(login) = Login::decode(msg) else {
            ctx.shared.count(|c| c.ignored_datagrams += 1);
            return;
        };
        if let LoginState::Accepted { at } = self.login {
            if now.saturating_duration_since(at) < LOGIN_PAIR_WINDOW {
                return;
            }
        }
        let ok = login.user == "admin" && login.password.expose() == ctx.cfg.enr.expose();
        let result = if ok { LOGIN_OK } else { LOGIN_REFUSED };
        if ok {
            self.login = LoginState::Accepted { at: now };
            let resend = login.resend;
            ctx.shared.count(|c| c.logins_accepted += 1);
            ctx.shared.lock().resend = Some(resend);
        } else {
            ctx.shared.count(|c| c.logins_rejected += 1);
        }
        out.push(
            LoginReply {
                result,
                nonce: login.nonce,
                two_way_audio: ctx.cfg.two_way_audio,
            }
            .encode(),
        );
    }

    fn on_ioctrl(
        &mut self,
        ctx: &mut Ctx,
        f: Ioctrl,
        out: &mut Vec<Vec<u8>>,
        actions: &mut Vec<Action>,
    ) {
        let key = (f.hl.command, f.cmd_seq);
        if let Some(reply) = self.answered.get(&key) {
            ctx.shared.count(|c| c.duplicate_commands += 1);
            out.push(reply.clone());
            return;
        }
        let authed = matches!(self.kauth, KAuth::Accepted);
        let auth_cmd = matches!(f.hl.command, id::AUTH | id::CHALLENGE_RESPONSE);
        if !authed && !auth_cmd {
            // Before K-auth a camera serves nothing else.
            ctx.shared.count(|c| c.ignored_datagrams += 1);
            return;
        }
        ctx.shared.record(ReceivedCommand {
            command: f.hl.command,
            cmd_seq: f.cmd_seq,
            payload: f.hl.payload.clone(),
        });
        let Some(payload) = self.command(ctx, f.hl.command, &f.hl.payload, actions) else {
            return;
        };
        let reply = Ioctrl {
            av_seq: self.av_seq,
            cmd_seq: f.cmd_seq,
            hl: Hl {
                command: kcmd::reply_to(f.hl.command),
                version: CAMERA_HL_VERSION,
                payload,
            },
        }
        .encode();
        self.av_seq = self.av_seq.wrapping_add(1);
        if self.answered.len() >= MAX_REMEMBERED {
            self.answered.clear();
        }
        self.answered.insert(key, reply.clone());
        out.push(reply);
    }

    /// The answer payload to one K-command (`None`: no answer).
    fn command(
        &mut self,
        ctx: &mut Ctx,
        command: u16,
        p: &[u8],
        actions: &mut Vec<Action>,
    ) -> Option<Vec<u8>> {
        let s = &mut ctx.settings;
        let reply = match command {
            id::AUTH => {
                let secret: [u8; 16] = ctx.rng.random();
                let challenge = encrypt_challenge(ctx.cfg.auth_status, secret, &ctx.enr_bytes);
                self.kauth = KAuth::Challenged { secret };
                kcmd::challenge(ctx.cfg.auth_status.byte(), challenge)
            }
            id::CHALLENGE_RESPONSE => {
                let answerable = matches!(
                    ctx.cfg.auth_status,
                    ChallengeStatus::Default | ChallengeStatus::Enr16 | ChallengeStatus::Enr32
                );
                let parsed = kcmd::parse_challenge_response(p).ok();
                let ok = match (&self.kauth, parsed) {
                    (KAuth::Challenged { secret }, Some((resp, _, _))) => {
                        answerable && resp == *secret
                    }
                    (KAuth::Accepted, _) => true,
                    _ => false,
                };
                let (video, audio) = parsed.map_or((false, false), |(_, v, a)| (v, a));
                if ok {
                    self.kauth = KAuth::Accepted;
                    actions.push(Action::Video(video));
                    actions.push(Action::Audio(audio && ctx.cfg.audio));
                }
                ctx.shared.lock().last_auth = Some(if ok {
                    AuthOutcome::Accepted
                } else {
                    AuthOutcome::Rejected
                });
                auth_result(ctx, ok, video, audio && ctx.cfg.audio)
            }
            id::CHANNEL => {
                let (media, on) = (p.first().copied(), p.get(1) == Some(&1));
                match media {
                    Some(1) => actions.push(Action::Video(on)),
                    Some(2) => actions.push(Action::Audio(on && ctx.cfg.audio)),
                    // Return audio: only a camera with a speaker says yes.
                    Some(3) if !ctx.cfg.two_way_audio => return Some(vec![0]),
                    Some(3) => actions.push(Action::Talk(on)),
                    _ => {}
                }
                vec![1]
            }
            id::RESOLUTION | id::RESOLUTION_OLD => match kcmd::parse_resolution(command, p) {
                Ok(size) if ctx.source_has(size) => {
                    ctx.settings.resolution = size;
                    let fps = if command == id::RESOLUTION {
                        p.get(3..5).map(|b| u16::from_le_bytes([b[0], b[1]]))
                    } else {
                        p.get(3).map(|&b| u16::from(b))
                    };
                    if let Some(fps) = fps.filter(|f| (1..=30).contains(f)) {
                        ctx.fps = u32::from(fps);
                    }
                    actions.push(Action::Keyframe);
                    vec![1]
                }
                _ => vec![0],
            },
            id::NIGHT_VISION_SET => set(&mut s.night_vision, p, &[1, 2, 3]),
            id::IR_LED_SET => set(&mut s.ir_led, p, &[1, 2]),
            id::STATUS_LIGHT_SET => set(&mut s.status_light, p, &[1, 2]),
            id::NIGHT_VISION_GET => vec![s.night_vision],
            id::IR_LED_GET => vec![s.ir_led],
            id::STATUS_LIGHT_GET => vec![s.status_light],
            id::PARAMS => params(ctx, p),
            // Anything else is recorded and answered with an empty payload.
            _ => Vec::new(),
        };
        ctx.publish_settings();
        Some(reply)
    }
}

/// Sets `slot` to `p[0]` if it is one of `allowed`; answers `[1]` or `[0]`.
fn set(slot: &mut u8, p: &[u8], allowed: &[u8]) -> Vec<u8> {
    match p.first() {
        Some(v) if allowed.contains(v) => {
            *slot = *v;
            vec![1]
        }
        _ => vec![0],
    }
}

/// 16 ENR bytes from `from` (zero-padded if the ENR is short).
fn enr_key(enr: &[u8], from: usize) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (i, b) in k.iter_mut().enumerate() {
        *b = enr.get(from + i).copied().unwrap_or(0);
    }
    k
}

/// The K10001 challenge: XXTEA-*encrypt* the secret with the key(s) the
/// status names, so that the client's decryption recovers it. Status 6
/// encrypts with ENR[16..32] and then ENR[0..16] (the client decrypts with
/// [0..16] and then [16..32]). Statuses that take no login get noise.
pub fn encrypt_challenge(status: ChallengeStatus, secret: [u8; 16], enr: &[u8]) -> [u8; 16] {
    match status {
        ChallengeStatus::Default => xxtea::encrypt16(secret, DEFAULT_CHALLENGE_KEY),
        ChallengeStatus::Enr16 => xxtea::encrypt16(secret, &enr_key(enr, 0)),
        ChallengeStatus::Enr32 => {
            let inner = xxtea::encrypt16(secret, &enr_key(enr, 16));
            xxtea::encrypt16(inner, &enr_key(enr, 0))
        }
        _ => secret,
    }
}

/// K10003's JSON.
fn auth_result(ctx: &Ctx, ok: bool, video: bool, audio: bool) -> Vec<u8> {
    if !ok {
        return serde_json::json!({"connectionRes": "2"})
            .to_string()
            .into_bytes();
    }
    let flag = |b: bool| if b { "1" } else { "2" };
    let codec = match ctx.cfg.codec {
        crate::model::VideoCodec::H264 => "H264",
        crate::model::VideoCodec::H265 => "H265",
    };
    serde_json::json!({
        "connectionRes": "1",
        "cameraInfo": {
            "basicInfo": {
                "firmware": ctx.cfg.firmware,
                "mac": ctx.cfg.mac,
                "model": ctx.cfg.model,
                "wifidb": ctx.cfg.wifi_db.to_string(),
            },
            "videoParm": {
                "type": codec,
                "resolution": ctx.settings.resolution.code().to_string(),
                "fps": ctx.fps,
                "bitRate": ctx.bitrate.to_string(),
            },
            "audioParm": {"sampleRate": "8000"},
            "channelResquestResult": {"audio": flag(audio), "video": flag(video)},
        }
    })
    .to_string()
    .into_bytes()
}

/// K10020 parameter ids (`wyze.md` §2.1).
pub mod param {
    /// Status light (1/2).
    pub const STATUS_LIGHT: u8 = 1;
    /// Night vision (1/2/3).
    pub const NIGHT_VISION: u8 = 2;
    /// Bitrate.
    pub const BITRATE: u8 = 3;
    /// Resolution (frame-size code).
    pub const RESOLUTION: u8 = 4;
    /// Frames per second.
    pub const FPS: u8 = 5;
    /// IR LED (1/2).
    pub const IR_LED: u8 = 50;
}

/// K10021: JSON `{"<param id>": "<value>"}` for the ids asked for
/// (`[count][id…]`; an empty request means all the camera knows).
fn params(ctx: &Ctx, p: &[u8]) -> Vec<u8> {
    let s = &ctx.settings;
    let value = |id: u8| -> Option<String> {
        Some(match id {
            param::STATUS_LIGHT => s.status_light.to_string(),
            param::NIGHT_VISION => s.night_vision.to_string(),
            param::BITRATE => ctx.bitrate.to_string(),
            param::RESOLUTION => s.resolution.code().to_string(),
            param::FPS => ctx.fps.to_string(),
            param::IR_LED => s.ir_led.to_string(),
            _ => return None,
        })
    };
    let asked: Vec<u8> = match p.split_first() {
        Some((&n, ids)) if n > 0 => ids.iter().take(usize::from(n)).copied().collect(),
        _ => vec![
            param::STATUS_LIGHT,
            param::NIGHT_VISION,
            param::BITRATE,
            param::RESOLUTION,
            param::FPS,
            param::IR_LED,
        ],
    };
    let map: serde_json::Map<String, serde_json::Value> = asked
        .into_iter()
        .filter_map(|id| value(id).map(|v| (id.to_string(), v.into())))
        .collect();
    serde_json::Value::Object(map).to_string().into_bytes()
}
