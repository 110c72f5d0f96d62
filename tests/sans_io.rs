//! The sans-IO cores stay sans-IO: nothing in `src/proto/`, the camera core, the
//! media sink, the video stream decoder and live decoder, or the publisher core
//! may use tokio, read a clock or own a socket (clippy.toml enforces the clock
//! and sockets too; this test also catches `tokio::` and is independent of
//! clippy being run).
//!
//! One file is exempt: `src/proto/testing.rs`, compiled only for unit tests,
//! gives tests their starting `Instant` (the cores never call it).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/proto") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn protocol_cores_use_no_tokio_clock_or_socket() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("proto"), &mut files);
    assert!(files.len() >= 5, "found the protocol sources");
    files.retain(|f| !f.ends_with("proto/testing.rs"));
    for core in [
        "supervisor/core.rs",
        "media/sink.rs",
        "media/live.rs",
        "media/video/decoder.rs",
        "publisher/core.rs",
        "publisher/ha.rs",
        "publisher/topics.rs",
    ] {
        let path = src.join(core);
        assert!(path.exists(), "{core} exists");
        files.push(path);
    }
    let forbidden = [
        "tokio::",
        "Instant::now",
        "SystemTime::now",
        "UdpSocket",
        "std::net::TcpStream",
        "std::thread::sleep",
    ];
    let mut hits = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for f in forbidden {
                if code.contains(f) {
                    hits.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(hits.is_empty(), "sans-IO violations:\n{}", hits.join("\n"));
}
