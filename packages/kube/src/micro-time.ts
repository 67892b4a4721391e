// `metav1.MicroTime`, the timestamp of Leases and events.k8s.io Events: RFC 3339 with exactly six
// fractional digits. (Conditions use `metav1.Time`, whole seconds.)

/**
 * A `metav1.MicroTime`: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always UTC and exactly six
 * fractional digits. `ms` may carry a fraction (microseconds).
 */
export function formatMicroTime(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`formatMicroTime: not a time: ${ms}`);
  const micros = Math.round(ms * 1000);
  const fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000;
  const seconds = (micros - fraction) / 1_000_000;
  const iso = new Date(seconds * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  if (iso.length !== 24) throw new RangeError(`formatMicroTime: year out of range: ${iso}`);
  return `${iso.slice(0, 19)}.${String(fraction).padStart(6, '0')}Z`;
}

const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/** Milliseconds since the epoch (with a microsecond fraction) of an RFC 3339 time; undefined if it is not one. */
export function parseMicroTime(text: string): number | undefined {
  const m = rfc3339.exec(text);
  if (!m) return undefined;
  const [, base = '', fraction = '', zone = 'Z'] = m;
  const seconds = Date.parse(`${base}${zone.toUpperCase()}`);
  if (Number.isNaN(seconds)) return undefined;
  const micros = Number(fraction.padEnd(6, '0').slice(0, 6));
  return seconds + micros / 1000;
}
