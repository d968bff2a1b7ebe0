export { fileIO, registerFileIO } from './file-io.ts';
export { type LaurelLayerArgs, LaurelResidualLayer, laurelResidual } from './laurel-layer.ts';
