/**
 * How openbatch shows a moment to a person, the same in the CLI and the dashboard: local
 * time, ISO 8601 in its RFC 3339 spelling with a space, and the zone's offset —
 * `2026-11-25 07:13:09+01:00` — so that a time copied from one into the other, or into a
 * bug report from another zone, still means one instant (Date.parse reads it back).
 * Tables, where width is dear, show the time of day alone for today and drop the seconds
 * for other days, and say the zone once (`zoneOffset`) in a header.
 */

const pad2 = (n: number) => String(n).padStart(2, '0');

/** The local zone's offset at that moment: `+01:00`, `-05:00`, `+00:00`. */
export function zoneOffset(d: Date = new Date()): string {
  const minutes = -d.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

const day = (d: Date) => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
const clock = (d: Date) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;

/** `2026-11-25 07:13:09+01:00` */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${day(d)} ${clock(d)}${zoneOffset(d)}`;
}

/** For tables: `07:13:09` today, `2026-11-24 07:13` on other days (local time; the zone in the header). */
export function formatShortTime(ms: number, now: number = Date.now()): string {
  const d = new Date(ms);
  if (day(d) === day(new Date(now))) return clock(d);
  return `${day(d)} ${clock(d).slice(0, 5)}`;
}
