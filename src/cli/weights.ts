import { loadSafetensors } from '../models/safetensors.ts';
import type { Module } from '../nn/module.ts';
import { UsageError } from './flags.ts';

/**
 * Loads `file` into a freshly built model for `laurel train --init-from` (either layout, detected from the
 * file); any problem with the file (unreadable, malformed, names or shapes that do not fit) is a usage error
 * naming it, and leaves the model untouched.
 */
export function loadInitialWeights(model: Module, file: string): void {
  try {
    loadSafetensors(model, file);
  } catch (e) {
    // the library's messages name the file; said once here
    const msg = (e as Error).message.replace(/^safetensors: /, '');
    const why = msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg;
    throw new UsageError(`laurel train: --init-from ${file}: ${why}`);
  }
}
