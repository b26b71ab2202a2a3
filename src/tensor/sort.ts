const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Indices that sort `values` in decreasing order, ties in index order, NaN first and
 * -0 equal to +0: torch's `sort(stable=True, descending=True)`, and numpy's stable
 * argsort of `-values` for NaN-free input. A stable LSD radix sort over the
 * order-preserving bit patterns of the floats, 16-bit digits for large inputs
 * (fewer passes) and 8-bit digits otherwise (small count tables).
 */
export function argsortDescending(values: Float32Array | Float64Array): Int32Array {
  const n = values.length;
  const f64 = values instanceof Float64Array;
  const words = f64 ? 2 : 1;
  const copy = f64 ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    copy[i] = v !== v ? NaN : v === 0 ? 0 : v;
  }
  const bits = new Uint32Array(copy.buffer);
  // Descending keys: invert the ascending order-preserving transform; NaN gets key 0 (first).
  const keys: Uint32Array[] = [];
  for (let w = 0; w < words; w++) keys.push(new Uint32Array(n));
  const hiOff = f64 ? (LITTLE_ENDIAN ? 1 : 0) : 0;
  const loOff = LITTLE_ENDIAN ? 0 : 1;
  for (let i = 0; i < n; i++) {
    const v = copy[i];
    const hi = bits[i * words + hiOff];
    if (v !== v) {
      keys[words - 1][i] = 0;
      if (f64) keys[0][i] = 0;
      continue;
    }
    const neg = hi >>> 31 === 1;
    keys[words - 1][i] = neg ? hi : ~(hi | 0x80000000) >>> 0;
    if (f64) {
      const lo = bits[i * 2 + loOff];
      keys[0][i] = neg ? lo : ~lo >>> 0;
    }
  }
  const digitBits = n >= 1 << 16 ? 16 : 8;
  const mask = (1 << digitBits) - 1;
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let tmp = new Int32Array(n);
  const count = new Int32Array(mask + 1);
  for (const key of keys) {
    for (let shift = 0; shift < 32; shift += digitBits) {
      count.fill(0);
      for (let i = 0; i < n; i++) count[(key[i] >>> shift) & mask]++;
      if (n === 0 || count[(key[0] >>> shift) & mask] === n) continue; // one digit value: order unchanged
      let sum = 0;
      for (let b = 0; b <= mask; b++) {
        const c = count[b];
        count[b] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const o = order[i];
        tmp[count[(key[o] >>> shift) & mask]++] = o;
      }
      const t = order;
      order = tmp;
      tmp = t;
    }
  }
  return order;
}
