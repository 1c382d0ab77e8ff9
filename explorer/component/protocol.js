// The protocol between Python and the plane, the browser's half; explorer/component/protocol.py is
// the other (it also describes the static files' byte layouts, which the readers below follow).
// tests/test_protocol.py holds the halves together: the keys Python sends are the @property names
// of PlaneData, and the events' fields those of DragEvent and ViewState.
//
// In (Python -> browser): `data`, JSON sent as UTF-8 bytes on every rerun (PlaneData).
// Out (browser -> Python): trigger TRIGGER_DRAG (DragEvent, once per finished drag), trigger
// TRIGGER_PICK (PickEvent, a lambda picked on the slider) and state STATE_VIEW (ViewState, the
// visible latent range, debounced). Clicks are answered here and are not sent.

/**
 * @typedef {Object} PlaneData
 * @property {string} decoder_url
 * @property {number[]} layer_sizes   [latent_dim, hidden..., H*W]
 * @property {string} points_url
 * @property {number} n_points        N
 * @property {string} train_url
 * @property {number} n_train         M
 * @property {string} test_images_url
 * @property {string} train_images_url
 * @property {[number, number]} image_shape  [H, W]
 * @property {number} density_level   log q(z) above which z is "within the data" (explorer/density.py)
 * @property {string} encoder_url     "" if the model has none (then nothing drawn can be encoded)
 * @property {number[]} encoder_sizes [H*W, hidden..., 2 * latent_dim]
 * @property {DialData|null} dial      a dial's: one network for a range of lambdas; null for a model of one
 * @property {boolean} grid_show      decodings tiled behind the points
 * @property {number} grid_n          grid_n x grid_n tiles
 * @property {"even"|"quantile"} grid_spacing  tiles over the view, or at the prior's quantiles
 * @property {{ellipses: boolean, prior: boolean, holes: boolean, decodability: boolean}} layers  drawn under and
 *                                    around the points
 * @property {number} neighbours_k    nearest training images shown for a selected point
 * @property {{n: number, seed: number, bernoulli: boolean}|null} samples  z ~ N(0, I) to mark and decode
 * @property {string|null} link       planes with the same link share the pointer (link.js)
 * @property {boolean} lock_axes      ... and their view
 * @property {boolean} keep_axes      a new model keeps the view instead of fitting it
 * @property {boolean} compact        the panel under the plot, for two planes side by side
 * @property {boolean} present        presentation mode: what a room reads from afar, larger (plane.css)
 * @property {string[]} palette       one CSS colour per label
 * @property {JudgeData|null} judge    the digit classifier decodes are judged by (cnn.js); null: none shipped
 * @property {number} strip_frames    interpolation frames, both ends included
 * @property {Command|null} command   applied once per nonce, as the user's click or drag would be
 * @property {ModelChoice|null} choice  the lambda slider; null until Python has read the library
 */
/**
 * @typedef {Object} DialData
 * @property {string} grid_url             the test codes on the grid (readDialGrid)
 * @property {number[]} lams               the grid's lambdas, ascending; its ends are the dial's range
 * @property {number} lam                  the lambda of the points file's codes
 * @property {number[]} decoder_film_sizes [1, hidden, hidden, 2 * the decoder's hidden units]
 * @property {number[]} encoder_film_sizes the same for the encoder; [] if it has none
 * @property {number} log_lam_scale        the FiLM networks read t = ln(lambda) / log_lam_scale
 * @property {{lams: number[], recon: number[], kl: number[]}} curve  test recon and KL along the range, nats
 */
/**
 * @typedef {Object} JudgeData
 * @property {string} url                  its weights (protocol.py's "judge" file)
 * @property {[number, number]} image_shape  [H, W]
 * @property {[number, number]} channels   of its two convolutions
 * @property {number} hidden               units of its first Linear layer
 * @property {number} classes
 * @property {number} confident            a decode is recognised when its largest probability reaches this
 */
/**
 * @typedef {Object} ModelChoice
 * @property {number} lam              where the slider sits: the model's lambda, or one picked that has no model
 * @property {number[]} stops          the lambdas the slider offers, ascending
 * @property {{id: string, lam: number, title: string, urls: string[]}[]} models  every model of the library;
 *                                    urls: its decoder's and points' files once published, to fetch ahead of a pick
 * @property {string|null} model_id    the model the plane's files are of
 * @property {string} title            where it comes from ("shipped", "trained here, 5 epochs")
 * @property {{recon: number, kl: number, neg_elbo: number}|null} figures  its test figures, nats
 * @property {{id: string, title: string, urls: string[]}|null} dial  the library's dial, if it has one;
 *                                    shown when model_id is its id
 */
/**
 * @typedef {Object} Command
 * @property {number} nonce                 each is applied once
 * @property {number|null} select_index     select test digit i, as a click on it would
 * @property {Z|null} select_z              or select a free z
 * @property {{start: Z, end: Z}|null} drag  or draw the strip of this drag
 */
/** @typedef {[number, number]} Z  a latent point */
/** @typedef {{mu: Float32Array, logvar: Float32Array, labels: Uint8Array, n: number}} TestPoints */
/** @typedef {{mu: Float32Array, labels: Uint8Array, n: number}} TrainPoints */
/**
 * @typedef {Object} DragEvent
 * @property {Z} start
 * @property {Z} end
 * @property {number|null} start_index  the test digit under the press, if any
 * @property {number|null} end_index    ... and under the release
 */
/**
 * @typedef {Object} PickEvent
 * @property {number} lam  the lambda picked
 * @property {number} seq  when, ms since the epoch: a trigger Python sees twice is one pick
 * @property {boolean} dial  the dial asked for (turned to lam), not the model of lam
 */
/**
 * @typedef {Object} ViewState
 * @property {[number, number]} x  visible latent range, (low, high)
 * @property {[number, number]} y
 * @property {number|null} lam  a dial's lambda; null for a model of one
 */

export const TRIGGER_DRAG = "drag";
export const TRIGGER_PICK = "pick";
export const STATE_VIEW = "view";

/** @returns {PlaneData} Python sends JSON as bytes (protocol.py); a parsed object is accepted too. */
export function parseData(raw) {
  if (raw instanceof Uint8Array || raw instanceof ArrayBuffer) return JSON.parse(new TextDecoder().decode(raw));
  return raw || {};
}

/** @returns {TestPoints} */
export function readPoints(buffer, n) {
  expectBytes(buffer, 16 * n + n, "points");
  return { mu: new Float32Array(buffer, 0, 2 * n), logvar: new Float32Array(buffer, 8 * n, 2 * n),
           labels: new Uint8Array(buffer, 16 * n, n), n };
}

/** @returns {TrainPoints} */
export function readTrain(buffer, m) {
  expectBytes(buffer, 8 * m + m, "train");
  return { mu: new Float32Array(buffer, 0, 2 * m), labels: new Uint8Array(buffer, 8 * m, m), n: m };
}

/**
 * A dial's grid file: the running sums of its delta-coded rows, as explorer/dial.py's
 * DeltaCoded.decode adds them (float64, stored as float32).
 * @returns {{mu: Float32Array, logvar: Float32Array, g: number, n: number}} (G, N, 2) each, row-major
 */
export function readDialGrid(buffer, g, n) {
  expectBytes(buffer, 2 * (4 * 2 * n + 4 * 2 * (g - 1)) + 2 * 2 * (g - 1) * n, "dial");
  let at = 0;
  const floats = (count) => { const a = new Float32Array(buffer, at, count); at += 4 * count; return a; };
  const coded = ["mu", "logvar"].map(() => ({ first: floats(2 * n), scales: floats(2 * (g - 1)) }));
  const out = {};
  coded.forEach((c, k) => {
    const steps = new Int8Array(buffer, at + k * 2 * (g - 1) * n, 2 * (g - 1) * n);
    const rows = new Float32Array(2 * g * n), sum = Float64Array.from(c.first);
    rows.set(c.first);
    for (let r = 1; r < g; r++) {
      const sx = c.scales[2 * (r - 1)], sy = c.scales[2 * (r - 1) + 1], base = 2 * (r - 1) * n, row = 2 * r * n;
      for (let i = 0; i < 2 * n; i += 2) {
        sum[i] += sx * steps[base + i];
        sum[i + 1] += sy * steps[base + i + 1];
        rows[row + i] = sum[i];
        rows[row + i + 1] = sum[i + 1];
      }
    }
    out[k ? "logvar" : "mu"] = rows;
  });
  return { ...out, g, n };
}

function expectBytes(buffer, size, name) {
  if (buffer.byteLength !== size) throw new Error(`${name} file has ${buffer.byteLength} bytes, expected ${size}`);
}

const FETCHES = new Map(); // url -> Promise<ArrayBuffer>, shared by every plane on the page

// Asked for as the range "bytes=0-": the server then answers 206 with the file as it is on disk,
// where a plain request has it gzip the file anew for every visitor (Streamlit compresses what it
// serves from app/static), which costs the server far more CPU than sending it, for float data
// that hardly shrinks.
const WHOLE_FILE = { headers: { Range: "bytes=0-" } };

/** The whole file at url, fetched once per page. */
export function fetchOnce(url) {
  if (!FETCHES.has(url)) {
    const p = fetch(new URL(url, document.baseURI).href, WHOLE_FILE).then((r) => {
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return r.arrayBuffer();
    });
    p.catch(() => FETCHES.delete(url)); // let a later call retry
    FETCHES.set(url, p);
  }
  return FETCHES.get(url);
}

// A file of same-sized images, read a few at a time: one request with one byte range per
// missing image (the server answers with multipart/byteranges), cached by index. A click needs
// k of the 60,000 training images (47 MB): this moves k * 784 bytes instead of the file.
export class ImageStore {
  constructor(url, count, bytesPerImage) {
    this.url = url;
    this.count = count;
    this.size = bytesPerImage;
    this.cache = new Map(); // index -> Uint8Array
    this.inFlight = new Map(); // index -> Promise
  }

  /** @returns {Uint8Array|undefined} the image if it has arrived */
  get(i) {
    return this.cache.get(i);
  }

  /** Resolves once every image of `indices` is cached (or rejects with the HTTP error). */
  load(indices) {
    const missing = [...new Set(indices)].filter((i) => i >= 0 && i < this.count && !this.cache.has(i) &&
                                                         !this.inFlight.has(i));
    if (missing.length) {
      const request = this.fetchRanges(missing);
      for (const i of missing) this.inFlight.set(i, request);
      request.finally(() => { for (const i of missing) this.inFlight.delete(i); }).catch(() => {});
    }
    return Promise.all(indices.map((i) => this.inFlight.get(i))).then(() => undefined);
  }

  async fetchRanges(indices) {
    const sorted = [...indices].sort((a, b) => a - b);
    const ranges = sorted.map((i) => `${i * this.size}-${(i + 1) * this.size - 1}`).join(",");
    const r = await fetch(new URL(this.url, document.baseURI).href, { headers: { Range: `bytes=${ranges}` } });
    if (!r.ok) throw new Error(`${this.url}: HTTP ${r.status}`);
    const body = new Uint8Array(await r.arrayBuffer());
    const type = r.headers.get("content-type") || "";
    let parts; // [{start, bytes}]: spans of the file, which may merge neighbouring ranges
    if (r.status === 200) parts = [{ start: 0, bytes: body }];
    else if (type.startsWith("multipart/byteranges")) parts = splitMultipart(body, type);
    else parts = [{ start: Number(/bytes (\d+)-/.exec(r.headers.get("content-range"))[1]), bytes: body }];
    for (const i of sorted) {
      const from = i * this.size;
      const part = parts.find((p) => p.start <= from && from + this.size <= p.start + p.bytes.length);
      if (part) this.cache.set(i, part.bytes.slice(from - part.start, from - part.start + this.size));
    }
  }
}

// multipart/byteranges (RFC 9110, 14.6): "--boundary CRLF headers CRLF CRLF data CRLF" per part.
function splitMultipart(body, type) {
  const boundary = /boundary=("?)([^";]+)\1/.exec(type)[2];
  const text = new TextDecoder("latin1"); // byte-for-char, so string offsets are byte offsets
  const parts = [];
  let at = 0;
  for (;;) {
    const head = indexOf(body, `--${boundary}`, at);
    if (head < 0) break;
    const headersEnd = indexOf(body, "\r\n\r\n", head);
    if (headersEnd < 0) break;
    const headers = text.decode(body.subarray(head, headersEnd));
    const m = /content-range:\s*bytes (\d+)-(\d+)/i.exec(headers);
    if (!m) break;
    const start = Number(m[1]), length = Number(m[2]) - start + 1, dataAt = headersEnd + 4;
    parts.push({ start, bytes: body.subarray(dataAt, dataAt + length) });
    at = dataAt + length;
  }
  return parts;
}

function indexOf(bytes, ascii, from) {
  const first = ascii.charCodeAt(0);
  outer: for (let i = from; i <= bytes.length - ascii.length; i++) {
    if (bytes[i] !== first) continue;
    for (let j = 1; j < ascii.length; j++) if (bytes[i + j] !== ascii.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
}
