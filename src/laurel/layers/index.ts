export { type LaurelLayerArgs, LaurelResidualLayer, laurelResidual } from './laurel-layer.ts';
