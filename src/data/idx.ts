/**
 * Reader for the IDX format of (Fashion-)MNIST: a 4-byte big-endian magic number
 * `0x0000 08 nd` (type 0x08 = unsigned byte, `nd` = number of dimensions), `nd` big-endian uint32 sizes,
 * then `prod(sizes)` bytes of data in row-major order. Files may be gzip-compressed (detected by the gzip
 * magic bytes 1f 8b, not by the file name).
 *
 * Every problem (missing file, not gzip although named .gz, corrupt gzip stream, bad magic, unexpected
 * dimensions, truncated data, trailing bytes) throws an Error whose message names the file and the problem.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Magic number of an IDX file of uint8 images: 3 dimensions [N, H, W]. */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of uint8 labels: 1 dimension [N]. */
export const IDX_LABELS_MAGIC = 0x00000801;

/** A decoded IDX array: `data.length === dims.reduce((a, b) => a * b)`, row-major. */
export interface IdxArray {
  /** e.g. [60000, 28, 28] for images, [60000] for labels. */
  dims: number[];
  /** The raw uint8 values (a view on the decompressed buffer). */
  data: Uint8Array;
}

/** What the caller expects: the magic number (which fixes the rank) and optionally some exact sizes. */
export interface IdxExpect {
  magic?: number;
  /** Exact sizes to check; `undefined` entries are not checked (e.g. `[undefined, 28, 28]`). */
  dims?: (number | undefined)[];
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Decodes an IDX file held in memory. `name` is used in error messages (normally the file path).
 * Gzip is detected from the first two bytes.
 */
export function parseIdx(buf: Uint8Array, name: string, expect: IdxExpect = {}): IdxArray {
  let bytes = buf;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(
        `${name}: corrupted or truncated gzip data (${(e as Error).message}); delete the file and reinstall it`,
      );
    }
  } else if (name.endsWith('.gz')) {
    throw new Error(
      `${name}: not a gzip file although its name ends in .gz (first bytes ${hexBytes(bytes)})`,
    );
  }
  if (bytes.length < 4) {
    throw new Error(
      `${name}: too short for an IDX file (${bytes.length} bytes, need at least 4 for the magic)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic >>> 16 !== 0 || ((magic >>> 8) & 0xff) !== 0x08) {
    throw new Error(
      `${name}: bad magic number ${hex(magic)} (expected 0x000008NN, IDX of unsigned bytes): not IDX or corrupted`,
    );
  }
  if (expect.magic !== undefined && magic !== expect.magic) {
    throw new Error(`${name}: bad magic number ${hex(magic)}, expected ${hex(expect.magic)}`);
  }
  const nd = magic & 0xff;
  if (nd === 0) throw new Error(`${name}: IDX header declares 0 dimensions`);
  const headerLen = 4 + 4 * nd;
  if (bytes.length < headerLen) {
    throw new Error(`${name}: truncated header (${bytes.length} bytes, the header needs ${headerLen})`);
  }
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  if (expect.dims) {
    if (expect.dims.length !== nd) {
      throw new Error(`${name}: has ${nd} dimensions [${dims.join(', ')}], expected ${expect.dims.length}`);
    }
    expect.dims.forEach((d, i) => {
      if (d !== undefined && dims[i] !== d) {
        throw new Error(`${name}: dimension ${i} is ${dims[i]}, expected ${d} (dims [${dims.join(', ')}])`);
      }
    });
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerLen + count;
  if (bytes.length < expected) {
    throw new Error(
      `${name}: truncated: header declares dims [${dims.join(', ')}] = ${count} bytes of data, ` +
        `but the file holds only ${bytes.length - headerLen} (${expected - bytes.length} missing)`,
    );
  }
  if (bytes.length > expected) {
    throw new Error(
      `${name}: size mismatch: header declares dims [${dims.join(', ')}] = ${count} bytes of data, ` +
        `but the file holds ${bytes.length - headerLen} (${bytes.length - expected} extra bytes)`,
    );
  }
  return { dims, data: bytes.subarray(headerLen, expected) };
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ') || '(empty)';
}

/** Reads and decodes an IDX file (gzip or raw) from disk. */
export function readIdx(path: string, expect: IdxExpect = {}): IdxArray {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: cannot read IDX file (${code ?? (e as Error).message})`);
  }
  return parseIdx(buf, path, expect);
}

/** Reads an IDX image file: dims [N, H, W], magic 0x00000803. */
export function readIdxImages(path: string): IdxArray {
  return readIdx(path, { magic: IDX_IMAGES_MAGIC });
}

/** Reads an IDX label file: dims [N], magic 0x00000801. */
export function readIdxLabels(path: string): IdxArray {
  return readIdx(path, { magic: IDX_LABELS_MAGIC });
}

/** Encodes an IDX uint8 array (used by tests and for writing user data). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const headerLen = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLen + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerLen);
  return out;
}
