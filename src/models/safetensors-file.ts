/** Safetensors files in Node: the byte-level codec of safetensors.ts, read from and written to disk. */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Module } from '../nn/module.ts';
import { decodeSafetensors } from '../util/safetensors.ts';
import {
  type ExportOptions,
  type ImportOptions,
  type ImportResult,
  assignSafetensors,
  encodeModel,
} from './safetensors.ts';

/** Writes `model`'s weights to `file` atomically (a temp file renamed into place). */
export function saveSafetensors(model: Module, file: string, opts: ExportOptions): void {
  const bytes = encodeModel(model, opts);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new Error(`safetensors: cannot write ${file}: ${err.code ?? err.message}`);
  }
}

/** Reads `file` into `model` (see assignSafetensors); returns the layout used and the file's metadata. */
export function loadSafetensors(
  model: Module,
  file: string,
  opts: Omit<ImportOptions, 'source'> = {},
): ImportResult & { metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(
      `safetensors: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const contents = decodeSafetensors(bytes, file);
  return { ...assignSafetensors(model, contents, { ...opts, source: file }), metadata: contents.metadata };
}
