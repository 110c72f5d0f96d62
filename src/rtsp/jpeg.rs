//! JPEG over RTP (RFC 2435). The payload carries only the entropy-coded scan
//! and a few parameters; the receiver rebuilds the headers, so only JPEGs
//! the format can describe go as they are: baseline (SOF0), 8-bit, three
//! components with luma sampled 2x1 (type 0) or 2x2 (type 1) and chroma 1x1
//! sharing one table, at most 2040x2040. Quantisation tables go in-band
//! (Q = 255) on the first packet of every frame; a restart interval (DRI)
//! adds the restart marker header (types 64/65). Anything else is
//! [`JpegRtpError`] and the caller re-encodes the frame (and counts it).
//!
//! Not checked: that the Huffman tables are the standard ones RFC 2435
//! assumes (every camera and encoder we know uses them).

use super::rtp::RtpStream;

/// Why a JPEG cannot go out as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegRtpError {
    /// Not a JPEG, or its headers are cut or malformed.
    #[error("not a readable JPEG: {0}")]
    Malformed(&'static str),
    /// A JPEG RFC 2435 cannot describe.
    #[error("a JPEG RTP cannot carry as it is: {0}")]
    Unsupported(&'static str),
}

/// What RFC 2435 needs from a JPEG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegParts<'a> {
    /// 0 (4:2:2) or 1 (4:2:0), plus 64 with a restart interval.
    pub kind: u8,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Luma then chroma quantisation table, 64 bytes each.
    pub tables: Vec<u8>,
    /// Restart interval (0: none).
    pub restart_interval: u16,
    /// The entropy-coded scan and the EOI marker after it.
    pub scan: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Result<u16, JpegRtpError> {
    b.get(at..at + 2)
        .map(|x| u16::from_be_bytes([x[0], x[1]]))
        .ok_or(JpegRtpError::Malformed("cut inside a header"))
}

/// Reads the parts of `jpeg` RFC 2435 carries.
pub fn parts(jpeg: &[u8]) -> Result<JpegParts<'_>, JpegRtpError> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(JpegRtpError::Malformed("no SOI"));
    }
    let mut tables: [Option<[u8; 64]>; 4] = [None; 4];
    let mut frame: Option<(u16, u16, u8, [u8; 2])> = None; // w, h, luma sampling, (luma tq, chroma tq)
    let mut restart_interval = 0u16;
    let mut at = 2;
    loop {
        if jpeg.get(at) != Some(&0xFF) {
            return Err(JpegRtpError::Malformed("expected a marker"));
        }
        let marker = *jpeg
            .get(at + 1)
            .ok_or(JpegRtpError::Malformed("cut at a marker"))?;
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        let len = usize::from(be16(jpeg, at + 2)?);
        let seg = jpeg
            .get(at + 4..at + 2 + len)
            .ok_or(JpegRtpError::Malformed("a segment runs past the end"))?;
        match marker {
            0xDB => {
                let mut t = seg;
                while let [pq_tq, rest @ ..] = t {
                    if pq_tq >> 4 != 0 {
                        return Err(JpegRtpError::Unsupported("16-bit quantisation tables"));
                    }
                    let table: [u8; 64] = rest
                        .get(..64)
                        .and_then(|x| x.try_into().ok())
                        .ok_or(JpegRtpError::Malformed("a cut quantisation table"))?;
                    tables[usize::from(pq_tq & 3)] = Some(table);
                    t = &rest[64..];
                }
            }
            0xC0 => {
                if seg.first() != Some(&8) {
                    return Err(JpegRtpError::Unsupported("not 8-bit"));
                }
                let h = be16(seg, 1)?;
                let w = be16(seg, 3)?;
                if seg.get(5) != Some(&3) || seg.len() < 15 {
                    return Err(JpegRtpError::Unsupported("not three components"));
                }
                let (ys, yq) = (seg[7], seg[8]);
                let (cb, cbq, cr, crq) = (seg[10], seg[11], seg[13], seg[14]);
                if cb != 0x11 || cr != 0x11 || cbq != crq {
                    return Err(JpegRtpError::Unsupported("chroma not 1x1 with one table"));
                }
                frame = Some((w, h, ys, [yq & 3, cbq & 3]));
            }
            0xC1..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                return Err(JpegRtpError::Unsupported("not baseline"));
            }
            0xDD => restart_interval = be16(seg, 0)?,
            0xDA => {
                let (w, h, ys, [yq, cq]) =
                    frame.ok_or(JpegRtpError::Malformed("scan before SOF"))?;
                let kind = match ys {
                    0x21 => 0,
                    0x22 => 1,
                    _ => return Err(JpegRtpError::Unsupported("luma sampling not 2x1 or 2x2")),
                };
                if w == 0 || h == 0 || w > 2040 || h > 2040 {
                    return Err(JpegRtpError::Unsupported("larger than 2040 pixels"));
                }
                let mut q = Vec::with_capacity(128);
                for t in [yq, cq] {
                    q.extend_from_slice(
                        &tables[usize::from(t)]
                            .ok_or(JpegRtpError::Malformed("a missing quantisation table"))?,
                    );
                }
                // The scan goes with its EOI: RFC 2435 receivers rebuild the
                // headers and add an EOI when the data lacks one (GStreamer
                // checks first), but ffmpeg's sometimes does not (its decoder
                // then warns "EOI missing"); a second EOI is ignored by all.
                let scan = &jpeg[at + 2 + len..];
                return Ok(JpegParts {
                    kind: kind + if restart_interval > 0 { 64 } else { 0 },
                    width: w,
                    height: h,
                    tables: q,
                    restart_interval,
                    scan,
                });
            }
            _ => {}
        }
        at += 2 + len;
    }
}

impl RtpStream {
    /// A JPEG as RTP packets (payload type 26), or why it must be re-encoded.
    pub fn jpeg(&mut self, timestamp: u32, jpeg: &[u8]) -> Result<Vec<Vec<u8>>, JpegRtpError> {
        let p = parts(jpeg)?;
        let restart = p.restart_interval > 0;
        let main_len = 8 + if restart { 4 } else { 0 };
        let q_len = 4 + p.tables.len();
        let mut out = Vec::new();
        let mut offset = 0usize;
        loop {
            let first = offset == 0;
            let room = self
                .max_payload
                .saturating_sub(main_len + if first { q_len } else { 0 })
                .max(1);
            let end = (offset + room).min(p.scan.len());
            let mut hdr = Vec::with_capacity(main_len + q_len);
            hdr.push(0); // type-specific
            hdr.extend_from_slice(&(u32::try_from(offset).unwrap_or(0)).to_be_bytes()[1..]);
            hdr.push(p.kind);
            hdr.push(255); // Q: tables in-band
            hdr.push(u8::try_from(p.width / 8).unwrap_or(0));
            hdr.push(u8::try_from(p.height / 8).unwrap_or(0));
            if restart {
                hdr.extend_from_slice(&p.restart_interval.to_be_bytes());
                hdr.extend_from_slice(&0xFFFFu16.to_be_bytes()); // F=1, L=1, count 0x3FFF
            }
            if first {
                hdr.push(0); // MBZ
                hdr.push(0); // precision: 8-bit tables
                hdr.extend_from_slice(&(p.tables.len() as u16).to_be_bytes());
                hdr.extend_from_slice(&p.tables);
            }
            let last = end >= p.scan.len();
            out.push(self.packet_parts(timestamp, last, &[&hdr, &p.scan[offset..end]]));
            offset = end;
            if last {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4:2:0 JPEG from the bridge's own encoder.
    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, 128]));
        crate::media::jpeg::encode_rgb(&img, 75).unwrap()
    }

    #[test]
    fn a_4_4_4_jpeg_must_be_re_encoded() {
        // The image crate's encoder samples chroma 1x1 like luma: RFC 2435
        // has no type for that.
        let img = image::RgbImage::from_fn(32, 32, |x, _| image::Rgb([x as u8, 0, 0]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
            .encode_image(&img)
            .unwrap();
        assert_eq!(
            parts(&out),
            Err(JpegRtpError::Unsupported("luma sampling not 2x1 or 2x2"))
        );
    }

    #[test]
    fn a_baseline_jpeg_is_cut_with_its_tables_in_band_on_the_first_packet() {
        let j = jpeg(320, 240);
        let p = parts(&j).unwrap();
        assert_eq!((p.width, p.height, p.tables.len()), (320, 240, 128));
        assert_eq!(p.kind, 1, "4:2:0");
        let mut s = RtpStream::new(26, 9, 0);
        s.max_payload = 500;
        let packets = s.jpeg(1234, &j).unwrap();
        assert!(packets.len() > 1);
        let mut scan = Vec::new();
        for (i, pk) in packets.iter().enumerate() {
            assert!(pk.len() <= 12 + 500);
            let h = &pk[12..];
            let offset = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
            assert_eq!(offset, scan.len(), "fragment offsets are contiguous");
            assert_eq!(
                (h[5], h[6], h[7]),
                (255, 40, 30),
                "Q and the size in 8-pixel blocks"
            );
            let body = if i == 0 {
                assert_eq!(&h[8..12], &[0, 0, 0, 128]);
                assert_eq!(&h[12..140], &p.tables[..]);
                &h[140..]
            } else {
                &h[8..]
            };
            scan.extend_from_slice(body);
            assert_eq!(
                pk[1] & 0x80 != 0,
                i + 1 == packets.len(),
                "marker on the last"
            );
        }
        assert_eq!(scan, p.scan);
        assert!(
            scan.ends_with(&[0xFF, 0xD9]),
            "the EOI travels with the scan"
        );
    }

    #[test]
    fn what_rfc_2435_cannot_carry_is_refused() {
        assert!(matches!(
            parts(b"not a jpeg"),
            Err(JpegRtpError::Malformed(_))
        ));
        let j = jpeg(64, 48);
        assert!(parts(&j[..j.len() / 3]).is_err());
        let gray = {
            let img = image::GrayImage::from_fn(16, 16, |x, _| image::Luma([x as u8 * 8]));
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new(&mut out)
                .encode_image(&img)
                .unwrap();
            out
        };
        assert_eq!(
            parts(&gray),
            Err(JpegRtpError::Unsupported("not three components"))
        );
    }

    proptest::proptest! {
        #[test]
        fn hostile_bytes_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let mut v = vec![0xFF, 0xD8];
            v.extend(b);
            let _ = parts(&v);
        }
    }
}
