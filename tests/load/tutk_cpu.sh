#!/usr/bin/env bash
# Bridge CPU per Wyze camera: N (8) simulated TUTK cameras streaming H.264
# over MEASURE (30) seconds; see bridge_cpu.sh.
#
#   bash tests/load/tutk_cpu.sh [N=8] [MEASURE=30]
exec bash "$(dirname "$0")/bridge_cpu.sh" tutk "${1:-8}" "${2:-30}"
