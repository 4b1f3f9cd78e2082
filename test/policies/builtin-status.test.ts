// The README's builtin table is generated from the registry: it must match what the registry says.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinStatusMarkdown, builtinStatusRows } from '../../policies/builtin-status.js';
import { compile } from '../../policies/index.js';

describe('OPA builtin status', () => {
  it('README.md holds the table `weft policy builtins` generates', () => {
    const readme = readFileSync(new URL('../../policies/README.md', import.meta.url), 'utf8');
    const block = /<!-- builtin-status:start -->\n([\s\S]*?)\n<!-- builtin-status:end -->/.exec(readme);
    expect(block, 'README.md has the builtin-status block').not.toBeNull();
    expect(block![1]).toBe(builtinStatusMarkdown());
  });

  it('classifies each builtin by what compiling a call to it does', () => {
    const rows = new Map(builtinStatusRows().map((row) => [row.name, row]));
    expect(rows.get('count')!.status).toBe('supported');
    expect(rows.get('cast_array')).toMatchObject({ status: 'supported', note: 'deprecated: Rego v0 modules only' });
    expect(rows.get('http.send')!.status).toBe('refused');
    expect(rows.get('eq')!.status).toBe('language');
    for (const row of rows.values()) {
      if (row.status !== 'refused' && row.status !== 'missing') continue;
      const call = () => compile([{ file: 'p.rego', source: `package p\nx := ${row.name}(1)\n` }]);
      expect(call, row.name).toThrow(row.status === 'refused' ? row.note : 'undefined function');
    }
  });
});
