//! The camera driven directly with hand-built client datagrams (shared
//! codecs only, not the bridge's session), in virtual time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::media::audio::codec::{decode, AudioCodec};
use crate::proto::pppp::audio::parse_audio_frame;
use crate::proto::pppp::dialect::binary::{
    self, BinaryCommand, DevStatus, LoginAck, PtzDirection as BinPtz, WifiNetwork, WifiSettings,
};
use crate::proto::pppp::dialect::cgi::{self, CgiReply};
use crate::proto::pppp::dialect::json::{
    self, DevControl, JsonCommand, JsonReply, JsonRequest, JsonResult, PtzControl,
    PtzDirection as JsonPtz, StreamControl, VideoMode,
};
use crate::sim::pattern::read_stamp;

const CLIENT: &str = "192.168.1.20:40000";
const CLIENT2: &str = "192.168.1.20:40001";
const OTHER: &str = "192.168.1.30:50000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn t0() -> Instant {
    // An arbitrary origin from the one permitted clock; the device reads none.
    crate::io::clock::now()
}

/// Small pictures so debug-build tests stay fast; the sizes still differ.
fn small(dialect: Dialect) -> PpppCameraConfig {
    PpppCameraConfig {
        vga: PatternSpec {
            width: 64,
            height: 48,
            quality: 60,
        },
        qvga: PatternSpec {
            width: 32,
            height: 24,
            quality: 60,
        },
        distinct_frames: 2,
        ..PpppCameraConfig::new(dialect)
    }
}

/// What the camera sent, decrypted.
#[derive(Debug, Clone)]
struct Sent {
    at: Instant,
    socket: SocketIx,
    dst: SocketAddr,
    plain: Vec<u8>,
}

impl Sent {
    fn msg(&self) -> Message<'_> {
        Message::decode(&self.plain).unwrap()
    }
}

/// A hand-driven client around the camera.
struct Rig {
    cam: PpppCamera,
    h: PpppCameraHandle,
    now: Instant,
    obf: Obfuscation,
    uid: Uid,
    client: SocketAddr,
    next_index: [u16; 4],
    auto_ack: bool,
    log: Vec<Sent>,
}

impl Rig {
    /// A rig whose camera answers at once (the tests here are about other
    /// timing; `a_command_is_acked_at_once_…` covers the delay).
    fn new(mut cfg: PpppCameraConfig) -> Self {
        cfg.answer_delay = Duration::ZERO;
        Self::with_answer_delay(cfg)
    }

    fn with_answer_delay(cfg: PpppCameraConfig) -> Self {
        let now = t0();
        let obf = cfg.obfuscation;
        let uid = cfg.uid.clone();
        let cam = PpppCamera::new(cfg, now);
        let h = cam.handle();
        Self {
            cam,
            h,
            now,
            obf,
            uid,
            client: addr(CLIENT),
            next_index: [0; 4],
            auto_ack: true,
            log: Vec::new(),
        }
    }

    fn seal(&self, msg: &Message<'_>) -> Vec<u8> {
        let mut v = msg.to_vec();
        self.obf.seal(&mut v);
        v
    }

    fn send_raw(&mut self, socket: SocketIx, from: SocketAddr, bytes: &[u8]) {
        self.cam.handle_datagram(
            self.now,
            Datagram {
                socket,
                from,
                payload: bytes,
            },
        );
        self.pump();
    }

    fn send_from(&mut self, socket: SocketIx, from: SocketAddr, msg: &Message<'_>) {
        let b = self.seal(msg);
        self.send_raw(socket, from, &b);
    }

    fn send(&mut self, msg: &Message<'_>) {
        self.send_from(SESSION_SOCKET, self.client, msg);
    }

    /// Drains the camera; with `auto_ack`, acks every DRW addressed to the client.
    fn pump(&mut self) {
        loop {
            let mut acks: Vec<(u8, u16)> = Vec::new();
            while let Some(t) = self.cam.poll_transmit() {
                let mut plain = t.payload.clone();
                self.obf.open(&mut plain);
                let s = Sent {
                    at: self.now,
                    socket: t.socket,
                    dst: t.dst,
                    plain,
                };
                if self.auto_ack && s.dst == self.client {
                    if let Ok(Message::Drw { channel, index, .. }) = Message::decode(&s.plain) {
                        acks.push((channel, index));
                    }
                }
                self.log.push(s);
            }
            if acks.is_empty() {
                return;
            }
            for ch in 0..4u8 {
                let indices: Vec<u16> =
                    acks.iter().filter(|(c, _)| *c == ch).map(|a| a.1).collect();
                for chunk in indices.chunks(64) {
                    let b = self.seal(&Message::DrwAck {
                        marker: 0xD1,
                        channel: ch,
                        indices: chunk.to_vec(),
                    });
                    self.cam.handle_datagram(
                        self.now,
                        Datagram {
                            socket: SESSION_SOCKET,
                            from: self.client,
                            payload: &b,
                        },
                    );
                }
            }
        }
    }

    /// Lets `d` of virtual time pass, waking the camera at its deadlines.
    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        for _ in 0..1_000_000 {
            match self.cam.poll_timeout() {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.cam.handle_timeout(self.now);
                    self.pump();
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
        panic!("the camera does not make progress");
    }

    /// LAN search, then the JSON-style punch echo.
    fn connect(&mut self) {
        self.send_from(SEARCH_SOCKET, self.client, &Message::LanSearch);
        let punch = self
            .log
            .iter()
            .find(|s| matches!(s.msg(), Message::PunchPkt(_)))
            .cloned()
            .expect("a punch packet");
        assert_eq!(punch.socket, SESSION_SOCKET);
        self.send_raw(SESSION_SOCKET, self.client, &{
            let mut b = punch.plain.clone();
            self.obf.seal(&mut b);
            b
        });
        assert!(self.h.session_active());
    }

    /// Sends channel-0 data with the next client index.
    fn command(&mut self, data: &[u8]) -> u16 {
        let index = self.next_index[0];
        self.next_index[0] = index.wrapping_add(1);
        self.send(&Message::Drw {
            channel: 0,
            index,
            data,
        });
        index
    }

    fn sent_to(&self, dst: SocketAddr) -> impl Iterator<Item = &Sent> {
        self.log.iter().filter(move |s| s.dst == dst)
    }

    /// DRW data the camera sent on `channel`: each index once, in first-sent order.
    fn drw(&self, channel: u8) -> Vec<(u16, Vec<u8>)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for s in &self.log {
            if let Message::Drw {
                channel: c,
                index,
                data,
            } = s.msg()
            {
                if c == channel && seen.insert(index) {
                    out.push((index, data.to_vec()));
                }
            }
        }
        out
    }

    fn stream(&self, channel: u8) -> Vec<u8> {
        self.drw(channel).into_iter().flat_map(|d| d.1).collect()
    }

    fn binary_replies(&self) -> Vec<BinaryCommand> {
        self.drw(0)
            .iter()
            .map(|(_, d)| BinaryCommand::decode(d).unwrap())
            .collect()
    }

    fn json(&mut self, c: JsonCommand) -> JsonReply {
        self.json_as("admin", "6666", c)
    }

    fn json_as(&mut self, user: &str, pwd: &str, c: JsonCommand) -> JsonReply {
        let before = self.drw(0).len();
        self.command(&JsonRequest::new(user, pwd, c).encode().unwrap());
        self.run(Duration::from_millis(20));
        let replies = self.drw(0);
        assert_eq!(replies.len(), before + 1, "one reply");
        json::decode_replies(&replies[before].1).unwrap().remove(0)
    }

    fn binary(&mut self, c: &BinaryCommand) -> Option<BinaryCommand> {
        let before = self.drw(0).len();
        self.command(&c.encode().unwrap());
        self.run(Duration::from_millis(20));
        self.drw(0)
            .get(before)
            .map(|(_, d)| BinaryCommand::decode(d).unwrap())
    }

    fn binary_login(&mut self) -> [u8; 4] {
        let ack = self
            .binary(&binary::login("admin", "admin").unwrap())
            .unwrap();
        let ack = LoginAck::from_ack(&ack).unwrap();
        assert_eq!(ack.body.unwrap().status, 0);
        ack.session_ticket()
    }

    fn cgi(&mut self, req: cgi::CgiRequest) -> CgiReply {
        let before = self.drw(0).len();
        self.command(&req.encode());
        self.run(Duration::from_millis(20));
        CgiReply::decode(&self.drw(0)[before].1).unwrap()
    }
}

/// Cuts a channel-1 (or 2) byte stream into header + data frames.
fn frames(stream: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let h = FrameHeader::parse(&stream[pos..]).expect("a frame header");
        let start = pos + FRAME_HEADER_LEN;
        let end = start + h.len as usize;
        out.push((h, stream[start..end].to_vec()));
        pos = end;
    }
    out
}

fn jpeg_size(jpeg: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(jpeg).unwrap();
    (img.width(), img.height())
}

// ---- LAN search and handshake -------------------------------------------------

#[test]
fn a_lan_search_in_the_cameras_encoding_is_answered_from_the_session_socket() {
    for dialect in Dialect::ALL {
        let mut r = Rig::new(small(dialect));
        let wire = r.seal(&Message::LanSearch);
        assert_eq!(wire[0], r.obf.first_wire_byte());
        r.send_raw(SEARCH_SOCKET, r.client, &wire);
        assert_eq!(r.log.len(), 1, "{dialect}");
        let s = &r.log[0];
        assert_eq!((s.socket, s.dst), (SESSION_SOCKET, r.client));
        assert_eq!(s.msg(), Message::PunchPkt(r.uid.clone()));
        assert_eq!(r.h.lan_searches_answered(), 1);
        assert!(!r.h.session_active(), "a search opens no session");
    }
    // The JSON default is the "camera" key: the LAN search A9_PPPP hard-codes.
    let mut r = Rig::new(small(Dialect::Json));
    r.send_raw(SEARCH_SOCKET, r.client, &[0x2c, 0xba, 0x5f, 0x5d]);
    assert_eq!(r.log.len(), 1);
}

#[test]
fn a_lan_search_in_another_encoding_is_ignored() {
    let mut r = Rig::new(small(Dialect::Json));
    // Plaintext, and the SHIX key.
    r.send_raw(SEARCH_SOCKET, r.client, &[0xF1, 0x30, 0, 0]);
    let mut shix = Message::LanSearch.to_vec();
    Key::from_psk("SHIX").encrypt(&mut shix);
    r.send_raw(SEARCH_SOCKET, r.client, &shix);
    assert!(r.log.is_empty());
    assert_eq!(r.h.ignored_datagrams(), 2);
    // A plaintext camera ignores the encrypted search.
    let mut r = Rig::new(small(Dialect::Binary));
    r.send_raw(SEARCH_SOCKET, r.client, &[0x2c, 0xba, 0x5f, 0x5d]);
    assert!(r.log.is_empty());
    // A search sent to the session port is not answered either.
    r.send_from(SESSION_SOCKET, r.client, &Message::LanSearch);
    assert!(r.log.is_empty());
}

#[test]
fn echoing_the_punch_packet_opens_a_session_answered_by_several_p2p_rdy() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    r.run(Duration::from_millis(500));
    let rdys: Vec<&Sent> = r
        .sent_to(r.client)
        .filter(|s| matches!(s.msg(), Message::P2pRdy(_)))
        .collect();
    assert_eq!(rdys.len(), usize::from(RDY_COPIES));
    for s in rdys {
        assert_eq!(s.socket, SESSION_SOCKET);
        assert_eq!(s.msg(), Message::P2pRdy(r.uid.clone()));
    }
    assert_eq!(r.h.sessions_established(), 1);
    assert_eq!(r.h.peer(), Some(r.client));
    // The echo resent (A9_PPPP does, up to 5 times) is answered, not a new session.
    r.connect();
    assert_eq!(r.h.sessions_established(), 1);
}

#[test]
fn p2p_rdy_from_another_client_socket_opens_a_session_with_that_socket() {
    let mut r = Rig::new(small(Dialect::Binary));
    r.send_from(SEARCH_SOCKET, r.client, &Message::LanSearch);
    // cam-reverse: a new socket sends P2P_RDY to the punch's source.
    r.client = addr(CLIENT2);
    r.send(&Message::P2pRdy(r.uid.clone()));
    assert_eq!(r.h.peer(), Some(addr(CLIENT2)));
    let rdy = r.log.last().unwrap();
    assert_eq!((rdy.socket, rdy.dst), (SESSION_SOCKET, addr(CLIENT2)));
    assert_eq!(rdy.msg(), Message::P2pRdy(r.uid.clone()));
    // The session belongs to that socket: a DRW from the searching socket is ignored.
    let ignored = r.h.ignored_datagrams();
    let login = binary::login("admin", "admin").unwrap().encode().unwrap();
    r.send_from(
        SESSION_SOCKET,
        addr(CLIENT),
        &Message::Drw {
            channel: 0,
            index: 0,
            data: &login,
        },
    );
    assert_eq!(r.h.ignored_datagrams(), ignored + 1);
    assert!(r.h.commands().is_empty());
    r.binary_login();
}

#[test]
fn a_handshake_for_another_uid_is_ignored_and_a_second_client_replaces_the_first() {
    let mut r = Rig::new(small(Dialect::Binary));
    let other: Uid = "BATC-000001-XXXXX".parse().unwrap();
    r.send(&Message::P2pRdy(other));
    assert!(!r.h.session_active());
    r.send(&Message::P2pRdy(r.uid.clone()));
    r.send_from(SESSION_SOCKET, addr(OTHER), &Message::P2pRdy(r.uid.clone()));
    assert_eq!(r.h.peer(), Some(addr(OTHER)));
    assert_eq!(r.h.sessions_established(), 2);
    assert_eq!(r.h.last_session_end(), None, "the new session is up");
    // A client that restarted on the same address (commands already delivered,
    // more than a second in) gets a fresh session.
    r.client = addr(OTHER);
    r.binary_login();
    r.run(Duration::from_secs(2));
    r.send(&Message::P2pRdy(r.uid.clone()));
    assert_eq!(r.h.sessions_established(), 3);
    r.next_index = [0; 4];
    r.log.clear(); // the new session numbers its packets from 0 again
    r.binary_login();
}

// ---- JSON -----------------------------------------------------------------------

#[test]
fn json_login_succeeds_with_the_right_credentials_and_reports_bad_ones() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    let ok = r.json(JsonCommand::CheckUser);
    assert_eq!((ok.cmd(), ok.result()), (100, Some(JsonResult::Ok)));
    assert_eq!(ok.int("admin"), Some(1));
    assert_eq!(ok.str("checkstr"), Some("SHIX"));
    let bad_pw = r.json_as("admin", "1234", JsonCommand::CheckUser);
    assert_eq!(bad_pw.result(), Some(JsonResult::BadPassword));
    let bad_user = r.json_as("root", "6666", JsonCommand::CheckUser);
    assert_eq!(bad_user.result(), Some(JsonResult::BadUser));
    // A command with bad credentials is refused and not executed.
    let refused = r.json_as(
        "admin",
        "nope",
        JsonCommand::DevControl(DevControl::Icut(true)),
    );
    assert_eq!(refused.result(), Some(JsonResult::BadPassword));
    assert!(!r.h.ir_cut());
    assert_eq!(r.h.refused_commands(), 1);
    assert_eq!(
        r.h.commands(),
        vec![
            ReceivedCommand::Login {
                user: "admin".into(),
                accepted: true
            },
            ReceivedCommand::Login {
                user: "admin".into(),
                accepted: false
            },
            ReceivedCommand::Login {
                user: "root".into(),
                accepted: false
            },
        ]
    );
    // The check_user reply's header carries the admin flag (magicus).
    let first = &r.drw(0)[0].1;
    assert_eq!(first[..4], [0x06, 0x0A, 0xA1, 0x80]);
}

#[test]
fn json_dev_control_switches_ir_and_lamp_and_get_parms_reports_them() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    let p = r.json(JsonCommand::GetParms);
    assert_eq!((p.icut(), p.lamp()), (Some(false), Some(false)));
    assert!(p.sysver().is_some() && p.signal().is_some() && p.time().is_some());
    assert_eq!(
        r.json(JsonCommand::DevControl(DevControl::Icut(true)))
            .result(),
        Some(JsonResult::Ok)
    );
    r.json(JsonCommand::DevControl(DevControl::Lamp(true)));
    assert!(r.h.ir_cut() && r.h.light());
    let p = r.json(JsonCommand::GetParms);
    assert_eq!((p.icut(), p.lamp()), (Some(true), Some(true)));
    r.json(JsonCommand::DevControl(DevControl::Icut(false)));
    assert!(!r.h.ir_cut());
    // White light and PTZ.
    r.json(JsonCommand::SetWhiteLight(true));
    assert!(r.h.white_light());
    assert_eq!(r.json(JsonCommand::GetWhiteLight).white_light(), Some(true));
    r.json(JsonCommand::PtzControl(PtzControl::start(JsonPtz::Left)));
    r.json(JsonCommand::PtzControl(PtzControl::stop(JsonPtz::Left)));
    r.json(JsonCommand::PtzControl(PtzControl::HOME));
    let cmds = r.h.commands();
    assert!(cmds.contains(&ReceivedCommand::IrCut(true)));
    assert!(cmds.contains(&ReceivedCommand::Light(true)));
    assert!(cmds.contains(&ReceivedCommand::WhiteLight(true)));
    assert!(cmds.ends_with(&[
        ReceivedCommand::Ptz(PtzMove::Left),
        ReceivedCommand::Ptz(PtzMove::Stop),
        ReceivedCommand::Ptz(PtzMove::Home),
    ]));
}

#[test]
fn a_command_is_acked_at_once_and_answered_after_the_processing_delay() {
    let mut r = Rig::with_answer_delay(small(Dialect::Json));
    r.connect();
    let before = r.log.len();
    let sent_at = r.now;
    let index = r.command(
        &JsonRequest::new("admin", "6666", JsonCommand::GetParms)
            .encode()
            .unwrap(),
    );
    r.run(Duration::from_millis(60));
    let after: Vec<(Instant, Message<'_>)> =
        r.log[before..].iter().map(|s| (s.at, s.msg())).collect();
    let ack = after
        .iter()
        .position(|(_, m)| matches!(m, Message::DrwAck { channel: 0, indices, .. } if indices.contains(&index)))
        .expect("the command's ack");
    let answer = after
        .iter()
        .position(|(_, m)| matches!(m, Message::Drw { channel: 0, .. }))
        .expect("the answer");
    assert!(ack < answer, "acked before answered");
    assert!(
        after[ack].0 - sent_at < Duration::from_millis(5),
        "acked at once"
    );
    let delay = PpppCameraConfig::new(Dialect::Json).answer_delay;
    assert!(
        after[answer].0 - sent_at >= delay,
        "answered after {delay:?}"
    );
}

#[test]
fn json_set_datetime_is_answered_with_cmd_128() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    let reply = r.json(JsonCommand::SetDatetime {
        tz: 3600,
        time: 1_700_000_123,
    });
    assert_eq!((reply.cmd(), reply.result()), (128, Some(JsonResult::Ok)));
    assert_eq!(
        r.h.commands(),
        vec![ReceivedCommand::DateTime {
            time: 1_700_000_123,
            tz: 3600
        }]
    );
}

#[test]
fn json_video_frames_carry_the_32_byte_header_and_the_exact_jpeg_in_drw_of_at_most_1024_bytes() {
    let mut cfg = PpppCameraConfig::new(Dialect::Json);
    cfg.vga.quality = 90; // frames of several DRW packets
    cfg.distinct_frames = 2;
    let mut r = Rig::new(cfg);
    r.connect();
    let reply = r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    assert_eq!(reply.result(), Some(JsonResult::Ok));
    r.run(Duration::from_millis(450));
    let drw = r.drw(1);
    assert!(drw.iter().all(|(_, d)| d.len() <= 1024));
    assert!(
        drw.iter().filter(|(_, d)| d.len() == 1024).count() > 5,
        "frames span packets"
    );
    let got = frames(&r.stream(1));
    assert_eq!(got.len(), 5, "frames at 0, 100, …, 400 ms");
    assert_eq!(r.h.frames_sent(), 5);
    assert_eq!(r.h.last_frame_number(), Some(4));
    for (i, (h, jpeg)) in got.iter().enumerate() {
        assert_eq!(h.frame_type, frame_type::JPEG);
        assert_eq!(h.frame_no, i as u32);
        assert_eq!(h.len as usize, jpeg.len());
        assert_eq!(h.epoch, 1_700_000_000);
        assert_eq!(*jpeg, r.h.frame_bytes(i as u64));
        assert_eq!(read_stamp(jpeg), Some(("pppp-json".into(), i as u64)));
        assert_eq!(jpeg_size(jpeg), (640, 480));
    }
    // Each frame starts a DRW packet with the header.
    assert_eq!(
        drw.iter()
            .filter(|(_, d)| d.starts_with(&[0x55, 0xAA, 0x15, 0xA8, 0x03]))
            .count(),
        5
    );
    // Switching to 320x240 changes the frame size; stop stops.
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Qvga)));
    assert_eq!(r.h.resolution(), Resolution::Qvga);
    r.run(Duration::from_millis(200));
    let got = frames(&r.stream(1));
    let (h, last) = got.last().unwrap();
    assert_eq!(jpeg_size(last), (320, 240));
    assert_eq!(*last, r.h.frame_bytes(u64::from(h.frame_no)));
    assert_eq!(
        jpeg_size(&r.h.frame_bytes(0)),
        (640, 480),
        "frame 0 was VGA"
    );
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Stop)));
    let sent = r.h.frames_sent();
    r.run(Duration::from_secs(1));
    assert_eq!(r.h.frames_sent(), sent);
    assert_eq!(
        r.h.renders(),
        4,
        "two pictures per resolution, however many frames"
    );
}

#[test]
fn json_audio_is_adpcm_on_channel_2_with_its_header() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    r.json(JsonCommand::Stream(StreamControl::Audio(true)));
    r.run(Duration::from_millis(1000));
    let packets = r.drw(2);
    // 64 ms per packet: 0, 64, …, 960 ms.
    assert_eq!(packets.len(), 16);
    assert_eq!(r.h.audio_packets_sent(), 16);
    let mut pcm = Vec::new();
    for (_, p) in &packets {
        assert_eq!(p[..6], [0x55, 0xAA, 0x15, 0xA8, 0xAA, 0x01]);
        let f = parse_audio_frame(p).unwrap();
        assert_eq!(f.data.len(), AUDIO_SAMPLES / 2);
        assert_eq!(f.header.len as usize, f.data.len());
        pcm.extend(decode(AudioCodec::ImaAdpcm, f.data).unwrap());
    }
    // A 440 Hz tone: about 880 zero crossings per second.
    let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let per_second = crossings as f64 * 8000.0 / pcm.len() as f64;
    assert!((per_second - 880.0).abs() < 40.0, "{per_second}");
    r.json(JsonCommand::Stream(StreamControl::Audio(false)));
    r.run(Duration::from_millis(500));
    assert_eq!(r.drw(2).len(), 16);
}

#[test]
fn json_set_wifi_is_recorded_answered_and_the_camera_reboots_then_returns() {
    let mut cfg = small(Dialect::Json);
    cfg.reboot_delay = Duration::from_secs(2);
    let mut r = Rig::new(cfg);
    r.connect();
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    let reply = r.json(JsonCommand::SetWifi {
        ssid: "home".into(),
        password: Password::new("hunter22"),
    });
    assert_eq!((reply.cmd(), reply.result()), (114, Some(JsonResult::Ok)));
    let w = r.h.last_wifi().unwrap();
    assert_eq!((w.ssid.as_str(), w.password.expose()), ("home", "hunter22"));
    assert!(!format!("{w:?}").contains("hunter22"));
    // The reply was acked, so the camera goes at once, without a word.
    r.run(Duration::from_millis(100));
    assert!(!r.h.session_active());
    assert_eq!(r.h.last_session_end(), Some(SessionEnd::Reboot));
    assert_eq!(r.h.reboots(), 1);
    let n = r.log.len();
    r.send_from(SEARCH_SOCKET, r.client, &Message::LanSearch);
    r.run(Duration::from_millis(1500));
    assert_eq!(r.log.len(), n, "off the air while rebooting");
    r.run(Duration::from_secs(1));
    r.send_from(SEARCH_SOCKET, r.client, &Message::LanSearch);
    assert!(
        matches!(r.log.last().unwrap().msg(), Message::PunchPkt(_)),
        "back"
    );
    // Without leave_after_wifi the session stays.
    let mut cfg = small(Dialect::Json);
    cfg.leave_after_wifi = false;
    let mut r = Rig::new(cfg);
    r.connect();
    r.json(JsonCommand::SetWifi {
        ssid: "x".into(),
        password: Password::new("y"),
    });
    r.run(Duration::from_secs(2));
    assert!(r.h.session_active());
}

#[test]
fn json_reboot_ends_the_session_after_the_reply_and_comes_back_after_the_delay() {
    let mut r = Rig::new(small(Dialect::Json));
    r.auto_ack = false;
    r.connect();
    r.command(
        &JsonRequest::new("admin", "6666", JsonCommand::DevControl(DevControl::Reboot))
            .encode()
            .unwrap(),
    );
    // Not acked: resent until the grace runs out.
    r.run(Duration::from_millis(900));
    assert!(r.h.session_active());
    assert!(
        r.sent_to(r.client)
            .filter(|s| matches!(s.msg(), Message::Drw { channel: 0, .. }))
            .count()
            >= 3
    );
    r.run(Duration::from_millis(200));
    assert!(!r.h.session_active());
    assert_eq!(r.h.commands(), vec![ReceivedCommand::Reboot]);
    r.run(Duration::from_secs(3));
    r.connect();
    assert_eq!(r.h.sessions_established(), 2);
}

// ---- reliability ------------------------------------------------------------------

#[test]
fn unacked_drw_is_retransmitted_with_the_same_index_until_acked() {
    let mut r = Rig::new(small(Dialect::Json));
    r.auto_ack = false;
    r.connect();
    r.command(
        &JsonRequest::new("admin", "6666", JsonCommand::GetParms)
            .encode()
            .unwrap(),
    );
    let copies = |r: &Rig| -> Vec<(u16, Vec<u8>)> {
        r.log
            .iter()
            .filter_map(|s| match s.msg() {
                Message::Drw {
                    channel: 0,
                    index,
                    data,
                } => Some((index, data.to_vec())),
                _ => None,
            })
            .collect()
    };
    assert_eq!(copies(&r).len(), 1);
    r.run(Duration::from_millis(1000));
    let c = copies(&r);
    // Resent after 300–350 ms each time: at about 300, 650 ms (and not more than 4 in 1 s).
    assert!((2..=4).contains(&c.len()), "{}", c.len());
    assert!(c.iter().all(|x| *x == c[0]), "same index, same data");
    assert!(r.h.retransmissions() >= 1);
    r.send(&Message::DrwAck {
        marker: 0xD2,
        channel: 0,
        indices: vec![c[0].0],
    });
    let n = copies(&r).len();
    r.run(Duration::from_secs(2));
    assert_eq!(copies(&r).len(), n, "acked: no more resends");
}

#[test]
fn camera_indices_start_where_configured_and_wrap_past_0xffff() {
    let mut cfg = small(Dialect::Json);
    cfg.first_index = 0xFFFE;
    let mut r = Rig::new(cfg);
    r.connect();
    for _ in 0..4 {
        r.json(JsonCommand::GetParms);
    }
    let idx: Vec<u16> = r.drw(0).iter().map(|d| d.0).collect();
    assert_eq!(idx, [0xFFFE, 0xFFFF, 0, 1]);
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    r.run(Duration::from_millis(50));
    assert_eq!(r.drw(1)[0].0, 0xFFFE, "each channel counts on its own");
    // Everything was acked across the wrap: nothing is resent.
    r.auto_ack = false;
    let before = r.h.retransmissions();
    r.run(Duration::from_millis(40));
    assert_eq!(r.h.retransmissions(), before);
}

#[test]
fn a_duplicate_client_drw_is_executed_once_and_acked_each_time() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    let req = JsonRequest::new(
        "admin",
        "6666",
        JsonCommand::DevControl(DevControl::Lamp(true)),
    )
    .encode()
    .unwrap();
    let dup = Message::Drw {
        channel: 0,
        index: 0,
        data: &req,
    };
    r.send(&dup);
    r.run(Duration::from_millis(20));
    r.send(&dup);
    r.run(Duration::from_millis(20));
    assert_eq!(r.h.commands(), vec![ReceivedCommand::Light(true)]);
    assert_eq!(r.drw(0).len(), 1, "one reply");
    let acked: Vec<u16> = r
        .sent_to(r.client)
        .filter_map(|s| match s.msg() {
            Message::DrwAck {
                marker: 0xD1,
                channel: 0,
                indices,
            } => Some(indices),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(acked, [0, 0]);
}

#[test]
fn reordered_client_commands_are_executed_in_index_order() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    let cmds = [
        JsonCommand::DevControl(DevControl::Icut(true)),
        JsonCommand::DevControl(DevControl::Lamp(true)),
        JsonCommand::DevControl(DevControl::Icut(false)),
    ];
    let data: Vec<Vec<u8>> = cmds
        .iter()
        .map(|c| {
            JsonRequest::new("admin", "6666", c.clone())
                .encode()
                .unwrap()
        })
        .collect();
    for i in [2u16, 0, 1] {
        r.send(&Message::Drw {
            channel: 0,
            index: i,
            data: &data[usize::from(i)],
        });
    }
    r.run(Duration::from_millis(20));
    assert_eq!(
        r.h.commands(),
        vec![
            ReceivedCommand::IrCut(true),
            ReceivedCommand::Light(true),
            ReceivedCommand::IrCut(false)
        ]
    );
    assert!(!r.h.ir_cut());
    // A packet far ahead of the window is neither stored nor acked.
    let acks = r.h.acks_sent();
    r.send(&Message::Drw {
        channel: 0,
        index: 3 + reliable::RX_WINDOW,
        data: &data[0],
    });
    r.run(Duration::from_millis(20));
    assert_eq!(r.h.acks_sent(), acks);
}

#[test]
fn a_command_split_over_two_drw_packets_is_reassembled() {
    let mut r = Rig::new(small(Dialect::Binary));
    r.send(&Message::P2pRdy(r.uid.clone()));
    let login = binary::login("admin", "admin").unwrap().encode().unwrap();
    let (a, b) = login.split_at(50);
    r.command(a);
    r.command(b);
    r.run(Duration::from_millis(20));
    assert_eq!(r.binary_replies().len(), 1);
}

#[test]
fn acks_are_batched_with_marker_d1() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    let req = JsonRequest::new("admin", "6666", JsonCommand::DevControl(DevControl::Heart))
        .encode()
        .unwrap();
    for _ in 0..5 {
        r.command(&req);
    }
    // Not yet: acks wait up to 10 ms to be batched.
    assert_eq!(r.h.acks_sent(), 0);
    r.run(ACK_DELAY);
    let acks: Vec<Message<'_>> = r
        .log
        .iter()
        .map(Sent::msg)
        .filter(|m| matches!(m, Message::DrwAck { .. }))
        .collect();
    assert_eq!(
        acks,
        vec![Message::DrwAck {
            marker: 0xD1,
            channel: 0,
            indices: vec![0, 1, 2, 3, 4]
        }]
    );
    // A full batch goes at once.
    for _ in 0..ACK_BATCH {
        r.command(&req);
    }
    assert_eq!(r.h.acks_sent(), 2);
}

// ---- keep-alive and session end -------------------------------------------------

#[test]
fn alive_comes_every_300_to_500_ms_and_alive_is_answered() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    for _ in 0..4 {
        // The client keeps talking, so the session lives.
        r.run(Duration::from_secs(1));
        r.send(&Message::AliveAck);
    }
    let times: Vec<Instant> = r
        .sent_to(r.client)
        .filter(|s| s.msg() == Message::Alive)
        .map(|s| s.at)
        .collect();
    assert!(times.len() >= 8, "{}", times.len());
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for gap in &gaps {
        assert!((ALIVE_MIN..=ALIVE_MAX).contains(gap), "{gap:?}");
    }
    let distinct: std::collections::HashSet<_> = gaps.iter().collect();
    assert!(distinct.len() > 3, "jittered: {gaps:?}");
    r.send(&Message::Alive);
    assert_eq!(r.log.last().unwrap().msg(), Message::AliveAck);
}

#[test]
fn a_silent_client_is_forgotten_after_5_s_and_close_ends_a_session() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    r.run(Duration::from_millis(4900));
    assert!(r.h.session_active());
    r.send(&Message::AliveAck);
    r.run(Duration::from_millis(4900));
    assert!(r.h.session_active(), "any datagram keeps it");
    r.run(Duration::from_millis(200));
    assert!(!r.h.session_active());
    assert_eq!(r.h.last_session_end(), Some(SessionEnd::Silent));
    assert_eq!(r.cam.poll_timeout(), None, "nothing left to do");
    let n = r.log.len();
    r.send(&Message::Alive);
    assert_eq!(r.log.len(), n, "a forgotten client gets no answer");

    r.connect();
    r.send(&Message::Close);
    assert!(!r.h.session_active());
    assert_eq!(r.h.last_session_end(), Some(SessionEnd::ClientClosed));
}

#[test]
fn a_paused_camera_sends_nothing_and_a_long_pause_ends_the_session() {
    let mut r = Rig::new(small(Dialect::Json));
    r.connect();
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    r.h.set_paused(true);
    r.log.clear();
    for _ in 0..20 {
        r.send(&Message::Alive);
        r.run(Duration::from_millis(100));
    }
    assert!(r.log.is_empty());
    // A 2 s hiccup: the session survives and video resumes.
    r.h.set_paused(false);
    let sent = r.h.frames_sent();
    r.send(&Message::Alive);
    r.run(Duration::from_millis(300));
    assert!(r.h.session_active());
    assert!(r.h.frames_sent() > sent);
    // A 6 s outage: the session is gone when the camera comes back.
    r.h.set_paused(true);
    for _ in 0..60 {
        r.send(&Message::Alive);
        r.run(Duration::from_millis(100));
    }
    r.h.set_paused(false);
    r.run(Duration::from_millis(200));
    assert!(!r.h.session_active());
    assert_eq!(r.h.last_session_end(), Some(SessionEnd::Silent));
}

#[test]
fn a_client_that_does_not_ack_loses_the_oldest_video_frames_never_replies() {
    let mut cfg = small(Dialect::Json);
    cfg.send_buffer = 16;
    cfg.fps = 50;
    let mut r = Rig::new(cfg);
    r.connect();
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    r.auto_ack = false;
    r.json(JsonCommand::GetParms);
    r.run(Duration::from_secs(2));
    assert!(r.h.frames_dropped() > 50, "{}", r.h.frames_dropped());
    // The unacked reply is still being resent.
    let (idx, _) = *r.drw(0).last().unwrap();
    let resent_late = r.log[r.log.len() - 200..]
        .iter()
        .any(|s| matches!(s.msg(), Message::Drw { channel: 0, index, .. } if index == idx));
    assert!(resent_late);
}

// ---- binary -----------------------------------------------------------------------

#[test]
fn binary_login_start_video_ir_toggle_and_resolution_change() {
    let mut r = Rig::new(small(Dialect::Binary));
    r.send_from(SEARCH_SOCKET, r.client, &Message::LanSearch);
    r.send(&Message::P2pRdy(r.uid.clone()));
    let ticket = r.binary_login();
    assert_ne!(ticket, [0; 4]);
    let ack = r
        .binary(&binary::video_param_set(
            ticket,
            binary::video_param::RESOLUTION,
            binary::resolution::VGA,
        ))
        .unwrap();
    assert_eq!(ack.cmd, binary::ack(binary::cmd::VIDEOPARAM_SET));
    assert_eq!(ack.ticket, ticket);
    r.binary(&binary::start_video(ticket)).unwrap();
    r.run(Duration::from_millis(250));
    let got = frames(&r.stream(1));
    let video: Vec<_> = got
        .iter()
        .filter(|f| f.0.frame_type == frame_type::JPEG)
        .collect();
    assert_eq!(video.len(), 3);
    assert_eq!(jpeg_size(&video[0].1), (64, 48));
    r.binary(&binary::ircut_toggle(ticket)).unwrap();
    assert!(r.h.ir_cut());
    r.binary(&binary::ircut_toggle(ticket)).unwrap();
    assert!(!r.h.ir_cut());
    r.binary(&binary::video_param_set(
        ticket,
        binary::video_param::RESOLUTION,
        binary::resolution::QVGA,
    ))
    .unwrap();
    assert_eq!(r.h.resolution(), Resolution::Qvga);
    r.run(Duration::from_millis(150));
    let got = frames(&r.stream(1));
    let last = got
        .iter()
        .rev()
        .find(|f| f.0.frame_type == frame_type::JPEG)
        .unwrap();
    assert_eq!(jpeg_size(&last.1), (32, 24));
    assert_eq!(
        r.h.commands()
            .into_iter()
            .filter(|c| !matches!(c, ReceivedCommand::Login { .. }))
            .collect::<Vec<_>>(),
        vec![
            ReceivedCommand::Resolution(Resolution::Vga),
            ReceivedCommand::Stream(StreamRequest::Video(Resolution::Vga)),
            ReceivedCommand::IrToggle,
            ReceivedCommand::IrToggle,
            ReceivedCommand::Resolution(Resolution::Qvga),
        ]
    );
    r.binary(&binary::stop_video(ticket)).unwrap();
    let n = r.h.frames_sent();
    r.run(Duration::from_millis(500));
    assert_eq!(r.h.frames_sent(), n);
}

#[test]
fn binary_bad_login_gets_an_error_status_and_later_commands_are_ignored() {
    let mut r = Rig::new(small(Dialect::Binary));
    r.send(&Message::P2pRdy(r.uid.clone()));
    let ack = r.binary(&binary::login("admin", "wrong").unwrap()).unwrap();
    let ack = LoginAck::from_ack(&ack).unwrap();
    assert_eq!(ack.body.unwrap().status, u32::MAX);
    assert_eq!(ack.session_ticket(), [0; 4]);
    assert!(r.binary(&binary::start_video([0; 4])).is_none());
    assert!(r.binary(&binary::ircut_toggle([1, 2, 3, 4])).is_none());
    assert_eq!(r.h.refused_commands(), 2);
    assert!(!r.h.ir_cut());
    // With a ticket from a good login, a wrong ticket is still refused.
    let ticket = r.binary_login();
    assert!(r.binary(&binary::ircut_toggle([9, 9, 9, 9])).is_none());
    assert!(r.binary(&binary::ircut_toggle(ticket)).is_some());
    assert!(r.h.ir_cut());
}

#[test]
fn binary_wifi_scan_lists_networks_and_wifi_set_records_the_struct() {
    let mut cfg = small(Dialect::Binary);
    cfg.leave_after_wifi = false;
    let mut r = Rig::new(cfg);
    r.send(&Message::P2pRdy(r.uid.clone()));
    let ticket = r.binary_login();
    let list = WifiNetwork::list_from_ack(&r.binary(&binary::wifi_scan(ticket)).unwrap()).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].ssid.as_str(), list[0].channel, list[0].dbm()),
        ("cam2mqtt-lab", 6, -52)
    );
    let settings = WifiSettings::dhcp(&list[0].ssid, "s3cret-pw", list[0].channel);
    let ack = r
        .binary(&binary::wifi_set(ticket, &settings).unwrap())
        .unwrap();
    assert_eq!(ack.cmd, binary::ack(binary::cmd::WIFISETTING_SET));
    let w = r.h.last_wifi().unwrap();
    assert_eq!(w.ssid, "cam2mqtt-lab");
    assert_eq!(w.password.expose(), "s3cret-pw");
    assert_eq!((w.channel, w.auth), (Some(6), Some(0)));
    assert_eq!(w.settings, Some(Box::new(settings)));
}

#[test]
fn binary_status_ptz_datetime_light_and_reboot() {
    let mut r = Rig::new(small(Dialect::Binary));
    r.send(&Message::P2pRdy(r.uid.clone()));
    let ticket = r.binary_login();
    let status = DevStatus::from_ack(&r.binary(&binary::status_get(ticket)).unwrap()).unwrap();
    assert_eq!(status.rssi_dbm(), Some(-65));
    r.binary(&binary::ptz(ticket, BinPtz::Up)).unwrap();
    r.binary(&binary::ptz(ticket, BinPtz::Stop)).unwrap();
    let dt = binary::DateTime {
        now: 1_700_000_500,
        tz: -3600,
        ntp_enable: false,
        daylight: false,
        ntp_server: "pool.ntp.org".into(),
    };
    r.binary(&binary::datetime_set(ticket, &dt).unwrap())
        .unwrap();
    r.binary(&binary::light_toggle(ticket)).unwrap();
    assert!(r.h.light());
    r.binary(&binary::reboot(ticket)).unwrap();
    r.run(Duration::from_millis(50));
    assert!(!r.h.session_active());
    assert_eq!(
        r.h.commands()[1..],
        [
            ReceivedCommand::GetParams,
            ReceivedCommand::Ptz(PtzMove::Up),
            ReceivedCommand::Ptz(PtzMove::Stop),
            ReceivedCommand::DateTime {
                time: 1_700_000_500,
                tz: -3600
            },
            ReceivedCommand::LightToggle,
            ReceivedCommand::Reboot,
        ]
    );
}

#[test]
fn binary_audio_is_a_law_interleaved_on_channel_1() {
    let mut r = Rig::new(small(Dialect::Binary));
    r.send(&Message::P2pRdy(r.uid.clone()));
    let ticket = r.binary_login();
    r.binary(&binary::start_video(ticket)).unwrap();
    r.run(Duration::from_millis(500));
    assert!(r.drw(2).is_empty());
    let got = frames(&r.stream(1));
    let types: Vec<u8> = got.iter().map(|f| f.0.frame_type).collect();
    assert!(types.contains(&frame_type::JPEG) && types.contains(&frame_type::ALAW));
    let first_audio = types.iter().position(|t| *t == frame_type::ALAW).unwrap();
    assert!(
        types[first_audio..].contains(&frame_type::JPEG),
        "interleaved"
    );
    let pcm: Vec<i16> = got
        .iter()
        .filter(|f| f.0.frame_type == frame_type::ALAW)
        .flat_map(|f| {
            assert_eq!(f.1.len(), AUDIO_SAMPLES);
            decode(AudioCodec::Alaw, &f.1).unwrap()
        })
        .collect();
    let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let per_second = crossings as f64 * 8000.0 / pcm.len() as f64;
    assert!((per_second - 880.0).abs() < 20.0, "{per_second}");
}

// ---- CGI --------------------------------------------------------------------------

#[test]
fn cgi_login_livestream_ir_and_reboot() {
    let mut r = Rig::new(small(Dialect::Cgi));
    r.connect();
    assert_eq!(
        r.cgi(cgi::check_user("admin", "admin").unwrap()).result(),
        Some(0)
    );
    assert_eq!(
        r.cgi(cgi::check_user("admin", "bad").unwrap()).result(),
        Some(-1)
    );
    // The reply is the captured frame: 01 0A A0 60, length, 00 01, "result= 0;\r\n".
    assert_eq!(
        r.drw(0)[0].1,
        b"\x01\x0a\xa0\x60\x0c\x00\x00\x01result= 0;\r\n"
    );
    assert_eq!(
        r.cgi(cgi::livestream("admin", "admin", cgi::LiveStream::Start).unwrap())
            .result(),
        Some(0)
    );
    r.run(Duration::from_millis(150));
    assert_eq!(frames(&r.stream(1)).len(), 2);
    assert_eq!(
        r.cgi(cgi::ir_cut("admin", "admin", true).unwrap()).result(),
        Some(0)
    );
    assert!(r.h.ir_cut());
    assert_eq!(
        r.cgi(cgi::ir_cut("admin", "bad", false).unwrap()).result(),
        Some(-1)
    );
    assert!(r.h.ir_cut());
    let set = cgi::set_wifi(
        "admin",
        "admin",
        "home",
        "pw12345678",
        cgi::WifiAuth::Wpa2PskAes,
        6,
    )
    .unwrap();
    assert_eq!(r.cgi(set).result(), Some(0));
    let w = r.h.last_wifi().unwrap();
    assert_eq!(
        (w.ssid.as_str(), w.channel, w.auth),
        ("home", Some(6), Some(4))
    );
    assert!(!r.h.session_active(), "rebooted after Wi-Fi setup");
    let mut r = Rig::new(small(Dialect::Cgi));
    r.connect();
    assert_eq!(
        r.cgi(cgi::reboot("admin", "admin").unwrap()).result(),
        Some(0)
    );
    r.run(Duration::from_millis(20));
    assert_eq!(r.h.last_session_end(), Some(SessionEnd::Reboot));
}

// ---- quirks -----------------------------------------------------------------------

fn with(dialect: Dialect, f: impl FnOnce(&mut PpppQuirks)) -> Rig {
    let mut cfg = small(dialect);
    f(&mut cfg.quirks);
    Rig::new(cfg)
}

#[test]
fn quirk_drop_first_punches_ignores_the_first_handshakes() {
    let mut r = with(Dialect::Binary, |q| q.drop_first_punches = 2);
    r.send(&Message::P2pRdy(r.uid.clone()));
    r.send(&Message::P2pRdy(r.uid.clone()));
    assert!(!r.h.session_active() && r.log.is_empty());
    r.send(&Message::P2pRdy(r.uid.clone()));
    assert!(r.h.session_active());
}

#[test]
fn quirk_duplicate_acks_sends_every_ack_twice() {
    let mut r = with(Dialect::Json, |q| q.duplicate_acks = true);
    r.connect();
    r.json(JsonCommand::GetParms);
    let acks: Vec<Message<'_>> = r
        .log
        .iter()
        .map(Sent::msg)
        .filter(|m| matches!(m, Message::DrwAck { .. }))
        .collect();
    assert_eq!(acks.len(), 2);
    assert_eq!(acks[0], acks[1]);
}

#[test]
fn quirk_duplicate_rate_sends_drw_twice_with_the_same_index() {
    let mut r = with(Dialect::Json, |q| q.duplicate_rate = 1.0);
    r.connect();
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    r.run(Duration::from_millis(50));
    let all: Vec<(u8, u16)> = r
        .log
        .iter()
        .filter_map(|s| match s.msg() {
            Message::Drw { channel, index, .. } => Some((channel, index)),
            _ => None,
        })
        .collect();
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 2 * unique.len());
}

#[test]
fn quirk_late_resend_repeats_already_acked_packets() {
    let mut r = with(Dialect::Json, |q| q.late_resend = 0.5);
    r.connect();
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    r.run(Duration::from_millis(500));
    let mut seen = std::collections::HashSet::new();
    let repeats = r
        .log
        .iter()
        .filter_map(|s| match s.msg() {
            Message::Drw { channel, index, .. } => Some((channel, index)),
            _ => None,
        })
        .filter(|k| !seen.insert(*k))
        .count();
    assert!(repeats > 3, "{repeats}");
    assert_eq!(
        r.h.retransmissions(),
        0,
        "all were acked: these are the quirk's"
    );
    // The stream itself is intact.
    assert!(frames(&r.stream(1)).len() >= 5);
}

#[test]
fn quirk_trailing_padding_pads_every_datagram_with_zeros() {
    let mut r = with(Dialect::Binary, |q| q.trailing_padding = 8);
    r.send_from(SEARCH_SOCKET, r.client, &Message::LanSearch);
    r.send(&Message::P2pRdy(r.uid.clone()));
    r.binary_login();
    for s in &r.log {
        let len = usize::from(u16::from_be_bytes([s.plain[2], s.plain[3]]));
        assert_eq!(s.plain.len(), 4 + len + 8);
        assert!(s.plain[4 + len..].iter().all(|&b| b == 0));
    }
    // aiopppp issue #3: a P2P_RDY of length 20 and 8 zero bytes.
    assert!(r
        .log
        .iter()
        .any(|s| s.plain.len() == 32 && s.plain[1] == 0x42));
}

#[test]
fn quirk_close_after_makes_the_camera_close_the_session() {
    let mut r = with(Dialect::Json, |q| {
        q.close_after = Some(Duration::from_secs(2))
    });
    r.connect();
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    r.run(Duration::from_millis(1900));
    assert!(r.h.session_active());
    r.run(Duration::from_millis(200));
    assert!(!r.h.session_active());
    assert_eq!(r.h.last_session_end(), Some(SessionEnd::CameraClosed));
    let closes = r
        .sent_to(r.client)
        .filter(|s| s.msg() == Message::Close)
        .count();
    assert_eq!(closes, CLOSE_COPIES);
}

#[test]
fn quirk_headerless_video_sends_bare_jpeg_and_the_header_can_come_alone() {
    let mut r = with(Dialect::Binary, |q| q.headerless_video = true);
    r.send(&Message::P2pRdy(r.uid.clone()));
    let t = r.binary_login();
    r.binary(&binary::start_video(t)).unwrap();
    r.run(Duration::from_millis(50));
    let video: Vec<Vec<u8>> = r.drw(1).into_iter().map(|d| d.1).collect();
    assert!(video[0].starts_with(&[0xFF, 0xD8]));
    let all: Vec<u8> = video.concat();
    // Audio frames keep their header; the first frame's JPEG ends at EOI.
    let eoi = all.windows(2).position(|w| w == [0xFF, 0xD9]).unwrap() + 2;
    assert_eq!(all[..eoi], r.h.frame_bytes(0)[..]);

    let mut r = with(Dialect::Json, |q| q.header_in_own_packet = true);
    r.connect();
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    r.run(Duration::from_millis(50));
    let drw = r.drw(1);
    assert_eq!(drw[0].1.len(), FRAME_HEADER_LEN);
    assert!(drw[1].1.starts_with(&[0xFF, 0xD8]));
    assert_eq!(frames(&r.stream(1))[0].1, r.h.frame_bytes(0));
}

#[test]
fn quirk_no_video_acks_the_start_but_sends_no_frames() {
    let mut r = with(Dialect::Json, |q| q.no_video = true);
    r.connect();
    assert_eq!(
        r.json(JsonCommand::CheckUser).result(),
        Some(JsonResult::Ok)
    );
    let reply = r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    assert_eq!(reply.result(), Some(JsonResult::Ok));
    r.run(Duration::from_secs(2));
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    r.run(Duration::from_secs(1));
    assert!(r.drw(1).is_empty());
    assert_eq!(r.h.frames_sent(), 0);
    assert!(r.h.session_active(), "keep-alive still works");
    let streams =
        r.h.commands()
            .iter()
            .filter(|c| matches!(c, ReceivedCommand::Stream(_)))
            .count();
    assert_eq!(streams, 2, "the re-ask is recorded");
}

#[test]
fn quirk_reject_auth_rejects_every_login() {
    let mut r = with(Dialect::Json, |q| q.reject_auth = true);
    r.connect();
    assert_eq!(
        r.json(JsonCommand::CheckUser).result(),
        Some(JsonResult::BadPassword)
    );
    assert_eq!(
        r.json(JsonCommand::GetParms).result(),
        Some(JsonResult::BadPassword)
    );

    let mut r = with(Dialect::Binary, |q| q.reject_auth = true);
    r.send(&Message::P2pRdy(r.uid.clone()));
    let ack = r.binary(&binary::login("admin", "admin").unwrap()).unwrap();
    assert_eq!(
        LoginAck::from_ack(&ack).unwrap().body.unwrap().status,
        u32::MAX
    );

    let mut r = with(Dialect::Cgi, |q| q.reject_auth = true);
    r.connect();
    assert_eq!(
        r.cgi(cgi::check_user("admin", "admin").unwrap()).result(),
        Some(-1)
    );
    assert!(r.h.commands().iter().all(|c| matches!(
        c,
        ReceivedCommand::Login {
            accepted: false,
            ..
        }
    )));
}

#[test]
fn quirk_binary_login_failure_no_ack_and_zero_ticket() {
    let mut r = with(Dialect::Binary, |q| {
        q.binary_login_failure = BinaryLoginFailure::NoAck;
        q.zero_ticket = true;
    });
    r.send(&Message::P2pRdy(r.uid.clone()));
    assert!(r.binary(&binary::login("admin", "bad").unwrap()).is_none());
    let ticket = r.binary_login();
    assert_eq!(ticket, [0; 4]);
    assert!(r.binary(&binary::ircut_toggle([0; 4])).is_some());
}

// ---- cost and robustness ------------------------------------------------------------

/// The cost of one simulated frame: with the cache, ten seconds at 10 fps
/// 640x480 encode only the cache's pictures. Prints a rough cost per encode
/// and per frame (wall clock; no assertion on it).
#[test]
fn ten_seconds_at_10_fps_640x480_encode_only_the_cached_pictures() {
    let mut r = Rig::new(PpppCameraConfig::new(Dialect::Json));
    r.connect();
    let clock = crate::io::clock::now;
    let started = clock();
    for n in 0..DEFAULT_DISTINCT as u64 {
        r.h.frame_bytes(n); // warms the camera's own cache
    }
    let warm = clock() - started;
    assert_eq!(r.h.renders(), DEFAULT_DISTINCT as u64);
    r.json(JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)));
    let started = clock();
    r.run(Duration::from_secs(10));
    let elapsed = clock() - started;
    let frames_sent = r.h.frames_sent();
    assert!(frames_sent >= 100, "{frames_sent}");
    assert_eq!(
        r.h.renders(),
        DEFAULT_DISTINCT as u64,
        "no encode per frame"
    );
    let bytes: usize = r.drw(1).iter().map(|d| d.1.len()).sum();
    eprintln!(
        "pppp sim: a VGA encode costs {:?}; {frames_sent} frames of {} KiB cost {:?} each \
         (cache copy, header, DRW cut, XOR obfuscation, acks and this test's client)",
        warm / DEFAULT_DISTINCT as u32,
        bytes / frames_sent as usize / 1024,
        elapsed / frames_sent as u32
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_datagrams_to_either_socket_never_panic(
        dialect in 0usize..3,
        socket in 0u8..3,
        plain in proptest::bool::ANY,
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..1200),
        kind in proptest::sample::select(vec![0x30u8, 0x41, 0x42, 0xD0, 0xD1, 0xE0, 0xE1, 0xF0, 0x00]),
    ) {
        let mut r = Rig::new(small(Dialect::ALL[dialect]));
        r.send(&Message::P2pRdy(r.uid.clone()));
        // Raw bytes, and the same bytes framed as a PPPP message of `kind`
        // (so they reach the session and the command decoders).
        r.send_raw(SocketIx(socket), r.client, &bytes);
        let mut framed = vec![0xF1, kind, 0, 0];
        if kind == 0xD0 {
            framed.extend_from_slice(&[0xD1, 0, 0, 0]);
        }
        framed.extend_from_slice(&bytes);
        let len = (framed.len() - 4) as u16;
        framed[2..4].copy_from_slice(&len.to_be_bytes());
        if !plain {
            r.obf.seal(&mut framed);
        }
        r.send_raw(SocketIx(socket), r.client, &framed);
        r.run(Duration::from_millis(400));
    }
}
