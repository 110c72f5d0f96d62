#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian/Ubuntu machine with Rust:
# installs what the tests run as external programs if it is missing, then
# runs every test:
#   mosquitto, mosquitto_sub/pub  the integration tests' broker and clients
#   openssl                       the DTLS interop oracle (s_server/s_client)
#   strace                        to watch check-config make no DNS query
#   chromium, chromedriver        the web UI test drives a headless browser
#   ffmpeg (ffmpeg, ffprobe)      the audio bench encodes its MP3 input; the RTSP and RTP
#                                 tests use ffmpeg and ffprobe as independent clients
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
UPDATED=""
# need PACKAGE COMMAND...: installs PACKAGE unless every COMMAND is there.
need() {
  local package=$1; shift
  local missing=""
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing=1; done
  [ -z "$missing" ] && return 0
  echo "installing $package (the tests run $*)"
  if [ -z "$UPDATED" ]; then $SUDO apt-get update -qq; UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$package" >/dev/null
}
need mosquitto mosquitto
need mosquitto-clients mosquitto_sub mosquitto_pub
need openssl openssl
need strace strace
need chromium chromium
need chromium-driver chromedriver
need shellcheck shellcheck
need ffmpeg ffmpeg ffprobe

cargo test --all-targets --locked "$@"
