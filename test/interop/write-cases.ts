// Writes the interop cases for test/fixtures/make_torch_export_fixtures.py: OUT/<case>.safetensors (our torch-layout
// export), OUT/<case>.input.safetensors (the batch) and OUT/name-specs.json (NAME_SPECS).  Usage: node --import tsx test/interop/write-cases.ts OUT
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import {
  CASES,
  IMAGENET_CASES,
  NAME_SPECS,
  buildCaseModel,
  caseInput,
  caseInputFile,
  caseWeights,
} from './cases.ts';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: write-cases.ts OUT_DIR\n');
  process.exit(2);
}
await tf.setBackend('cpu');
for (const c of [...CASES, ...IMAGENET_CASES]) {
  const model = buildCaseModel(c);
  const input = caseInput(c);
  writeFileSync(join(out, `${c.name}.safetensors`), caseWeights(c, model));
  writeFileSync(join(out, `${c.name}.input.safetensors`), caseInputFile(input));
  model.dispose();
  input.dispose();
}
writeFileSync(join(out, 'name-specs.json'), JSON.stringify(NAME_SPECS));
