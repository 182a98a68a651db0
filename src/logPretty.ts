/**
 * Logs for a person at a terminal: pino's JSON lines turned into one readable line each —
 * `19:50:12.345 INFO  listening  address=http://127.0.0.1:8770` — with the level coloured,
 * pid and hostname left out, an error's stack on the lines below. `npm start` in a terminal
 * gets these; anything else (a pipe, a file, systemd's journal) gets the JSON, which log
 * collectors read (config `logFormat`).
 *
 * A small formatter here rather than pino-pretty: it is a dozen lines of behaviour and
 * pino-pretty brings fifteen packages into every installation, most of them for options
 * (custom templates, worker transports) that a server's own terminal does not need.
 */
import type { DestinationStream } from 'pino';
import { formatTime } from './model/timeFormat.js';

const LEVELS: Record<number, [string, number]> = {
  10: ['TRACE', 90],
  20: ['DEBUG', 36],
  30: ['INFO ', 32],
  40: ['WARN ', 33],
  50: ['ERROR', 31],
  60: ['FATAL', 35],
};

/** Members every line has, shown in their own places or not at all. */
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** One pino JSON line as a person reads it (`colour`: ANSI colour for the level). */
export function prettyLine(json: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const [name, code] = LEVELS[Number(o.level)] ?? [String(o.level).toUpperCase().padEnd(5), 0];
  const time = typeof o.time === 'number' ? formatTime(o.time).slice(11, 19) + '.' + String(o.time % 1000).padStart(3, '0') : '';
  const level = colour && code ? `\x1b[${code}m${name}\x1b[0m` : name;
  const fields = Object.entries(o)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${value(v)}`);
  let out = `${time} ${level} ${String(o.msg ?? '')}${fields.length ? `  ${colour ? '\x1b[2m' : ''}${fields.join(' ')}${colour ? '\x1b[0m' : ''}` : ''}\n`;
  const err = o.err as { message?: string; stack?: string } | undefined;
  if (err) out += (err.stack ?? err.message ?? value(err)).replace(/^/gm, '    ') + '\n';
  return out;
}

/** A pino destination that writes pretty lines to `stream` (stdout). */
export function prettyDestination(stream: NodeJS.WriteStream = process.stdout): DestinationStream {
  const colour = !!stream.isTTY && !process.env.NO_COLOR;
  return { write: (line: string) => void stream.write(prettyLine(line, colour)) };
}
