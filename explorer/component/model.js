// Fetching what a model is drawn from: its decoder and test points together (the plane swaps
// them in at once, so no frame mixes two models), a dial's grid of codes with them, then its
// training encodings, which only the neighbours need. Requests are keyed by URL; the newest wins
// and late answers are dropped.

import { Decoder } from "./decoder.js";
import { DialGrid } from "./dial.js";
import { fetchOnce, readDialGrid, readPoints, readTrain } from "./protocol.js";

/**
 * @typedef {Object} Model
 * @property {string} key
 * @property {Decoder} decoder
 * @property {TestPoints} points  a dial's: its own copy, which the dial rewrites as it turns
 * @property {number} level        log q(z) above which z is "within the data" (PlaneData's density_level)
 * @property {{grid: DialGrid, data: DialData, lam: number}|null} dial  a dial's grid and the lambda it is at
 */

export class ModelSource {
  /** @param {{model: (m: Model) => void, train: (url: string, t: TrainPoints) => void, error: (message: string) => void}} on */
  constructor(on) {
    this.on = on;
    this.key = null; // key of the model delivered last
    this.wanted = null; // key of the model being fetched
    this.trainUrl = null; // training encodings delivered last
    this.trainWanted = null;
  }

  static keyOf(data) {
    return `${data.decoder_url} ${data.points_url}${data.dial ? ` ${data.dial.grid_url}` : ""}`;
  }

  /** Fetch the model `data` names, unless it is delivered or on its way; true if a fetch starts. */
  want(data) {
    const key = ModelSource.keyOf(data);
    if (key === this.key || key === this.wanted) return false;
    this.wanted = key;
    const dial = data.dial;
    const urls = [data.decoder_url, data.points_url, dial ? dial.grid_url : null];
    Promise.all(urls.map((url) => url && fetchOnce(url))).then(([decoder, points, grid]) => {
      if (this.wanted !== key) return; // another model was asked for meanwhile
      const model = { key, decoder: new Decoder(decoder, data.layer_sizes, dial), points: readPoints(points, data.n_points),
                      level: data.density_level, dial: null };
      if (dial) {
        const p = model.points; // the fetched file is shared by every plane on the page: the dial turns a copy
        model.points = { mu: Float32Array.from(p.mu), logvar: Float32Array.from(p.logvar), labels: p.labels, n: p.n };
        model.dial = { grid: new DialGrid(readDialGrid(grid, dial.lams.length, data.n_points), dial.lams), data: dial,
                       lam: dial.lam };
      }
      this.wanted = null;
      this.key = key;
      this.on.model(model);
    }).catch((err) => {
      if (this.wanted !== key) return;
      this.wanted = null;
      this.on.error(`could not load the model: ${err.message}`);
    });
    return true;
  }

  /** Fetch the training encodings `data` names, unless delivered or on their way. */
  wantTrain(data) {
    const url = data.train_url, n = data.n_train;
    if (url === this.trainUrl || url === this.trainWanted) return;
    this.trainWanted = url;
    fetchOnce(url).then((buffer) => {
      if (this.trainWanted !== url) return;
      const train = readTrain(buffer, n);
      this.trainWanted = null;
      this.trainUrl = url;
      this.on.train(url, train);
    }).catch((err) => {
      if (this.trainWanted !== url) return;
      this.trainWanted = null;
      this.on.error(`could not load the training encodings: ${err.message}`);
    });
  }
}
