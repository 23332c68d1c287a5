// Writes golden QuiltV1 vectors made by Mysten's TypeScript SDK
// (@mysten/walrus encodeQuilt, WalrusClient.computeBlobMetadata), offline.
// usage: node vectors.mjs > vectors.json
//
// A file's bytes come from its seed, as ../../../../shared/oracle's:
// x = seed; for each byte: x = (x*1103515245 + 12345) mod 2^32; byte = x >>> 24.
// An identifier may be given as {"repeat": S, "count": K} (S repeated K times).
import { createHash } from 'crypto';
import { WalrusClient, encodeQuilt } from '@mysten/walrus';
import { SuiGrpcClient } from '@mysten/sui/grpc';

// No request is ever sent: numShards is given, so nothing is read from the chain.
const sui = new SuiGrpcClient({ network: 'testnet', baseUrl: 'http://127.0.0.1:1' });
const walrus = new WalrusClient({ network: 'testnet', suiClient: sui });

const bytesOf = (size, seed) => {
  const b = new Uint8Array(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; b[i] = x >>> 24; }
  return b;
};
const ident = (id) => (typeof id === 'string' ? id : id.repeat.repeat(id.count));
const file = (identifier, size, seed, tags) => ({ identifier, size, seed, ...(tags ? { tags } : {}) });
const many = (k, f) => Array.from({ length: k }, (_, i) => f(i));

// Each case: a name, the shard count and the files. Identifiers avoid the
// code points U+E000..U+FFFF together with ones above U+FFFF, the only case
// where this SDK's sort (UTF-16) and Walrus's Rust one (bytes) disagree.
const cases = [
  { name: 'one_file_n10', n: 10, files: [file('hello.txt', 100, 1)] },
  { name: 'one_empty_file_n10', n: 10, files: [file('empty', 0, 0)] },
  { name: 'many_files_n10', n: 10, files: [
    file('b.bin', 1000, 2), file('a.txt', 17, 3, { type: 'text' }), file('z', 0, 0),
    file('c d.json', 300, 4, { b: '1', aa: '2', ccc: '3' }), file('.hidden', 1, 5)] },
  { name: 'max_blobs_n10', n: 10, files: many(6, (i) => file(`f${i}`, 40 * i, 10 + i)) },
  { name: 'big_and_small_n10', n: 10, files: [file('big', 50000, 6), file('small', 3, 7), file('tiny', 1, 8)] },
  { name: 'empty_files_n100', n: 100, files: many(20, (i) => file(`empty-${String(i).padStart(2, '0')}`, 0, 0)) },
  { name: 'tags_n100', n: 100, files: [
    file('tagged', 500, 9, { '': 'empty key', b: '', aa: 'x', ccc: 'y', 'é': 'ü', key: 'v'.repeat(200) }),
    file('untagged', 500, 10),
    file('one-tag', 64, 11, { creator: 'walrus' })] },
  { name: 'unicode_ids_n100', n: 100, files: [
    file('Z', 5, 12), file('a', 5, 13), file('é', 5, 14), file('ä', 5, 15),
    file('日本語.txt', 5, 16), file('😀', 5, 17), file('-dash', 5, 18), file('_under', 5, 19)] },
  { name: 'uleb_ids_n10', n: 10, files: [
    file({ repeat: 'a', count: 127 }, 10, 20), file({ repeat: 'b', count: 128 }, 10, 21),
    file({ repeat: 'c', count: 16383 }, 10, 22), file({ repeat: 'd', count: 16384 }, 10, 23)] },
  { name: 'longest_id_n10', n: 10, files: [file({ repeat: 'x', count: 65531 }, 7, 24)] },
  { name: 'multi_column_index_n100', n: 100, files: many(60, (i) => file(`${String(i).padStart(3, '0')}-${'p'.repeat(200)}`, 20, 30 + i)) },
  { name: 'max_blobs_n100', n: 100, files: many(66, (i) => file(`file-${String(i).padStart(2, '0')}`, 7 * i, 100 + i)) },
  { name: 'one_file_n1000', n: 1000, files: [file('hello.txt', 1000, 25)] },
  { name: 'many_files_n1000', n: 1000, files: many(100, (i) => file(`dir/file-${String(i).padStart(3, '0')}.dat`, 13 * i * i, 200 + i, i % 3 ? undefined : { i: String(i) })) },
  { name: 'too_many_blobs_n10', n: 10, files: many(7, (i) => file(`f${i}`, 1, i)), error: 'too_many_blobs' },
  { name: 'duplicate_n10', n: 10, files: [file('same', 1, 1), file('same', 2, 2)], error: 'duplicate_identifier' },
];

// Vectors keep the quilt's bytes when it is at most this long, else its SHA-256 only.
const MAX_INLINE = 4096;
const hex = (a) => Buffer.from(a).toString('hex');
const out = [];
for (const c of cases) {
  const blobs = c.files.map((f) => ({
    identifier: ident(f.identifier), contents: bytesOf(f.size, f.seed), ...(f.tags ? { tags: f.tags } : {}),
  }));
  const v = { name: c.name, n: c.n, files: c.files };
  if (c.error) {
    try { encodeQuilt({ blobs, numShards: c.n }); } catch (e) { v.error = c.error; out.push(v); continue; }
    throw new Error(`${c.name}: expected an error`);
  }
  const { quilt, index } = encodeQuilt({ blobs, numShards: c.n });
  const meta = await walrus.computeBlobMetadata({ bytes: quilt, numShards: c.n });
  const idBytes = Buffer.from(meta.blobId, 'base64url');
  v.quilt_len = quilt.length;
  v.quilt_sha256 = createHash('sha256').update(quilt).digest('hex');
  if (quilt.length <= MAX_INLINE) v.quilt_hex = hex(quilt);
  v.quilt_id = meta.blobId;
  v.index = index.patches.map((p) => ({
    identifier: p.identifier, start: p.startIndex, end: p.endIndex, tags: p.tags,
    // Walrus's QuiltPatchId: quilt ID ‖ version 1 ‖ start u16 LE ‖ end u16 LE, URL-safe base64.
    patch_id: Buffer.concat([idBytes, Buffer.from([1, p.startIndex & 255, p.startIndex >> 8, p.endIndex & 255, p.endIndex >> 8])]).toString('base64url'),
  }));
  out.push(v);
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
