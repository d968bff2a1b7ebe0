import { loadSafetensors } from '../models/safetensors-file.ts';
import type { Module } from '../nn/module.ts';
import { UsageError } from './flags.ts';

/**
 * Loads `file` into a freshly built model for `laurel train --init-from` (either layout, detected from the
 * file). A plain network's weights (no LAUREL parameters in the file) may start a LAUREL model: its LAUREL
 * parameters keep their initial values, and a line on stderr says so. Any other problem with the file
 * (unreadable, malformed, names or shapes that do not fit) is a usage error naming it, and leaves the model
 * untouched.
 */
export function loadInitialWeights(model: Module, file: string): void {
  let kept: string[];
  try {
    kept = loadSafetensors(model, file, { keepLaurel: true }).kept;
  } catch (e) {
    // the library's messages name the file; said once here
    const msg = (e as Error).message.replace(/^safetensors: /, '');
    const why = msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg;
    throw new UsageError(`laurel train: --init-from ${file}: ${why}`);
  }
  if (kept.length > 0) {
    process.stderr.write(
      `laurel train: --init-from ${file} holds no LAUREL parameters; the model's ${kept.length} start from their initial values\n`,
    );
  }
}
