#!/usr/bin/env bash
# Prints the path of a promtool: the one on PATH, or the one in Debian's `prometheus` package, downloaded once
# and unpacked (not installed: no service starts) into .tapline/tools. Used by the test of deploy/prometheus.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.tapline/tools/prometheus"
if [ ! -x "$dir/usr/bin/promtool" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; }; })
  mkdir -p "$dir"
  dpkg -x "$tmp"/prometheus_*.deb "$dir"
fi
echo "$dir/usr/bin/promtool"
