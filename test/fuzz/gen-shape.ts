// Fuzz generators for the copy-like kernels (Slice, PadV2, Concat, Pack, Unpack, Tile, GatherV2), the segment
// sum (also GatherV2's gradient), the inference batch norm, and Cast.
import * as tf from '@tensorflow/tfjs';
import type { Generator, InputKind, InputSpec } from './case.ts';
import type { Draw } from './draw.ts';

const RAW: ('int32' | 'bool')[] = ['int32', 'bool'];

/** An int32 index tensor (no gradient). */
function indices(d: Draw, name: string, shape: number[], lo: number, hi: number): InputSpec {
  const n = shape.reduce((a, b) => a * b, 1);
  return d.input(name, shape, {
    kind: 'int32',
    values: Int32Array.from({ length: n }, () => d.int(lo, hi)),
    grad: false,
  });
}

const slice: Generator = (d) => {
  const shape = d.shapeOrHigh(0.05, 1, 6, 70000);
  const begin = shape.map((s) => d.int(0, s));
  const size = shape.map((s, i) => (d.chance(0.2) ? -1 : d.int(0, s - begin[i])));
  const x = d.input('x', shape, { specials: true, raw: RAW });
  return { inputs: [x], attrs: { begin, size }, family: 'copy', run: (t) => tf.slice(t.x, begin, size) };
};

const pad: Generator = (d) => {
  const shape = d.shapeOrHigh(0.05, 1, 6, 20000);
  const most = shape.length > 6 ? [0, 0, 0, 1] : [0, 0, 1, 2, 3];
  const paddings = shape.map(() => [d.pick(most), d.pick(most)] as [number, number]);
  const constantValue = d.pick([0, 0, 1.5, -2]);
  const x = d.input('x', shape, { specials: true, raw: ['int32'] });
  return {
    inputs: [x],
    attrs: { paddings, constantValue },
    family: 'copy',
    run: (t) => tf.pad(t.x, paddings, constantValue),
  };
};

const concat: Generator = (d) => {
  const shape = d.shapeOrHigh(0.05, 1, 6, 20000);
  const axis = d.int(-shape.length, shape.length - 1);
  const ax = axis < 0 ? axis + shape.length : axis;
  const n = d.int(1, 5);
  const first = d.input('x0', shape, { specials: true, raw: RAW });
  // tf.concat takes one dtype: the others are of the first one's kind.
  const rest = Array.from({ length: n - 1 }, (_, i) => {
    const s = shape.slice();
    s[ax] = d.chance(0.1) ? 0 : d.int(1, 5);
    return d.input(`x${i + 1}`, s, { kind: first.kind });
  });
  const inputs = [first, ...rest];
  return {
    inputs,
    attrs: { axis },
    family: 'copy',
    run: (t) =>
      tf.concat(
        inputs.map((s) => t[s.name]),
        axis,
      ),
  };
};

const unstack: Generator = (d) => {
  const shape = d.shapeOrHigh(0.05, 1, 6, 20000);
  const axis = d.int(-shape.length, shape.length - 1);
  // One output per slice: a few dozen at most (each is a tensor, and a gradient term, of its own).
  const ax = axis < 0 ? axis + shape.length : axis;
  if (shape[ax] > 24) shape[ax] = d.int(1, 24);
  const x = d.input('x', shape, { specials: true, raw: RAW });
  return { inputs: [x], attrs: { axis }, family: 'copy', run: (t) => tf.unstack(t.x, axis) };
};

const stack: Generator = (d) => {
  const shape = d.shapeOrHigh(0.05, 0, 6, 20000);
  const axis = d.int(-shape.length - 1, shape.length);
  const n = d.int(1, 5);
  const first = d.input('x0', shape, { specials: true, raw: RAW });
  const rest = Array.from({ length: n - 1 }, (_, i) => d.input(`x${i + 1}`, shape, { kind: first.kind }));
  const inputs = [first, ...rest];
  return {
    inputs,
    attrs: { axis },
    family: 'copy',
    run: (t) =>
      tf.stack(
        inputs.map((s) => t[s.name]),
        axis,
      ),
  };
};

const tile: Generator = (d) => {
  const shape = d.shapeOrHigh(0.05, 1, 6, 4000);
  // Past rank 6 (the rank-9/10 shapes), few reps of 2: the output stays small.
  const reps = shape.map(() => (d.chance(0.03) ? 0 : shape.length > 6 ? d.pick([1, 1, 1, 2]) : d.int(1, 3)));
  const x = d.input('x', shape, { specials: true, raw: RAW });
  return {
    inputs: [x],
    attrs: { reps },
    family: 'copy',
    // tfjs's Tile gradient stops at rank 4.
    grads: shape.length <= 4,
    run: (t) => tf.tile(t.x, reps),
  };
};

const gather: Generator = (d) => {
  const shape = d.shape(1, 4, 20000);
  const axis = d.int(-shape.length, shape.length - 1);
  const ax = axis < 0 ? axis + shape.length : axis;
  // The gradient runs cpu's UnsortedSegmentSum, one masked pass over dy per segment: few segments.
  if (shape[ax] > 40) shape[ax] = d.int(1, 40);
  const size = shape[ax];
  const idxShape = d.shape(0, 2, 64, size > 0);
  // Now and then an index out of range: both backends must refuse it.
  const bad = d.chance(0.03);
  const idx = indices(d, 'indices', size === 0 ? [0] : idxShape, bad ? -1 : 0, size - (bad ? 0 : 1));
  const x = d.input('x', shape, { specials: true, raw: ['int32'] });
  return {
    inputs: [x, idx],
    attrs: { axis },
    family: 'copy',
    // Gathering from an empty axis: cpu's gradient (a segment sum into 0 segments) crashes inside tfjs.
    grads: size > 0,
    run: (t) => tf.gather(t.x, t.indices, axis),
  };
};

const segmentSum: Generator = (d) => {
  const shape = d.shape(1, 4, 20000);
  const numSegments = d.int(1, 12);
  // Negative ids are dropped (as TensorFlow's); the gradient gathers them as zeros.
  const ids = indices(d, 'segmentIds', [shape[0]], d.chance(0.2) ? -2 : 0, numSegments - 1);
  // No NaN or ∞: cpu sums each segment as Σ x·(id = s), so one NaN anywhere reaches every segment.
  const x = d.input('x', shape, { raw: ['int32'] });
  return {
    inputs: [x, ids],
    attrs: { numSegments },
    family: 'reduce',
    run: (t) => tf.unsortedSegmentSum(t.x, t.segmentIds as tf.Tensor1D, numSegments),
  };
};

const batchNorm: Generator = (d) => {
  const shape = d.shape(1, 4, 20000);
  const c = shape[shape.length - 1];
  // tfjs wants the parameters of one rank ([C], or x's shape); its gradient needs the scale.
  const ps = d.chance(0.75) ? [c] : shape.slice();
  const inputs = [
    d.input('x', shape, { specials: true }),
    d.input('mean', ps),
    d.input('variance', ps, { domain: 'positive' }),
  ];
  if (d.chance(0.85)) inputs.push(d.input('offset', ps));
  if (d.chance(0.85)) inputs.push(d.input('scale', ps));
  const eps = d.pick([0.001, 1e-5, 0.1]);
  return {
    inputs,
    attrs: { varianceEpsilon: eps },
    family: 'reduce',
    run: (t) => tf.batchNorm(t.x, t.mean, t.variance, t.offset, t.scale, eps),
  };
};

/** tf.cast to every dtype, then the result through a native kernel (its storage must be the new dtype's). */
const cast: Generator = (d) => {
  const shape = d.shape(0, 4, 20000);
  const kind = d.pick<InputKind>(['float32', 'int32', 'bool']);
  const x = d.input('x', shape, { kind, specials: kind === 'float32', scale: 3 });
  const to = d.pick(['float32', 'int32', 'bool'] as const);
  return {
    inputs: [x],
    attrs: { dtype: to },
    family: 'arith',
    run: (t) => {
      const y = tf.cast(t.x, to);
      return [y, tf.mul(tf.cast(y, 'float32'), 1.5), tf.add(tf.cast(y, 'float32'), tf.scalar(0.5))];
    },
  };
};

export const shapeGenerators: Record<string, Generator> = {
  Slice: slice,
  PadV2: pad,
  Concat: concat,
  Unpack: unstack,
  Pack: stack,
  Tile: tile,
  GatherV2: gather,
  UnsortedSegmentSum: segmentSum,
  FusedBatchNorm: batchNorm,
  Cast: cast,
};
