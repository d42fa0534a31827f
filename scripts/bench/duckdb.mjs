// Runs one SQL query in DuckDB (through @duckdb/node-api) and prints the
// result as CSV with a header on stdout; scripts/bench.sh times it.
//
//   DUCKDB_DIR=/tmp/gdask-bench/duckdb node scripts/bench/duckdb.mjs 'SELECT ...'
//   DUCKDB_DIR=... node scripts/bench/duckdb.mjs "COPY (SELECT ...) TO 'FILE' (HEADER)"
//   DUCKDB_DIR=... node scripts/bench/duckdb.mjs --version
//
// DUCKDB_DIR is the scratch directory where `npm install @duckdb/node-api`
// ran (the package is not in the repo). DUCKDB_THREADS sets the thread count
// (default 2). The result is written by DuckDB's own CSV writer
// (COPY ... TO '/dev/stdout'), so no time goes into converting rows in JS.
// DuckDB reopens /dev/stdout, which truncates a regular file: send stdout to
// a pipe, a terminal or a file of its own (bench.sh gives each run its own).
// A statement that is a COPY already runs as it is and writes where it says,
// printing nothing (bench.sh's full sort writes its answer so).
import { createRequire } from 'node:module';
import path from 'node:path';

const dir = process.env.DUCKDB_DIR;
if (!dir) {
  console.error('duckdb.mjs: set DUCKDB_DIR to the directory holding node_modules/@duckdb/node-api');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(dir), 'package.json'));
const duckdb = require('@duckdb/node-api');

const arg = process.argv[2];
if (!arg) {
  console.error("usage: node duckdb.mjs 'SQL' | --version");
  process.exit(2);
}
if (arg === '--version') {
  const pkg = require('@duckdb/node-api/package.json');
  console.log(`duckdb ${duckdb.version()} (@duckdb/node-api ${pkg.version})`);
  process.exit(0);
}

const threads = process.env.DUCKDB_THREADS || '2';
// spill files, if any, go to the scratch directory, not the working one
const instance = await duckdb.DuckDBInstance.create(':memory:', {
  threads,
  temp_directory: path.join(path.resolve(dir), 'tmp'),
});
const conn = await instance.connect();
await conn.run(`SET threads=${Number(threads)}`);
const sql = arg.trim().replace(/;+\s*$/, '');
await conn.run(/^copy\b/i.test(sql) ? sql : `COPY (${sql}) TO '/dev/stdout' (FORMAT csv, HEADER true)`);
conn.closeSync();
