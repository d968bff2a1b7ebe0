/**
 * A small `file://` IOHandler for tfjs Layers models, because the one in @tensorflow/tfjs-node is not
 * available here. It writes `<dir>/model.json` (topology + weights manifest, tfjs-node's format) and
 * `<dir>/weights.bin`. Both are written to temporary files first and renamed over the old ones only when
 * both are complete, so a failed save (a full disk) leaves the old model whole and no temporary file; only
 * a crash between the two renames could pair the new weights with the old model.json.
 *
 *   registerFileIO();                       // then model.save('file://dir') and tf.loadLayersModel('file://dir/model.json')
 *   await model.save(fileIO('dir'));         // or explicitly, without routers
 *   await tf.loadLayersModel(fileIO('dir'));
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/** Writes each [path, data] to a temporary file, then renames them all into place (see above). */
async function writeAllThenRename(files: [string, string | Uint8Array][]): Promise<void> {
  const tmp = (path: string) => `${path}.tmp-${process.pid}-${Date.now()}`;
  const written: [string, string][] = [];
  try {
    for (const [path, data] of files) {
      const t = tmp(path);
      written.push([t, path]);
      await writeFile(t, data);
    }
  } catch (e) {
    await Promise.all(written.map(([t]) => rm(t, { force: true })));
    throw e;
  }
  for (const [t, path] of written) await rename(t, path);
}

/** `path` is a directory, or a path to its model.json. */
function paths(path: string): { dir: string; json: string } {
  const p = path.replace(/^file:\/\//, '');
  if (p.endsWith('.json')) return { dir: dirname(p), json: p };
  return { dir: p, json: join(p, MODEL_JSON) };
}

export function fileIO(path: string): tf.io.IOHandler {
  const { dir, json } = paths(path);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileIO: binary model topologies are not supported; save a Layers model');
      }
      const weightData = artifacts.weightData
        ? tf.io.CompositeArrayBuffer.join(artifacts.weightData)
        : new ArrayBuffer(0);
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      await mkdir(dir, { recursive: true });
      await writeAllThenRename([
        [join(dir, WEIGHTS_BIN), new Uint8Array(weightData)],
        [json, JSON.stringify(modelJSON)],
      ]);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const modelJSON = JSON.parse(await readFile(json, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const b = await readFile(join(dirname(json), p));
            buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

let registered = false;

/** Routes `file://` URLs in model.save and tf.loadLayersModel to fileIO (idempotent). */
export function registerFileIO(): void {
  if (registered) return;
  registered = true;
  // Someone else (e.g. @tensorflow/tfjs-node) already handles file://: two routers would make tfjs refuse.
  if (tf.io.getSaveHandlers('file://probe').length > 0) return;
  // tfjs routers return null for URLs they do not handle (its IORouter type omits the null).
  const router = ((url: string | string[]) =>
    typeof url === 'string' && url.startsWith('file://') ? fileIO(url) : null) as (
    url: string | string[],
  ) => tf.io.IOHandler;
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
}
