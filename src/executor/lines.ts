/**
 * Output of a job, split into log lines as CloudWatch holds them: one event per line, at most
 * 256 KiB each (longer lines are cut, never inside a UTF-8 character), CRLF endings without
 * their CR. Shared by every executor.
 */
import type { LogLine, LogStream } from './types.js';

/** CloudWatch caps one event at 256 KiB; longer lines are split into pieces of at most this many bytes. */
export const MAX_LINE_BYTES = 256 * 1024;

/** Splits one output stream into lines; a partial line waits for the rest or for the end. */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** the pending bytes continue a line already cut at MAX_LINE_BYTES */
  private continued = false;

  constructor(private readonly stream: LogStream) {}

  push(chunk: Buffer, now: number, out: LogLine[]): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.add(chunk.subarray(start, nl), now, out);
      this.emit(now, out);
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start), now, out);
  }

  /** Flushes the last line if the process did not end it with a newline. */
  end(now: number, out: LogLine[]): void {
    if (this.pendingBytes > 0) this.emit(now, out);
  }

  private add(part: Buffer, now: number, out: LogLine[]): void {
    if (this.pendingBytes + part.length > MAX_LINE_BYTES) {
      let rest = this.pendingBytes > 0 ? Buffer.concat([...this.pending, part]) : part;
      while (rest.length > MAX_LINE_BYTES) {
        const cut = utf8Boundary(rest, MAX_LINE_BYTES);
        out.push({ stream: this.stream, timestamp: now, message: rest.toString('utf8', 0, cut) });
        rest = rest.subarray(cut);
      }
      this.pending = [];
      this.pendingBytes = 0;
      this.continued = true;
      part = rest;
    }
    if (part.length > 0) {
      this.pending.push(part);
      this.pendingBytes += part.length;
    }
  }

  private emit(now: number, out: LogLine[]): void {
    let line = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    // A CRLF straddling a cut would otherwise show up as an empty line after the pieces.
    if (!(this.continued && line.length === 0)) {
      out.push({ stream: this.stream, timestamp: now, message: line.toString('utf8') });
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.continued = false;
  }
}

/** The largest cut ≤ max that does not split a UTF-8 sequence (or max, if the bytes are not UTF-8). */
function utf8Boundary(buf: Buffer, max: number): number {
  let cut = max;
  while (cut > max - 3 && (buf[cut] & 0xc0) === 0x80) cut--;
  return (buf[cut] & 0xc0) === 0x80 ? max : cut;
}

