/**
 * A PNG as an 8-bit grayscale image of a given size, for classifying one picture with a model trained on
 * (Fashion-)MNIST. Decoding is pngjs's (every PNG colour type and bit depth, checksums verified).
 *
 * Conversion: RGB → luma 0.299·R + 0.587·G + 0.114·B (ITU-R BT.601, as PIL's "L" mode), composited over black
 * by its alpha (Fashion-MNIST's background is black); a size other than the target is resized by area
 * averaging (each output pixel is the mean of the source area it covers, which neither aliases when shrinking
 * nor invents detail when enlarging).
 */
import type { PNG as Png } from 'pngjs';
import { requireOptional } from '../util/optional.ts';

export interface GrayImage {
  /** Row-major uint8 pixels, height × width. */
  pixels: Uint8Array;
  height: number;
  width: number;
  /** What was done to get here (empty when the PNG already was an 8-bit grayscale image of the target size). */
  notes: string[];
}

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes.length >= 8 && sig.every((b, i) => bytes[i] === b);
}

/** Decodes `bytes` (a PNG file named `name` in errors) into a grayscale image of height × width. */
export function pngToGray(bytes: Uint8Array, name: string, height: number, width: number): GrayImage {
  const { PNG } = requireOptional<{ PNG: typeof Png }>('pngjs', 'reading a PNG');
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new Error(`${name}: not a readable PNG (${(e as Error).message})`);
  }
  const { width: w, height: h, data } = png;
  const notes: string[] = [];
  const gray = (png.colorType & 2) === 0; // colour types 0 and 4: grayscale (with alpha)
  if (!gray) notes.push('converted from colour to grayscale (BT.601 luma)');
  const src = new Float64Array(w * h);
  let translucent = false;
  for (let i = 0; i < w * h; i++) {
    const [r, g, b, a] = [data[4 * i], data[4 * i + 1], data[4 * i + 2], data[4 * i + 3]];
    src[i] = ((0.299 * r + 0.587 * g + 0.114 * b) * a) / 255;
    translucent ||= a < 255;
  }
  if (translucent) notes.push('composited over black by its alpha channel');
  if (w !== width || h !== height) notes.push(`resized from ${w}×${h} to ${width}×${height} (area average)`);
  const out = w === width && h === height ? src : resizeArea(src, h, w, height, width);
  const pixels = new Uint8Array(height * width);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.min(255, Math.max(0, Math.round(out[i])));
  return { pixels, height, width, notes };
}

/** Area-average resize of a row-major h × w image to oh × ow. */
function resizeArea(src: Float64Array, h: number, w: number, oh: number, ow: number): Float64Array {
  // Per axis, the weight of source index s in output index o: the overlap of [o·n/on, (o+1)·n/on) with [s, s+1).
  const weights = (n: number, on: number): [number, number][][] =>
    Array.from({ length: on }, (_, o) => {
      const lo = (o * n) / on;
      const hi = ((o + 1) * n) / on;
      const ws: [number, number][] = [];
      for (let s = Math.floor(lo); s < Math.min(n, Math.ceil(hi)); s++) {
        const overlap = Math.min(hi, s + 1) - Math.max(lo, s);
        if (overlap > 0) ws.push([s, overlap / (hi - lo)]);
      }
      return ws;
    });
  const wy = weights(h, oh);
  const wx = weights(w, ow);
  const out = new Float64Array(oh * ow);
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++) {
      let v = 0;
      for (const [sy, a] of wy[oy]) for (const [sx, b] of wx[ox]) v += a * b * src[sy * w + sx];
      out[oy * ow + ox] = v;
    }
  return out;
}
