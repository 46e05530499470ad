// The arithmetic of the virtualised results list: rows have measured (or
// estimated) heights; only those in view, plus some overscan, are rendered.

// offsets[i] is the top of row i; offsets[count] the total height.
export function computeOffsets(count: number, heightOf: (i: number) => number): Float64Array {
  const out = new Float64Array(count + 1);
  for (let i = 0; i < count; i++) out[i + 1] = out[i] + heightOf(i);
  return out;
}

// The first row whose bottom is below y.
export function rowAt(offsets: Float64Array, y: number): number {
  const count = offsets.length - 1;
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1] <= y) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, Math.max(count - 1, 0));
}

// [start, end) of the rows to render for a viewport at scrollTop.
export function visibleRange(offsets: Float64Array, scrollTop: number, viewport: number, overscan: number): [number, number] {
  const count = offsets.length - 1;
  if (count === 0) return [0, 0];
  const first = rowAt(offsets, scrollTop);
  const last = rowAt(offsets, Math.max(scrollTop, scrollTop + viewport - 1));
  return [Math.max(0, first - overscan), Math.min(count, last + 1 + overscan)];
}
