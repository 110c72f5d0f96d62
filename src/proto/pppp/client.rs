//! The bridge's side of the three command dialects inside DRW channel 0: what
//! to send to log in, start video and carry out each [`CameraCommand`], and
//! what the camera's replies mean. Pure: the session ([`super::session`])
//! sends the payloads on the reliable channel and feeds replies back.
//!
//! Commands finish in one of two ways ([`Expect`]): by a reply that names the
//! request (JSON `cmd`, binary ack id, the next CGI reply), or, for commands a
//! camera does not answer (binary IR/light toggles, reboots), once the camera
//! acknowledged the DRW packet that carried them.

use std::time::{SystemTime, UNIX_EPOCH};

use super::dialect::binary::{self, BinaryCommand, LoginAck};
use super::dialect::cgi::{self, CgiReply, LiveStream, WifiAuth};
use super::dialect::json::{
    self, DevControl, JsonCommand, JsonReply, JsonRequest, JsonResult, PtzControl, StreamControl,
    VideoMode,
};
use super::dialect::{Dialect, Password};
use crate::model::{CameraCommand, CameraDetails, CommandError, NightVision, Protocol, PtzMove};

/// The resolutions every dialect with a resolution command offers.
pub const RESOLUTIONS: [&str; 2] = ["640x480", "320x240"];

/// How a command is known to be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A JSON reply with this `cmd`.
    Json(i64),
    /// A binary ack with this id.
    Binary(u16),
    /// The next CGI reply.
    Cgi,
    /// The camera acknowledged the packet (no reply is sent for this command).
    Acked,
}

/// One step of a command: a channel-0 payload and how its completion shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The payload for DRW channel 0.
    pub payload: Vec<u8>,
    /// What finishes it.
    pub expect: Expect,
}

/// What a reply meant.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The login was accepted.
    LoggedIn,
    /// The login was refused, with the camera's words.
    LoginRejected(String),
    /// A request finished.
    Done {
        /// Which one.
        expect: Expect,
        /// Its outcome, in words when it failed.
        result: Result<(), String>,
    },
    /// The camera reported its state.
    Details(CameraDetails),
    /// The camera listed Wi-Fi networks: (ssid, channel).
    WifiNetworks(Vec<(String, u32)>),
}

/// The client side of one dialect.
#[derive(Debug, Clone)]
pub struct DialectClient {
    dialect: Dialect,
    user: String,
    password: Password,
    /// The binary dialect's session ticket, from the login ack.
    ticket: [u8; 4],
    /// What binary toggles believe the IR state is (they can only flip it).
    ir_on: bool,
    /// The same for the light.
    light_on: bool,
    /// Whether the login was answered (CGI replies do not say what they answer).
    logged_in: bool,
}

fn build_error(e: impl std::fmt::Display) -> CommandError {
    CommandError::Refused(format!("cannot encode the command: {e}"))
}

impl DialectClient {
    /// A client logging in as `user`.
    pub fn new(dialect: Dialect, user: &str, password: Password) -> Self {
        Self {
            dialect,
            user: user.to_string(),
            password,
            ticket: [0; 4],
            ir_on: false,
            light_on: false,
            logged_in: false,
        }
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn json(&self, command: JsonCommand) -> Result<Step, CommandError> {
        let expect = Expect::Json(command.cmd());
        let payload = JsonRequest::new(&self.user, self.password.expose(), command)
            .encode()
            .map_err(build_error)?;
        Ok(Step { payload, expect })
    }

    /// The experimental talk command (`super::talk`): JSON `talk_send`
    /// (300) with `isSend` 1 or 0, binary `0x3002`/`0x3003` (answered with
    /// their ack). The CGI dialect has none.
    pub fn talk(&self, on: bool) -> Result<Step, CommandError> {
        match self.dialect {
            Dialect::Json => {
                let mut args = serde_json::Map::new();
                args.insert("isSend".into(), i64::from(on).into());
                self.json(JsonCommand::Other {
                    cmd: json::cmd::TALK_SEND,
                    pro: "talk_send".into(),
                    args: json::Args(args),
                })
            }
            Dialect::Binary => {
                let id = if on {
                    binary::cmd::TALK_START
                } else {
                    binary::cmd::TALK_STOP
                };
                self.binary(
                    BinaryCommand::new(id, self.ticket, Vec::new()),
                    Expect::Binary(binary::ack(id)),
                )
            }
            Dialect::Cgi => Err(CommandError::Unsupported {
                command: "intercom",
                protocol: Protocol::Pppp,
            }),
        }
    }

    fn binary(&self, c: BinaryCommand, expect: Expect) -> Result<Step, CommandError> {
        Ok(Step {
            payload: c.encode().map_err(build_error)?,
            expect,
        })
    }

    fn cgi(
        &self,
        r: Result<cgi::CgiRequest, super::dialect::BuildError>,
    ) -> Result<Step, CommandError> {
        Ok(Step {
            payload: r.map_err(build_error)?.encode(),
            expect: Expect::Cgi,
        })
    }

    /// The login request.
    pub fn login(&self) -> Result<Step, CommandError> {
        match self.dialect {
            Dialect::Json => self.json(JsonCommand::CheckUser),
            Dialect::Binary => self.binary(
                binary::login(&self.user, self.password.expose()).map_err(build_error)?,
                Expect::Binary(binary::ack(binary::cmd::USER_CHK)),
            ),
            Dialect::Cgi => self.cgi(cgi::check_user(&self.user, self.password.expose())),
        }
    }

    /// What to send once logged in: set the clock, read the state, start video
    /// at `resolution` and audio.
    pub fn after_login(&self, wall: SystemTime, resolution: &str) -> Vec<Step> {
        let time = wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let steps: Vec<Result<Step, CommandError>> = match self.dialect {
            Dialect::Json => vec![
                self.json(JsonCommand::SetDatetime { tz: 0, time }),
                self.json(JsonCommand::GetParms),
                self.json(JsonCommand::Stream(StreamControl::Video(video_mode(
                    resolution,
                )))),
                self.json(JsonCommand::Stream(StreamControl::Audio(true))),
            ],
            Dialect::Binary => vec![
                // The YsxLite app sets the clock right after login (`pppp.md` §3.2).
                binary::datetime_set(
                    self.ticket,
                    &binary::DateTime {
                        now: u32::try_from(time).unwrap_or(0),
                        tz: 0,
                        ntp_enable: false,
                        daylight: false,
                        ntp_server: String::new(),
                    },
                )
                .map_err(build_error)
                .and_then(|c| self.binary(c, Expect::Acked)),
                self.binary(
                    binary::status_get(self.ticket),
                    Expect::Binary(binary::ack(binary::cmd::STATUS_GET)),
                ),
                self.binary(
                    binary::video_param_set(
                        self.ticket,
                        binary::video_param::RESOLUTION,
                        binary_resolution(resolution),
                    ),
                    Expect::Acked,
                ),
                self.binary(binary::start_video(self.ticket), Expect::Acked),
            ],
            Dialect::Cgi => vec![self.cgi(cgi::livestream(
                &self.user,
                self.password.expose(),
                LiveStream::Start,
            ))],
        };
        steps.into_iter().filter_map(Result::ok).collect()
    }

    /// Asks for video again (a camera that went quiet).
    pub fn restart_video(&self, resolution: &str) -> Vec<Step> {
        let step = match self.dialect {
            Dialect::Json => self.json(JsonCommand::Stream(StreamControl::Video(video_mode(
                resolution,
            )))),
            Dialect::Binary => self.binary(binary::start_video(self.ticket), Expect::Acked),
            Dialect::Cgi => self.cgi(cgi::livestream(
                &self.user,
                self.password.expose(),
                LiveStream::Start,
            )),
        };
        step.into_iter().collect()
    }

    /// The steps that carry out `command`, or why this dialect cannot.
    /// `wifi_channel` is the channel of the network from a previous Wi-Fi scan
    /// (binary cameras must be told it).
    pub fn command(
        &mut self,
        command: &CameraCommand,
        wifi_channel: Option<u32>,
    ) -> Result<Vec<Step>, CommandError> {
        let unsupported = || CommandError::Unsupported {
            command: command.name(),
            protocol: Protocol::Pppp,
        };
        let (user, pw) = (self.user.clone(), self.password.clone());
        let one = |s: Result<Step, CommandError>| s.map(|s| vec![s]);
        match (self.dialect, command) {
            (Dialect::Json, CameraCommand::SetResolution(r)) => {
                check_resolution(r)?;
                one(self.json(JsonCommand::Stream(StreamControl::Video(video_mode(r)))))
            }
            (Dialect::Binary, CameraCommand::SetResolution(r)) => {
                check_resolution(r)?;
                one(self.binary(
                    binary::video_param_set(
                        self.ticket,
                        binary::video_param::RESOLUTION,
                        binary_resolution(r),
                    ),
                    Expect::Acked,
                ))
            }
            (Dialect::Json, CameraCommand::NightVision(n)) => {
                let on = night_on(*n, command)?;
                one(self.json(JsonCommand::DevControl(DevControl::Icut(on))))
            }
            (Dialect::Binary, CameraCommand::NightVision(n)) => {
                // The firmware only toggles: flip when the wanted state differs
                // from what we last set (after a restart we assume off).
                let on = night_on(*n, command)?;
                if on == self.ir_on {
                    return Ok(Vec::new());
                }
                self.ir_on = on;
                one(self.binary(binary::ircut_toggle(self.ticket), Expect::Acked))
            }
            (Dialect::Cgi, CameraCommand::NightVision(n)) => {
                let on = night_on(*n, command)?;
                one(self.cgi(cgi::ir_cut(&user, pw.expose(), on)))
            }
            (Dialect::Json, CameraCommand::Light(on)) => {
                one(self.json(JsonCommand::DevControl(DevControl::Lamp(*on))))
            }
            (Dialect::Binary, CameraCommand::Light(on)) => {
                if *on == self.light_on {
                    return Ok(Vec::new());
                }
                self.light_on = *on;
                one(self.binary(binary::light_toggle(self.ticket), Expect::Acked))
            }
            (Dialect::Json, CameraCommand::Reboot) => {
                // The camera may reboot before it answers: the ack is enough.
                let mut s = self.json(JsonCommand::DevControl(DevControl::Reboot))?;
                s.expect = Expect::Acked;
                Ok(vec![s])
            }
            (Dialect::Binary, CameraCommand::Reboot) => {
                one(self.binary(binary::reboot(self.ticket), Expect::Acked))
            }
            (Dialect::Cgi, CameraCommand::Reboot) => {
                let mut s = self.cgi(cgi::reboot(&user, pw.expose()))?;
                s.expect = Expect::Acked;
                Ok(vec![s])
            }
            (Dialect::Json, CameraCommand::Ptz(m)) => {
                let c = match m {
                    PtzMove::Home => PtzControl::HOME,
                    PtzMove::Stop => PtzControl::stop(json::PtzDirection::Up),
                    PtzMove::Up => PtzControl::start(json::PtzDirection::Up),
                    PtzMove::Down => PtzControl::start(json::PtzDirection::Down),
                    PtzMove::Left => PtzControl::start(json::PtzDirection::Left),
                    PtzMove::Right => PtzControl::start(json::PtzDirection::Right),
                };
                one(self.json(JsonCommand::PtzControl(c)))
            }
            (Dialect::Binary, CameraCommand::Ptz(m)) => {
                let d = match m {
                    PtzMove::Up => binary::PtzDirection::Up,
                    PtzMove::Down => binary::PtzDirection::Down,
                    PtzMove::Left => binary::PtzDirection::Left,
                    PtzMove::Right => binary::PtzDirection::Right,
                    PtzMove::Stop | PtzMove::Home => binary::PtzDirection::Stop,
                };
                one(self.binary(binary::ptz(self.ticket, d), Expect::Acked))
            }
            (Dialect::Json, CameraCommand::SetWifi { ssid, password }) => {
                one(self.json(JsonCommand::SetWifi {
                    ssid: ssid.clone(),
                    password: Password::new(password.expose()),
                }))
            }
            (Dialect::Binary, CameraCommand::SetWifi { ssid, password }) => {
                let Some(channel) = wifi_channel else {
                    return Err(CommandError::Refused(
                        "the camera did not list that network in its Wi-Fi scan; is it in range (2.4 GHz)?".into(),
                    ));
                };
                let settings = binary::WifiSettings::dhcp(ssid, password.expose(), channel);
                one(self.binary(
                    binary::wifi_set(self.ticket, &settings).map_err(build_error)?,
                    Expect::Binary(binary::ack(binary::cmd::WIFISETTING_SET)),
                ))
            }
            (Dialect::Cgi, CameraCommand::SetWifi { ssid, password }) => {
                let auth = if password.is_empty() {
                    WifiAuth::None
                } else {
                    WifiAuth::Wpa2PskAes
                };
                one(self.cgi(cgi::set_wifi(
                    &user,
                    pw.expose(),
                    ssid,
                    password.expose(),
                    auth,
                    0,
                )))
            }
            _ => Err(unsupported()),
        }
    }

    /// The scan a binary camera needs before Wi-Fi setup (to learn the channel).
    pub fn wifi_scan(&self) -> Option<Step> {
        (self.dialect == Dialect::Binary)
            .then(|| {
                self.binary(
                    binary::wifi_scan(self.ticket),
                    Expect::Binary(binary::ack(binary::cmd::WIFI_SCAN)),
                )
                .ok()
            })
            .flatten()
    }

    /// Interprets one channel-0 message from the camera.
    pub fn parse(&mut self, data: &[u8]) -> Result<Vec<Reply>, crate::proto::codec::WireError> {
        let replies = self.parse_inner(data)?;
        if replies.contains(&Reply::LoggedIn) {
            self.logged_in = true;
        }
        Ok(replies)
    }

    fn parse_inner(&mut self, data: &[u8]) -> Result<Vec<Reply>, crate::proto::codec::WireError> {
        match self.dialect {
            Dialect::Json => Ok(json::decode_replies(data)?
                .iter()
                .flat_map(json_reply)
                .collect()),
            Dialect::Binary => {
                let c = BinaryCommand::decode(data)?;
                Ok(self.binary_reply(&c))
            }
            Dialect::Cgi => {
                let r = CgiReply::decode(data)?;
                let result = match r.result() {
                    Some(0) | None => Ok(()),
                    Some(code) => Err(format!("the camera answered result={code}")),
                };
                // The first reply answers the login (check_user.cgi).
                if !self.logged_in {
                    return Ok(vec![match result {
                        Ok(()) => Reply::LoggedIn,
                        Err(e) => Reply::LoginRejected(e),
                    }]);
                }
                Ok(vec![Reply::Done {
                    expect: Expect::Cgi,
                    result,
                }])
            }
        }
    }

    fn binary_reply(&mut self, c: &BinaryCommand) -> Vec<Reply> {
        let done = |result| Reply::Done {
            expect: Expect::Binary(c.cmd),
            result,
        };
        match c.cmd {
            x if x == binary::ack(binary::cmd::USER_CHK) => match LoginAck::from_ack(c) {
                // No failure code is known for this dialect (`dialect::binary`):
                // every ack counts as accepted; a refused login shows as no ack.
                Ok(ack) => {
                    self.ticket = ack.session_ticket();
                    vec![Reply::LoggedIn]
                }
                Err(e) => vec![Reply::LoginRejected(format!(
                    "unreadable login answer: {e}"
                ))],
            },
            x if x == binary::ack(binary::cmd::STATUS_GET) => {
                let mut out = vec![done(Ok(()))];
                if let Ok(s) = binary::DevStatus::from_ack(c) {
                    out.push(Reply::Details(CameraDetails {
                        firmware: Some(s.swver_string()),
                        signal_dbm: s.rssi_dbm().map(i32::from),
                        ..CameraDetails::default()
                    }));
                }
                out
            }
            x if x == binary::ack(binary::cmd::WIFI_SCAN) => {
                let mut out = vec![done(Ok(()))];
                if let Ok(list) = binary::WifiNetwork::list_from_ack(c) {
                    out.push(Reply::WifiNetworks(
                        list.iter().map(|n| (n.ssid.clone(), n.channel)).collect(),
                    ));
                }
                out
            }
            _ => vec![done(Ok(()))],
        }
    }
}

fn json_reply(r: &JsonReply) -> Vec<Reply> {
    let cmd = r.cmd();
    let result = match r.result() {
        Some(JsonResult::Ok) | None => Ok(()),
        Some(JsonResult::BadUser) => Err("the camera does not know that user".to_string()),
        Some(JsonResult::BadPassword) => Err("wrong password".to_string()),
        Some(other) => Err(format!("the camera answered result={}", other.code())),
    };
    if cmd == json::cmd::CHECK_USER {
        return vec![match result {
            Ok(()) => Reply::LoggedIn,
            Err(e) => Reply::LoginRejected(e),
        }];
    }
    let mut out = Vec::new();
    if cmd == json::cmd::GET_PARMS {
        out.push(Reply::Details(CameraDetails {
            firmware: r.sysver().map(str::to_string),
            night_vision: r.icut().map(|on| {
                if on {
                    NightVision::On
                } else {
                    NightVision::Off
                }
            }),
            light: r.lamp(),
            // get_parms `signal` is 0–100: a quality in percent, not dBm.
            signal_percent: r.signal().and_then(|s| u8::try_from(s.clamp(0, 100)).ok()),
            ..CameraDetails::default()
        }));
    }
    // set_datetime (126) is answered with cmd 128 (`pppp.md` §3.1).
    let expect = if cmd == 128 && r.get("time").is_some() {
        Expect::Json(json::cmd::SET_DATETIME)
    } else {
        Expect::Json(cmd)
    };
    out.push(Reply::Done { expect, result });
    out
}

fn check_resolution(r: &str) -> Result<(), CommandError> {
    if RESOLUTIONS.contains(&r) {
        Ok(())
    } else {
        Err(CommandError::BadValue {
            command: "resolution",
            reason: format!("{r:?}; allowed: {}", RESOLUTIONS.join(", ")),
        })
    }
}

fn video_mode(resolution: &str) -> VideoMode {
    if resolution == "320x240" {
        VideoMode::Qvga
    } else {
        VideoMode::Vga
    }
}

fn binary_resolution(resolution: &str) -> u32 {
    if resolution == "320x240" {
        binary::resolution::QVGA
    } else {
        binary::resolution::VGA
    }
}

fn night_on(n: NightVision, command: &CameraCommand) -> Result<bool, CommandError> {
    match n {
        NightVision::On => Ok(true),
        NightVision::Off => Ok(false),
        NightVision::Auto => Err(CommandError::BadValue {
            command: command.name(),
            reason: format!(
                "\"auto\"; allowed: {}",
                NightVision::list(&NightVision::ON_OFF)
            ),
        }),
    }
}
