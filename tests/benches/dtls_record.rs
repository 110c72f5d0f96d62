//! DTLS record protection throughput: seal and open of 1200-byte records for
//! both suites (ChaCha20-Poly1305; AES-128-CBC + HMAC-SHA256), in MB/s of
//! plaintext.
//!
//! `cargo bench --bench dtls_record`

use cam2mqtt::proto::tutk::dtls::suites::{CipherSuite, RecordCipher, RecordMeta};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::SeedableRng;

const RECORD: usize = 1200;

fn bench(c: &mut Criterion) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let plain = vec![0x5au8; RECORD];
    let meta = RecordMeta {
        content_type: 23,
        version: 0xFEFD,
        epoch: 1,
        seq: 42,
    };
    for suite in CipherSuite::ALL {
        // Any 96 bytes make a key block for either suite (the first 88 for ChaCha).
        let kb: Vec<u8> = (0..96u8).collect();
        let (write, _) = RecordCipher::pair(suite, &kb[..suite_len(suite)], true);
        let (_, read) = RecordCipher::pair(suite, &kb[..suite_len(suite)], false);
        let sealed = write.seal(&meta, &plain, &mut rng);
        assert_eq!(read.open(&meta, &sealed).as_deref(), Some(&plain[..]));
        let mut g = c.benchmark_group(format!("dtls_record/{}", suite.openssl_name()));
        g.throughput(Throughput::Bytes(RECORD as u64));
        g.bench_function("seal_1200", |b| {
            b.iter(|| write.seal(&meta, std::hint::black_box(&plain), &mut rng))
        });
        g.bench_function("open_1200", |b| {
            b.iter(|| read.open(&meta, std::hint::black_box(&sealed)))
        });
        g.finish();
    }
}

fn suite_len(suite: CipherSuite) -> usize {
    match suite {
        CipherSuite::EcdhePskChacha20Poly1305 => 88,
        CipherSuite::PskAes128CbcSha256 => 96,
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
