// The scatter's dots, blended into the base's pixels in JS. A canvas without a GPU (Chromium with
// --disable-gpu, many virtual machines and remote desktops) spends microseconds on each drawImage,
// so 10,000 sprites take several frames; reading the plot's pixels once, blending every dot into
// them and writing them back takes a few milliseconds. The base is opaque (filled white first), so
// each dot is blended as `src over dst` with 8-bit colours, as the canvas itself would.

/** One dot per palette colour: its coverage (alpha in [0, 1], `size` x `size`) and its RGB. */
export function makeSprites(palette, radius, alpha, dpr) {
  const size = Math.ceil((radius + 1) * 2 * dpr);
  const c = document.createElement("canvas");
  c.width = c.height = size;
  const g = c.getContext("2d", { willReadFrequently: true });
  g.fillStyle = "#fff";
  g.arc(size / 2, size / 2, radius * dpr, 0, 2 * Math.PI);
  g.fill();
  const disc = g.getImageData(0, 0, size, size).data, coverage = new Float32Array(size * size);
  for (let k = 0; k < size * size; k++) coverage[k] = (alpha * disc[4 * k + 3]) / 255;
  return palette.map((colour) => {
    const rgb = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
    return { size, coverage, rgb };
  });
}

/**
 * Blend a dot at every shown point (device px sx*dpr, sy*dpr, in the data's order) into the
 * pixels of `rect` (CSS px) of `ctx`, whose transform is the identity. Returns the dots drawn per
 * palette colour.
 */
export function blendDots(ctx, rect, dpr, sprites, points, sx, sy, hidden) {
  const x0 = Math.max(0, Math.floor(rect.left * dpr)), y0 = Math.max(0, Math.floor(rect.top * dpr));
  const w = Math.min(ctx.canvas.width, Math.ceil((rect.left + rect.width) * dpr)) - x0;
  const h = Math.min(ctx.canvas.height, Math.ceil((rect.top + rect.height) * dpr)) - y0;
  const counts = new Array(sprites.length).fill(0);
  if (w <= 0 || h <= 0) return counts;
  const image = ctx.getImageData(x0, y0, w, h), px = image.data, size = sprites[0].size, half = size / 2;
  for (let i = 0; i < points.n; i++) {
    const label = points.labels[i];
    if (hidden.has(label)) continue;
    const left = Math.round(sx[i] * dpr - half) - x0, top = Math.round(sy[i] * dpr - half) - y0;
    if (left >= w || top >= h || left + size <= 0 || top + size <= 0) continue;
    const { coverage, rgb } = sprites[label % sprites.length], [r, g, b] = rgb;
    for (let v = Math.max(0, -top); v < size && top + v < h; v++) {
      let o = 4 * ((top + v) * w + left + Math.max(0, -left)), k = v * size + Math.max(0, -left);
      for (let u = Math.max(0, -left); u < size && left + u < w; u++, k++, o += 4) {
        const a = coverage[k];
        if (a === 0) continue;
        px[o] += (r - px[o]) * a;
        px[o + 1] += (g - px[o + 1]) * a;
        px[o + 2] += (b - px[o + 2]) * a;
      }
    }
    counts[label % sprites.length]++;
  }
  ctx.putImageData(image, x0, y0);
  return counts;
}
