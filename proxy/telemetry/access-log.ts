// Access log: one JSON line per request on stdout, off, on, or for a random sample of requests.
import type { AccessLogMode } from '../config/types.js';
import type { LogLines } from './log-lines.js';

export interface AccessLogEntry {
  readonly startTime: number;
  readonly direction: 'inbound' | 'outbound';
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly status: number;
  readonly durationMs: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly upstream: string;
  readonly responseFlag: string;
  readonly requestId: string;
}

// Printable ASCII but `"` and `\`: JSON.stringify would write such a string as it is, quoted.
const plainJsonString = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `text` as a JSON string (most values a request logs need no escaping; the rest go to JSON.stringify). */
function jsonString(text: string): string {
  return plainJsonString.test(text) ? `"${text}"` : JSON.stringify(text);
}

// toISOString builds a Date and formats all of it: the line's second is formatted once a second.
let formattedSecond = Number.NaN;
let secondPrefix = '';

/** `ms` since the epoch as Date.prototype.toISOString writes it (a year within 0-9999). */
function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  const second = Math.floor(whole / 1000);
  if (second !== formattedSecond) {
    formattedSecond = second;
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const millis = whole - second * 1000;
  return `${secondPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/** One entry as a JSON line (the object JSON.stringify would write, without building it). */
function formatLine(entry: AccessLogEntry): string {
  return (
    `{"time":"${isoTime(entry.startTime)}","direction":"${entry.direction}","method":${jsonString(entry.method)}` +
    `,"path":${jsonString(entry.path)},"authority":${jsonString(entry.authority)},"status":${entry.status}` +
    `,"duration_ms":${Math.round(entry.durationMs * 1000) / 1000},"bytes_received":${entry.bytesReceived},"bytes_sent":${entry.bytesSent}` +
    `,"upstream":${jsonString(entry.upstream)},"response_flags":${jsonString(entry.responseFlag)},"request_id":${jsonString(entry.requestId)}}\n`
  );
}

export class AccessLog {
  constructor(
    private readonly mode: AccessLogMode,
    private readonly sampleRate: number,
    /** Also where filters write their own log lines (the authorization decision log). */
    readonly out: LogLines,
  ) {}

  /** Whether this request is logged; asked once per request so the off case costs nothing. */
  get enabled(): boolean {
    return this.mode === 'on' || (this.mode === 'sampled' && Math.random() < this.sampleRate);
  }

  write(entry: AccessLogEntry): void {
    this.out.write(formatLine(entry));
  }
}
