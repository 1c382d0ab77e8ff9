// Planes that share a pointer and, with lock_axes, a view: the compare view's two planes. Each
// plane of a page joins its `link` group in a registry on `window`, not in module scope, so that
// planes see each other however many times the page has loaded this module.

const REGISTRY = "__latentPlaneLinks"; // window[REGISTRY]: group name -> Set of planes

function groups() {
  if (!window[REGISTRY]) window[REGISTRY] = new Map();
  return window[REGISTRY];
}

export class Link {
  constructor(plane) {
    this.plane = plane;
    this.name = null; // the group joined, null for none
    this.peerZ = null; // where the pointer is on a linked plane: decoded and marked on this one
    this.sentZ = null; // the pointer last told to the peers
    this.applying = false; // taking a peer's view: not sent back
  }

  /** New data: join its group; axes locked just now take this plane's view to the peers. */
  update(data, before) {
    this.join(data.link);
    if (data.lock_axes && !before.lock_axes) this.shareView();
  }

  /** Join group `name` (null: leave any). */
  join(name) {
    if ((name || null) === this.name) return;
    this.leave();
    this.name = name || null;
    if (!this.name) return;
    if (!groups().has(this.name)) groups().set(this.name, new Set());
    groups().get(this.name).add(this.plane);
  }

  leave() {
    this.pointer(null);
    const group = this.name ? groups().get(this.name) : null;
    if (group) {
      group.delete(this.plane);
      if (!group.size) groups().delete(this.name);
    }
    this.name = null;
  }

  /** The other planes of the group. */
  peers() {
    const group = this.name ? groups().get(this.name) : null;
    return group ? [...group].filter((p) => p !== this.plane) : [];
  }

  /** The pointer is at latent z on this plane (null: elsewhere): the peers decode and mark z. */
  pointer(z) {
    if (z === this.sentZ) return;
    this.sentZ = z;
    for (const p of this.peers()) p.link.peerPointer(z);
  }

  /** A peer's pointer is at z (null: elsewhere): decode and mark it here. */
  peerPointer(z) {
    this.peerZ = z;
    this.plane.requestFrame();
  }

  /** The latent square the plane shows, in units that do not depend on its size. */
  square() {
    return this.plane.view.square();
  }

  /** The plane's view moved: peers that lock their axes take the same square. */
  shareView() {
    if (!this.plane.data.lock_axes || this.applying || !this.plane.view.ready) return;
    const square = this.square();
    for (const p of this.peers()) p.link.take(square);
  }

  take(square) {
    const plane = this.plane, v = plane.view;
    if (!plane.data.lock_axes || !v.ready) return;
    v.setSquare(square);
    this.applying = true;
    plane.viewChanged();
    this.applying = false;
  }

  /** Locked axes: widen the plane's freshly fitted view to hold its peers' views too. */
  widen() {
    const v = this.plane.view, r = v.range();
    let [x0, x1, y0, y1] = [r.x[0], r.x[1], r.y[0], r.y[1]];
    for (const p of this.peers()) {
      if (!p.view.ready) continue;
      const q = p.view.range();
      [x0, x1, y0, y1] = [Math.min(x0, q.x[0]), Math.max(x1, q.x[1]), Math.min(y0, q.y[0]), Math.max(y1, q.y[1])];
    }
    v.setSquare({ cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, span: Math.max(x1 - x0, y1 - y0) });
  }
}
