// Path templates of the bridge's routes, in the grammar of google.api.http rules (which the plain
// `/v1/customers/{id}` routes are a subset of):
//   Template = "/" Segments [ ":" Verb ] ;  Segment = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;  FieldPath = IDENT { "." IDENT } ;
// compiled once to a regular expression over the raw (still percent-encoded) path.
export interface TemplateVariable {
  /** The field path as written (`book.id`). */
  readonly name: string;
  /** The segments it matches as written (`shelves/*`), `*` when not given. */
  readonly pattern: string;
}

export interface PathTemplate {
  readonly text: string;
  /** The template as an OpenAPI path: each variable as `{name}`, its segment pattern left out. */
  readonly openApiPath: string;
  readonly variables: readonly TemplateVariable[];
  /** The decoded value of each variable, in order, or undefined when the path does not match. */
  match(path: string): string[] | undefined;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const LITERAL = /^[A-Za-z0-9._~!$&'()+,;=@%-]+$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The regular expression of `/`-separated segments (no variables); throws on a bad one. */
function segmentsRegExp(segments: string, template: string): string {
  return segments
    .split('/')
    .map((segment, index, all) => {
      if (segment === '*') return '[^/]+';
      if (segment === '**') {
        if (index !== all.length - 1) throw new Error(`path template ${template}: ** must be the last segment`);
        return '[^/]+(?:/[^/]+)*';
      }
      if (!LITERAL.test(segment)) throw new Error(`path template ${template}: bad segment '${segment}'`);
      return escapeRegExp(segment);
    })
    .join('/');
}

/** A percent-decoded variable value; a multi-segment one keeps `%2F` as is (google.api.http's rule). */
function decodeValue(raw: string, multiSegment: boolean): string | undefined {
  try {
    if (!multiSegment) return decodeURIComponent(raw);
    return raw
      .split('/')
      .map((part) => part.split(/%2F/i).map(decodeURIComponent).join('%2F'))
      .join('/');
  } catch {
    return undefined;
  }
}

/** Compiles a template; throws naming what is wrong with it. */
export function compilePathTemplate(text: string): PathTemplate {
  if (!text.startsWith('/')) throw new Error(`path template ${text} must start with /`);
  let rest = text.slice(1);
  let verb: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon !== -1 && !rest.slice(colon).includes('}')) {
    verb = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!LITERAL.test(verb)) throw new Error(`path template ${text}: bad verb '${verb}'`);
  }
  const variables: (TemplateVariable & { multiSegment: boolean })[] = [];
  let source = '^/';
  let openApiPath = '/';
  let at = 0;
  while (at < rest.length) {
    const open = rest.indexOf('{', at);
    const literalPart = open === -1 ? rest.slice(at) : rest.slice(at, open);
    if (literalPart !== '') {
      // Between variables a literal part starts and ends with the slashes around it.
      const lead = literalPart.startsWith('/') && at > 0 ? '/' : '';
      const inner = literalPart.slice(lead.length);
      const trail = inner.endsWith('/') ? '/' : '';
      const segments = inner.slice(0, inner.length - trail.length);
      source += lead + (segments === '' ? '' : segmentsRegExp(segments, text)) + trail;
      openApiPath += literalPart;
    }
    if (open === -1) break;
    if (open > 0 && rest[open - 1] !== '/') throw new Error(`path template ${text}: a variable must be a whole segment`);
    const close = rest.indexOf('}', open);
    if (close === -1) throw new Error(`path template ${text}: unclosed {`);
    const [name = '', pattern = '*'] = rest.slice(open + 1, close).split('=', 2) as [string, string?];
    if (!IDENT.test(name)) throw new Error(`path template ${text}: bad variable name '${name}'`);
    if (variables.some((variable) => variable.name === name)) throw new Error(`path template ${text}: variable ${name} appears twice`);
    if (pattern.includes('{')) throw new Error(`path template ${text}: variables do not nest`);
    if (pattern.includes('**') && close + 1 < rest.length) throw new Error(`path template ${text}: ** must be the last segment`);
    variables.push({ name, pattern, multiSegment: pattern !== '*' });
    source += `(${segmentsRegExp(pattern, text)})`;
    openApiPath += `{${name}}`;
    at = close + 1;
    if (at < rest.length && rest[at] !== '/') throw new Error(`path template ${text}: a variable must be a whole segment`);
  }
  if (verb !== undefined) {
    source += `:${escapeRegExp(verb)}`;
    openApiPath += `:${verb}`;
  }
  const regExp = new RegExp(`${source}$`);
  return {
    text,
    openApiPath,
    variables: variables.map(({ name, pattern }) => ({ name, pattern })),
    match(path) {
      const found = regExp.exec(path);
      if (found === null) return undefined;
      const values: string[] = [];
      for (let i = 0; i < variables.length; i++) {
        const value = decodeValue(found[i + 1]!, variables[i]!.multiSegment);
        if (value === undefined) return undefined;
        values.push(value);
      }
      return values;
    },
  };
}
