/**
 * What the CLI prints: aligned tables and key/value blocks for people, JSON for scripts,
 * times, status colours (only on a terminal, never with NO_COLOR) and the array progress bar.
 *
 * `--output` chooses among the aws CLI's formats: `table` (the default: aligned columns with
 * a header, key/value blocks), `text` (tab-separated fields, no header, no colour: for cut,
 * awk and read) and `json` (what each command's --json prints).
 */
import { formatShortTime, formatTime, zoneOffset } from '../model/timeFormat.js';
import { CliError } from './errors.js';

type Stream = NodeJS.WriteStream;

export const OUTPUT_FORMATS = ['table', 'text', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

let format: OutputFormat = 'table';

/** Sets the format for this run from `--output` or OPENBATCH_OUTPUT (undefined: table). */
export function setOutputFormat(value: string | undefined): void {
  if (value === undefined || value === '') return void (format = 'table');
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) throw new CliError(`--output must be ${OUTPUT_FORMATS.join(', ')} (got '${value}')`);
  format = value as OutputFormat;
}

/** Whether to print JSON: the command's own --json, or --output json. */
export function wantsJson(flags: { json?: boolean } = {}): boolean {
  return !!flags.json || format === 'json';
}

/** Whether to print tab-separated text (--output text). */
export function wantsText(): boolean {
  return format === 'text';
}

/** Colour on this stream: a terminal, NO_COLOR unset, TERM not dumb. */
export function colourOn(stream: Stream): boolean {
  return format !== 'text' && !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(text: string, colour: Colour | undefined, on: boolean): string {
  return on && colour && text ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

export function statusColour(status: string | undefined): Colour | undefined {
  switch (status) {
    case 'SUCCEEDED':
      return 'green';
    case 'FAILED':
      return 'red';
    case 'RUNNING':
    case 'STARTING':
      return 'cyan';
    case 'SUBMITTED':
    case 'PENDING':
    case 'RUNNABLE':
      return 'yellow';
    default:
      return undefined;
  }
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  colour?: (row: T) => Colour | undefined;
  /** right-align (numbers) */
  right?: boolean;
}

/** An aligned table with a header row; colours never disturb the alignment. */
export function table<T>(rows: T[], columns: Column<T>[], stream: Stream = process.stdout): string {
  if (format === 'text') return rows.map((r) => columns.map((c) => c.value(r)).join('\t') + '\n').join('');
  const on = colourOn(stream);
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[], colours: (Colour | undefined)[]) =>
    values
      .map((v, i) => {
        const padded = columns[i].right ? v.padStart(widths[i]) : i === values.length - 1 ? v : v.padEnd(widths[i]);
        return paint(padded, colours[i], on);
      })
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header), columns.map(() => (on ? 'bold' : undefined)))];
  rows.forEach((r, n) => out.push(line(cells[n], columns.map((c) => c.colour?.(r)))));
  return out.join('\n') + '\n';
}

/** `key   value` lines with the keys aligned; an array value continues on indented lines. */
export function keyValues(pairs: [string, string | string[] | undefined][]): string {
  const shown = pairs.filter((p): p is [string, string | string[]] => p[1] !== undefined && (!Array.isArray(p[1]) || p[1].length > 0));
  if (format === 'text') return shown.map(([k, v]) => [k, ...(Array.isArray(v) ? v : [v])].join('\t') + '\n').join('');
  const width = Math.max(...shown.map(([k]) => k.length));
  const out: string[] = [];
  for (const [k, v] of shown) {
    const values = Array.isArray(v) ? v : [v];
    values.forEach((value, i) => out.push(`${(i === 0 ? k : '').padEnd(width)}  ${value}`));
  }
  return out.join('\n') + '\n';
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `2026-11-25 07:13:09+01:00` (model/timeFormat.ts: the dashboard shows the same). */
export function fullTime(ms: number | undefined | null): string | undefined {
  if (ms === undefined || ms === null) return undefined;
  return formatTime(ms);
}

/** For tables: `07:13:09` today, `2026-11-24 07:13` on other days, `-` when there is none. */
export function shortTime(ms: number | undefined | null, now = Date.now()): string {
  if (ms === undefined || ms === null) return '-';
  return formatShortTime(ms, now);
}

/** A table column header for local times, with the zone: `CREATED (+01:00)`. */
export function timeHeader(name: string): string {
  return `${name} (${zoneOffset()})`;
}

/** `1.2s`, `3m04s`, `2h05m`. */
export function duration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${pad2(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad2(Math.floor((s % 3600) / 60))}m`;
}

/** The name part of an AWS Batch ARN (`…:job-queue/render` → `render`, `…/def:3` → `def:3`). */
export function nameOfArn(arn: string | undefined): string {
  if (!arn) return '-';
  const slash = arn.indexOf('/');
  return arn.startsWith('arn:') && slash >= 0 ? arn.slice(slash + 1) : arn;
}

/** The counts of an array job's children, as DescribeJobs reports them. */
export type StatusSummary = Partial<Record<'SUBMITTED' | 'PENDING' | 'RUNNABLE' | 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED', number>>;

export function summaryText(size: number, s: StatusSummary): string {
  const succeeded = s.SUCCEEDED ?? 0;
  const failed = s.FAILED ?? 0;
  const running = (s.RUNNING ?? 0) + (s.STARTING ?? 0);
  const waiting = Math.max(size - succeeded - failed - running, 0);
  const parts = [`${succeeded} succeeded`];
  if (failed) parts.push(`${failed} failed`);
  return `${succeeded + failed}/${size} done (${parts.join(', ')}); ${running} running, ${waiting} waiting`;
}

/**
 * The live progress bar of an array job on stderr. On a terminal it redraws one line; into a
 * file or pipe it writes a line only when the counts change, so logs stay readable.
 */
export class ProgressBar {
  private last = '';
  /** a redrawn line is on the terminal, not yet ended */
  private open = false;
  private readonly tty: boolean;

  constructor(private readonly stream: Stream = process.stderr) {
    this.tty = !!stream.isTTY;
  }

  /** Draws the bar when its text changed (`force`: also when it did not, e.g. below a new line). */
  update(size: number, summary: StatusSummary, force = false): void {
    const done = (summary.SUCCEEDED ?? 0) + (summary.FAILED ?? 0);
    const width = 30;
    const filled = size > 0 ? Math.round((done / size) * width) : 0;
    const failedCells = size > 0 && summary.FAILED ? Math.max(1, Math.round(((summary.FAILED ?? 0) / size) * width)) : 0;
    const on = colourOn(this.stream);
    const bar =
      paint('#'.repeat(Math.max(filled - failedCells, 0)), 'green', on) + paint('#'.repeat(Math.min(failedCells, filled)), 'red', on) + '.'.repeat(width - filled);
    const text = `[${bar}] ${summaryText(size, summary)}`;
    if (text === this.last && !(force && this.tty)) return;
    this.last = text;
    this.stream.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`);
    this.open = this.tty;
  }

  /** Ends the redrawn line so what follows starts on its own. */
  finish(): void {
    if (this.open) this.stream.write('\n');
    this.open = false;
  }
}
