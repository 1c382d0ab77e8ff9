// Work kept off the frame path: a long loop cut into slices of a few milliseconds, each in a task
// of its own, so pointer events and animation frames run between them.

const SLICE_MS = 8;

/**
 * Run step(i) for i = 0 .. total - 1 in slices of SLICE_MS (the clock read every `batch` steps),
 * then finish(). Returns the job, {cancelled, next}: setting `cancelled` stops it before its next
 * slice, and finish() is then never called.
 */
export function runSliced(total, step, finish, batch = 1) {
  const job = { cancelled: false, next: 0 };
  const slice = () => {
    if (job.cancelled) return;
    const t0 = performance.now();
    while (job.next < total && performance.now() - t0 < SLICE_MS) {
      for (const end = Math.min(total, job.next + batch); job.next < end;) step(job.next++);
    }
    if (job.next < total) setTimeout(slice, 0);
    else finish();
  };
  setTimeout(slice, 0);
  return job;
}
