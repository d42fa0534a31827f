#!/usr/bin/env bash
# Benchmarks gdask on generated data, all in one run on this machine:
#   gen-data write rate, count beside `wc -l` on the same file, head latency.
# Usage: scripts/bench.sh [ROWS]   (default 50000000, about 1.08 GB)
# Needs hyperfine (apt-get install hyperfine); installs it when missing and
# running as root. Data lives in ${BENCH_DIR:-/tmp/gdask-bench}.
set -euo pipefail
rows=${1:-50000000}
dir=${BENCH_DIR:-/tmp/gdask-bench}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
if ! command -v hyperfine >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null
  else
    echo "bench: hyperfine is needed (apt-get install hyperfine)" >&2; exit 1
  fi
fi
(cd "$top" && go build -o "$dir/gdask" .)
g="$dir/gdask"
data="$dir/data_${rows}.csv"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "== gen-data --rows $rows (3 runs; MB/s = bytes written / wall time)"
for i in 1 2 3; do
  rm -f "$data"
  start=$(date +%s.%N)
  "$g" gen-data "$data" --rows "$rows"
  end=$(date +%s.%N)
  awk -v b="$(stat -c %s "$data")" -v s="$start" -v e="$end" \
    'BEGIN { printf "  %.2f s, %.0f MB/s (%d bytes)\n", e-s, b/(e-s)/1e6, b }'
done

cat "$data" >/dev/null # into the page cache
echo "== count vs wc -l, head (file in the page cache)"
hyperfine -N -w 2 -r 10 --export-markdown "$dir/foundation.md" \
  "wc -l $data" "$g count $data" "$g head $data" >/dev/null
cat "$dir/foundation.md"
