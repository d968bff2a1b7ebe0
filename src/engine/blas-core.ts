// OpenBLAS picks its kernels for the CPU it detects when it loads. Debian's 0.3.21 does not know this
// machine's Xeon (Emerald Rapids) and falls back to its SSE3 "Prescott" kernels: 65 GFLOP/s for a 1024³ SGEMM
// on 2 cores instead of 305 with its AVX-512 "SkylakeX" ones. OPENBLAS_CORETYPE overrides the detection; it
// must be set before the library loads, so loadAddon calls this first. A value the user set is kept.
import { readFileSync } from 'node:fs';

/** The OpenBLAS core type for a CPU with these /proc/cpuinfo flags, or null to leave the detection alone. */
export function openblasCoreType(flags: ReadonlySet<string>): string | null {
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  if (has('avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl')) return 'SkylakeX';
  if (has('avx2', 'fma')) return 'Haswell';
  return null;
}

/** The flags of the first CPU in /proc/cpuinfo (empty where there is none, e.g. not Linux). */
export function cpuFlags(cpuinfo?: string): Set<string> {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return new Set();
    }
  }
  const line = text.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(
    line
      ? line
          .replace(/^flags\s*:/, '')
          .trim()
          .split(/\s+/)
      : [],
  );
}

/** Sets OPENBLAS_CORETYPE from the CPU's flags unless it is set already; returns the value in force. */
export function ensureOpenblasCoreType(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.OPENBLAS_CORETYPE) return env.OPENBLAS_CORETYPE;
  const core = openblasCoreType(cpuFlags());
  if (core) env.OPENBLAS_CORETYPE = core;
  return core;
}
