#!/usr/bin/env bash
# Bridge CPU per PPPP camera: N (16) simulated JSON-dialect cameras at 10 fps
# 640x480 over MEASURE (30) seconds, each with its own UID and id and with the
# PTZ and light it has; see bridge_cpu.sh.
#
#   bash tests/load/pppp_cpu.sh [N=16] [MEASURE=30]
exec bash "$(dirname "$0")/bridge_cpu.sh" pppp "${1:-16}" "${2:-30}"
