//! The camera's command handling on DRW channel 0, one function per dialect
//! (`pppp.md` §3.1–3.3), using the shared codecs in
//! [`crate::proto::pppp::dialect`] for the bytes and deciding here what a
//! camera does with them.
//!
//! [`split`] cuts the channel-0 byte stream into messages by the dialect's
//! own length field, so a message split over several DRW packets, or several
//! in one, are both handled. [`handle`] executes one message and returns an
//! [`Outcome`]: replies to send, commands to record, stream changes, reboot.
//!
//! Choices where the references are silent (also in the module docs of
//! [`super`]): every JSON and CGI request is checked against the credentials
//! it carries (no prior login needed); binary commands need a successful
//! login and its ticket; a bad binary login is answered per
//! [`BinaryLoginFailure`](super::BinaryLoginFailure).

use serde_json::Value;

use super::handle::{PtzMove, ReceivedCommand, Resolution, StreamRequest, Switches, WifiRecord};
use super::{BinaryLoginFailure, PpppCameraConfig};
use crate::proto::pppp::dialect::binary::{
    self, BinaryCommand, BinaryRequest, DevStatus, LoginAck, LoginAckBody, PtzDirection as BinPtz,
    WifiNetwork,
};
use crate::proto::pppp::dialect::cgi::{self, CgiCommand, CgiReply, CgiRequest};
use crate::proto::pppp::dialect::json::{
    self, cmd, DevControl, JsonCommand, JsonReply, JsonRequest, JsonResult, PtzControl,
    StreamControl, VideoMode,
};
use crate::proto::pppp::dialect::{Dialect, Password};

/// Longest channel-0 message the camera buffers (a JSON block is at most 64 KiB).
pub const MAX_MESSAGE: usize = json::HEADER_LEN + json::MAX_JSON_LEN;

/// How the front of the channel-0 buffer splits.
#[derive(Debug, PartialEq, Eq)]
pub enum Split {
    /// A whole message of this many bytes.
    Message(usize),
    /// Not enough bytes yet.
    Incomplete,
    /// Not this dialect's framing: the buffer is discarded.
    Garbage,
}

/// Finds the first message in `buf` by the dialect's header.
pub fn split(dialect: Dialect, buf: &[u8]) -> Split {
    let (start, header, len) = match dialect {
        // 06 0A xx xx + u32 LE length.
        Dialect::Json => {
            let len = buf
                .get(4..8)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            (json::START, json::HEADER_LEN, len)
        }
        // 11 0A cmd + u16 LE (4 + payload) + dest + ticket + payload.
        Dialect::Binary => {
            let len = buf.get(4..6).map(|b| u16::from_le_bytes([b[0], b[1]]));
            if len.is_some_and(|l| l < 4) {
                return Split::Garbage;
            }
            (
                binary::START,
                binary::HEADER_LEN,
                len.map(|l| usize::from(l) - 4),
            )
        }
        // 01 0A xx xx + u16 LE length + xx xx.
        Dialect::Cgi => {
            let len = buf
                .get(4..6)
                .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
            (cgi::START, cgi::HEADER_LEN, len)
        }
    };
    for (i, &b) in start.iter().enumerate() {
        match buf.get(i) {
            Some(&got) if got != b => return Split::Garbage,
            None => return Split::Incomplete,
            _ => {}
        }
    }
    match len {
        None => Split::Incomplete,
        Some(l) if l > MAX_MESSAGE => Split::Garbage,
        Some(l) if buf.len() < header + l => Split::Incomplete,
        Some(l) => Split::Message(header + l),
    }
}

/// The session's login state.
#[derive(Debug, Default)]
pub struct Login {
    /// The ticket of a successful binary login.
    pub ticket: Option<[u8; 4]>,
}

/// What one command asks of the camera.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Channel-0 replies, in order.
    pub replies: Vec<Vec<u8>>,
    /// For the handle.
    pub records: Vec<ReceivedCommand>,
    /// Start (`true`) or stop video.
    pub video: Option<bool>,
    /// Start or stop audio.
    pub audio: Option<bool>,
    /// Start or stop taking talk audio on channel 3.
    pub talk: Option<bool>,
    /// Reboot once the replies are acked.
    pub reboot: bool,
    /// Refused for credentials or ticket.
    pub refused: bool,
}

/// What a command handler may read and change.
pub struct Ctx<'a> {
    /// The camera's settings.
    pub cfg: &'a PpppCameraConfig,
    /// Its switches.
    pub switches: &'a mut Switches,
    /// The session's login.
    pub login: &'a mut Login,
    /// Camera clock, seconds since the epoch.
    pub epoch: u32,
    /// The ticket a successful binary login gets.
    pub new_ticket: [u8; 4],
}

/// Executes one channel-0 message.
pub fn handle(ctx: &mut Ctx<'_>, message: &[u8]) -> Outcome {
    let mut out = Outcome::default();
    match ctx.cfg.dialect {
        Dialect::Json => json_message(ctx, message, &mut out),
        Dialect::Binary => binary_message(ctx, message, &mut out),
        Dialect::Cgi => cgi_message(ctx, message, &mut out),
    }
    out
}

fn credentials_ok(cfg: &PpppCameraConfig, user: &str, pwd: &Password) -> Result<(), JsonResult> {
    if user != cfg.username {
        Err(JsonResult::BadUser)
    } else if cfg.quirks.reject_auth || pwd.expose() != cfg.password.expose() {
        Err(JsonResult::BadPassword)
    } else {
        Ok(())
    }
}

// ---- JSON -----------------------------------------------------------------

fn push_json(out: &mut Outcome, reply: JsonReply) {
    if let Ok(b) = reply.encode() {
        out.replies.push(b);
    }
}

fn json_message(ctx: &mut Ctx<'_>, message: &[u8], out: &mut Outcome) {
    let blocks = match json::decode_blocks(message) {
        Ok(b) => b,
        Err(_) => {
            out.records.push(ReceivedCommand::Other(message.to_vec()));
            return;
        }
    };
    for block in blocks {
        match JsonRequest::from_value(&block.value) {
            Ok(req) => json_request(ctx, req, message, out),
            Err(_) => {
                // Unparseable arguments: answer the command number, if any, with -1.
                out.records.push(ReceivedCommand::Other(message.to_vec()));
                if let Some(c) = block.value.get("cmd").and_then(Value::as_i64) {
                    push_json(out, JsonReply::new(c, JsonResult::BadUser));
                }
            }
        }
    }
}

fn json_request(ctx: &mut Ctx<'_>, req: JsonRequest, raw: &[u8], out: &mut Outcome) {
    let c = req.command.cmd();
    let auth = credentials_ok(ctx.cfg, &req.user, &req.pwd);
    if let JsonCommand::CheckUser = req.command {
        out.records.push(ReceivedCommand::Login {
            user: req.user.clone(),
            accepted: auth.is_ok(),
        });
        let reply = match auth {
            Ok(()) => JsonReply::new(c, JsonResult::Ok)
                .with("admin", 1)
                .with("restrict", 0)
                .with("mode", 110)
                .with("type", 600)
                .with("checkstr", "SHIX"),
            Err(e) => JsonReply::new(c, e),
        };
        push_json(out, reply);
        return;
    }
    if let Err(e) = auth {
        out.refused = true;
        push_json(out, JsonReply::new(c, e));
        return;
    }
    let sw = &mut *ctx.switches;
    let ok = JsonReply::new(c, JsonResult::Ok);
    let reply = match req.command {
        JsonCommand::CheckUser => ok,
        JsonCommand::GetParms => {
            out.records.push(ReceivedCommand::GetParams);
            ok.with("tz", 0)
                .with("time", i64::from(ctx.epoch))
                .with("icut", i64::from(sw.ir_cut))
                .with("lamp", i64::from(sw.light))
                .with("batValue", 100)
                .with("batStatus", 1)
                .with("sysver", ctx.cfg.sysver.as_str())
                .with("mcuver", "1.0.0")
                .with("sensor", "GC0329")
                .with("isShow4KMenu", 0)
                .with("isShowIcutAuto", 1)
                .with("rotmir", 0)
                .with("signal", 80)
        }
        JsonCommand::DevControl(d) => {
            match d {
                DevControl::Icut(on) => {
                    sw.ir_cut = on;
                    out.records.push(ReceivedCommand::IrCut(on));
                }
                DevControl::Lamp(on) => {
                    sw.light = on;
                    out.records.push(ReceivedCommand::Light(on));
                }
                DevControl::Reboot => {
                    out.records.push(ReceivedCommand::Reboot);
                    out.reboot = true;
                }
                DevControl::Reset => out.records.push(ReceivedCommand::Other(raw.to_vec())),
                // A heartbeat is answered and not recorded.
                DevControl::Heart => {}
            }
            ok
        }
        JsonCommand::Stream(StreamControl::Video(mode)) => {
            let req = match mode {
                VideoMode::Stop => StreamRequest::VideoStop,
                VideoMode::Vga => StreamRequest::Video(Resolution::Vga),
                VideoMode::Qvga => StreamRequest::Video(Resolution::Qvga),
            };
            if let StreamRequest::Video(r) = req {
                sw.resolution = r;
            }
            out.video = Some(req != StreamRequest::VideoStop);
            out.records.push(ReceivedCommand::Stream(req));
            ok
        }
        JsonCommand::Stream(StreamControl::Audio(on)) => {
            out.audio = Some(on);
            out.records
                .push(ReceivedCommand::Stream(StreamRequest::Audio(on)));
            ok
        }
        JsonCommand::SetWifi { ssid, password } => {
            out.records.push(ReceivedCommand::SetWifi(WifiRecord {
                ssid,
                password,
                channel: None,
                auth: None,
                settings: None,
            }));
            out.reboot = ctx.cfg.leave_after_wifi;
            ok
        }
        JsonCommand::SetDatetime { tz, time } => {
            out.records.push(ReceivedCommand::DateTime { time, tz });
            // pppp.md §3.1: set_datetime is answered with cmd 128.
            JsonReply::new(cmd::PTZ_CONTROL, JsonResult::Ok)
        }
        JsonCommand::PtzControl(p) => {
            out.records.push(ReceivedCommand::Ptz(json_ptz(p)));
            ok
        }
        JsonCommand::SetWhiteLight(on) => {
            sw.white_light = on;
            out.records.push(ReceivedCommand::WhiteLight(on));
            ok
        }
        JsonCommand::GetWhiteLight => ok.with("status", i64::from(sw.white_light)),
        JsonCommand::Other { cmd: c2, .. } if c2 == cmd::SCAN_WIFI => {
            out.records.push(ReceivedCommand::WifiScan);
            ok
        }
        // pppp.md §3.1: talk_send (300), isSend 1 / 0.
        JsonCommand::Other {
            cmd: c2, ref args, ..
        } if c2 == cmd::TALK_SEND => {
            out.records.push(ReceivedCommand::Other(raw.to_vec()));
            if ctx.cfg.speaker {
                out.talk = Some(args.0.get("isSend").and_then(|v| v.as_i64()) == Some(1));
                ok
            } else {
                JsonReply::new(c, JsonResult::Other(-2))
            }
        }
        // Known-but-unsimulated and unknown commands: recorded, answered 0.
        JsonCommand::Other { .. } => {
            out.records.push(ReceivedCommand::Other(raw.to_vec()));
            ok
        }
    };
    push_json(out, reply);
}

fn json_ptz(p: PtzControl) -> PtzMove {
    if p == PtzControl::HOME {
        return PtzMove::Home;
    }
    match (p.parms, p.value) {
        (0, v) if (0..8).contains(&v) && v % 2 == 1 => PtzMove::Stop,
        (0, 0) => PtzMove::Up,
        (0, 2) => PtzMove::Down,
        (0, 4) => PtzMove::Left,
        (0, 6) => PtzMove::Right,
        (parms, value) => PtzMove::Other(parms, value),
    }
}

// ---- binary ---------------------------------------------------------------

fn push_binary(out: &mut Outcome, c: &BinaryCommand) {
    if let Ok(b) = c.encode() {
        out.replies.push(b);
    }
}

fn binary_message(ctx: &mut Ctx<'_>, message: &[u8], out: &mut Outcome) {
    let Ok(c) = BinaryCommand::decode(message) else {
        out.records.push(ReceivedCommand::Other(message.to_vec()));
        return;
    };
    let Ok(req) = BinaryRequest::parse(&c) else {
        // An ack, or a known id with a malformed payload: not acted on.
        out.records.push(ReceivedCommand::Other(message.to_vec()));
        return;
    };
    if let BinaryRequest::Login { user, password } = &req {
        binary_login(ctx, user, password, out);
        return;
    }
    let Some(ticket) = ctx.login.ticket.filter(|t| *t == c.ticket) else {
        // No login yet, or the wrong ticket: ignored (acked on the DRW level only).
        out.refused = true;
        return;
    };
    let ack = |payload: Vec<u8>| BinaryCommand::ack_for(c.cmd, ticket, payload);
    let sw = &mut *ctx.switches;
    let reply = match req {
        BinaryRequest::Login { .. } => return,
        BinaryRequest::StatusGet => {
            out.records.push(ReceivedCommand::GetParams);
            DevStatus {
                swver: 0x0102_0304,
                battery_mv: 3600,
                rssi: 0xBF,
                charging: true,
            }
            .to_command(ticket)
        }
        BinaryRequest::StartVideo => {
            out.video = Some(true);
            if ctx.cfg.audio {
                out.audio = Some(true);
            }
            out.records
                .push(ReceivedCommand::Stream(StreamRequest::Video(sw.resolution)));
            ack(Vec::new())
        }
        BinaryRequest::StopVideo => {
            out.video = Some(false);
            out.audio = Some(false);
            out.records
                .push(ReceivedCommand::Stream(StreamRequest::VideoStop));
            ack(Vec::new())
        }
        BinaryRequest::VideoParamSet { param, value }
            if param == binary::video_param::RESOLUTION =>
        {
            // cam-reverse #35: 0 is 320x240; 1 and "HD" 2 are 640x480; others are ignored.
            let r = match value {
                binary::resolution::QVGA => Some(Resolution::Qvga),
                binary::resolution::VGA | binary::resolution::HD => Some(Resolution::Vga),
                _ => None,
            };
            match r {
                Some(r) => {
                    sw.resolution = r;
                    out.records.push(ReceivedCommand::Resolution(r));
                }
                None => out.records.push(ReceivedCommand::Other(message.to_vec())),
            }
            ack(Vec::new())
        }
        BinaryRequest::VideoParamSet { .. } => {
            out.records.push(ReceivedCommand::Other(message.to_vec()));
            ack(Vec::new())
        }
        BinaryRequest::IrCutToggle => {
            sw.ir_cut = !sw.ir_cut;
            out.records.push(ReceivedCommand::IrToggle);
            ack(Vec::new())
        }
        BinaryRequest::LightToggle => {
            sw.light = !sw.light;
            out.records.push(ReceivedCommand::LightToggle);
            ack(Vec::new())
        }
        BinaryRequest::Reboot => {
            out.records.push(ReceivedCommand::Reboot);
            out.reboot = true;
            ack(Vec::new())
        }
        BinaryRequest::DateTimeSet(dt) => {
            out.records.push(ReceivedCommand::DateTime {
                time: i64::from(dt.now),
                tz: i64::from(dt.tz),
            });
            ack(Vec::new())
        }
        BinaryRequest::WifiScan => {
            out.records.push(ReceivedCommand::WifiScan);
            let list: Vec<WifiNetwork> = ctx
                .cfg
                .scan
                .iter()
                .enumerate()
                .map(|(i, n)| WifiNetwork {
                    ssid: n.ssid.clone(),
                    mac_raw: [0x02, 0x00, 0x5E, 0x10, 0x00, i as u8, 0, 0],
                    security: 0,
                    // Low byte is dBm as i8.
                    dbm0: u32::from_le_bytes([n.dbm as u8, 0xFF, 0xFF, 0xFF]),
                    dbm1: 100,
                    mode: 0,
                    channel: n.channel,
                })
                .collect();
            match WifiNetwork::list_to_ack(&list) {
                Ok(c) => c,
                Err(_) => ack(Vec::new()),
            }
        }
        BinaryRequest::WifiSet(s) => {
            out.records.push(ReceivedCommand::SetWifi(WifiRecord {
                ssid: s.ssid.clone(),
                password: s.psk.clone(),
                channel: Some(s.channel),
                auth: Some(s.auth),
                settings: Some(Box::new(s)),
            }));
            out.reboot = ctx.cfg.leave_after_wifi;
            ack(Vec::new())
        }
        BinaryRequest::Ptz(p) => {
            let m = match p.as_direction() {
                Some(BinPtz::Up) => PtzMove::Up,
                Some(BinPtz::Down) => PtzMove::Down,
                Some(BinPtz::Left) => PtzMove::Left,
                Some(BinPtz::Right) => PtzMove::Right,
                Some(BinPtz::Stop) => PtzMove::Stop,
                None => PtzMove::Other(i64::from(p.param_type), i64::from(p.value)),
            };
            out.records.push(ReceivedCommand::Ptz(m));
            ack(Vec::new())
        }
        BinaryRequest::Other { cmd: id } if id == binary::cmd::LIVEAUDIO_START => {
            out.audio = Some(true);
            out.records
                .push(ReceivedCommand::Stream(StreamRequest::Audio(true)));
            ack(Vec::new())
        }
        BinaryRequest::Other { cmd: id }
            if (id == binary::cmd::TALK_START || id == binary::cmd::TALK_STOP)
                && ctx.cfg.speaker =>
        {
            out.talk = Some(id == binary::cmd::TALK_START);
            out.records.push(ReceivedCommand::Other(message.to_vec()));
            ack(Vec::new())
        }
        BinaryRequest::Other { cmd: id } if id == binary::cmd::LIVEAUDIO_STOP => {
            out.audio = Some(false);
            out.records
                .push(ReceivedCommand::Stream(StreamRequest::Audio(false)));
            ack(Vec::new())
        }
        BinaryRequest::Other { .. } => {
            out.records.push(ReceivedCommand::Other(message.to_vec()));
            ack(Vec::new())
        }
    };
    push_binary(out, &reply);
}

fn binary_login(ctx: &mut Ctx<'_>, user: &str, password: &Password, out: &mut Outcome) {
    let accepted = credentials_ok(ctx.cfg, user, password).is_ok();
    out.records.push(ReceivedCommand::Login {
        user: user.to_owned(),
        accepted,
    });
    if accepted {
        let ticket = if ctx.cfg.quirks.zero_ticket {
            [0; 4]
        } else {
            ctx.new_ticket
        };
        ctx.login.ticket = Some(ticket);
        // cam-reverse reads the ticket from payload bytes 4..8; the header
        // ticket is zero on the cameras it saw.
        let ack = LoginAck {
            header_ticket: [0; 4],
            body: Some(LoginAckBody { status: 0, ticket }),
        };
        push_binary(out, &ack.to_command());
        return;
    }
    ctx.login.ticket = None;
    match ctx.cfg.quirks.binary_login_failure {
        BinaryLoginFailure::NoAck => {}
        BinaryLoginFailure::ErrorStatus => {
            let ack = LoginAck {
                header_ticket: [0; 4],
                body: Some(LoginAckBody {
                    status: u32::MAX,
                    ticket: [0; 4],
                }),
            };
            push_binary(out, &ack.to_command());
        }
    }
}

// ---- CGI ------------------------------------------------------------------

fn cgi_message(ctx: &mut Ctx<'_>, message: &[u8], out: &mut Outcome) {
    let Ok(req) = CgiRequest::decode(message) else {
        out.records.push(ReceivedCommand::Other(message.to_vec()));
        return;
    };
    let reply =
        |out: &mut Outcome, code: i64| out.replies.push(CgiReply::with_result(code).encode());
    let (user, pwd) = req.credentials();
    let user = user.unwrap_or_default();
    let auth = credentials_ok(ctx.cfg, &user, &pwd.unwrap_or_default());
    let Ok(command) = CgiCommand::parse(&req) else {
        out.records.push(ReceivedCommand::Other(message.to_vec()));
        reply(out, -1);
        return;
    };
    if command == CgiCommand::CheckUser {
        out.records.push(ReceivedCommand::Login {
            user,
            accepted: auth.is_ok(),
        });
        reply(out, if auth.is_ok() { 0 } else { -1 });
        return;
    }
    if auth.is_err() {
        out.refused = true;
        reply(out, -1);
        return;
    }
    let sw = &mut *ctx.switches;
    let code = match command {
        CgiCommand::CheckUser => 0,
        CgiCommand::LiveStream { streamid } if streamid == cgi::STREAM_START => {
            out.video = Some(true);
            out.records
                .push(ReceivedCommand::Stream(StreamRequest::Video(sw.resolution)));
            0
        }
        CgiCommand::LiveStream { streamid } if streamid == cgi::STREAM_STOP => {
            out.video = Some(false);
            out.records
                .push(ReceivedCommand::Stream(StreamRequest::VideoStop));
            0
        }
        CgiCommand::SetWifi {
            ssid,
            psk,
            authtype,
            channel,
        } => {
            out.records.push(ReceivedCommand::SetWifi(WifiRecord {
                ssid,
                password: psk,
                channel,
                auth: Some(authtype),
                settings: None,
            }));
            out.reboot = ctx.cfg.leave_after_wifi;
            0
        }
        CgiCommand::CameraControl { param, value } if param == cgi::PARAM_IRCUT => {
            sw.ir_cut = value != 0;
            out.records.push(ReceivedCommand::IrCut(sw.ir_cut));
            0
        }
        CgiCommand::Reboot => {
            out.records.push(ReceivedCommand::Reboot);
            out.reboot = true;
            0
        }
        // Unknown stream ids, camera_control params and paths.
        CgiCommand::LiveStream { .. }
        | CgiCommand::CameraControl { .. }
        | CgiCommand::Other { .. } => {
            out.records.push(ReceivedCommand::Other(message.to_vec()));
            -1
        }
    };
    reply(out, code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_finds_messages_by_their_length_fields() {
        let block = json::encode_block(b"{\"cmd\":1}").unwrap();
        assert_eq!(split(Dialect::Json, &block), Split::Message(block.len()));
        assert_eq!(split(Dialect::Json, &block[..7]), Split::Incomplete);
        assert_eq!(split(Dialect::Json, &block[..1]), Split::Incomplete);
        assert_eq!(split(Dialect::Json, b"\x11\x0a"), Split::Garbage);
        let mut huge = block.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(split(Dialect::Json, &huge), Split::Garbage);

        let c = binary::start_video([1, 2, 3, 4]).encode().unwrap();
        assert_eq!(split(Dialect::Binary, &c), Split::Message(12));
        let login = binary::login("admin", "admin").unwrap().encode().unwrap();
        assert_eq!(split(Dialect::Binary, &login[..100]), Split::Incomplete);
        assert_eq!(
            split(Dialect::Binary, &login),
            Split::Message(12 + binary::LOGIN_LEN)
        );
        assert_eq!(
            split(Dialect::Binary, &[0x11, 0x0A, 0, 0, 3, 0]),
            Split::Garbage
        );

        let r = cgi::check_user("a", "b").unwrap().encode();
        assert_eq!(split(Dialect::Cgi, &r), Split::Message(r.len()));
        assert_eq!(split(Dialect::Cgi, &block), Split::Garbage);
    }
}
