// What the Node tests share: the oracles (tests/js/oracles.json, written by tests/js/oracles.py),
// the shipped models' files packed as the browser receives them (explorer/formats.py), the MNIST
// test images, and a closeness check that names the worst entry.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gunzipSync, inflateSync } from "node:zlib";

import { readPoints, readTrain } from "../../explorer/component/protocol.js";
import { SafeTensors } from "./safetensors.js";

export const ROOT = new URL("../../", import.meta.url);

let oracles = null;
/** The committed oracles (tests/js/oracles.json). */
export function loadOracles() {
  oracles ??= JSON.parse(readFileSync(new URL("tests/js/oracles.json", ROOT), "utf8"));
  return oracles;
}

/** A packed array of oracles.py ({dtype, shape, deflate, b64}) as a typed array. */
export function unpack(d) {
  let bytes = Buffer.from(d.b64, "base64");
  if (d.deflate) bytes = inflateSync(bytes);
  const copy = new Uint8Array(bytes).buffer; // aligned, little-endian as stored (x86 and ARM hosts are)
  const Type = { f4: Float32Array, f8: Float64Array, u1: Uint8Array }[d.dtype];
  if (!Type) throw new Error(`dtype ${d.dtype}`);
  return new Type(copy);
}

/** A bit-packed boolean mask (numpy.packbits, big-endian bit order) of n entries. */
export function unpackBits(b64, n) {
  const bytes = Buffer.from(b64, "base64"), out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = (bytes[k >> 3] >> (7 - (k & 7))) & 1;
  return out;
}

/** zlib-compressed base64 bytes (the drawing oracle's ink). */
export function inflateBytes(b64) {
  return new Uint8Array(inflateSync(Buffer.from(b64, "base64")));
}

// explorer/formats.py: the decoder's Linear layers are the `model.decoder.<path>.weight` tensors in
// module order (their paths compared as tuples of integers); the encoder's are
// `model.encoder.<path>.weight` and then `model.to_stats.weight`.
const DECODER_KEY = /^model\.decoder\.([\d.]+)\.weight$/;
const ENCODER_KEY = /^model\.encoder\.([\d.]+)\.weight$/;
const STATS_KEY = "model.to_stats.weight";

function moduleOrder(keys, pattern) {
  const path = (k) => k.match(pattern)[1].split(".").map(Number);
  return keys.filter((k) => pattern.test(k)).sort((a, b) => {
    const pa = path(a), pb = path(b);
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
    return pa.length - pb.length;
  });
}

/**
 * explorer.formats.pack_decoder: each layer's weight (out, in) row-major then its bias, float32,
 * and the sizes [in of the first, out of each].
 * @returns {{buffer: ArrayBuffer, sizes: number[]}}
 */
export function packLayers(st, weightKeys) {
  const layers = weightKeys.map((k) => [st.tensor(k), st.tensor(k.slice(0, -"weight".length) + "bias")]);
  const sizes = [layers[0][0].shape[1]];
  let total = 0;
  for (const [w, b] of layers) {
    assert.deepEqual(w.shape, [b.shape[0], sizes[sizes.length - 1]], "layer widths follow one another");
    sizes.push(b.shape[0]);
    total += w.data.length + b.data.length;
  }
  const flat = new Float32Array(total);
  let offset = 0;
  for (const [w, b] of layers) {
    flat.set(w.data, offset);
    offset += w.data.length;
    flat.set(b.data, offset);
    offset += b.data.length;
  }
  return { buffer: flat.buffer, sizes };
}

const models = new Map();
/**
 * A shipped model (pretrained/lam-<lam>.safetensors) as the browser gets it: its decoder and encoder
 * files, its test points (protocol.readPoints of explorer.formats.pack_points' bytes) and train codes.
 */
export function loadModel(lam) {
  if (models.has(lam)) return models.get(lam);
  const st = new SafeTensors(new URL(`pretrained/lam-${lam}.safetensors`, ROOT));
  const keys = st.keys();
  const decoder = packLayers(st, moduleOrder(keys, DECODER_KEY));
  const encoder = packLayers(st, [...moduleOrder(keys, ENCODER_KEY), STATS_KEY]);
  const mu = st.tensor("test_mu").data, logvar = st.tensor("test_logvar").data, labels = st.tensor("test_labels").data;
  const n = labels.length, points = new Uint8Array(17 * n);
  points.set(new Uint8Array(mu.buffer), 0);
  points.set(new Uint8Array(logvar.buffer), 8 * n);
  points.set(labels, 16 * n);
  const trainMu = st.tensor("train_mu").data, trainLabels = st.tensor("train_labels").data, m = trainLabels.length;
  const train = new Uint8Array(9 * m);
  train.set(new Uint8Array(trainMu.buffer), 0);
  train.set(trainLabels, 8 * m);
  const model = { decoder, encoder, points: readPoints(points.buffer, n), train: readTrain(train.buffer, m) };
  models.set(lam, model);
  return model;
}

let judge = null;
/** The shipped classifier (pretrained/classifier.safetensors) as the browser gets it (explorer.formats.pack_judge). */
export function loadJudge() {
  if (judge) return judge;
  const st = new SafeTensors(new URL("pretrained/classifier.safetensors", ROOT));
  const parts = ["conv1", "conv2", "fc1", "fc2"].flatMap((l) => ["weight", "bias"].map((p) => st.tensor(`${l}.${p}`).data));
  const flat = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
  parts.reduce((at, a) => { flat.set(a, at); return at + a.length; }, 0);
  const a = JSON.parse(st.metadata.explorer).architecture;
  judge = { buffer: flat.buffer, data: { ...a, confident: loadOracles().judge.confident } };
  return judge;
}

let dial = null;
/**
 * The shipped dial (pretrained/dial.safetensors) as the browser gets it: its decoder and encoder
 * files with their FiLM networks after their layers, its DialData (protocol.js, without the
 * curve) and its grid file (explorer.formats.pack_dial_grid's bytes).
 */
export function loadDial() {
  if (dial) return dial;
  const st = new SafeTensors(new URL("pretrained/dial.safetensors", ROOT));
  const keys = st.keys();
  const film = (side) => packLayers(st, [0, 2, 4].map((i) => `model.${side}_film.net.${i}.weight`));
  const join = (a, b) => {
    const out = new Uint8Array(a.buffer.byteLength + b.buffer.byteLength);
    out.set(new Uint8Array(a.buffer), 0);
    out.set(new Uint8Array(b.buffer), a.buffer.byteLength);
    return { buffer: out.buffer, sizes: a.sizes };
  };
  const decoderFilm = film("decoder"), encoderFilm = film("encoder");
  const parts = ["mu", "logvar"].flatMap((n) => ["first", "scales"].map((p) => st.tensor(`dial_${n}_${p}`).data))
    .concat(["mu", "logvar"].map((n) => st.tensor(`dial_${n}_steps`).data));
  const grid = new Uint8Array(parts.reduce((total, a) => total + a.byteLength, 0));
  parts.reduce((at, a) => { grid.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at); return at + a.byteLength; }, 0);
  const lams = Array.from(st.tensor("dial_lams").data);
  dial = {
    decoder: join(packLayers(st, moduleOrder(keys, DECODER_KEY)), decoderFilm),
    encoder: join(packLayers(st, [...moduleOrder(keys, ENCODER_KEY), STATS_KEY]), encoderFilm),
    data: { lams, lam: JSON.parse(st.metadata.explorer).config.lam, decoder_film_sizes: decoderFilm.sizes,
            encoder_film_sizes: encoderFilm.sizes, log_lam_scale: Math.log(100) },
    grid: grid.buffer, n: st.tensor("test_labels").data.length,
  };
  return dial;
}

let mnist = null;
/** The first n MNIST test images (data/mnist, IDX in gzip), pixels / 255 as float64, row-major. */
export function mnistTest(n) {
  mnist ??= gunzipSync(readFileSync(new URL("data/mnist/t10k-images-idx3-ubyte.gz", ROOT)));
  const view = new DataView(mnist.buffer, mnist.byteOffset, mnist.byteLength);
  assert.equal(view.getUint32(0, false), 0x00000803, "IDX magic of uint8, 3 dimensions");
  const count = view.getUint32(4, false), size = view.getUint32(8, false) * view.getUint32(12, false);
  assert.ok(n <= count);
  return Array.from({ length: n }, (_, i) => Float64Array.from(mnist.subarray(16 + i * size, 16 + (i + 1) * size), (v) => v / 255));
}

/**
 * assert |actual - expected| <= atol + rtol |expected| everywhere (equal infinities and NaNs pass);
 * the message names the worst entry. Returns the largest absolute and relative errors seen.
 */
export function assertClose(actual, expected, { atol = 0, rtol = 0, label = "" } = {}) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = -1, worstExcess = -Infinity, maxAbs = 0, maxRel = 0;
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k], e = expected[k];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const err = Math.abs(a - e), allowed = atol + rtol * Math.abs(e);
    const excess = Number.isNaN(err) ? Infinity : err - allowed;
    if (!(err <= allowed) && excess >= worstExcess) {
      worst = k;
      worstExcess = excess;
    }
    maxAbs = Math.max(maxAbs, err);
    if (e !== 0) maxRel = Math.max(maxRel, err / Math.abs(e));
  }
  if (worst >= 0) {
    assert.fail(`${label}: entry ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
                `(atol ${atol}, rtol ${rtol}; max abs error ${maxAbs.toExponential(2)}, max rel ${maxRel.toExponential(2)})`);
  }
  return { maxAbs, maxRel };
}
