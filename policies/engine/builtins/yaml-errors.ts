// YAML syntax errors in go-yaml v2's words, which OPA's yaml builtins report (sigs.k8s.io/yaml
// reads with go-yaml v2). Only errors whose libyaml reading is certain are translated: a flow
// collection or quoted scalar still open at the end of the text. Other errors keep the yaml
// library's own text.
import type { YAMLError } from 'yaml';

const lineBreak = /\r\n|[\r\n\u0085\u2028\u2029]/g;

/** libyaml's 0-based line and column of the end of `text`. */
function endMark(text: string): { line: number; column: number } {
  let line = 0;
  let lastBreakEnd = 0;
  for (const match of text.matchAll(lineBreak)) {
    line += 1;
    lastBreakEnd = match.index + match[0].length;
  }
  return { line, column: text.length - lastBreakEnd };
}

// go-yaml v2's parser.fail: the problem's line if it is not 0 (plus one for scanner errors, whose
// marks have not moved past the line yet), else the context's; line 0 is never printed.
function goYamlText(problem: string, line: number): string {
  return line === 0 ? `yaml: ${problem}` : `yaml: line ${line}: ${problem}`;
}

// The yaml library words an open flow collection inside a block one as an indentation problem
// too; at the end of the text the closer is all that is missing (libyaml v2 does not check
// indentation inside flow collections).
const unclosedCollection = /^Flow (?:sequence|map) .*end with a ([\]}])/;

export function goYamlError(text: string, error: YAMLError): string | undefined {
  if ((error.code !== 'MISSING_CHAR' && error.code !== 'BAD_INDENT') || error.pos[0] < text.length) return undefined;
  const end = endMark(text);
  const closer = unclosedCollection.exec(error.message)?.[1];
  if (closer !== undefined) {
    // The parser meets the stream end, whose mark libyaml moves to a new line when the last
    // line is not empty.
    return goYamlText(`did not find expected ',' or '${closer}'`, end.column === 0 ? end.line : end.line + 1);
  }
  if (/^Missing closing ["']quote/.test(error.message)) {
    // A scanner error at the end of the text; its context (the opening quote) is on line 0
    // whenever the problem is.
    return goYamlText('found unexpected end of stream', end.line === 0 ? 0 : end.line + 1);
  }
  return undefined;
}
