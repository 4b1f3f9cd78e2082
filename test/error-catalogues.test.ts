// Every error code weft emits is in a catalogue, and every catalogue has the one shape
// (control-plane/api/error-catalogue.ts). The sources are read as text: a code is an upper-case
// snake-case string literal, and those that are not weft's codes are named below.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DISCOVERY_ERRORS, type ErrorCatalogue } from '../control-plane/api/error-catalogue.js';
import { caErrors } from '../control-plane/ca/ca-errors.js';
import { CONTROL_PLANE_ERRORS } from '../control-plane/errors.js';
import { errorCatalogue } from '../proxy/errors.js';
import { bridgeErrorCatalogue } from '../proxy/filters/bridge/bridge-errors.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const catalogues: Record<string, ErrorCatalogue> = { proxy: errorCatalogue, 'control plane': CONTROL_PLANE_ERRORS, CA: caErrors, discovery: DISCOVERY_ERRORS, 'legacy bridge': bridgeErrorCatalogue };

/** Upper-case literals that are not weft error codes: other libraries' codes, enum values, variables. */
const NOT_WEFT_CODES = [
  /^UND_ERR_/,
  /^HPE_/,
  /^ERR_/,
  /^WEFT_/,
  /^(ROUND_ROBIN|LEAST_REQUEST)$/,
  // Linux capabilities the injected interception container is granted.
  /^NET_(ADMIN|RAW)$/,
  // Config enum values: path normalization, escaped slashes, headers with underscores.
  /^(BASE|MERGE_SLASHES|DECODE_AND_MERGE_SLASHES|KEEP_UNCHANGED|REJECT_REQUEST|UNESCAPE_AND_REDIRECT|UNESCAPE_AND_FORWARD|DROP_HEADER)$/,
  // The yaml library's parse error codes (yaml.unmarshal words some as go-yaml does) and scalar styles.
  /^(MISSING_CHAR|BAD_INDENT|QUOTE_DOUBLE)$/,
  // The picker's reasons, answered by the inference filter's own replies.
  /^INFERENCE_(MODEL_NOT_SERVED|LOAD_UNKNOWN)$/,
];

async function sources(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files;
}

describe('error catalogues', () => {
  it('list every code the sources emit', async () => {
    const known = new Set(Object.values(catalogues).flatMap((catalogue) => Object.keys(catalogue)));
    const unlisted: string[] = [];
    for (const folder of ['proxy', 'control-plane', 'policies', 'deploy']) {
      for (const file of await sources(join(root, folder))) {
        for (const [, code] of (await readFile(file, 'utf8')).matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) {
          if (!known.has(code!) && !NOT_WEFT_CODES.some((pattern) => pattern.test(code!))) unlisted.push(`${relative(root, file)}: ${code}`);
        }
      }
    }
    expect(unlisted).toEqual([]);
  });

  it('have one shape: an HTTP status, a gRPC status and what the code means', () => {
    for (const [name, catalogue] of Object.entries(catalogues)) {
      for (const [code, entry] of Object.entries(catalogue)) {
        expect({ name, code, httpStatus: entry.httpStatus >= 300 && entry.httpStatus <= 599, grpcStatus: entry.grpcStatus >= 1 && entry.grpcStatus <= 16, message: entry.message.length > 0 }).toEqual({ name, code, httpStatus: true, grpcStatus: true, message: true });
      }
    }
  });

  it('give a code one meaning across packages', () => {
    const seen = new Map<string, string>();
    const shared: string[] = [];
    for (const [name, catalogue] of Object.entries(catalogues)) {
      for (const code of Object.keys(catalogue)) {
        if (seen.has(code)) shared.push(`${code} in ${seen.get(code)} and ${name}`);
        seen.set(code, name);
      }
    }
    // INTERNAL is the one code both control-plane services answer an unexpected failure with.
    expect(shared).toEqual(['INTERNAL in control plane and CA']);
  });
});
