// Walrus's own WASM encoder (@mysten/walrus-wasm) on a file: the blob ID of FILE
// for N shards, computed as Walrus's client does, by encoding all slivers, or
// with --metadata by compute_metadata. For bench_wasm.sh.
// usage: node wasm_blobid.mjs ORACLE_DIR N FILE [--metadata]
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';
const [oracle, nArg, file, mode] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { BlobEncoder } = require(path.join(path.resolve(oracle), 'node_modules/@mysten/walrus-wasm/nodejs/walrus_wasm.js'));
const n = parseInt(nArg, 10);
const data = new Uint8Array(fs.readFileSync(file));
const b64 = (a) => Buffer.from(a).toString('base64url');
if (mode === '--metadata') {
  const meta = new BlobEncoder(n).compute_metadata(data);
  process.stdout.write(b64(meta[0]) + '\n');
  process.exit(0);
}
const f = Math.floor((n - 1) / 3), rows = n - 2 * f, cols = n - f;
let s = Math.floor((Math.max(data.length, 1) - 1) / (rows * cols)) + 1;
if (s % 2) s++;
const uleb = (v) => { let k = 1; v >>= 7; while (v) { k++; v >>= 7; } return k; };
const pb = [], sb = [];
for (let i = 0; i < n; i++) {
  pb.push(new Uint8Array(uleb(cols * s) + cols * s + 4));
  sb.push(new Uint8Array(uleb(rows * s) + rows * s + 4));
}
const [meta] = new BlobEncoder(n).encode(data, pb, sb);
process.stdout.write(b64(meta.blob_id) + '\n');
