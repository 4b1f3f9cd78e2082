// One process of the local mesh: started in its own process group (so a Ctrl-C reaches weft up,
// which stops everything in order, and stopping a process also stops anything it started),
// restarted with backoff when it exits unasked, and stopped with SIGTERM, then SIGKILL past a
// deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { ProcessOutput } from './process-output.js';

export interface ProcessSpec {
  readonly name: string;
  /** Computed at each (re)start, e.g. to mint a fresh bootstrap token. */
  readonly argv: () => Promise<readonly string[]> | readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

/** Restarts wait 0.5 s doubling to 15 s; a process that ran 10 s is healthy again. */
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
const HEALTHY_AFTER_MS = 10_000;

interface Events {
  /** Exited unasked; restarting after `delayMs`. */
  crashed: [description: string, restart: number, delayMs: number];
  started: [pid: number];
}

export class SupervisedProcess extends EventEmitter<Events> {
  #child: ChildProcess | undefined;
  #stopping = false;
  #restarts = 0;
  #timer: NodeJS.Timeout | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: ProcessSpec,
    private readonly output: ProcessOutput,
  ) {
    super();
    output.add(spec.name);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get restarts(): number {
    return this.#restarts;
  }

  async start(): Promise<void> {
    if (this.#stopping) return;
    const [command, ...args] = await this.spec.argv();
    if (this.#stopping) return;
    const child = spawn(command!, args, { cwd: this.spec.cwd, env: { ...process.env, ...this.spec.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.#child = child;
    this.output.follow(this.spec.name, child.stdout!);
    this.output.follow(this.spec.name, child.stderr!);
    const startedAt = Date.now();
    this.#exited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.output.say(`weft up: cannot start ${this.spec.name} (${command}): ${error.message}`);
      });
      child.once('close', (code, signal) => {
        resolve();
        if (this.#stopping) return;
        if (Date.now() - startedAt > HEALTHY_AFTER_MS) this.#restarts = 0;
        const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.#restarts);
        this.#restarts += 1;
        const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
        this.emit('crashed', how, this.#restarts, delay);
        this.#timer = setTimeout(() => void this.start(), delay);
      });
    });
    if (child.pid !== undefined) this.emit('started', child.pid);
  }

  /** SIGTERM to the process group, SIGKILL after `deadlineMs`; resolves once it has exited. */
  async stop(deadlineMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    const child = this.#child;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Already gone.
      }
    };
    signalGroup('SIGTERM');
    const kill = setTimeout(() => signalGroup('SIGKILL'), deadlineMs);
    await this.#exited;
    clearTimeout(kill);
    // Anything the process started and left behind in its group.
    signalGroup('SIGKILL');
  }
}
