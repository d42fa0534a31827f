#!/usr/bin/env bash
# Benchmarks gdask on generated data, beside the tools it is compared with,
# all in one run on this machine.
#
# Usage: scripts/bench.sh [foundation|groupby|stream|sort|dashboard|shards|all]
#        (default all)
#
#   foundation  gen-data write rate, count beside `wc -l` on the same file,
#               head latency (hyperfine)
#   groupby     the queries below on gdask, DuckDB, Dask and Miller, RUNS runs
#               each, the tools alternating within a round (gdask, duckdb,
#               dask, miller, gdask, ...); a markdown table per query: median,
#               min and max wall seconds, peak RSS (max over runs), and the
#               ratio gdask median / tool median; and whether each tool's
#               answer agrees with gdask's (rows sorted, numbers rounded to 6
#               significant digits)
#   stream      queries Q5 and Q7 below on the wide data set (benchgen's
#               taxi-like schema: quoted fields with commas, empty fields) on
#               gdask, DuckDB and Polars, in the same way: RUNS runs each,
#               alternating, the same table; agreement for Q7 as for groupby,
#               for Q5 (a large row set) by row count and an order-independent
#               checksum of every cell (scripts/bench/compare.py --rows)
#   sort        queries Q6 and S1-S3 below (top-k, full sort, distinct keys,
#               value counts) on the wide and highcard data sets on gdask,
#               DuckDB and Polars, in the same way: RUNS runs each,
#               alternating, the same table; agreement as each query says;
#               gdask's S1 also runs with --memory-limit 128MB, and its
#               output must be byte-identical to the unlimited run's (cmp)
#   dashboard   what the dashboard costs: the seed query (Q1) on gdask as is,
#               with --dashboard (no page open), with --dashboard and a page
#               that connects and never reads (scripts/bench/stuck_page.py),
#               and with --report; RUNS runs each, alternating; the same
#               table, the cost of each as the ratio of its median to plain
#               gdask's, byte-identical answers (cmp), and the report's size;
#               then the same query in 1 MiB partitions (D2) with the stuck
#               page, whose socket fills early: the server's writes block
#   shards      a chain run as shards on this machine beside the same chain
#               run locally: queries S-Q1 and S-H below, each run locally
#               (gdask VERB ...) and as SHARDS shards one after another plus
#               the merge, RUNS runs each, alternating; a table of median,
#               min and max wall seconds and peak RSS, the ratio sharded
#               median / local median (the bar: <= 1.15), the medians of the
#               first shard (which writes plan.json: its cuts, guessed at
#               line ends, read a few KiB per cut), of the others and of
#               the merge, and whether the answers are byte-identical
#               (cmp; every run's, not just the first's); then S-M, the
#               merge's throughput: MERGE_SHARDS shards of S-H made once
#               (untimed), `gdask merge DIR` timed RUNS times, the bytes of
#               the state files and MB/s = state bytes / median seconds (the
#               bar: >= 200 MB/s)
#   all         foundation, groupby, stream, sort, dashboard, shards
#
# Environment:
#   ROWS=50000000        rows of big.csv (about 1.08 GB): foundation, Q1, Q3,
#                        S-Q1
#   KEYS_ROWS=20000000   rows of keys.csv: Q2
#   KEYS_CATEGORIES      distinct keys of keys.csv (default KEYS_ROWS/4)
#   WIDE_ROWS=10000000   rows of the wide file (wide_10m.csv, about 804 MB;
#                        wide_200k.csv for WIDE_ROWS=200000): Q5, Q7,
#                        Q6, S3
#   HIGHCARD_ROWS=20000000  rows of the highcard file (highcard_20m.csv,
#                        about 253 MB, with HIGHCARD_ROWS/4 keys): S1, S2,
#                        S-H, S-M
#   RUNS=3               runs per tool and query
#   SHARDS=4             shards of S-Q1 and S-H
#   MERGE_SHARDS=16      shards of S-M
#   TIMEOUT=600          seconds per run; a run killed at that is "timeout"
#   SKIP="dask miller"   peers to leave out (duckdb, dask, miller, polars)
#   BENCH_DIR=/tmp/gdask-bench   build, data, the DuckDB and Polars installs,
#                        outputs
#   PYTHON=/usr/bin/python3      the Python that Debian's python3-dask is for
#   MEM_CAP_MB           a run whose processes pass this RSS is killed and
#                        recorded as "oom" (default 80% of RAM; there is no swap)
#   GDASK=PATH           use this gdask binary instead of building the repo's
#   BENCHGEN_SRC=../shared/benchgen   the generator of the wide and highcard
#                        files (relative to the repo), built into
#                        $BENCH_DIR/benchgen
#   NODEJS_POLARS=0.26.1 the nodejs-polars version to install
#
# Queries of groupby (input in the page cache, warmed with cat before each):
#   Q1 seed: mean of value by category, keep value_mean > 500, on big.csv
#   Q2 high cardinality: count and sum of value by category on keys.csv;
#      gdask runs twice: as is, and with --memory-limit 256MB (spilling),
#      whose output must be byte-identical to the first (cmp)
#   Q3 many aggregates: count, sum, min, max, mean, std of value by category
#      on big.csv
# Every tool prints the whole result as CSV to a file of its own. DuckDB runs
# through @duckdb/node-api (scripts/bench/duckdb.mjs) with threads=2 and
# ORDER BY category (gdask sorts its groups too); Dask (scripts/bench/
# dask_groupby.py) on its threaded scheduler with 2 workers, no distributed,
# default blocksize; Miller is `mlr --icsv --ocsv stats1`. std is the sample
# standard deviation everywhere.
#
# Queries of stream (input in the page cache, warmed with cat before each):
#   Q5 filter: the rows with fare_amount > 20, every column, as CSV with a
#      header (about 12% of the rows): `gdask filter --where 'fare_amount > 20'`
#   Q7 mean of fare_amount by payment_type, sorted by payment_type: `gdask
#      groupby --by payment_type --mean fare_amount`
# The wide file is `benchgen -schema wide -rows WIDE_ROWS -seed 42`, made
# once (to a temp name, then renamed). Every tool writes the whole answer to
# a file of its own. DuckDB runs the SQL (SELECT * ... WHERE fare_amount > 20;
# SELECT payment_type, avg(fare_amount) ... GROUP BY ... ORDER BY) through
# duckdb.mjs with threads=2; Polars through nodejs-polars
# (scripts/bench/polars.mjs: scanCSV, filter or groupBy/agg/sort, then
# sinkCSV, its streaming engine) with POLARS_MAX_THREADS=2.
#
# Queries of sort (input in the page cache, warmed with cat before each):
#   Q6 top-k: the 10 rows of largest fare_amount, ties by trip_id, every
#      column, from the wide file: `gdask sort --by fare_amount:desc,trip_id
#      --limit 10`; agreement: the same 10 rows in the same order (trip_id is
#      unique: one answer), cells as values, integers exactly, other numbers
#      to 6 significant digits (compare.py --ordered)
#   S1 full sort: every row of the highcard file by value, then key, written
#      to a file by the tool itself: `gdask sort --by value,key --output
#      FILE`; gdask runs twice: as is, and with --memory-limit 128MB
#      (spilling), whose output must be byte-identical to the first (cmp).
#      Agreement: the row count and the sequence of (value, key), row for
#      row, numbers as numbers (compare.py --sequence value,key). highcard
#      has just key,value, so rows that tie on both are equal whole rows
#      and the sorted order is one: the check is exact
#   S2 distinct: the number of distinct keys of the highcard file: `gdask
#      distinct --by key then count`; agreement: the number (compare.py
#      --scalar)
#   S3 value counts: the rows of each pickup_zone of the wide file, by count
#      descending, then pickup_zone: `gdask value-counts pickup_zone`;
#      agreement: the same (pickup_zone, count) pairs, and the counts in the
#      same order, so zones of equal count may come in any order among
#      themselves (compare.py --counts)
# The highcard file is `benchgen -schema highcard -rows HIGHCARD_ROWS -keys
# HIGHCARD_ROWS/4 -seed 42` (key,value: key text "k<n>", value an int in
# [0, 1000)), made once like the wide file. Every tool writes the whole
# answer to a file of its own: to stdout, S1's through its own writer. DuckDB
# runs through duckdb.mjs with threads=2: SELECT * ... ORDER BY fare_amount
# DESC, trip_id LIMIT 10; COPY (SELECT * ... ORDER BY value, key) TO 'FILE'
# (FORMAT csv, HEADER); SELECT count(DISTINCT key); SELECT pickup_zone,
# count(*) AS count ... GROUP BY 1 ORDER BY 2 DESC, 1. Polars through
# polars.mjs with POLARS_MAX_THREADS=2, each a scanCSV ending in sinkCSV
# (S1's into FILE): sort(['fare_amount', 'trip_id'], [true, false])
# .head(10); sort(['value', 'key']); select(col('key').nUnique());
# groupBy('pickup_zone').agg(len()) sorted as DuckDB's.
#
# Queries of shards (input in the page cache, warmed with cat before each):
#   S-Q1 the seed query (Q1) on big.csv
#   S-H  count and sum of value by key on the highcard file: `gdask groupby
#      --by key --count --sum value` (HIGHCARD_ROWS/4 keys)
#   S-M  `gdask merge DIR` of S-H's MERGE_SHARDS shards
# A sharded run is one timed unit: `rm -rf DIR; for i in 0 .. SHARDS-1:
# gdask VERB ... --shard i/SHARDS --state-out DIR; gdask merge DIR > out`
# (a bash loop under GNU time, so the peak RSS is that of the largest of the
# processes); the wrapper also notes when each shard and the merge start and
# end, for the first-shard, other-shard and merge medians. Every good run's
# answer, local or sharded, is compared with the local run's first (cmp).
#
# Missing tools are installed when running as root: hyperfine, time, miller,
# python3-dask, python3-pandas through apt; DuckDB through
# `npm install @duckdb/node-api` into $BENCH_DIR/duckdb (never the repo);
# Polars by `npm install nodejs-polars@$NODEJS_POLARS` into $BENCH_DIR/polars
# (its native library too, by name, when npm leaves it out for an old node).
# A tool that fails, times out or passes MEM_CAP_MB is recorded as "error",
# "timeout" or "oom", is not run again on that query, and the run goes on. Wall time and peak RSS come from GNU time (`%e %M`).
# Results: stdout, and $BENCH_DIR/results.md (header with the machine and
# the versions of every tool, then the tables).
set -euo pipefail

MODE=${1:-all}
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
case $MODE in
  foundation | groupby | stream | sort | dashboard | shards | all) ;;
  -h | --help | help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

ROWS=${ROWS:-50000000}
KEYS_ROWS=${KEYS_ROWS:-20000000}
KEYS_CATEGORIES=${KEYS_CATEGORIES:-$((KEYS_ROWS / 4 > 0 ? KEYS_ROWS / 4 : 1))}
WIDE_ROWS=${WIDE_ROWS:-10000000}
HIGHCARD_ROWS=${HIGHCARD_ROWS:-20000000}
HIGHCARD_KEYS=$((HIGHCARD_ROWS / 4 > 0 ? HIGHCARD_ROWS / 4 : 1))
RUNS=${RUNS:-3}
SHARDS=${SHARDS:-4}
MERGE_SHARDS=${MERGE_SHARDS:-16}
TIMEOUT=${TIMEOUT:-600}
SKIP=${SKIP:-}
PYTHON=${PYTHON:-/usr/bin/python3}
MEM_CAP_MB=${MEM_CAP_MB:-$(awk '/MemTotal/ { printf "%d", $2 * 0.8 / 1024 }' /proc/meminfo)}
DIR=${BENCH_DIR:-/tmp/gdask-bench}
TOP=$(cd "$(dirname "$0")/.." && pwd)
SCRIPTS=$TOP/scripts/bench
G=${GDASK:-$DIR/gdask}
BIG=$DIR/big_${ROWS}.csv
KEYS=$DIR/keys_${KEYS_ROWS}_${KEYS_CATEGORIES}.csv
# data_file NAME ROWS: $DIR/NAME_10m.csv, NAME_200k.csv, NAME_1234.csv
data_file() {
  if (($2 % 1000000 == 0)); then echo "$DIR/$1_$(($2 / 1000000))m.csv"
  elif (($2 % 1000 == 0)); then echo "$DIR/$1_$(($2 / 1000))k.csv"
  else echo "$DIR/$1_$2.csv"; fi
}
WIDE=$(data_file wide "$WIDE_ROWS")
HIGHCARD=$(data_file highcard "$HIGHCARD_ROWS")
BENCHGEN_SRC=${BENCHGEN_SRC:-$TOP/../shared/benchgen}
NODEJS_POLARS=${NODEJS_POLARS:-0.26.1}
OUT=$DIR/out
RESULTS=$DIR/results.md
export DUCKDB_DIR=$DIR/duckdb DUCKDB_THREADS=2 DASK_WORKERS=2
export POLARS_DIR=$DIR/polars POLARS_MAX_THREADS=2

# say TEXT...: print to stdout and append to results.md.
say() { printf '%s\n' "$*" | tee -a "$RESULTS"; }

# ---------------------------------------------------------------- installs

APT_UPDATED=
# apt_install PKG...: install Debian packages; fails when not root.
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "bench: missing $*: install with apt-get install $*" >&2
    return 1
  fi
  if [ -z "$APT_UPDATED" ]; then
    apt-get update -qq && APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_hyperfine() { command -v hyperfine >/dev/null || apt_install hyperfine; }
ensure_time() { [ -x /usr/bin/time ] || apt_install time; }
ensure_miller() { command -v mlr >/dev/null || apt_install miller; }
ensure_dask() {
  "$PYTHON" -c 'import dask.dataframe, pandas' 2>/dev/null ||
    { apt_install python3-dask python3-pandas &&
      "$PYTHON" -c 'import dask.dataframe, pandas'; }
}
ensure_duckdb() {
  command -v node >/dev/null || apt_install nodejs npm || return 1
  [ -d "$DUCKDB_DIR/node_modules/@duckdb/node-api" ] && return 0
  mkdir -p "$DUCKDB_DIR"
  (cd "$DUCKDB_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --no-audit --no-fund --loglevel=error @duckdb/node-api >/dev/null)
}
# polars_ok: nodejs-polars $NODEJS_POLARS is in $POLARS_DIR and loads.
polars_ok() {
  [ "$(node -p "require('$POLARS_DIR/node_modules/nodejs-polars/package.json').version" 2>/dev/null)" = "$NODEJS_POLARS" ] &&
    node "$SCRIPTS/polars.mjs" --version >/dev/null 2>&1
}
ensure_polars() {
  command -v node >/dev/null || apt_install nodejs npm || return 1
  polars_ok && return 0
  mkdir -p "$POLARS_DIR"
  (cd "$POLARS_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --no-audit --no-fund --loglevel=error "nodejs-polars@$NODEJS_POLARS" >/dev/null) || return 1
  polars_ok && return 0
  # the native library is an optional dependency, which npm skips without a
  # word when node is older than its engines field asks (>= 22 for 0.26);
  # it loads on node 20 all the same: install it by name
  local native
  native=$(node "$SCRIPTS/polars.mjs" --native-package) || return 1
  echo "== npm install $native@$NODEJS_POLARS (npm left it out: node $(node --version))"
  (cd "$POLARS_DIR" &&
    npm install --no-audit --no-fund --loglevel=error --engine-strict=false "$native@$NODEJS_POLARS" >/dev/null 2>&1) &&
    polars_ok
}

# ---------------------------------------------------------------- setup

build() {
  mkdir -p "$DIR" "$OUT"
  [ -n "${GDASK:-}" ] && return 0
  (cd "$TOP" && CGO_ENABLED=0 go build -o "$G" .) || { echo "bench: go build failed" >&2; exit 1; }
}

# gen_data FILE ROWS [CATEGORIES]: write FILE with gdask gen-data unless it
# is there (gen-data writes to a temp file and renames, so it is complete).
gen_data() {
  local file=$1 rows=$2
  [ -f "$file" ] && return 0
  echo "== gdask gen-data $(basename "$file") --rows $rows${3:+ --categories $3}"
  "$G" gen-data "$file" --rows "$rows" ${3:+--categories "$3"}
}

BENCHGEN_BUILT=
# benchgen_file FILE ARGS...: write FILE with `benchgen ARGS...` unless it is
# there; benchgen writes to a temp name that is renamed when complete, so a
# half-written file is never taken for the data. Builds benchgen once a run.
benchgen_file() {
  local file=$1 tmp
  shift
  [ -f "$file" ] && return 0
  echo "== benchgen $* -o $(basename "$file")"
  if [ -z "$BENCHGEN_BUILT" ]; then
    (cd "$BENCHGEN_SRC" && go build -o "$DIR/benchgen" .) ||
      { echo "bench: cannot build benchgen in $BENCHGEN_SRC" >&2; exit 1; }
    BENCHGEN_BUILT=1
  fi
  tmp=$file.tmp.$$
  "$DIR/benchgen" "$@" -o "$tmp" ||
    { rm -f "$tmp"; echo "bench: benchgen failed" >&2; exit 1; }
  mv "$tmp" "$file"
}

gen_wide() { benchgen_file "$WIDE" -schema wide -rows "$WIDE_ROWS" -seed 42; }
gen_highcard() {
  benchgen_file "$HIGHCARD" -schema highcard -rows "$HIGHCARD_ROWS" -keys "$HIGHCARD_KEYS" -seed 42
}

machine() {
  local os
  os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)
  echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $os, Linux $(uname -r)"
}

header() {
  : >"$RESULTS"
  say "# gdask benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  say ""
  say "- machine: $(machine)"
  say "- gdask: $("$G" version 2>&1 | head -n1)"
  say "- load average at the start (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---------------------------------------------------------------- foundation

foundation() {
  ensure_hyperfine
  say ""
  say "## foundation"
  say ""
  say "gen-data --rows $ROWS (3 runs; MB/s = bytes written / wall time):"
  say ""
  local start end
  for _ in 1 2 3; do
    rm -f "$BIG"
    start=$(date +%s.%N)
    "$G" gen-data "$BIG" --rows "$ROWS"
    end=$(date +%s.%N)
    say "$(awk -v b="$(stat -c %s "$BIG")" -v s="$start" -v e="$end" \
      'BEGIN { printf "- %.2f s, %.0f MB/s (%d bytes)", e-s, b/(e-s)/1e6, b }')"
  done
  cat "$BIG" >/dev/null # into the page cache
  say ""
  say "count vs wc -l, head (file in the page cache):"
  say ""
  hyperfine -N -w 2 -r 10 --export-markdown "$DIR/foundation.md" \
    "wc -l $BIG" "$G count $BIG" "$G head $BIG" >/dev/null
  say "$(cat "$DIR/foundation.md")"
}

# ---------------------------------------------------------------- tools
# Each *_cmd QUERY sets CMD to the command line of that tool for the query.
# The answer goes to stdout, except for the queries of writes_file, whose
# command writes it to the file $RUN_OUT itself.

# writes_file QUERY: whether the tools write the answer to $RUN_OUT
# themselves, as one would an answer as large as the input (gdask --output,
# DuckDB's COPY ... TO, Polars' sinkCSV), not to stdout.
writes_file() { [ "$1" = s1 ]; }

gdask_cmd() {
  case $1 in
    q1) CMD=("$G" groupby "$BIG" --by category --mean value --having 'value_mean > 500' -o csv) ;;
    q2) CMD=("$G" groupby "$KEYS" --by category --count --sum value -o csv) ;;
    q3) CMD=("$G" groupby "$BIG" --by category --count --sum value --min value
      --max value --mean value --std value -o csv) ;;
    q5) CMD=("$G" filter "$WIDE" --where 'fare_amount > 20' -o csv) ;;
    q7) CMD=("$G" groupby "$WIDE" --by payment_type --mean fare_amount -o csv) ;;
    q6) CMD=("$G" sort "$WIDE" --by 'fare_amount:desc,trip_id' --limit 10 -o csv) ;;
    s1) CMD=("$G" sort "$HIGHCARD" --by 'value,key' -o csv --output "$RUN_OUT") ;;
    s2) CMD=("$G" distinct "$HIGHCARD" --by key 'then' count) ;;
    s3) CMD=("$G" value-counts "$WIDE" pickup_zone -o csv) ;;
    d1) gdask_cmd q1 ;;
    d2) gdask_cmd q1; CMD+=(--blocksize 1MiB) ;;
    sq1) gdask_cmd q1 ;;
    sh | sm) CMD=("$G" groupby "$HIGHCARD" --by key --count --sum value -o csv) ;;
  esac
}

# SHARD_UNIT: the bash script of one sharded run, `bash -c "$SHARD_UNIT"
# shard-unit N DIR TIMES GDASK ARGS...`: rm -rf DIR, GDASK ARGS... --shard
# i/N --state-out DIR for i in 0 .. N-1 one after another, then GDASK merge
# DIR to stdout; on success it appends the start and end of each shard and
# of the merge ($EPOCHREALTIME, no process of its own) as a line to TIMES.
# shellcheck disable=SC2016 # expanded by that bash, not this one
SHARD_UNIT='n=$1 st=$2 tf=$3
shift 3
rm -rf "$st"
ts=
for ((i = 0; i < n; i++)); do
  ts+=" $EPOCHREALTIME"
  "$@" --shard "$i/$n" --state-out "$st" || exit
  ts+=" $EPOCHREALTIME"
done
ts+=" $EPOCHREALTIME"
"$1" merge "$st" || exit
echo "$ts $EPOCHREALTIME" >>"$tf"'

duckdb_cmd() {
  local sql
  case $1 in
    q1) sql="SELECT category, avg(value) AS value_mean FROM read_csv('$BIG')
      GROUP BY category HAVING avg(value) > 500 ORDER BY category" ;;
    q2) sql="SELECT category, count(*) AS count, sum(value) AS value_sum
      FROM read_csv('$KEYS') GROUP BY category ORDER BY category" ;;
    q3) sql="SELECT category, count(*) AS count, sum(value) AS value_sum,
      min(value) AS value_min, max(value) AS value_max, avg(value) AS value_mean,
      stddev_samp(value) AS value_std
      FROM read_csv('$BIG') GROUP BY category ORDER BY category" ;;
    q5) sql="SELECT * FROM read_csv('$WIDE') WHERE fare_amount > 20" ;;
    q7) sql="SELECT payment_type, avg(fare_amount) AS fare_amount_mean
      FROM read_csv('$WIDE') GROUP BY payment_type ORDER BY payment_type" ;;
    q6) sql="SELECT * FROM read_csv('$WIDE') ORDER BY fare_amount DESC, trip_id LIMIT 10" ;;
    s1) sql="COPY (SELECT * FROM read_csv('$HIGHCARD') ORDER BY value, key)
      TO '$RUN_OUT' (FORMAT csv, HEADER)" ;;
    s2) sql="SELECT count(DISTINCT key) AS count FROM read_csv('$HIGHCARD')" ;;
    s3) sql="SELECT pickup_zone, count(*) AS count FROM read_csv('$WIDE')
      GROUP BY 1 ORDER BY 2 DESC, 1" ;;
  esac
  CMD=(node "$SCRIPTS/duckdb.mjs" "$sql")
}

polars_cmd() {
  case $1 in
    s1) CMD=(node "$SCRIPTS/polars.mjs" "$1" "$HIGHCARD" "$RUN_OUT") ;;
    s2) CMD=(node "$SCRIPTS/polars.mjs" "$1" "$HIGHCARD") ;;
    *) CMD=(node "$SCRIPTS/polars.mjs" "$1" "$WIDE") ;;
  esac
}

dask_cmd() {
  local file=$BIG
  [ "$1" = q2 ] && file=$KEYS
  CMD=("$PYTHON" "$SCRIPTS/dask_groupby.py" "$1" "$file")
}

miller_cmd() {
  # shellcheck disable=SC2016 # $value_mean is Miller's, not the shell's
  case $1 in
    q1) CMD=(mlr --icsv --ocsv stats1 -a mean -f value -g category
      'then' filter '$value_mean > 500' "$BIG") ;;
    q2) CMD=(mlr --icsv --ocsv stats1 -a 'count,sum' -f value -g category
      'then' rename 'value_count,count' "$KEYS") ;;
    q3) CMD=(mlr --icsv --ocsv stats1 -a 'count,sum,min,max,mean,stddev' -f value -g category
      'then' rename 'value_count,count,value_stddev,value_std' "$BIG") ;;
  esac
}

# set_cmd TOOL QUERY: CMD for a tool of the tables; gdaskN (gdask256,
# gdask128) is gdask with --memory-limit NMB.
set_cmd() {
  case $1 in
    gdask[0-9]*) gdask_cmd "$2"; CMD+=(--memory-limit "${1#gdask}MB") ;;
    gdask-dash) gdask_cmd "$2"; CMD+=(--dashboard="127.0.0.1:$DASH_PORT") ;;
    gdask-stuck) gdask_cmd "$2"; CMD=("$PYTHON" "$SCRIPTS/stuck_page.py" "$DASH_PORT" "${CMD[@]}" --dashboard="127.0.0.1:$DASH_PORT") ;;
    gdask-report) gdask_cmd "$2"; CMD+=(--report "$OUT/report.html") ;;
    gdask-shards) gdask_cmd "$2"
      CMD=(bash -c "$SHARD_UNIT" shard-unit "$SHARDS" "$OUT/$2.state" "$OUT/$2.shardtimes" "${CMD[@]}") ;;
    gdask-merge) CMD=("$G" merge "$OUT/$2.state") ;;
    *) "$1_cmd" "$2" ;;
  esac
}

label() {
  case $1 in
    gdask[0-9]*) echo "gdask --memory-limit ${1#gdask}MB" ;;
    gdask-dash) echo "gdask --dashboard" ;;
    gdask-stuck) echo "gdask --dashboard, a page that never reads" ;;
    gdask-report) echo "gdask --report" ;;
    gdask-shards) echo "gdask, $SHARDS shards in turn + merge" ;;
    gdask-merge) echo "gdask merge ($MERGE_SHARDS states)" ;;
    *) echo "$1" ;;
  esac
}

versions() {
  local p
  for p in "${PEERS[@]}"; do
    case $p in
      duckdb) say "- duckdb: $(node "$SCRIPTS/duckdb.mjs" --version), node $(node --version), threads=2" ;;
      dask) say "- dask: $("$PYTHON" "$SCRIPTS/dask_groupby.py" --version), $("$PYTHON" --version 2>&1), threaded scheduler, 2 workers" ;;
      miller) say "- miller: $(mlr --version)" ;;
      polars) say "- polars: $(node "$SCRIPTS/polars.mjs" --version), node $(node --version), POLARS_MAX_THREADS=$POLARS_MAX_THREADS, streaming engine (sinkCSV)" ;;
    esac
  done
}

# ---------------------------------------------------------------- runs

# guard PID: while PID runs, poll the summed RSS of its descendants once a
# second and SIGKILL them (by pid) when it passes MEM_CAP_MB, leaving the
# file $OUT/oom; so a peer that never spills fails alone instead of driving
# the whole machine out of memory.
guard() {
  local root=$1 pids
  while kill -0 "$root" 2>/dev/null; do
    pids=$(ps -eo pid=,ppid=,rss= | awk -v root="$root" -v cap=$((MEM_CAP_MB * 1024)) '
      { parent[$1] = $2; rss[$1] = $3 }
      END {
        for (p in parent) {
          for (q = parent[p]; q in parent && q != root; q = parent[q]) {}
          if (q == root) { kids = kids " " p; sum += rss[p] }
        }
        if (sum > cap) print kids
      }')
    if [ -n "$pids" ]; then
      touch "$OUT/oom"
      # shellcheck disable=SC2086 # a list of pids
      kill -KILL $pids 2>/dev/null || true
      return
    fi
    sleep 1
  done
}

# run_once TOOL QUERY: one timed run. Appends "TOOL STATUS WALL RSS_KB" to
# $OUT/QUERY.runs (STATUS ok, error, timeout or oom); keeps the output of the
# tool's first good run as $OUT/QUERY_TOOL.csv, its stderr (and, when it
# writes the answer to a file itself, its stdout) as $OUT/QUERY_TOOL.err.
# When CMP_TO names a file that is there, every good run's output is
# compared with it (cmp), "TOOL same" or "TOOL differs: ..." appended to
# $OUT/QUERY.cmp.
run_once() {
  local tool=$1 q=$2 rc=0 status=ok wall=0 rss=0 pid gpid
  local out=$OUT/${q}_$tool err=$OUT/${q}_$tool.err tf=$OUT/time
  local RUN_OUT=$out.run stdout=$out.run # RUN_OUT: read by the *_cmd
  writes_file "$q" && stdout=$out.stdout
  set_cmd "$tool" "$q"
  rm -f "$OUT/oom" "$tf" "$out.run"
  /usr/bin/time -f '%e %M' -o "$tf" timeout -k 10 "$TIMEOUT" "${CMD[@]}" \
    >"$stdout" 2>"$err" &
  pid=$!
  guard "$pid" &
  gpid=$!
  wait "$pid" || rc=$?
  kill "$gpid" 2>/dev/null || true
  wait "$gpid" 2>/dev/null || true
  [ -f "$tf" ] && read -r wall rss < <(tail -n1 "$tf")
  if [ "$stdout" != "$out.run" ]; then
    cat "$stdout" >>"$err"
    rm -f "$stdout"
  fi
  if [ -f "$OUT/oom" ]; then
    status=oom
    echo "killed: more than MEM_CAP_MB=$MEM_CAP_MB MiB resident" >>"$err"
  else
    case $rc in
      0) if [ ! -f "$out.run" ]; then
          status=error
          echo "exited 0 but wrote no answer to $RUN_OUT" >>"$err"
        elif [ ! -f "$out.csv" ]; then
          mv "$out.run" "$out.csv"
        fi ;;
      124) status=timeout ;;
      137) if awk -v w="$wall" -v t="$TIMEOUT" 'BEGIN { exit !(w >= t) }'; then
          status=timeout
        else
          status=error
          echo "killed by SIGKILL (the kernel's OOM killer?)" >>"$err"
        fi ;;
      *) status=error ;;
    esac
  fi
  if [ "$status" = ok ] && [ -n "${CMP_TO:-}" ] && [ -f "$CMP_TO" ]; then
    local got=$out.run c
    [ -f "$got" ] || got=$out.csv # the first good run's, just kept
    if c=$(cmp "$CMP_TO" "$got" 2>&1); then echo "$tool same" >>"$OUT/$q.cmp"
    else echo "$tool differs: ${c//$OUT\//}" >>"$OUT/$q.cmp"; fi
  fi
  rm -f "$out.run"
  echo "$tool $status $wall $rss" >>"$OUT/$q.runs"
  printf '  %-28s %7s s %8.0f MiB  %s\n' "$(label "$tool")" "$wall" "$(awk -v k="$rss" 'BEGIN { print k/1024 }')" "$status"
  case $status in # (a killed run shows the RSS of timeout, not the tool)
    error | oom) echo "    $(tail -n1 "$err")" ;;
  esac
  [ "$status" = ok ]
}

# stats TOOL QUERY: "N MEDIAN MIN MAX RSS_KB FAILURES" over the tool's runs
# in $OUT/QUERY.runs: N good runs, their wall times, the peak RSS over them,
# and the statuses of the failed runs ("-" when none), comma-separated.
stats() {
  awk -v tool="$1" '$1 == tool' "$OUT/$2.runs" | sort -k3,3n | awk '
    $2 == "ok" { w[++n] = $3; if ($4 > rss) rss = $4; next }
    { bad = bad (bad ? "," : "") $2 }
    END {
      med = n == 0 ? 0 : n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
      print n + 0, med, w[1] + 0, w[n] + 0, rss + 0, bad ? bad : "-"
    }'
}

# row TOOL QUERY GDASK_MEDIAN [over]: the tool's line of the markdown
# table; the last column is GDASK_MEDIAN / the tool's median, or with over
# the tool's median / GDASK_MEDIAN.
row() {
  local n med min max rss bad name
  read -r n med min max rss bad < <(stats "$1" "$2")
  name=$(label "$1")
  if [ "$n" = 0 ]; then
    [ "$bad" = - ] && bad="not run"
    bad=${bad//oom/oom (> $MEM_CAP_MB MiB)}
    echo "| $name | ${bad//,/, } | — | — | — | — |"
    return
  fi
  [ "$bad" = - ] || name="$name ($n ok, then ${bad//,/, })"
  awk -v name="$name" -v med="$med" -v min="$min" -v max="$max" -v rss="$rss" -v g="$3" -v over="${4:-}" 'BEGIN {
    ratio = g != "" ? sprintf("%.2f", over ? med / g : g / med) : "—"
    printf "| %s | %.2f | %.2f | %.2f | %.0f | %s |\n", name, med, min, max, rss / 1024, ratio
  }'
}

# median_of TOOL QUERY: the median wall time of the tool's good runs, or "".
median_of() {
  local n med rest
  read -r n med rest < <(stats "$1" "$2")
  [ "$n" = 0 ] || echo "$med"
}

# show_cmd: CMD as one would type it: gdask ..., data files by name.
show_cmd() {
  local a line=gdask re="[^A-Za-z0-9_./:=,-]"
  for a in "${CMD[@]:1}"; do
    [[ $a == "$DIR"/* ]] && a=${a##*/}
    [[ $a =~ $re ]] && a="'$a'"
    line+=" $a"
  done
  echo "$line"
}

# rounds Q TOOL...: RUNS rounds of query Q, the tools alternating within a
# round; a tool that failed or timed out is not run again on Q.
rounds() {
  local q=$1 round tool failed=" "
  shift
  for ((round = 1; round <= RUNS; round++)); do
    for tool in "$@"; do
      [[ $failed == *" $tool "* ]] && continue
      run_once "$tool" "$q" || failed+="$tool "
    done
  done
}

# query QUERY TITLE FILE TOOLS...: warm FILE, run every tool RUNS times
# alternating, print the table and the agreement check.
query() {
  local q=$1 title=$2 file=$3 ref gm tool
  shift 3
  local tools=("$@")
  rm -f "$OUT/$q".runs "$OUT/$q"_*.csv "$OUT/$q"_*.err
  echo
  echo "== $title: $(basename "$file"), $RUNS runs, timeout ${TIMEOUT}s"
  cat "$file" >/dev/null # into the page cache
  rounds "$q" "${tools[@]}"

  gm=$(median_of gdask "$q")
  say ""
  say "## $title"
  say ""
  local RUN_OUT=FILE # how show_cmd names the file of a query of writes_file
  set_cmd gdask "$q"
  say "$(basename "$file"), $(stat -c %s "$file") bytes; $RUNS runs each, alternating; wall seconds and peak RSS from GNU time; gdask/tool is the ratio of medians (below 1: gdask is faster)."
  say ""
  say "gdask command: \`$(show_cmd)\`"
  say ""
  say "| tool | median s | min s | max s | peak RSS MiB | gdask/tool |"
  say "|---|---:|---:|---:|---:|---:|"
  for tool in "${tools[@]}"; do
    say "$(row "$tool" "$q" "$gm")"
  done

  # agreement: against gdask's answer, or the first peer's while gdask fails
  ref=
  local others=()
  for tool in "${tools[@]}"; do
    [ -f "$OUT/${q}_$tool.csv" ] || continue
    if [ -z "$ref" ]; then ref=$tool; else others+=("$(label "$tool")=$OUT/${q}_$tool.csv"); fi
  done
  # a filter's answer is a large row set: rows counted, cells checksummed;
  # the sort mode's each have their own (see the header)
  local how=() rule="rows sorted, 6 significant digits"
  case $q in
    q5) how=(--rows)
      rule="row count, and an order-independent checksum of every cell: as written, else as values" ;;
    q6) how=(--ordered)
      rule="the same rows in the same order, every column; integers exactly, other numbers to 6 significant digits" ;;
    s1) how=(--sequence 'value,key')
      rule="row count, and the same sequence of (value, key) row for row, numbers as numbers" ;;
    s2) how=(--scalar)
      rule="the one number" ;;
    s3) how=(--counts)
      rule="the same (pickup_zone, count) pairs, and the counts in the same order" ;;
  esac
  say ""
  if [ -z "$ref" ]; then
    say "agreement: no tool produced an answer"
  elif [ ${#others[@]} -eq 0 ]; then
    say "agreement: only $(label "$ref") produced an answer"
  else
    [ "$ref" = gdask ] || say "(gdask gave no answer: the others checked against $(label "$ref"))"
    say "agreement with $(label "$ref") ($rule):"
    say ""
    say "$("$PYTHON" "$SCRIPTS/compare.py" "${how[@]}" "$OUT/${q}_$ref.csv" "${others[@]}" || true)"
  fi

  # gdask under a memory limit, or watched, must write the very bytes it
  # writes without
  local c
  for tool in "${tools[@]}"; do
    [[ $tool == gdask?* ]] || continue
    say ""
    if [ ! -f "$OUT/${q}_gdask.csv" ] || [ ! -f "$OUT/${q}_$tool.csv" ]; then
      say "$(label "$tool") beside gdask: not compared (no answer from one of them)"
    elif c=$(cmp "$OUT/${q}_gdask.csv" "$OUT/${q}_$tool.csv" 2>&1); then
      say "$(label "$tool") beside gdask: byte-identical output (cmp)"
    else
      say "$(label "$tool") beside gdask: output NOT byte-identical: ${c//$OUT\//}"
    fi
  done
}

# peers MODE: install the peers of the mode (groupby: duckdb dask miller;
# stream, sort: duckdb polars; all: every one) not in SKIP, set PEERS to those
# that are there, and record the settings and their versions in the header.
peers() {
  ensure_time
  local p want
  case $1 in
    groupby) want="duckdb dask miller" ;;
    stream | sort) want="duckdb polars" ;;
    *) want="duckdb dask miller polars" ;;
  esac
  PEERS=()
  for p in $want; do
    if [[ " $SKIP " == *" $p "* ]]; then
      echo "== skipping $p (SKIP)"
    elif "ensure_$p"; then
      PEERS+=("$p")
    else
      echo "== skipping $p: could not install it" >&2
    fi
  done
  local common="RUNS=$RUNS, TIMEOUT=${TIMEOUT}s, MEM_CAP_MB=$MEM_CAP_MB${SKIP:+, SKIP=$SKIP}"
  local wide
  wide="WIDE_ROWS=$WIDE_ROWS ($(basename "$WIDE"): benchgen -schema wide -rows $WIDE_ROWS -seed 42)"
  case $1 in groupby | all)
    say "- groupby: ROWS=$ROWS, KEYS_ROWS=$KEYS_ROWS, KEYS_CATEGORIES=$KEYS_CATEGORIES, $common" ;;
  esac
  case $1 in stream | all) say "- stream: $wide, $common" ;; esac
  case $1 in sort | all)
    say "- sort: $wide, HIGHCARD_ROWS=$HIGHCARD_ROWS ($(basename "$HIGHCARD"): benchgen -schema highcard -rows $HIGHCARD_ROWS -keys $HIGHCARD_KEYS -seed 42), $common" ;;
  esac
  versions
}

# peers_of TOOL...: set TOOLS to the PEERS among TOOLS, in that order.
peers_of() {
  local t p
  TOOLS=()
  for t in "$@"; do
    for p in "${PEERS[@]}"; do
      if [ "$p" = "$t" ]; then TOOLS+=("$t"); fi
    done
  done
}

groupby() {
  gen_data "$BIG" "$ROWS"
  gen_data "$KEYS" "$KEYS_ROWS" "$KEYS_CATEGORIES"
  local TOOLS
  peers_of duckdb dask miller

  query q1 "Q1 seed: mean of value by category, value_mean > 500" "$BIG" gdask "${TOOLS[@]}"
  query q2 "Q2 high cardinality: count, sum of value by category ($KEYS_CATEGORIES keys)" "$KEYS" gdask gdask256 "${TOOLS[@]}"
  query q3 "Q3 many aggregates: count, sum, min, max, mean, std of value by category" "$BIG" gdask "${TOOLS[@]}"
}

stream() {
  gen_wide
  local TOOLS
  peers_of duckdb polars

  query q5 "Q5 filter: every column of the rows with fare_amount > 20" "$WIDE" gdask "${TOOLS[@]}"
  query q7 "Q7 mean of fare_amount by payment_type" "$WIDE" gdask "${TOOLS[@]}"
}

# sorts: the sort mode (not `sort`, which would hide sort(1) from stats).
sorts() {
  gen_wide
  gen_highcard
  local TOOLS
  peers_of duckdb polars

  query q6 "Q6 top-k: the 10 rows of largest fare_amount, ties by trip_id" "$WIDE" gdask "${TOOLS[@]}"
  query s1 "S1 full sort: every row by value, key, to a file" "$HIGHCARD" gdask gdask128 "${TOOLS[@]}"
  query s2 "S2 distinct: the number of distinct keys" "$HIGHCARD" gdask "${TOOLS[@]}"
  query s3 "S3 value counts of pickup_zone" "$WIDE" gdask "${TOOLS[@]}"
}

# dashboard_cost QUERY VARIANT...: each variant's median beside plain gdask's.
dashboard_cost() {
  local q=$1 g v m
  shift
  g=$(median_of gdask "$q")
  say ""
  say "cost beside plain gdask (ratio of medians):"
  say ""
  for v in "$@"; do
    m=$(median_of "$v" "$q")
    [ -n "$g" ] && [ -n "$m" ] || continue
    say "- $(label "$v"): $(awk -v m="$m" -v g="$g" 'BEGIN { printf "%.3f (%+.1f%%)", m / g, (m / g - 1) * 100 }')"
  done
}

# dashboards: the dashboard mode.
dashboards() {
  gen_data "$BIG" "$ROWS"
  DASH_PORT=${DASH_PORT:-8799}
  query d1 "D1 seed query, watched: --dashboard, a stuck page, --report" "$BIG" gdask gdask-dash gdask-stuck gdask-report
  dashboard_cost d1 gdask-dash gdask-stuck gdask-report
  [ -f "$OUT/report.html" ] && say "- report of the last --report run: $(stat -c %s "$OUT/report.html") bytes"
  # the report of a run of about 10,000 partitions
  local bs parts
  bs=$(($(stat -c %s "$BIG") / 10000 / 1024))KiB
  parts=$("$G" info "$BIG" --blocksize "$bs" -o table | awk '$1 == "partitions" { print $2 }')
  gdask_cmd q1
  "${CMD[@]}" --blocksize "$bs" --report "$OUT/report10k.html" >/dev/null
  say "- report of the seed query in $parts partitions (--blocksize $bs): $(stat -c %s "$OUT/report10k.html") bytes"
  # 1 MiB partitions: a thousand partitions' bars fill the stuck page's
  # socket early in the run, so the server's writes block for most of it
  query d2 "D2 seed query in 1 MiB partitions, with a stuck page" "$BIG" gdask gdask-stuck
  dashboard_cost d2 gdask-stuck
}

# spans QUERY: "FIRST OTHERS MERGE" from $OUT/QUERY.shardtimes: the medians
# over the sharded runs of the first shard's wall seconds, of the mean of
# the other shards', and of the merge's.
spans() {
  awk '
    function median(a, n,   i, j, t) {
      for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n == 0 ? 0 : n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
      n++
      first[n] = $2 - $1
      other = 0
      for (i = 3; i < NF - 1; i += 2) other += $(i + 1) - $i
      others[n] = NF > 4 ? other / ((NF - 4) / 2) : 0
      merge[n] = $NF - $(NF - 1)
    }
    END { printf "%.2f %.2f %.2f\n", median(first, n), median(others, n), median(merge, n) }
  ' "$OUT/$1.shardtimes"
}

# cmp_summary QUERY TOOL...: how many of each tool's good runs gave the
# reference answer, byte for byte (from $OUT/QUERY.cmp).
cmp_summary() {
  local q=$1 tool same runs bad
  shift
  [ -f "$OUT/$q.cmp" ] || : >"$OUT/$q.cmp"
  for tool in "$@"; do
    runs=$(awk -v t="$tool" '$1 == t' "$OUT/$q.cmp" | wc -l)
    same=$(awk -v t="$tool" '$1 == t && $2 == "same"' "$OUT/$q.cmp" | wc -l)
    if [ "$runs" = 0 ]; then
      say "- $(label "$tool"): not compared (no answer from it or from the local run)"
    elif [ "$same" = "$runs" ]; then
      say "- $(label "$tool"): byte-identical in $same of $runs runs (cmp)"
    else
      bad=$(awk -v t="$tool" '$1 == t && $2 != "same" { $1 = ""; print; exit }' "$OUT/$q.cmp")
      say "- $(label "$tool"): NOT byte-identical in $((runs - same)) of $runs runs:$bad"
    fi
  done
}

# shard_query QUERY TITLE FILE: warm FILE, run the query locally and as
# SHARDS shards in turn plus the merge, RUNS runs each, alternating; print
# the table, the ratio, the shard and merge medians, and the cmp of every
# run's answer with the local run's first.
shard_query() {
  local q=$1 title=$2 file=$3 lm sm first others merge
  local tools=(gdask gdask-shards) tool CMP_TO=$OUT/${q}_gdask.csv
  rm -rf "$OUT/$q".runs "$OUT/$q".cmp "$OUT/$q".shardtimes "$OUT/$q".state \
    "$OUT/$q"_*.csv "$OUT/$q"_*.err
  echo
  echo "== $title: $(basename "$file"), $RUNS runs, timeout ${TIMEOUT}s"
  cat "$file" >/dev/null # into the page cache
  rounds "$q" "${tools[@]}"

  lm=$(median_of gdask "$q")
  sm=$(median_of gdask-shards "$q")
  say ""
  say "## $title"
  say ""
  say "$(basename "$file"), $(stat -c %s "$file") bytes; $RUNS runs each, alternating; wall seconds and peak RSS (of the largest process) from GNU time; /local is the ratio of medians, this run's / the local run's (the bar for the sharded run: <= 1.15)."
  say ""
  set_cmd gdask "$q"
  say "- local: \`$(show_cmd)\`"
  say "- sharded, one timed unit: \`rm -rf DIR; for i in 0..$((SHARDS - 1)): $(show_cmd) --shard \$i/$SHARDS --state-out DIR; gdask merge DIR > out\`"
  say ""
  say "| run | median s | min s | max s | peak RSS MiB | /local |"
  say "|---|---:|---:|---:|---:|---:|"
  for tool in "${tools[@]}"; do
    say "$(row "$tool" "$q" "$lm" over)"
  done
  say ""
  if [ -n "$lm" ] && [ -n "$sm" ]; then
    say "sharded / local (medians): $(awk -v s="$sm" -v l="$lm" 'BEGIN {
      r = s / l; printf "%.3f (%+.1f%%): %s the bar of 1.15", r, (r - 1) * 100, (r <= 1.15 ? "within" : "MISSES") }')"
  fi
  if [ -s "$OUT/$q.shardtimes" ]; then
    read -r first others merge < <(spans "$q")
    say ""
    say "inside the sharded runs (medians over $(wc -l <"$OUT/$q.shardtimes") runs, wall seconds):"
    say ""
    say "- first shard (writes plan.json): $first"
    say "- each other shard (mean of the $((SHARDS - 1))): $others"
    say "- merge: $merge"
    say "- first shard beyond the others (about what the plan costs): $(awk -v f="$first" -v o="$others" 'BEGIN { printf "%.2f", f - o }')"
  fi
  say ""
  say "answers beside the local run's first (cmp):"
  say ""
  cmp_summary "$q" "${tools[@]}"
}

# merge_throughput: S-M, MERGE_SHARDS shards of S-H made once, untimed,
# then their merge timed RUNS times; the bytes of the state files, MB/s, and
# the cmp of each merge's answer with S-H's local answer.
merge_throughput() {
  local q=sm st=$OUT/sm.state i start end bytes n med min max rss bad shown
  local CMP_TO=$OUT/sh_gdask.csv
  rm -rf "$OUT/$q".runs "$OUT/$q".cmp "$st" "$OUT/$q"_*.csv "$OUT/$q"_*.err
  set_cmd gdask sm
  shown=$(show_cmd)
  echo
  echo "== S-M: $MERGE_SHARDS shards of S-H (untimed)"
  cat "$HIGHCARD" >/dev/null
  start=$EPOCHREALTIME
  for ((i = 0; i < MERGE_SHARDS; i++)); do
    "${CMD[@]}" --shard "$i/$MERGE_SHARDS" --state-out "$st" 2>"$OUT/sm_shards.err" ||
      { say ""; say "## S-M merge throughput"; say ""
        say "shard $i/$MERGE_SHARDS failed: $(tail -n1 "$OUT/sm_shards.err")"; return; }
  done
  end=$EPOCHREALTIME
  bytes=$(stat -c %s "$st"/shard-*.state | awk '{ s += $1 } END { print s + 0 }')
  cat "$st"/* >/dev/null
  echo "== S-M: gdask merge, $RUNS runs"
  for ((i = 1; i <= RUNS; i++)); do
    run_once gdask-merge "$q" || break
  done
  read -r n med min max rss bad < <(stats gdask-merge "$q")
  say ""
  say "## S-M merge throughput: gdask merge of $MERGE_SHARDS states of S-H"
  say ""
  say "states: \`$shown --shard i/$MERGE_SHARDS --state-out DIR\` for i in 0..$((MERGE_SHARDS - 1)), made once, untimed ($(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }') s in all); $MERGE_SHARDS state files, $bytes bytes (plan.json: $(stat -c %s "$st/plan.json") bytes), in the page cache; \`gdask merge DIR > out\` $RUNS runs; MB/s = state bytes / median seconds / 1e6 (the bar: >= 200)."
  say ""
  say "| run | median s | min s | max s | peak RSS MiB | state bytes | MB/s |"
  say "|---|---:|---:|---:|---:|---:|---:|"
  if [ "$n" = 0 ]; then
    say "| $(label gdask-merge) | ${bad//,/, } | — | — | — | $bytes | — |"
  else
    say "$(awk -v name="$(label gdask-merge)" -v med="$med" -v min="$min" -v max="$max" -v rss="$rss" -v b="$bytes" 'BEGIN {
      printf "| %s | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f |\n", name, med, min, max, rss / 1024, b, (med > 0 ? b / med / 1e6 : 0) }')"
    say ""
    say "$(awk -v med="$med" -v b="$bytes" 'BEGIN {
      r = med > 0 ? b / med / 1e6 : 0; printf "merge throughput: %.0f MB/s: %s the bar of 200 MB/s", r, (r >= 200 ? "within" : "MISSES") }')"
  fi
  say ""
  say "answers beside S-H's local answer (cmp):"
  say ""
  cmp_summary "$q" gdask-merge
}

# shards: the shards mode.
shards() {
  gen_data "$BIG" "$ROWS"
  gen_highcard
  say "- shards: ROWS=$ROWS, HIGHCARD_ROWS=$HIGHCARD_ROWS ($(basename "$HIGHCARD"): benchgen -schema highcard -rows $HIGHCARD_ROWS -keys $HIGHCARD_KEYS -seed 42), SHARDS=$SHARDS, MERGE_SHARDS=$MERGE_SHARDS, RUNS=$RUNS, TIMEOUT=${TIMEOUT}s, MEM_CAP_MB=$MEM_CAP_MB"
  shard_query sq1 "S-Q1 seed query, local and as $SHARDS shards + merge" "$BIG"
  shard_query sh "S-H count, sum of value by key ($HIGHCARD_KEYS keys), local and as $SHARDS shards + merge" "$HIGHCARD"
  merge_throughput
}

build
header
case $MODE in foundation | dashboard | shards) ;; *) peers "$MODE" ;; esac
case $MODE in
  foundation) foundation ;;
  groupby) groupby ;;
  stream) stream ;;
  sort) sorts ;;
  dashboard) ensure_time; dashboards ;;
  shards) ensure_time; shards ;;
  all) foundation; groupby; stream; sorts; dashboards; shards ;;
esac
[ "$MODE" = foundation ] || { echo; echo "== results in $RESULTS"; }
