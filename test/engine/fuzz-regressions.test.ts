// Disagreements between the native and cpu backends that the fuzzer (npm run fuzz) found, each pinned by the case
// that showed it (the fuzz command in the test's name reruns the original).
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { compare, rand, t } from './helpers.ts';

test("empty reductions give cpu's values: max and min NaN, sum and mean 0 (fuzz --seed 1 --op Mean --case 1)", async () => {
  const empty = () => t(new Float32Array(0), [3, 0]);
  await compare(
    () => [tf.max(empty(), 1), tf.min(empty(), 1), tf.sum(empty(), 1), tf.mean(empty(), 1)],
    0,
    0,
  );
  await compare(
    () => [tf.max(t(new Float32Array(0), [0]), 0, true), tf.mean(t(new Float32Array(0), [0]))],
    0,
    0,
  );
});
