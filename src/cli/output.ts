/**
 * What the CLI prints: aligned tables and key/value blocks for people, JSON for scripts,
 * times, status colours (only on a terminal, never with NO_COLOR) and the array progress bar.
 */

type Stream = NodeJS.WriteStream;

/** Colour on this stream: a terminal, NO_COLOR unset, TERM not dumb. */
export function colourOn(stream: Stream): boolean {
  return !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
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

/** Local time, `2026-11-25 07:13:09`. */
export function fullTime(ms: number | undefined): string | undefined {
  if (ms === undefined || ms === null) return undefined;
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** For tables: `07:13:09` today, `11-24 07:13` on other days, `-` when there is none. */
export function shortTime(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined || ms === null) return '-';
  const d = new Date(ms);
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
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
  private readonly tty: boolean;

  constructor(private readonly stream: Stream = process.stderr) {
    this.tty = !!stream.isTTY;
  }

  update(size: number, summary: StatusSummary): void {
    const done = (summary.SUCCEEDED ?? 0) + (summary.FAILED ?? 0);
    const width = 30;
    const filled = size > 0 ? Math.round((done / size) * width) : 0;
    const failedCells = size > 0 && summary.FAILED ? Math.max(1, Math.round(((summary.FAILED ?? 0) / size) * width)) : 0;
    const on = colourOn(this.stream);
    const bar =
      paint('#'.repeat(Math.max(filled - failedCells, 0)), 'green', on) + paint('#'.repeat(Math.min(failedCells, filled)), 'red', on) + '.'.repeat(width - filled);
    const text = `[${bar}] ${summaryText(size, summary)}`;
    if (text === this.last) return;
    this.last = text;
    this.stream.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`);
  }

  /** Ends the redrawn line so what follows starts on its own. */
  finish(): void {
    if (this.tty && this.last) this.stream.write('\n');
  }
}
