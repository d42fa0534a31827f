// Runs one of scripts/bench.sh's stream or sort queries with Polars
// (through nodejs-polars) and writes the result as CSV with a header to OUT,
// stdout by default; scripts/bench.sh times it.
//
//   POLARS_DIR=/tmp/gdask-bench/polars node scripts/bench/polars.mjs QUERY FILE [OUT]
//   POLARS_DIR=... node scripts/bench/polars.mjs --version
//   node scripts/bench/polars.mjs --native-package
//
//   q5  every row with fare_amount > 20, all columns, in input order
//   q7  mean of fare_amount by payment_type, sorted by payment_type:
//       payment_type,fare_amount_mean
//   q6  the 10 rows of largest fare_amount, ties by trip_id (top-k), every
//       column
//   s1  every row sorted by value, then key (highcard's key,value)
//   s2  the number of distinct keys: count
//   s3  the rows of each pickup_zone, by count descending, then pickup_zone:
//       pickup_zone,count
//
// POLARS_DIR is the scratch directory where `npm install nodejs-polars` ran
// (the package is not in the repo). POLARS_MAX_THREADS sets the size of
// Polars' thread pool (default 2 here; Polars' own default is every core).
// Every query is lazy (scanCSV) and ends in sinkCSV, so Polars runs it on
// its streaming engine and its own CSV writer writes the answer: no rows are
// converted in JS. Like duckdb.mjs, the sink reopens /dev/stdout, which
// truncates a regular file: send stdout to a pipe, a terminal or a file of
// its own (bench.sh gives each run its own), or name the file as OUT (bench.sh
// does for s1, whose answer is as large as its input).
//
// --native-package prints the name of the npm package that holds Polars'
// native library for this machine (nodejs-polars-linux-x64-gnu, ...): an
// optional dependency of nodejs-polars that npm leaves out when the running
// node is older than its engines field asks, though it loads (bench.sh then
// installs it by name).
import { createRequire } from 'node:module';
import path from 'node:path';

const [query, file, out = '/dev/stdout'] = process.argv.slice(2);

if (query === '--native-package') {
  // the napi-rs names: <platform>-<arch>[-gnu|-musl|-msvc]
  let abi = '';
  if (process.platform === 'linux') {
    abi = process.report.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl';
  } else if (process.platform === 'win32') {
    abi = '-msvc';
  }
  console.log(`nodejs-polars-${process.platform}-${process.arch}${abi}`);
  process.exit(0);
}

const dir = process.env.POLARS_DIR;
if (!dir) {
  console.error('polars.mjs: set POLARS_DIR to the directory holding node_modules/nodejs-polars');
  process.exit(2);
}
// read when Polars' thread pool starts, i.e. at the first query, not at load
process.env.POLARS_MAX_THREADS ||= '2';
const require = createRequire(path.join(path.resolve(dir), 'package.json'));

if (query === '--version') {
  require('nodejs-polars'); // fails when the native library does not load
  const pkg = require('nodejs-polars/package.json');
  const native = Object.keys(pkg.optionalDependencies || {}).find((name) => {
    try {
      require.resolve(`${name}/package.json`);
      return true;
    } catch {
      return false;
    }
  });
  const nv = native ? require(`${native}/package.json`).version : '?';
  console.log(`nodejs-polars ${pkg.version} (${native || 'native library'} ${nv})`);
  process.exit(0);
}
const pl = require('nodejs-polars');
const plans = {
  q5: (lf) => lf.filter(pl.col('fare_amount').gt(20)),
  q7: (lf) =>
    lf
      .groupBy('payment_type')
      .agg(pl.col('fare_amount').mean().alias('fare_amount_mean'))
      .sort('payment_type'),
  q6: (lf) => lf.sort(['fare_amount', 'trip_id'], [true, false]).head(10),
  s1: (lf) => lf.sort(['value', 'key']),
  s2: (lf) => lf.select(pl.col('key').nUnique().alias('count')),
  s3: (lf) =>
    lf
      .groupBy('pickup_zone')
      .agg(pl.len().alias('count'))
      .sort(['count', 'pickup_zone'], [true, false]),
};
if (!Object.hasOwn(plans, query) || !file) {
  console.error(`usage: node polars.mjs ${Object.keys(plans).join('|')} FILE [OUT] | --version | --native-package`);
  process.exit(2);
}

await plans[query](pl.scanCSV(file)).sinkCSV(out, { includeHeader: true }).collect();
