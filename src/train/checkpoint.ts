import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../util/errors.ts';
import { ensureDir, writeFileAtomic } from '../util/files.ts';
import { isJsonObject } from '../util/json.ts';
import type { NamedTensors, OptimizerState } from './optim/index.ts';

/**
 * Checkpoints: `DIR/checkpoint/manifest.json` (everything but tensor values) + one binary blob holding every
 * tensor back to back. Writing is atomic: the blob is written under a new name, then the manifest is written to
 * a temp file and renamed over the old one (the commit point), then the old blob is removed. A crash at any
 * moment leaves either the old or the new checkpoint, complete; a failed write (a full disk) removes its
 * partial file. Problems with a stored checkpoint throw an InputError naming the folder and the problem.
 */

export const CHECKPOINT_FORMAT = 'laurel-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** Best-so-far: the metric the run selects on (`accuracy`, higher is better, or `loss`, lower is better). */
export interface BestMetric {
  metric: string;
  value: number;
  step: number;
}

export interface CheckpointState {
  params: NamedTensors;
  buffers: NamedTensors;
  optimizer: OptimizerState;
  step: number;
  epoch: number;
  /** The data iterator's saved state (JSON). */
  data: unknown;
  /** The run's Rng state. */
  rng: number;
  /** The run's configuration (JSON). */
  config: unknown;
  /** A digest of the run's data (null: not recorded, as by checkpoints written before it was). */
  dataFingerprint?: string | null;
  best: BestMetric | null;
}

type Group = 'params' | 'buffers' | 'optimizer';

interface TensorEntry {
  group: Group;
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  offset: number;
  bytes: number;
}

interface Manifest {
  format: string;
  version: number;
  blob: string;
  bytes: number;
  sha256: string;
  tensors: TensorEntry[];
  optimizer: OptimizerState['meta'];
  step: number;
  epoch: number;
  data: unknown;
  rng: number;
  config: unknown;
  data_fingerprint?: string | null;
  best: BestMetric | null;
  saved_at: string;
}

export function checkpointDir(runDir: string): string {
  return join(runDir, 'checkpoint');
}

export function hasCheckpoint(runDir: string): boolean {
  return existsSync(join(checkpointDir(runDir), 'manifest.json'));
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // not every file system allows fsync on a directory; the renames are still atomic
  }
}

/** Writes the checkpoint of a run to `runDir/checkpoint/` atomically (synchronous, so a signal handler can use it). */
export function saveCheckpoint(runDir: string, s: CheckpointState): void {
  const dir = checkpointDir(runDir);
  ensureDir(dir);
  const entries: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const groups: [Group, NamedTensors][] = [
    ['params', s.params],
    ['buffers', s.buffers],
    ['optimizer', s.optimizer.tensors],
  ];
  for (const [group, tensors] of groups) {
    for (const [name, t] of Object.entries(tensors)) {
      if (t.dtype !== 'float32' && t.dtype !== 'int32') {
        throw new Error(`checkpoint: tensor '${name}' has unsupported dtype ${t.dtype}`);
      }
      const v = t.dataSync() as Float32Array | Int32Array;
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
      entries.push({ group, name, dtype: t.dtype, shape: t.shape, offset, bytes: bytes.length });
      chunks.push(bytes);
      offset += bytes.length;
    }
  }
  const blob = Buffer.concat(chunks);
  const blobName = `blob-${String(s.step).padStart(8, '0')}-${process.pid}-${Date.now().toString(36)}.bin`;
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    blob: blobName,
    bytes: blob.length,
    sha256: createHash('sha256').update(blob).digest('hex'),
    tensors: entries,
    optimizer: s.optimizer.meta,
    step: s.step,
    epoch: s.epoch,
    data: s.data,
    rng: s.rng,
    config: s.config,
    data_fingerprint: s.dataFingerprint ?? null,
    best: s.best,
    saved_at: new Date().toISOString(),
  };
  writeFileAtomic(join(dir, blobName), blob, { durable: true });
  writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`, { durable: true });
  fsyncDir(dir);
  for (const f of readdirSync(dir)) {
    if (f !== blobName && f !== 'manifest.json') rmSync(join(dir, f), { force: true });
  }
}

export interface LoadedCheckpoint extends CheckpointState {
  /** Releases every tensor of the loaded checkpoint. */
  dispose(): void;
}

function bad(dir: string, why: string): InputError {
  return new InputError(`bad checkpoint in ${dir}: ${why}`);
}

/** What a checkpoint's manifest says, without reading its blob (step, stored config, best metric). */
export interface CheckpointInfo {
  step: number;
  epoch: number;
  config: unknown;
  best: BestMetric | null;
}

/** Reads and checks `runDir/checkpoint/manifest.json`. */
function readManifest(runDir: string): Manifest {
  const dir = checkpointDir(runDir);
  const mpath = join(dir, 'manifest.json');
  if (!existsSync(mpath)) throw new InputError(`no checkpoint in ${dir} (manifest.json is missing)`);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(mpath, 'utf8'));
  } catch (e) {
    throw bad(dir, `manifest.json is not valid JSON (truncated?): ${(e as Error).message}`);
  }
  if (m?.format !== CHECKPOINT_FORMAT) throw bad(dir, `manifest.json is not a ${CHECKPOINT_FORMAT}`);
  if (m.version !== CHECKPOINT_VERSION) {
    throw bad(dir, `format version ${m.version}, this laurel reads version ${CHECKPOINT_VERSION}`);
  }
  // The SHA-256 covers the blob only: every other field is checked here, so that an edited or damaged
  // manifest is refused before anything is restored from it.
  const field = whichFieldIsBad(m);
  if (field !== null) throw bad(dir, `manifest.json has a bad or missing '${field}'`);
  return m;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The first manifest field that does not have the type `saveCheckpoint` writes, or null. */
function whichFieldIsBad(m: Manifest): string | null {
  if (typeof m.blob !== 'string' || m.blob === '' || m.blob.includes('/')) return 'blob';
  if (!isCount(m.bytes)) return 'bytes';
  if (typeof m.sha256 !== 'string') return 'sha256';
  if (!isCount(m.step)) return 'step';
  const d = m.data_fingerprint;
  if (d !== undefined && d !== null && typeof d !== 'string') return 'data_fingerprint';
  if (!(Number.isFinite(m.epoch) && m.epoch >= 0)) return 'epoch';
  if (!(Number.isInteger(m.rng) && m.rng >= 0 && m.rng <= 0xffffffff)) return 'rng';
  if (!isJsonObject(m.optimizer) || typeof m.optimizer.type !== 'string' || !isCount(m.optimizer.step))
    return 'optimizer';
  const b = m.best as unknown;
  if (
    b !== null &&
    !(isJsonObject(b) && typeof b.metric === 'string' && Number.isFinite(b.value) && isCount(b.step))
  )
    return 'best';
  if (!Array.isArray(m.tensors)) return 'tensors';
  for (const [i, e] of (m.tensors as unknown[]).entries()) {
    if (
      !isJsonObject(e) ||
      typeof e.name !== 'string' ||
      !Array.isArray(e.shape) ||
      !e.shape.every(isCount) ||
      !isCount(e.offset) ||
      !isCount(e.bytes)
    )
      return `tensors[${i}]`;
  }
  return null;
}

/** The manifest's step, epoch, stored config and best metric (checked like `loadCheckpoint`, blob not read). */
export function readCheckpointInfo(runDir: string): CheckpointInfo {
  const m = readManifest(runDir);
  return { step: m.step, epoch: m.epoch, config: m.config, best: m.best };
}

/**
 * Reads `runDir/checkpoint/`, verifying the format, the blob's size and its SHA-256. Throws an InputError that
 * names the directory and what is wrong. The caller owns the returned tensors (`dispose()`).
 */
export function loadCheckpoint(runDir: string): LoadedCheckpoint {
  const dir = checkpointDir(runDir);
  const m = readManifest(runDir);
  const bpath = join(dir, m.blob);
  if (!existsSync(bpath)) throw bad(dir, `blob ${m.blob} is missing`);
  const blob = readFileSync(bpath);
  if (blob.length !== m.bytes) {
    throw bad(dir, `blob ${m.blob} has ${blob.length} bytes, the manifest expects ${m.bytes} (truncated?)`);
  }
  if (createHash('sha256').update(blob).digest('hex') !== m.sha256) {
    throw bad(dir, `blob ${m.blob} fails its SHA-256 check (corrupted)`);
  }
  const out: Record<Group, NamedTensors> = { params: {}, buffers: {}, optimizer: {} };
  for (const e of m.tensors) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (
      e.offset + e.bytes > blob.length ||
      e.bytes !== size * 4 ||
      !(e.group in out) ||
      (e.dtype !== 'float32' && e.dtype !== 'int32')
    ) {
      throw bad(dir, `tensor '${e.name}' does not fit the blob`);
    }
    const bytes = new Uint8Array(blob.buffer, blob.byteOffset + e.offset, e.bytes).slice();
    const values = e.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    out[e.group][e.name] = tf.tensor(values, e.shape, e.dtype);
  }
  return {
    params: out.params,
    buffers: out.buffers,
    optimizer: { meta: m.optimizer, tensors: out.optimizer },
    step: m.step,
    epoch: m.epoch,
    data: m.data,
    rng: m.rng,
    config: m.config,
    dataFingerprint: m.data_fingerprint ?? null,
    best: m.best,
    dispose() {
      for (const g of Object.values(out)) for (const t of Object.values(g)) t.dispose();
    },
  };
}

/**
 * Copies `saved` tensors into live variables by name, checking that the names and shapes agree exactly.
 * `what` names the group in error messages ("parameter", "buffer").
 */
export function assignNamed(
  targets: { name: string; variable: tf.Variable }[],
  saved: NamedTensors,
  what: string,
): void {
  const names = new Set(targets.map((t) => t.name));
  const extra = Object.keys(saved).filter((n) => !names.has(n));
  if (extra.length > 0) throw new InputError(`checkpoint has ${what} '${extra[0]}' that this model lacks`);
  for (const t of targets) {
    const s = saved[t.name];
    if (s === undefined) throw new InputError(`checkpoint lacks ${what} '${t.name}'`);
    if (!tf.util.arraysEqual(s.shape, t.variable.shape)) {
      throw new InputError(
        `checkpoint ${what} '${t.name}' has shape [${s.shape}], the model has [${t.variable.shape}]`,
      );
    }
    t.variable.assign(s);
  }
}
