// buy_at as clients send it: the seed's "2023-09-01 13:22:22" (a wall-clock
// time in the zone BUY_AT_TIME_ZONE, UTC by default), or an ISO 8601 time
// with an explicit offset ("2023-09-01T13:22:22+08:00", "...Z").

const PLAIN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

// Purchases are recorded, not scheduled: nothing before this, nothing more than a day ahead.
const EARLIEST = Date.UTC(2000, 0, 1);
const AHEAD_MS = 24 * 3600 * 1000;

function validParts(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

// Building a formatter costs far more than using one: one per zone, kept.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at instant `ms`, in ms. */
function zoneOffset(timeZone: string, ms: number): number {
  if (timeZone === 'UTC') return 0;
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  const parts = format.formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(ms / 1000) * 1000;
}

/** The instant, or undefined when the text is not a time we accept. */
export function parseBuyAt(text: string, timeZone: string, now = Date.now()): Date | undefined {
  let ms: number | undefined;
  const plain = PLAIN.exec(text);
  const iso = plain ? undefined : ISO.exec(text);
  const m = plain ?? iso;
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!validParts(y, mo, d, h, mi, s)) return undefined;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (plain) {
    // Two passes settle the offset across a DST change.
    const first = wall - zoneOffset(timeZone, wall);
    ms = wall - zoneOffset(timeZone, first);
  } else {
    const fraction = iso![7] ? Math.floor(Number(`0${iso![7]}`) * 1000) : 0;
    const zone = iso![8]!;
    const offset = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    if (Math.abs(offset) > 14 * 3600_000) return undefined;
    ms = wall + fraction - offset;
  }
  if (ms < EARLIEST || ms > now + AHEAD_MS) return undefined;
  return new Date(ms);
}
