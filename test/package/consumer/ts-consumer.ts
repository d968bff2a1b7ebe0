// A strict TypeScript consumer of the installed package's types (compiled with normal emit settings).
import * as tf from '@tensorflow/tfjs';
import {
  ActivationHistory,
  type LaurelLayerArgs,
  Residual,
  type ResidualConfig,
  addedParamCount,
  laurelResidual,
  residualConfig,
} from 'laurel';
import { fileIO, initBackend } from 'laurel/node';

const config: ResidualConfig = residualConfig('rw+lr', { rank: 4 });
const args: LaurelLayerArgs = { variant: 'rw+lr', rank: 4 };
const res: Residual = new Residual(config, 16);
const history = new ActivationHistory(3);
const y: tf.Tensor = res.forward(tf.zeros([2, 16]), tf.zeros([2, 16]), { history });
const layer = laurelResidual(args);
const added: number = addedParamCount(config, 16);
const handler: tf.io.IOHandler = fileIO('/tmp/never-written');
const ready: Promise<string> = initBackend('cpu');
export { added, handler, layer, ready, y };
