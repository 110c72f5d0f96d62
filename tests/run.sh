#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian/Ubuntu machine with Rust:
# installs mosquitto (the integration tests start their own broker) and
# openssl (the DTLS interop oracle) and strace (to watch check-config make no
# DNS query) if they are missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v mosquitto >/dev/null 2>&1 || ! command -v mosquitto_sub >/dev/null 2>&1; then
  echo "installing mosquitto and mosquitto-clients (needed by the integration tests)"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
fi

if ! command -v openssl >/dev/null 2>&1; then
  echo "installing openssl (the DTLS interop tests run s_server/s_client)"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssl >/dev/null
fi

if ! command -v strace >/dev/null 2>&1; then
  echo "installing strace (tests/config_errors.rs checks that check-config makes no DNS query)"
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq strace >/dev/null
fi

cargo test --all-targets --locked "$@"
