#!/usr/bin/env bash
# Makes the dashboard screenshots of the README (docs/dashboard-*.png) from a
# real run: a sort of 10M generated rows under --memory-limit 96MB, which
# spills and merges, saved with --report and opened in headless Chromium,
# one view at a time (report.html#VIEW shows only that view).
#
# Usage: scripts/screenshots.sh   (needs chromium; WORK=/tmp/gdask-shots)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/gdask-shots}
BROWSER=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
mkdir -p "$WORK"
go build -C "$TOP" -o "$WORK/gdask" .
cd "$WORK"
[ -f large_data.csv ] || ./gdask gen-data large_data.csv --rows 10000000
./gdask sort large_data.csv --by value:desc,id --memory-limit 96MB --output sorted.csv --report report.html
shot() { # VIEW WIDTH HEIGHT
  "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$2,$3" \
    --screenshot="$TOP/docs/dashboard-$1.png" "file://$WORK/report.html#$1-view" 2>/dev/null
}
mkdir -p "$TOP/docs"
shot progress 1200 190
shot tasks 1200 300
shot memory 1200 380
shot spill 1200 380
shot plan 1200 220
ls -l "$TOP"/docs/dashboard-*.png
