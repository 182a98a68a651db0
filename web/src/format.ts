/** Times and durations as a person reads them on a laptop screen. */
import { formatShortTime, formatTime, zoneOffset } from '../../src/model/timeFormat.js';

/**
 * A moment in the CLI's format (`2026-11-25 07:13:09+01:00`), so that a time copied from
 * one is found in the other; `short` for table cells: the time of day alone today, no
 * seconds on other days (the zone in the column's header, `zone()`).
 */
export function time(ms: number | null | undefined, short = false): string {
  if (!ms) return '—';
  return short ? formatShortTime(ms) : formatTime(ms);
}

/** The browser's zone offset, for the header of a column of short times: `(+01:00)`. */
export function zone(): string {
  return `(${zoneOffset()})`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return '—';
  return `${duration(now - ms)} ago`;
}

/** The name at the end of an ARN (job-queue/render → render). */
export function arnName(arn: string | undefined): string {
  if (!arn) return '';
  return arn.slice(arn.lastIndexOf('/') + 1);
}

const SIGNIFICANT = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3, useGrouping: false });

/** Money as the cost report gives it: under 1, three significant digits (0.000308 USD). */
export function money(amount: number, currency: string | null): string {
  const text = Math.abs(amount) >= 1 ? amount.toFixed(2) : SIGNIFICANT.format(amount);
  return currency ? `${text} ${currency}` : text;
}

/** Resource-seconds as hours (vCPU-hours, GiB-hours), with the precision small jobs need. */
export function hours(seconds: number): string {
  const h = seconds / 3600;
  return h >= 10 ? h.toFixed(1) : SIGNIFICANT.format(h);
}

export { usedShare } from '../../src/model/usage.js';
