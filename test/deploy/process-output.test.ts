// How weft up shows its processes' lines: prefixed on the console, or (--quiet) in log files with
// only refusals echoed.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProcessOutput } from '../../deploy/local/process-output.js';

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  return { stream, text: () => text };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ProcessOutput', () => {
  it('interleaves lines behind aligned, coloured prefixes', async () => {
    const console = collect();
    const output = new ProcessOutput({ quiet: false, logDir: '', colour: true, console: console.stream });
    output.add('control-plane');
    output.add('web');
    const web = new PassThrough();
    output.follow('web', web);
    web.end('one\ntwo\n');
    await tick();
    expect(console.text()).toBe('\x1b[33mweb           |\x1b[0m one\n\x1b[33mweb           |\x1b[0m two\n');
  });

  it('--quiet: writes each process to its log file and echoes only refusals', async () => {
    const logDir = join(await mkdtemp(join(tmpdir(), 'weft-logs-')), 'logs');
    const console = collect();
    const output = new ProcessOutput({ quiet: true, logDir, colour: false, console: console.stream });
    output.add('control-plane');
    const cp = new PassThrough();
    output.follow('control-plane', cp);
    cp.end('revision 2 accepted\ncontrol-plane: change refused whole, revision 2 stays:\n  p.rego:3:5: bad (rego_parse_error)\nrevision 3 accepted\n');
    await tick();
    await output.close();
    expect(console.text()).toBe('control-plane | control-plane: change refused whole, revision 2 stays:\ncontrol-plane |   p.rego:3:5: bad (rego_parse_error)\n');
    expect(await readFile(join(logDir, 'control-plane.log'), 'utf8')).toContain('revision 2 accepted\ncontrol-plane: change refused whole');
  });

  it('keeps going, dropping its lines, once the console is gone (a closed pipe)', async () => {
    let writes = 0;
    const closedPipe = new Writable({
      write(_chunk, _encoding, done) {
        writes += 1;
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const output = new ProcessOutput({ quiet: false, logDir: '', colour: false, console: closedPipe });
    output.say('weft up: SIGTERM, stopping 3 processes');
    await tick();
    output.say('weft up: stopped in 0.4 s');
    output.add('web');
    const web = new PassThrough();
    output.follow('web', web);
    web.end('bye\n');
    await tick();
    expect(writes).toBe(1);
  });
});
