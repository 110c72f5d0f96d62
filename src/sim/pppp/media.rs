//! The camera's media: video frames from the [`FrameCache`] behind a 32-byte
//! header, cut into DRW packets on channel 1; audio packets (ADPCM on
//! channel 2 or A-law on channel 1) paced at real time; and the bounded send
//! buffer that forgets the oldest media frame when the client does not ack.

use super::*;

/// Audio pacing: packet `k` is due at `anchor + k * 64 ms`.
#[derive(Debug)]
pub(super) struct AudioClock {
    pub(super) anchor: Instant,
    pub(super) packets: u32,
}

impl AudioClock {
    /// When the next packet is due.
    pub(super) fn due(&self) -> Instant {
        let per = Duration::from_secs(AUDIO_SAMPLES as u64) / audio::SAMPLE_RATE;
        self.anchor + per * self.packets
    }
}

impl PpppCamera {
    /// Forgets the oldest media frames of `channel` while its buffer is over
    /// the limit.
    pub(super) fn bound_buffer(&mut self, channel: usize) {
        let limit = self.cfg.send_buffer.clamp(16, MAX_SEND_BUFFER);
        let Some(tx) = self.session.as_mut().and_then(|s| s.tx.get_mut(channel)) else {
            return;
        };
        let mut dropped = 0;
        while tx.len() > limit && tx.drop_oldest_media() > 0 {
            dropped += 1;
        }
        for _ in 0..dropped {
            self.count(|c| &c.frames_dropped);
        }
    }

    /// Sends the next video frame: cached JPEG, header (unless a quirk says
    /// otherwise), DRW packets of at most 1024 bytes on channel 1.
    pub(super) fn send_frame(&mut self, now: Instant) {
        let n = self.next_frame;
        self.next_frame += 1;
        let resolution = self.switches.resolution;
        let jpeg = self.shared.caches[resolution.slot()].frame(n);
        self.shared.frame_made(n, resolution);
        let (epoch, millis) = self.clock(now);
        let q = &self.cfg.quirks;
        let mut header = None;
        if !q.headerless_video {
            let mut h = FrameHeader::new(frame_type::JPEG, jpeg.len() as u32);
            h.millis = millis;
            h.epoch = epoch;
            h.frame_no = n as u32;
            header = Some(h.to_bytes());
        }
        let mut packets: Vec<Vec<u8>> = Vec::new();
        match header {
            Some(h) if q.header_in_own_packet => {
                packets.push(h.to_vec());
                packets.extend(jpeg.chunks(MAX_DRW_DATA).map(<[u8]>::to_vec));
            }
            Some(h) => {
                let mut all = Vec::with_capacity(FRAME_HEADER_LEN + jpeg.len());
                all.extend_from_slice(&h);
                all.extend_from_slice(&jpeg);
                packets.extend(all.chunks(MAX_DRW_DATA).map(<[u8]>::to_vec));
            }
            None => packets.extend(jpeg.chunks(MAX_DRW_DATA).map(<[u8]>::to_vec)),
        }
        let group = self.media_group;
        self.media_group += 1;
        let count = packets.len();
        for (i, p) in packets.into_iter().enumerate() {
            let counted = if i + 1 == count {
                Counted::FrameDone
            } else {
                Counted::Nothing
            };
            self.send_drw(now, 1, p, PacketKind::Media(group), counted);
        }
        self.bound_buffer(1);
    }

    /// Sends the next 64 ms of the tone: ADPCM on channel 2 (JSON) or A-law
    /// on channel 1 (binary), each packet behind its 32-byte header.
    pub(super) fn send_audio(&mut self, now: Instant) {
        let pcm = audio::tone(self.audio_samples, AUDIO_SAMPLES);
        let packet_no = (self.audio_samples / AUDIO_SAMPLES as u64) as u32;
        self.audio_samples = self.audio_samples.wrapping_add(AUDIO_SAMPLES as u64);
        let (channel, kind, data) = match self.cfg.dialect {
            Dialect::Json => (2u8, frame_type::ADPCM, audio::ima_adpcm_encode(&pcm)),
            _ => (1u8, frame_type::ALAW, audio::alaw_encode(&pcm)),
        };
        let (epoch, millis) = self.clock(now);
        let mut h = FrameHeader::new(kind, data.len() as u32);
        h.stream_id = 1;
        h.millis = millis;
        h.epoch = epoch;
        h.frame_no = packet_no;
        let mut p = h.to_bytes().to_vec();
        p.extend_from_slice(&data);
        let group = self.media_group;
        self.media_group += 1;
        self.send_drw(now, channel, p, PacketKind::Media(group), Counted::Audio);
        self.bound_buffer(usize::from(channel));
    }

    /// Sends a frame if one is due; a driver late by more than a frame skips.
    pub(super) fn advance_video(&mut self, now: Instant) {
        let interval = self.frame_interval;
        let Some(next) = self.session.as_mut().and_then(|s| s.video.as_mut()) else {
            return;
        };
        if *next > now {
            return;
        }
        *next += interval;
        if *next <= now {
            // More than a frame late: skip rather than burst.
            *next = now + interval;
        }
        if self
            .shared
            .video_stalled
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        self.send_frame(now);
    }

    /// Sends the audio packets due (at most a few; then re-anchors).
    pub(super) fn advance_audio(&mut self, now: Instant) {
        for _ in 0..MAX_AUDIO_BURST {
            let Some(a) = self.session.as_mut().and_then(|s| s.audio.as_mut()) else {
                return;
            };
            if a.due() > now {
                return;
            }
            a.packets += 1;
            self.send_audio(now);
        }
        // Still behind after a burst: re-anchor instead of flooding.
        if let Some(a) = self.session.as_mut().and_then(|s| s.audio.as_mut()) {
            if a.due() <= now {
                a.anchor = now;
                a.packets = 1;
            }
        }
    }
}
