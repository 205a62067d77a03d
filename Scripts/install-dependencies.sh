#!/usr/bin/env bash
# Installs OpenBLAS's CBLAS headers and library (Debian/Ubuntu) when they are missing.
# Needs root or sudo; does nothing when pkg-config already finds openblas.
set -euo pipefail

if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openblas \
  && [ -e /usr/include/lapacke.h ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends pkg-config libopenblas-dev liblapacke-dev >/dev/null
pkg-config --exists openblas || { echo "openblas still not found by pkg-config" >&2; exit 1; }
