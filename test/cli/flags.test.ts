import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FlagDef, UsageError, formatHelp, parseFlags } from '../../src/cli/flags.ts';

const defs: FlagDef[] = [
  { name: 'lr', type: 'number', above: 0, help: 'Learning rate' },
  { name: 'steps', type: 'int', min: 1, default: 10, help: 'Steps' },
  { name: 'mode', type: 'string', choices: ['a', 'b'], help: 'Mode', group: 'Other' },
  { name: 'nesterov', type: 'bool', default: true, help: 'Nesterov' },
];

test('flags: forms, defaults, given set', () => {
  const p = parseFlags(['--lr', '0.5', '--mode=b', '--no-nesterov'], defs, 'x');
  assert.deepEqual(p.values, { lr: 0.5, mode: 'b', nesterov: false, steps: 10 });
  assert.deepEqual([...p.given].sort(), ['lr', 'mode', 'nesterov']);
  assert.equal(parseFlags(['--nesterov'], defs, 'x').values.nesterov, true);
  assert.equal(parseFlags(['--nesterov=false', '--lr', '1e-3'], defs, 'x').values.lr, 0.001);
});

test('flags: every kind of mistake is a UsageError naming the flag', () => {
  const bad: [string[], RegExp][] = [
    [['--steps', '1.5'], /bad value '1.5' for --steps: expected an integer/],
    [['--steps', '0'], /--steps: expected a value >= 1/],
    [['--lr', '0'], /--lr: expected a value > 0/],
    [['--lr', 'fast'], /--lr: expected a number/],
    [['--mode', 'c'], /--mode: expected one of a, b/],
    [['--lr'], /--lr needs a value/],
    [['--lr', '--steps', '3'], /--lr needs a value/],
    [['--lr', '1', '--lr', '2'], /--lr is given more than once/],
    [['--speed', '1'], /unknown flag --speed \(see laurel x --help\)/],
    [['--no-lr'], /unknown flag --no-lr/],
    [['extra'], /unexpected argument 'extra'/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(
      () => parseFlags(argv, defs, 'x'),
      (e: Error) => e instanceof UsageError && re.test(e.message),
      argv.join(' '),
    );
  }
  assert.equal(parseFlags(['--lr', '-1'], [{ name: 'lr', type: 'number', help: '' }], 'x').values.lr, -1);
});

test('help lists every flag with choices and defaults, by group', () => {
  const h = formatHelp('x', '[flags]', 'Does x.', defs);
  assert.match(h, /^Usage: laurel x \[flags\]\n\nDoes x\.\n\nOptions:\n {2}--lr X {2,}Learning rate\n/);
  assert.match(h, /--steps N {2,}Steps \(default: 10\)/);
  assert.match(h, /Other:\n {2}--mode a\|b {2,}Mode/);
  assert.match(h, /--nesterov {2,}Nesterov \(default: true\)/);
});
