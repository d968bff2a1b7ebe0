// Commands that live outside src/ and register themselves before the CLI starts (bench/cli.ts, from a
// repository checkout through bin/laurel.mjs): src/ never imports them.

export interface Command {
  summary: string;
  help: () => Promise<string>;
  run: (argv: string[]) => Promise<number>;
}

const extra = new Map<string, Command>();

export function registerCommand(name: string, command: Command): void {
  extra.set(name, command);
}

export function registeredCommands(): ReadonlyMap<string, Command> {
  return extra;
}
