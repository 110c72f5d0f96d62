#!/usr/bin/env bash
# Bridge CPU and peak RSS for the mix the memory target is set for: M (64)
# PPPP MJPEG cameras and W (8) Wyze cameras at 1920x1080, over MEASURE (30)
# seconds; see bridge_cpu.sh (LATENCY=1 adds the snapshot latency figures).
#
#   bash tests/load/mix_cpu.sh [M=64] [W=8] [MEASURE=30]
WYZE_SIZE=${WYZE_SIZE:-1920x1080} exec bash "$(dirname "$0")/bridge_cpu.sh" mix "${1:-64}+${2:-8}" "${3:-30}"
