// Errors of the Rego engine, with OPA's codes and a `file:line:col` location that can show the
// offending source line with a caret.

export type RegoErrorCode =
  | 'rego_parse_error'
  | 'rego_compile_error'
  | 'rego_type_error'
  | 'rego_unsafe_var_error'
  | 'rego_recursion_error'
  | 'eval_conflict_error'
  | 'eval_type_error'
  | 'eval_builtin_error'
  | 'eval_cancel_error';

export interface Location {
  readonly file: string;
  readonly row: number;
  readonly col: number;
}

/** Source text per file name, so an error can quote its line. */
export type SourceLookup = (file: string) => string | undefined;

export class RegoError extends Error {
  constructor(
    readonly code: RegoErrorCode,
    readonly detail: string,
    readonly location?: Location,
    readonly sourceLine?: string,
  ) {
    super(formatError(code, detail, location, sourceLine));
    this.name = 'RegoError';
  }
}

/** Several errors found at once (parse or compile); `message` lists them all. */
export class RegoErrors extends Error {
  readonly code: RegoErrorCode;
  constructor(readonly errors: readonly RegoError[]) {
    super(
      `${errors.length} error${errors.length === 1 ? '' : 's'} occurred:\n${errors.map((e) => e.message).join('\n')}`,
    );
    this.name = 'RegoErrors';
    this.code = errors[0]!.code;
  }
}

function formatError(code: string, detail: string, location?: Location, sourceLine?: string): string {
  const where = location ? `${location.file}:${location.row}:${location.col}: ` : '';
  let text = `${where}${code}: ${detail}`;
  if (location && sourceLine !== undefined) {
    const prefix = sourceLine.slice(0, location.col - 1).replace(/[^\t]/g, ' ');
    text += `\n\t${sourceLine}\n\t${prefix}^`;
  }
  return text;
}

export function sourceLine(source: string | undefined, row: number): string | undefined {
  if (source === undefined) return undefined;
  return source.split('\n')[row - 1];
}

/** Collects compile errors with their source lines, to report them all at once. */
export class ErrorCollector {
  readonly errors: RegoError[] = [];
  constructor(private readonly sources: ReadonlyMap<string, string>) {}
  add(code: RegoErrorCode, message: string, loc?: Location): void {
    this.errors.push(new RegoError(code, message, loc, loc ? sourceLine(this.sources.get(loc.file), loc.row) : undefined));
  }
  throwIfAny(): void {
    if (this.errors.length > 0) throw new RegoErrors(this.errors);
  }
}
