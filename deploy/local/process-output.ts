// Where the mesh's processes write: interleaved on the console, each line behind a coloured
// prefix naming its process, or (--quiet) into .weft/logs/<process>.log, with only weft up's own
// lines and the control plane's refusals on the console.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

const COLOURS = [36, 33, 35, 32, 34, 31, 96, 93, 95, 92, 94];

export interface OutputOptions {
  readonly quiet: boolean;
  readonly logDir: string;
  readonly colour: boolean;
  readonly console?: NodeJS.WritableStream;
}

/** A refused change (or a directory that does not validate at start) is reported by the control plane on a line like this, then indented lines. */
const REFUSAL = /change refused whole|do not validate; nothing was started/;

export class ProcessOutput {
  readonly #files = new Map<string, WriteStream>();
  readonly #colours = new Map<string, number>();
  readonly #console: NodeJS.WritableStream;
  #consoleGone = false;
  #width = 8;

  constructor(private readonly options: OutputOptions) {
    this.#console = options.console ?? process.stdout;
    // A console that went away (`weft up | head`, a parent that exited) must not crash weft up
    // while it stops its processes in order: what it would have shown is dropped.
    this.#console.on('error', () => (this.#consoleGone = true));
    if (options.quiet) mkdirSync(options.logDir, { recursive: true });
  }

  /** Registers a process name, so prefixes line up. */
  add(name: string): void {
    if (this.#colours.has(name)) return;
    this.#colours.set(name, COLOURS[this.#colours.size % COLOURS.length]!);
    this.#width = Math.max(this.#width, name.length);
  }

  /** weft up's own lines: always on the console. */
  say(text: string): void {
    this.#show(`${text}\n`);
  }

  /** Follows a child's stdout or stderr, line by line. */
  follow(name: string, stream: Readable): void {
    let inRefusal = false;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      if (!this.options.quiet) return this.#prefixed(name, line);
      this.#file(name).write(`${line}\n`);
      inRefusal = REFUSAL.test(line) || (inRefusal && /^\s/.test(line));
      if (inRefusal) this.#prefixed(name, line);
    });
  }

  #prefixed(name: string, line: string): void {
    const label = name.padEnd(this.#width);
    const colour = this.#colours.get(name) ?? 37;
    this.#show(this.options.colour ? `\x1b[${colour}m${label} |\x1b[0m ${line}\n` : `${label} | ${line}\n`);
  }

  #show(text: string): void {
    if (!this.#consoleGone) this.#console.write(text);
  }

  #file(name: string): WriteStream {
    let file = this.#files.get(name);
    if (file === undefined) {
      file = createWriteStream(join(this.options.logDir, `${name}.log`), { flags: 'a' });
      this.#files.set(name, file);
    }
    return file;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#files.values()].map((file) => new Promise<void>((resolve) => file.end(() => resolve()))));
  }
}
