// buy_at as clients send it: the seed's "2023-09-01 13:22:22" (a wall-clock
// time in the zone BUY_AT_TIME_ZONE, UTC by default), or an ISO 8601 time
// with an explicit offset ("2023-09-01T13:22:22+08:00", "...Z").

/** The seed's form, a wall-clock time in BUY_AT_TIME_ZONE; exported for the API's OpenAPI description. */
export const PLAIN_BUY_AT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
/** ISO 8601 with an explicit offset. */
export const ISO_BUY_AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

// Purchases are recorded, not scheduled: nothing before this, nothing more than a day ahead
// (a day covers any client clock in any time zone sending its local "now").
const EARLIEST = Date.UTC(2000, 0, 1);
const DAY_MS = 24 * 3600 * 1000;
const AHEAD_MS = DAY_MS;

/** The accepted window, in the words the API's error messages use. */
export const BUY_AT_WINDOW = 'from 2000-01-01 00:00:00 UTC to 24 hours after now';

function validParts(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return (
    probe.getUTCFullYear() === y &&
    probe.getUTCMonth() === mo - 1 &&
    probe.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    s < 60
  );
}

// Building a formatter costs far more than using one: one per zone, kept.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at instant `ms`, in ms. */
function zoneOffset(timeZone: string, ms: number): number {
  if (timeZone === 'UTC') return 0;
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  const parts = format.formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return (
    Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) -
    Math.floor(ms / 1000) * 1000
  );
}

export type BuyAt = { at: Date } | { problem: 'format' | 'too_early' | 'too_late' };

/** The instant, or why the text is not a time we accept. */
export function parseBuyAt(text: string, timeZone: string, now = Date.now()): BuyAt {
  let ms: number | undefined;
  const plain = PLAIN_BUY_AT.exec(text);
  const iso = plain ? undefined : ISO_BUY_AT.exec(text);
  const m = plain ?? iso;
  if (!m) return { problem: 'format' };
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!validParts(y, mo, d, h, mi, s)) return { problem: 'format' };
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (!iso) {
    // Plain wall-clock time in timeZone. Across a change of offset it is read
    // as RFC 5545 §3.3.5 and Temporal's "compatible" read it: a time the
    // change repeats (autumn) is its first occurrence; a time it skips
    // (spring) takes the offset from before the gap, so 02:30 in New York's
    // gap is 03:30 EDT. The offsets a day before and after bracket the change.
    const before = zoneOffset(timeZone, wall - DAY_MS);
    const after = zoneOffset(timeZone, wall + DAY_MS);
    const exact = [wall - before, wall - after].filter((t) => zoneOffset(timeZone, t) === wall - t);
    ms = exact.length ? Math.min(...exact) : wall - before;
  } else {
    const [, , , , , , , decimals, zone = 'Z'] = iso;
    const fraction = decimals ? Math.floor(Number(`0${decimals}`) * 1000) : 0;
    const offset =
      zone === 'Z'
        ? 0
        : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    if (Math.abs(offset) > 14 * 3600_000) return { problem: 'format' };
    ms = wall + fraction - offset;
  }
  if (ms < EARLIEST) return { problem: 'too_early' };
  if (ms > now + AHEAD_MS) return { problem: 'too_late' };
  return { at: new Date(ms) };
}
