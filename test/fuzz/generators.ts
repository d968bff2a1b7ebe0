// Every fuzz generator, by the native kernel it targets (a generator may serve a kernel and its gradient).
import type { Generator } from './case.ts';
import { convGenerators } from './gen-conv.ts';
import { elementwiseGenerators } from './gen-elementwise.ts';
import { laurelGenerators } from './gen-laurel.ts';
import { matmulGenerators } from './gen-matmul.ts';
import { reduceGenerators } from './gen-reduce.ts';
import { shapeGenerators } from './gen-shape.ts';

export const generators: Record<string, Generator> = {
  ...elementwiseGenerators,
  ...reduceGenerators,
  ...matmulGenerators,
  ...convGenerators,
  ...shapeGenerators,
  ...laurelGenerators,
};
