/**
 * The safetensors file format (Hugging Face), as a pure bytes codec: no tensors, no models.
 *
 *   [8 bytes: N, u64 little-endian] [N bytes: JSON header, UTF-8, may end in spaces] [data]
 *
 * The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (byte offsets into the
 * data section) and may hold "__metadata__", an object of string → string. Checks follow the reference
 * implementation (the `safetensors` Rust crate): N ≤ 100,000,000; the header starts with '{'; offsets are
 * contiguous from 0 in the order of their begin, so they neither overlap nor leave holes, and the last end is
 * the data section's length; end − begin = elements × dtype size. On top of it we reject duplicate names
 * (JSON.parse would silently keep the last) and fields we do not know. The writer pads the header with spaces
 * so that the data section starts at a multiple of 8, and orders tensors by dtype size, largest first (as the
 * reference does), so that every tensor is aligned to its element size. See docs/formats.md.
 */

/** Bytes per element of every dtype the format defines. */
export const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type Dtype = keyof typeof DTYPE_BYTES;

/** The reference implementation's limit on N, the header's length. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a file: its dtype, shape and raw little-endian bytes (a view into the file's bytes). */
export interface RawTensor {
  dtype: Dtype;
  shape: number[];
  data: Uint8Array;
}

export interface SafetensorsContents {
  /** Tensors by name, in the order of their data offsets. */
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** A tensor to write: float32, int32 or int64 (BigInt64Array) values. */
export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

const METADATA_KEY = '__metadata__';
const TENSOR_FIELDS = ['dtype', 'shape', 'data_offsets'];

function dtypeOf(data: TensorToWrite['data']): Dtype {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Int32Array) return 'I32';
  return 'I64';
}

const elementCount = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Encodes tensors (and string metadata) as a safetensors file. Throws on a name that is empty or
 * `__metadata__`, a shape that does not match the values, or metadata that is not string → string.
 */
export function encodeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`safetensors: metadata '${k}' must be a string`);
  }
  const entries = Object.entries(tensors).map(([name, t]) => {
    if (name === '' || name === METADATA_KEY) throw new Error(`safetensors: bad tensor name '${name}'`);
    if (!t.shape.every((s) => Number.isInteger(s) && s >= 0) || elementCount(t.shape) !== t.data.length) {
      throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    }
    return { name, dtype: dtypeOf(t.data), t };
  });
  // Largest elements first (stable), so that every tensor's offset is a multiple of its element size.
  entries.sort((a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype]);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const e of entries) {
    const bytes = e.t.data.byteLength;
    header[e.name] = { dtype: e.dtype, shape: e.t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  if (json.length > MAX_HEADER_BYTES) throw new Error('safetensors: header larger than 100,000,000 bytes');
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const e of entries) {
    const d = e.t.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/**
 * The top-level keys of a JSON object text, in order, duplicates included (JSON.parse keeps only the last).
 * Assumes the text already parsed as JSON.
 */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      let j = i + 1;
      while (' \t\n\r'.includes(json[j])) j++;
      if (depth === 1 && json[j] === ':') keys.push(JSON.parse(json.slice(start, i + 1)));
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Decodes a safetensors file (`source` names it in errors). Every violation of the format throws a one-line
 * error: `safetensors: SOURCE: what is wrong`. Tensor data are views into `bytes`, not copies.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'input'): SafetensorsContents {
  const fail = (why: string): never => {
    throw new Error(`safetensors: ${source}: ${why}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const headerBytes = Number(n);
  if (8 + headerBytes > bytes.length)
    fail(`header length ${headerBytes} runs past the end of the file (${bytes.length} bytes; truncated?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail("header does not start with '{'");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail('header is not a JSON object');
  const seen = new Set<string>();
  for (const k of topLevelKeys(text)) {
    if (seen.has(k)) fail(`tensor '${k}' appears twice in the header`);
    seen.add(k);
  }
  const data = bytes.subarray(8 + headerBytes);
  const metadata: Record<string, string> = {};
  const infos: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (info === null || typeof info !== 'object' || Array.isArray(info))
        fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(info as object)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (info === null || typeof info !== 'object' || Array.isArray(info))
      return fail(`${where} is not an object`);
    const t = info as Record<string, unknown>;
    for (const f of TENSOR_FIELDS) if (!(f in t)) fail(`${where} lacks '${f}'`);
    for (const f of Object.keys(t)) if (!TENSOR_FIELDS.includes(f)) fail(`${where} has unknown field '${f}'`);
    if (typeof t.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, t.dtype)) {
      fail(
        `${where} has unknown dtype ${JSON.stringify(t.dtype)}; known: ${Object.keys(DTYPE_BYTES).join(', ')}`,
      );
    }
    if (!Array.isArray(t.shape) || !t.shape.every(isCount))
      fail(`${where} has a bad shape ${JSON.stringify(t.shape)}; expected an array of integers >= 0`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[1] < off[0])
      fail(
        `${where} has bad data_offsets ${JSON.stringify(off)}; expected [begin, end] with 0 <= begin <= end`,
      );
    const dtype = t.dtype as Dtype;
    const shape = t.shape as number[];
    const [begin, end] = off as number[];
    const want = elementCount(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== want)
      fail(`${where} (${dtype}, shape [${shape}]) needs ${want} bytes, its data_offsets span ${end - begin}`);
    infos.push({ name, dtype, shape, begin, end });
  }
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let next = 0;
  for (const i of infos) {
    if (i.begin < next)
      fail(`tensor '${i.name}' overlaps the previous tensor (data_offsets begin ${i.begin})`);
    if (i.begin > next) fail(`gap in the data before tensor '${i.name}' (bytes ${next}..${i.begin})`);
    next = i.end;
  }
  if (next !== data.length) {
    fail(
      next > data.length
        ? `tensors need ${next} bytes of data, the file has ${data.length} (truncated?)`
        : `${data.length - next} bytes of data after the last tensor`,
    );
  }
  const tensors = new Map<string, RawTensor>();
  for (const i of infos)
    tensors.set(i.name, { dtype: i.dtype, shape: i.shape, data: data.subarray(i.begin, i.end) });
  return { tensors, metadata };
}

/** A float16 bit pattern as a number (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The values of a tensor as float32: F32 as stored; F16 and BF16 widened exactly; F64 rounded to the nearest
 * float32, like torch's `.float()` (a finite value beyond float32's range is an error, not an Inf).
 * Integer and other dtypes are refused: a weight stored as integers is not what the reader expects.
 */
export function toFloat32(t: RawTensor, name: string): Float32Array {
  const { data } = t;
  // A copy, so aligned whatever the tensor's offset (little-endian hosts, as every Node.js platform is).
  if (t.dtype === 'F32') return new Float32Array(new Uint8Array(data).buffer);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float32Array(elementCount(t.shape));
  if (t.dtype === 'F16') {
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else if (t.dtype === 'BF16') {
    const word = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < out.length; i++) {
      word.setUint32(0, view.getUint16(2 * i, true) << 16);
      out[i] = word.getFloat32(0);
    }
  } else if (t.dtype === 'F64') {
    for (let i = 0; i < out.length; i++) {
      const v = view.getFloat64(8 * i, true);
      out[i] = v;
      if (Number.isFinite(v) && !Number.isFinite(out[i]))
        throw new Error(`safetensors: tensor '${name}' (F64) holds ${v}, beyond float32's range`);
    }
  } else {
    throw new Error(`safetensors: tensor '${name}' has dtype ${t.dtype}; expected F32, F16, BF16 or F64`);
  }
  return out;
}

/** The values of an integer tensor as int32 (I32, or I64 / U8 / I8 / I16 / U16 values within int32's range). */
export function toInt32(t: RawTensor, name: string): Int32Array {
  const { data } = t;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = elementCount(t.shape);
  const out = new Int32Array(n);
  const read: Partial<Record<Dtype, (i: number) => number | bigint>> = {
    I32: (i) => view.getInt32(4 * i, true),
    I64: (i) => view.getBigInt64(8 * i, true),
    I16: (i) => view.getInt16(2 * i, true),
    U16: (i) => view.getUint16(2 * i, true),
    I8: (i) => view.getInt8(i),
    U8: (i) => view.getUint8(i),
  };
  const get = read[t.dtype];
  if (!get) throw new Error(`safetensors: tensor '${name}' has dtype ${t.dtype}; expected an integer dtype`);
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (v < -(2 ** 31) || v > 2 ** 31 - 1)
      throw new Error(`safetensors: tensor '${name}' holds ${v}, beyond int32's range`);
    out[i] = Number(v);
  }
  return out;
}
