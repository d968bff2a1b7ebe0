/**
 * A tiny typed flag parser. Each command declares a table of flags; the table is the single source of truth
 * for parsing, validation and `--help` text.
 */

import { isJsonObject } from '../util/json.ts';

export type FlagType = 'int' | 'number' | 'string' | 'path' | 'bool';
export type FlagValue = number | string | boolean;

export interface FlagDef {
  name: string;
  type: FlagType;
  help: string;
  /** Allowed values (strings). */
  choices?: readonly string[];
  /** Default value shown in help and applied when the flag is absent. */
  default?: FlagValue;
  /** Text for defaults that depend on other flags, e.g. "resnet20 (fashion-mnist), gpt (text)". */
  defaultText?: string;
  /** Inclusive lower bound for numbers. */
  min?: number;
  /** Inclusive upper bound for numbers. */
  max?: number;
  /** Exclusive lower bound for numbers (e.g. lr > 0). */
  above?: number;
  /** Heading of the group the flag is listed under in help. */
  group?: string;
}

/** An error meant for the user: printed without a stack trace, with its exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** An error in the command line (unknown flag, bad value, missing dataset): exit status 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

export interface Parsed {
  values: Record<string, FlagValue | undefined>;
  /** Flags given explicitly on the command line. */
  given: Set<string>;
}

/** The string value of a flag the command cannot run without: `laurel COMMAND: --NAME META is required`. */
export function requiredFlag(values: Parsed['values'], name: string, command: string, meta: string): string {
  const v = values[name];
  if (v === undefined) throw new UsageError(`laurel ${command}: --${name} ${meta} is required`);
  return v as string;
}

function convert(def: FlagDef, raw: string, command: string): FlagValue {
  const bad = (want: string) =>
    new UsageError(`laurel ${command}: bad value '${raw}' for --${def.name}: expected ${want}`);
  let v: FlagValue;
  switch (def.type) {
    case 'int':
      v = Number.parseInt(raw, 10);
      if (!/^[-+]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(v))
        throw bad('an integer (at most 2^53 - 1)');
      break;
    case 'number':
      v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw bad('a number');
      break;
    case 'bool':
      if (!['true', 'false', '1', '0', 'yes', 'no'].includes(raw)) throw bad('true or false');
      v = ['true', '1', 'yes'].includes(raw);
      break;
    default:
      if (raw === '') throw bad('a non-empty value');
      v = raw;
  }
  if (def.choices && !def.choices.includes(String(v))) throw bad(`one of ${def.choices.join(', ')}`);
  if (typeof v === 'number') {
    if (def.min !== undefined && v < def.min) throw bad(`a value >= ${def.min}`);
    if (def.max !== undefined && v > def.max) throw bad(`a value <= ${def.max}`);
    if (def.above !== undefined && !(v > def.above)) throw bad(`a value > ${def.above}`);
  }
  return v;
}

/** The JSON type a stored flag of each type has. */
const JS_TYPE: Record<FlagType, string> = {
  int: 'number',
  number: 'number',
  string: 'string',
  path: 'string',
  bool: 'boolean',
};

/**
 * Checks flags read back from a file (a run's stored flags) by the command line's rules: `stored` must be an
 * object whose every key is one of `defs`, with a value of the flag's type that passes its checks. `source`
 * names the file in errors, e.g. "laurel train: run/config.json: bad value 'foo' for --task: ...".
 */
export function checkStoredFlags(
  stored: unknown,
  defs: readonly FlagDef[],
  command: string,
  source: string,
): Record<string, FlagValue> {
  const where = `${command}: ${source}`;
  if (!isJsonObject(stored)) {
    throw new UsageError(`laurel ${where}: the stored flags are not an object`);
  }
  const byName = new Map(defs.map((d) => [d.name, d]));
  for (const [name, v] of Object.entries(stored)) {
    const def = byName.get(name);
    if (def === undefined) throw new UsageError(`laurel ${where}: unknown stored flag --${name}`);
    const want = JS_TYPE[def.type];
    const actual: string = typeof v;
    if (actual !== want) {
      throw new UsageError(
        `laurel ${where}: bad value ${JSON.stringify(v)} for --${name}: expected a ${want}`,
      );
    }
    if (def.type !== 'bool') convert(def, String(v), where);
  }
  return stored as Record<string, FlagValue>;
}

/**
 * Parses `--name value`, `--name=value`, boolean `--name` / `--no-name`. Unknown flags, missing values,
 * repeated flags, stray arguments and bad values throw a UsageError naming the flag.
 */
export function parseFlags(argv: readonly string[], defs: readonly FlagDef[], command: string): Parsed {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const values: Record<string, FlagValue | undefined> = {};
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      throw new UsageError(`laurel ${command}: unexpected argument '${arg}' (flags start with --)`);
    }
    const eq = arg.indexOf('=');
    let name = arg.slice(2, eq < 0 ? undefined : eq);
    let raw: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    let def = byName.get(name);
    if (!def && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'bool' && raw === undefined) {
      name = name.slice(3);
      def = byName.get(name);
      raw = 'false';
    }
    if (!def) {
      throw new UsageError(`laurel ${command}: unknown flag --${name} (see laurel ${command} --help)`);
    }
    if (given.has(name)) throw new UsageError(`laurel ${command}: --${name} is given more than once`);
    if (raw === undefined) {
      if (def.type === 'bool') raw = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('--') && next.length > 2)) {
          throw new UsageError(`laurel ${command}: --${name} needs a value`);
        }
        raw = next;
        i++;
      }
    }
    values[name] = convert(def, raw, command);
    given.add(name);
  }
  for (const d of defs) if (!given.has(d.name) && d.default !== undefined) values[d.name] = d.default;
  return { values, given };
}

const PLACEHOLDER: Record<FlagType, string> = { int: 'N', number: 'X', string: 'S', path: 'PATH', bool: '' };

/** Help text: usage line, description, then every flag with its type, choices and default, by group. */
export function formatHelp(
  command: string,
  usage: string,
  description: string,
  defs: readonly FlagDef[],
): string {
  const lines = [`Usage: laurel ${command} ${usage}`.trimEnd(), '', description, ''];
  const groups = [...new Set(defs.map((d) => d.group ?? 'Options'))];
  for (const g of groups) {
    lines.push(`${g}:`);
    for (const d of defs.filter((x) => (x.group ?? 'Options') === g)) {
      const ph = d.choices ? d.choices.join('|') : PLACEHOLDER[d.type];
      const left = `  --${d.name}${ph ? ` ${ph}` : ''}`;
      const def =
        d.defaultText ?? (d.default !== undefined && d.default !== false ? String(d.default) : undefined);
      const text = `${d.help}${def !== undefined ? ` (default: ${def})` : ''}`;
      lines.push(left.length >= 34 ? `${left}\n${' '.repeat(34)}${text}` : `${left.padEnd(34)}${text}`);
    }
    lines.push('');
  }
  lines.push('  --help                          Show this help');
  return `${lines.join('\n')}\n`;
}
