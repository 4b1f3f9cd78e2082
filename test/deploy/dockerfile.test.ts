// Docker cannot build here, so this checks what can be read: the stages, the base, the user,
// the health check and the entrypoint of deploy/docker/Dockerfile.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const lines = readFileSync('deploy/docker/Dockerfile', 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const stages: string[][] = [];
for (const line of lines) {
  if (line.startsWith('FROM ')) stages.push([]);
  stages.at(-1)?.push(line);
}
const final = stages.at(-1)!;

describe('deploy/docker/Dockerfile', () => {
  it('builds in separate stages on a supported Node LTS slim base', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage[0]).toMatch(/^FROM node:(22|24|26)(\.\d+)*-[a-z]+-slim( AS [a-z-]+)?$/);
  });

  it('leaves the compiler and dev dependencies in the build stages', () => {
    expect(final.some((line) => /npm (ci|install)/.test(line) && !line.includes('--omit=dev'))).toBe(false);
    const copies = final.filter((line) => line.startsWith('COPY'));
    expect(copies.filter((line) => line.includes('node_modules'))).toEqual(['COPY --from=runtime-deps /app/node_modules ./node_modules']);
    expect(stages.find((stage) => stage[0]!.endsWith('AS runtime-deps'))!.join('\n')).toContain('npm ci --omit=dev');
    expect(copies.some((line) => /\b(test|tsconfig)/.test(line))).toBe(false);
  });

  it('ships the .proto contracts the gRPC services load at run time', () => {
    expect(readdirSync('control-plane/api').some((file) => file.endsWith('.proto'))).toBe(true);
    expect(final).toContain('COPY --from=build /src/control-plane/api/*.proto ./control-plane/api/');
  });

  it('runs as a non-root user with a health check and the weft CLI as entrypoint', () => {
    expect(final.filter((line) => line.startsWith('USER '))).toEqual(['USER 10001:10001']);
    expect(final.findIndex((line) => line.startsWith('USER '))).toBeGreaterThan(final.findIndex((line) => line.startsWith('COPY')));
    expect(final.some((line) => line.startsWith('HEALTHCHECK ') && line.includes('/healthz'))).toBe(true);
    expect(final).toContain('ENTRYPOINT ["node", "/app/dist/deploy/cli/weft.js"]');
    expect(JSON.parse(readFileSync('package.json', 'utf8')).bin.weft).toBe('dist/deploy/cli/weft.js');
  });
});
