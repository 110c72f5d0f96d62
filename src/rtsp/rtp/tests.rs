//! Header and fragmentation bytes against the RFCs, and a depacketiser
//! written here from RFC 6184 §5.8 / RFC 7798 §4.4.3 that must give back the
//! camera's own NAL units.

use super::*;

fn annexb(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(n);
    }
    out
}

#[test]
fn the_fixed_header_is_rfc_3550s() {
    let mut s = RtpStream::new(96, 0xDEAD_BEEF, 0xFFFF);
    let p = s.h264(90_000, &annexb(&[&[0x41, 1, 2, 3]]));
    assert_eq!(p.len(), 1);
    // V=2, no padding, extension or CSRC; marker set on the access unit's
    // last packet; PT 96; seq, timestamp and SSRC big-endian.
    assert_eq!(
        &p[0][..12],
        &[
            0x80,
            0x80 | 96,
            0xFF,
            0xFF,
            0,
            1,
            0x5F,
            0x90,
            0xDE,
            0xAD,
            0xBE,
            0xEF
        ]
    );
    assert_eq!(&p[0][12..], &[0x41, 1, 2, 3]);
    assert_eq!(s.seq, 0, "the sequence number wraps");
}

#[test]
fn annex_b_splits_on_both_start_codes_and_drops_trailing_zeros() {
    let au = [
        0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 0, 0, 1, 0x65, 3, 4,
    ];
    let nals: Vec<&[u8]> = nal_units(&au).collect();
    assert_eq!(nals, [&[0x67, 1][..], &[0x68, 2][..], &[0x65, 3, 4][..]]);
    assert_eq!(nal_units(&[0, 0, 1]).count(), 0);
    assert_eq!(nal_units(&[]).count(), 0);
}

/// RFC 6184 §5.8 reassembly.
fn depacketize_h264(packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut nals = Vec::new();
    let mut fu: Option<Vec<u8>> = None;
    for p in packets {
        let payload = &p[12..];
        match payload[0] & 0x1F {
            28 => {
                let (indicator, header) = (payload[0], payload[1]);
                if header & 0x80 != 0 {
                    fu = Some(vec![(indicator & 0xE0) | (header & 0x1F)]);
                }
                let f = fu.as_mut().expect("a start fragment first");
                f.extend_from_slice(&payload[2..]);
                if header & 0x40 != 0 {
                    nals.push(fu.take().unwrap());
                }
            }
            _ => nals.push(payload.to_vec()),
        }
    }
    nals
}

#[test]
fn a_large_h264_nal_is_cut_into_fu_a_as_rfc_6184_says() {
    let mut idr = vec![0x65];
    idr.extend((0..3000u32).map(|i| (i % 251) as u8));
    let sps: &[u8] = &[0x67, 0x64, 0x00, 0x1F, 0xAC];
    let pps: &[u8] = &[0x68, 0xEE, 0x3C, 0x80];
    let mut s = RtpStream::new(96, 1, 100);
    let packets = s.h264(3000, &annexb(&[sps, pps, &idr]));
    // SPS, PPS, then 3 FU-A fragments of at most 1400 bytes of payload.
    assert_eq!(packets.len(), 5);
    assert!(packets.iter().all(|p| p.len() <= 12 + DEFAULT_PAYLOAD));
    // FU indicator: F and NRI of the NAL (0x60) with type 28 → 0x7C; FU
    // header: S + type 5 → 0x85, middle 0x05, E + type 5 → 0x45.
    assert_eq!(&packets[2][12..14], &[0x7C, 0x85]);
    assert_eq!(&packets[3][12..14], &[0x7C, 0x05]);
    assert_eq!(&packets[4][12..14], &[0x7C, 0x45]);
    // Only the access unit's last packet has the marker.
    let markers: Vec<bool> = packets.iter().map(|p| p[1] & 0x80 != 0).collect();
    assert_eq!(markers, [false, false, false, false, true]);
    assert_eq!(
        depacketize_h264(&packets),
        [sps.to_vec(), pps.to_vec(), idr]
    );
}

#[test]
fn a_large_h265_nal_is_cut_into_fragmentation_units_as_rfc_7798_says() {
    // IDR_W_RADL (type 19): NAL header 0x26 0x01.
    let mut idr = vec![0x26, 0x01];
    idr.extend((0..2000u32).map(|i| (i % 253) as u8));
    let mut s = RtpStream::new(97, 1, 0);
    let packets = s.h265(0, &annexb(&[&idr]));
    assert_eq!(packets.len(), 2);
    // PayloadHdr type 49 → 0x62 0x01; FU header S + 19 → 0x93, E + 19 → 0x53.
    assert_eq!(&packets[0][12..15], &[0x62, 0x01, 0x93]);
    assert_eq!(&packets[1][12..15], &[0x62, 0x01, 0x53]);
    let mut back = vec![0x26, 0x01];
    for p in &packets {
        back.extend_from_slice(&p[15..]);
    }
    assert_eq!(back, idr);
}

#[test]
fn sdp_parameters_come_from_the_keyframes_parameter_sets() {
    let sps: &[u8] = &[0x67, 0x64, 0x00, 0x1F, 0xAC];
    let pps: &[u8] = &[0x68, 0xEE, 0x3C, 0x80];
    let au = annexb(&[sps, pps, &[0x65, 0x88]]);
    assert_eq!(
        h264_fmtp(&au).unwrap(),
        "packetization-mode=1;profile-level-id=64001F;sprop-parameter-sets=Z2QAH6w=,aO48gA=="
    );
    assert_eq!(
        h264_fmtp(&annexb(&[&[0x41, 1]])),
        None,
        "a P-frame has none"
    );
    let h265 = annexb(&[
        &[0x40, 0x01, 0x0C],
        &[0x42, 0x01, 0x01],
        &[0x44, 0x01, 0xC1],
        &[0x26, 0x01, 0xAF],
    ]);
    assert_eq!(
        h265_fmtp(&h265).unwrap(),
        "sprop-vps=QAEM;sprop-sps=QgEB;sprop-pps=RAHB"
    );
}

#[test]
fn g711_is_carried_as_is_with_sample_timestamps() {
    let mut s = RtpStream::new(0, 7, 5);
    s.max_payload = 160;
    let packets = s.audio(1000, &[0xFF; 400]);
    assert_eq!(packets.len(), 3);
    let ts: Vec<u32> = packets
        .iter()
        .map(|p| u32::from_be_bytes([p[4], p[5], p[6], p[7]]))
        .collect();
    assert_eq!(ts, [1000, 1160, 1320]);
    assert_eq!(packets[2].len(), 12 + 80);
    assert_eq!(packets[0][1], 0, "PT 0, no marker");
}

proptest::proptest! {
    #[test]
    fn any_bytes_packetize_without_panicking_and_fit(au in proptest::collection::vec(proptest::num::u8::ANY, 0..5000), mtu in 4usize..2000) {
        let mut s = RtpStream::new(96, 1, 0);
        s.max_payload = mtu;
        for p in s.h264(0, &au).iter().chain(s.h265(0, &au).iter()) {
            proptest::prop_assert!(p.len() <= HEADER_LEN + mtu);
        }
    }
}

#[test]
fn a_clients_packet_gives_its_payload_past_csrcs_extension_and_padding() {
    // V=2, P=1, X=1, CC=1; PT 8; 1 CSRC; extension of 1 word; payload
    // "abc"; 2 bytes of padding (the last says 2).
    let mut p = vec![0xB1, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9];
    p.extend_from_slice(&[1, 2, 3, 4]); // CSRC
    p.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension
    p.extend_from_slice(b"abc");
    p.extend_from_slice(&[0, 2]);
    assert_eq!(payload(&p), Some((8, &b"abc"[..])));
    // Not version 2, cut short, padding longer than the packet.
    assert_eq!(payload(&[0x40; 12]), None);
    assert_eq!(payload(&[0x90, 0, 0]), None);
    let mut bad = vec![0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    bad.push(200);
    assert_eq!(payload(&bad), None);
}

proptest::proptest! {
    #[test]
    fn hostile_client_packets_never_panic(p in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        if let Some((pt, body)) = payload(&p) {
            proptest::prop_assert!(pt < 128 && body.len() <= p.len());
        }
    }
}
