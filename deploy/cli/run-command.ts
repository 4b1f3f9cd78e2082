// Dispatches `weft <cmd> ...` to a subcommand module and turns what it throws into an exit code.
// Subcommand modules import nothing from here: a module exports `usage` and `run(argv)`, and
// marks its own user-facing errors with a numeric `exitCode` (2 for usage and config errors).

export interface SubcommandModule {
  readonly usage: string;
  /** The usage of each of its tools (`weft policy eval --help`); `usage` covers the others. */
  readonly toolUsage?: Readonly<Record<string, string>>;
  run(argv: string[]): Promise<number>;
}

export interface CommandEntry {
  readonly summary: string;
  load(): Promise<SubcommandModule>;
}

export type CommandTable = Readonly<Record<string, CommandEntry>>;

export const EXIT_USAGE = 2;

export function topLevelUsage(program: string, commands: CommandTable): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(
    ([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`,
  );
  return [
    `usage: ${program} <command> [options]`,
    '',
    'commands:',
    ...lines,
    '',
    `Run '${program} <command> --help' for a command's options.`,
  ].join('\n');
}

/** The exit code an error asks for, or undefined for an unexpected error (a bug). */
export function exitCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { exitCode, code } = error as { exitCode?: unknown; code?: unknown };
  if (typeof exitCode === 'number') return exitCode;
  // node:util parseArgs reports unknown or malformed options with these codes.
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) return EXIT_USAGE;
  return undefined;
}

/** `--help` or `-h` anywhere among the options (before a `--`), at any level of subcommand. */
function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

export async function runCommand(
  program: string,
  commands: CommandTable,
  argv: string[],
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topLevelUsage(program, commands) + '\n');
    return name === undefined ? EXIT_USAGE : 0;
  }
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (entry === undefined) {
    process.stderr.write(`${program}: unknown command '${name}'\n\n${topLevelUsage(program, commands)}\n`);
    return EXIT_USAGE;
  }
  const module = await entry.load();
  if (asksForHelp(rest)) {
    const tool = rest[0] !== undefined && module.toolUsage !== undefined && Object.hasOwn(module.toolUsage, rest[0]) ? module.toolUsage[rest[0]] : undefined;
    process.stdout.write(`${tool ?? module.usage}\n`);
    return 0;
  }
  try {
    return await module.run(rest);
  } catch (error) {
    const code = exitCodeOf(error);
    if (code === undefined) throw error;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${program} ${name}: ${message}\n`);
    if (code === EXIT_USAGE) process.stderr.write(`Run '${program} ${name} --help' for usage.\n`);
    return code;
  }
}
