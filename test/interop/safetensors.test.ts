// The safetensors codec (src/util/safetensors.ts): round trips, known bytes, and every malformed-file case.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  MAX_HEADER_BYTES,
  type RawTensor,
  decodeSafetensors,
  encodeSafetensors,
  toFloat32,
  toInt32,
} from '../../src/util/safetensors.ts';

/** A file from a header (object or literal text) and a data section. */
function file(header: unknown, data: number[] | Uint8Array = [], lengthOverride?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (...v: number[]) => [...new Uint8Array(new Float32Array(v).buffer)];
const u16 = (...v: number[]) => [...new Uint8Array(new Uint16Array(v).buffer)];
const raw = (dtype: RawTensor['dtype'], shape: number[], bytes: number[]): RawTensor => ({
  dtype,
  shape,
  data: Uint8Array.from(bytes),
});

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'x.safetensors'),
    (e: Error) => {
      assert.match(e.message, /^safetensors: x\.safetensors: /);
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    },
  );
}

test('round trip: F32, I32, I64 and metadata; header padded with spaces to 8 bytes; tensors aligned', () => {
  const bytes = encodeSafetensors(
    {
      b: { shape: [3], data: new Float32Array([1.5, -2, 3.25]) },
      scalar: { shape: [], data: new Float32Array([7]) },
      steps: { shape: [], data: new BigInt64Array([12345678901n]) },
      idx: { shape: [2, 2], data: new Int32Array([1, -2, 3, 2 ** 31 - 1]) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    },
    { format: 'pt', note: 'ünïcode' },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const header = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  assert.match(header, /^\{.*\} *$/);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { format: 'pt', note: 'ünïcode' });
  // Largest dtype first, then the given order.
  assert.deepEqual([...tensors.keys()], ['steps', 'b', 'scalar', 'idx', 'empty']);
  for (const t of tensors.values()) {
    const size = { F32: 4, I32: 4, I64: 8 }[t.dtype as 'F32'];
    assert.equal((t.data.byteOffset - 8 - n) % size, 0, 'aligned to its element size');
  }
  assert.deepEqual([...toFloat32(tensors.get('b')!, 'b')], [1.5, -2, 3.25]);
  assert.deepEqual(tensors.get('scalar')!.shape, []);
  assert.deepEqual([...toFloat32(tensors.get('scalar')!, 'scalar')], [7]);
  assert.deepEqual([...toInt32(tensors.get('idx')!, 'idx')], [1, -2, 3, 2 ** 31 - 1]);
  assert.deepEqual(tensors.get('empty')!.shape, [0, 4]);
  assert.equal(tensors.get('empty')!.data.length, 0);
  assert.throws(() => toInt32(tensors.get('steps')!, 'steps'), /'steps' holds 12345678901, beyond int32/);
});

test('an empty file list encodes as {} and decodes back; no __metadata__ key when there is none', () => {
  const bytes = encodeSafetensors({});
  assert.equal(Buffer.from(bytes.subarray(8)).toString(), '{}      ');
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.equal(tensors.size, 0);
  assert.deepEqual(metadata, {});
});

test('known bytes: a hand-written file decodes (unpadded header, key order free)', () => {
  const bytes = file(
    '{"w":{"data_offsets":[8,12],"shape":[1],"dtype":"F32"},"v":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    [...f32(1, 2), ...f32(-0.5)],
  );
  const { tensors } = decodeSafetensors(bytes);
  assert.deepEqual([...tensors.keys()], ['v', 'w']);
  assert.deepEqual([...toFloat32(tensors.get('v')!, 'v')], [1, 2]);
  assert.deepEqual([...toFloat32(tensors.get('w')!, 'w')], [-0.5]);
});

test('F16 and BF16 widen exactly; F64 rounds to nearest float32 and refuses overflow', () => {
  const half = toFloat32(raw('F16', [7], u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x3555)), 'h');
  assert.deepEqual(
    [...half.slice(0, 6)],
    [1, -2, 65504, 2 ** -24, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
  );
  assert.equal(half[6], Math.fround(0.333251953125));
  assert.ok(Number.isNaN(toFloat32(raw('F16', [1], u16(0x7e00)), 'h')[0]));
  const bf = toFloat32(raw('BF16', [3], u16(0x3f80, 0xc0a0, 0x0001)), 'b');
  assert.deepEqual([...bf], [1, -5, Math.fround(2 ** -133)]);
  const d = [...new Uint8Array(new Float64Array([0.1, -1e-50, 3]).buffer)];
  assert.deepEqual([...toFloat32(raw('F64', [3], d), 'd')], [Math.fround(0.1), -0, 3]);
  const big = [...new Uint8Array(new Float64Array([1e39]).buffer)];
  assert.throws(
    () => toFloat32(raw('F64', [1], big), 'd'),
    /'d' \(F64\) holds 1e\+39, beyond float32's range/,
  );
});

test('integer dtypes read as int32 when they fit; the wrong kind of dtype is refused', () => {
  const i64 = [...new Uint8Array(new BigInt64Array([-5n, 2n ** 31n - 1n]).buffer)];
  assert.deepEqual([...toInt32(raw('I64', [2], i64), 'n')], [-5, 2 ** 31 - 1]);
  const tooSmall = [...new Uint8Array(new BigInt64Array([-(2n ** 31n) - 1n]).buffer)];
  assert.throws(() => toInt32(raw('I64', [1], tooSmall), 'n'), /beyond int32's range/);
  assert.deepEqual([...toInt32(raw('U8', [2], [255, 1]), 'u')], [255, 1]);
  assert.deepEqual([...toInt32(raw('I8', [1], [255]), 'i')], [-1]);
  assert.throws(
    () => toFloat32(raw('I32', [1], [0, 0, 0, 0]), 'k'),
    /'k' has dtype I32; expected F32, F16, BF16 or F64/,
  );
  assert.throws(() => toInt32(raw('F32', [1], f32(1)), 'k'), /'k' has dtype F32; expected an integer dtype/);
  assert.throws(() => toFloat32(raw('BOOL', [1], [1]), 'k'), /dtype BOOL/);
});

test('malformed files: each gives one clear line', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  rejects(new Uint8Array(5), /5 bytes, shorter than the 8-byte header length/);
  rejects(
    file('{}', [], BigInt(MAX_HEADER_BYTES + 1)),
    /header length 100000001 exceeds the limit of 100000000 bytes/,
  );
  rejects(file('{}', [], 2n ** 64n - 1n), /exceeds the limit/);
  rejects(file('{}', [], 40n), /header length 40 runs past the end of the file \(10 bytes; truncated\?\)/);
  rejects(file(Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1')), /not valid UTF-8|not valid JSON/);
  const badUtf8 = file('{ }');
  badUtf8[9] = 0xc3;
  rejects(badUtf8, /header is not valid UTF-8/);
  rejects(file('[1, 2]'), /header does not start with '\{'/);
  rejects(file(' {}'), /header does not start with '\{'/);
  rejects(file('{"a": '), /header is not valid JSON/);
  rejects(
    file(
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
      f32(1, 2),
    ),
    /tensor 'a' appears twice in the header/,
  );
  rejects(file({ __metadata__: { v: 1 } }), /__metadata__ 'v' is not a string/);
  rejects(file({ __metadata__: ['x'] }), /__metadata__ is not an object of strings/);
  rejects(file({ a: 3 }), /tensor 'a' is not an object/);
  rejects(file({ a: { dtype: 'F32', shape: [2] } }), /tensor 'a' lacks 'data_offsets'/);
  rejects(file({ a: { ...ok.a, extra: 1 } }, f32(1, 2)), /tensor 'a' has unknown field 'extra'/);
  rejects(
    file({ a: { ...ok.a, dtype: 'F128' } }, f32(1, 2)),
    /tensor 'a' has unknown dtype "F128"; known: BOOL/,
  );
  rejects(file({ a: { ...ok.a, shape: [-2] } }, f32(1, 2)), /tensor 'a' has a bad shape \[-2\]/);
  rejects(file({ a: { ...ok.a, shape: [1.5] } }, f32(1, 2)), /bad shape/);
  rejects(file({ a: { ...ok.a, shape: 2 } }, f32(1, 2)), /bad shape/);
  rejects(
    file({ a: { ...ok.a, data_offsets: [8, 0] } }, f32(1, 2)),
    /tensor 'a' has bad data_offsets \[8,0\]/,
  );
  rejects(file({ a: { ...ok.a, data_offsets: [0, 4, 8] } }, f32(1, 2)), /bad data_offsets/);
  rejects(file({ a: { ...ok.a, data_offsets: [0, 2 ** 60] } }, f32(1, 2)), /bad data_offsets/);
  rejects(
    file({ a: { ...ok.a, shape: [3] } }, f32(1, 2)),
    /tensor 'a' \(F32, shape \[3\]\) needs 12 bytes, its data_offsets span 8/,
  );
  const two = (b: number[], c: number[]) => ({
    a: { dtype: 'F32', shape: [1], data_offsets: b },
    b: { dtype: 'F32', shape: [1], data_offsets: c },
  });
  rejects(file(two([0, 4], [2, 6]), f32(1, 2)), /tensor 'b' overlaps the previous tensor/);
  rejects(file(two([0, 4], [0, 4]), f32(1)), /overlaps/);
  rejects(file(two([0, 4], [8, 12]), f32(1, 2, 3)), /gap in the data before tensor 'b' \(bytes 4\.\.8\)/);
  rejects(
    file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)),
    /gap in the data before tensor 'a' \(bytes 0\.\.4\)/,
  );
  rejects(file(ok, f32(1)), /tensors need 8 bytes of data, the file has 4 \(truncated\?\)/);
  rejects(file(ok, f32(1, 2, 3)), /4 bytes of data after the last tensor/);
});

test('the writer refuses bad names, shapes that do not match the values, and non-string metadata', () => {
  const t = { shape: [2], data: new Float32Array(2) };
  assert.throws(() => encodeSafetensors({ __metadata__: t }), /bad tensor name '__metadata__'/);
  assert.throws(() => encodeSafetensors({ '': t }), /bad tensor name ''/);
  assert.throws(
    () => encodeSafetensors({ a: { shape: [3], data: new Float32Array(2) } }),
    /'a' has 2 values for shape \[3\]/,
  );
  assert.throws(
    () => encodeSafetensors({ a: { shape: [-1, -2], data: new Float32Array(2) } }),
    /'a' has 2 values/,
  );
  assert.throws(() => encodeSafetensors({}, { n: 3 as unknown as string }), /metadata 'n' must be a string/);
});

test('names with dots, slashes, quotes and non-ASCII survive; a header of many names is parsed correctly', () => {
  const names = ['layer1.0.conv1.weight', 'a/b', 'q"uote', 'ünï', 'x:y', 'br{ace'];
  const tensors = Object.fromEntries(names.map((n, i) => [n, { shape: [1], data: new Float32Array([i]) }]));
  const { tensors: back } = decodeSafetensors(encodeSafetensors(tensors));
  for (const [i, n] of names.entries()) assert.deepEqual([...toFloat32(back.get(n)!, n)], [i]);
});

test('a file written by python/laurel_torch.save_file (every dtype we convert) reads back the values torch holds', () => {
  const ref = JSON.parse(readFileSync('test/fixtures/torch_export_logits.json', 'utf8')).written as Record<
    string,
    { dtype: string; shape: number[]; values: number[] }
  >;
  const { tensors, metadata } = decodeSafetensors(readFileSync('test/fixtures/torch_written.safetensors'));
  assert.deepEqual(metadata, { source: 'laurel_torch.save_file', format: 'pt' });
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(ref).sort());
  for (const [name, r] of Object.entries(ref)) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, r.shape, name);
    const ints = ['int64', 'int32', 'uint8'].includes(r.dtype);
    const ours = ints ? toInt32(t, name) : toFloat32(t, name);
    assert.deepEqual([...ours], ints ? r.values : r.values.map(Math.fround), name);
  }
});
