// Sizing a plane's parts from the room the page gives it (sizes from geometry.js): the plot as
// large as the width and the window allow, the strip under it, the panel beside it or, compact,
// under the strip.

import { STRIP_H, documentTop, layoutSizes } from "./geometry.js";

/** Lay the plane out; `moved`: its top may have moved (a window resize, a change of layout). */
export function layoutPlane(plane, moved) {
  const width = Math.floor(plane.root.clientWidth);
  if (width <= 0) return;
  if (moved || plane.top === null) plane.top = documentTop(plane.root);
  const compact = !!plane.data.compact;
  plane.root.classList.toggle("lp-compact", compact);
  const { side, w, h } = layoutSizes(width, plane.top, window.innerHeight, compact);
  const dpr = window.devicePixelRatio || 1;
  if (side === plane.view.side && w === plane.renderer.width && dpr === plane.renderer.dpr) return;
  plane.renderer.resize(w, h, dpr);
  plane.view.resize(side);
  plane.stage.style.width = plane.stripRoot.style.width = `${w}px`;
  plane.stage.style.height = `${h}px`;
  plane.stripRoot.style.height = `${STRIP_H}px`;
  plane.inputs.setHeight(compact ? null : h + STRIP_H);
  if (plane.model && !(plane.view.scale > 0)) plane.fitView(false);
  plane.baseChanged();
}
