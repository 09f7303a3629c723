#!/usr/bin/env bash
# What a TA sees: grade the shipped samples, then render report.html in headless Chromium
# (Debian's `chromium` package; a CJK font such as `fonts-noto-cjk` shows the Chinese headings).
#   bash benchmarks/report_screenshot.sh [OUT.png]
set -euo pipefail
out_png=$(realpath "${1:-report.png}")
work=$(mktemp -d)
cd "$(dirname "$0")/.."
nnhw grade data/submissions/* --out "$work/out" --workers 2 > /dev/null
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/profile" --hide-scrollbars \
  --window-size=1200,2400 --screenshot="$out_png" "file://$work/out/report.html"
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --user-data-dir="$work/profile" --print-to-pdf="${out_png%.png}.pdf" "file://$work/out/report.html"
echo "$out_png ${out_png%.png}.pdf"
