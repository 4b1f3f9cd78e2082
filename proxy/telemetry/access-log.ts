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

/** One entry as a JSON line (the object JSON.stringify would write, without building it). */
function formatLine(entry: AccessLogEntry): string {
  return (
    `{"time":"${new Date(entry.startTime).toISOString()}","direction":"${entry.direction}","method":${JSON.stringify(entry.method)}` +
    `,"path":${JSON.stringify(entry.path)},"authority":${JSON.stringify(entry.authority)},"status":${entry.status}` +
    `,"duration_ms":${Math.round(entry.durationMs * 1000) / 1000},"bytes_received":${entry.bytesReceived},"bytes_sent":${entry.bytesSent}` +
    `,"upstream":${JSON.stringify(entry.upstream)},"response_flags":${JSON.stringify(entry.responseFlag)},"request_id":${JSON.stringify(entry.requestId)}}\n`
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
