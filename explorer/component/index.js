// The component's entry point, called by Streamlit on every rerun with the new data and without
// a cleanup in between: one Plane per parentElement lives across reruns and is updated.

import { Plane } from "./plane.js";
import { exposeHooks, withdrawHooks } from "./hooks.js";
import { parseData } from "./protocol.js";

const PLANES = new WeakMap(); // parentElement -> {plane, calls}

export default function (component) {
  const { parentElement, setStateValue, setTriggerValue } = component;
  const data = parseData(component.data);
  let entry = PLANES.get(parentElement);
  if (!entry) {
    entry = { plane: new Plane(parentElement, data), calls: 0 };
    PLANES.set(parentElement, entry);
    exposeHooks(entry.plane);
  }
  const call = ++entry.calls;
  entry.plane.update(data, setStateValue, setTriggerValue);
  // The cleanup of an earlier call may run after a newer call: only the latest one tears down.
  return () => {
    if (PLANES.get(parentElement) !== entry || entry.calls !== call) return;
    withdrawHooks(entry.plane);
    entry.plane.destroy();
    PLANES.delete(parentElement);
  };
}
