// Commands from the page (the guided tour): select a test digit or a z, or show the strip of a
// drag, exactly as the user's own click or drag would. Python sends the latest command on every
// rerun; each nonce is applied once, when the model it was sent with is drawn.

export class Commands {
  constructor() {
    this.nonce = null; // of the latest command received
    this.pending = null; // a command waiting for its model and view
  }

  /** @returns {boolean} whether `command` is new (then it is applied at the next frame) */
  receive(command) {
    if (!command || command.nonce === this.nonce) return false;
    this.nonce = command.nonce;
    this.pending = command;
    return true;
  }

  /** Apply the pending command if the plane shows the model the data names. */
  run(plane, modelKey) {
    const c = this.pending, model = plane.model;
    if (!c || !model || model.key !== modelKey || !plane.view.ready) return;
    this.pending = null;
    const i = c.select_index;
    if (c.drag) {
      plane.strip.begin(model, plane.testImages, c.drag.start, -1);
      plane.report(plane.strip.end(model, plane.testImages, c.drag.end, -1));
      plane.select(c.drag.end, -1);
    } else if (Number.isInteger(i) && i >= 0 && i < model.points.n) {
      plane.select(plane.pointZ(i), i);
    } else if (c.select_z) {
      plane.select(c.select_z, -1);
    }
  }
}
