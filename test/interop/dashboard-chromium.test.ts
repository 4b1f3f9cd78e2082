// The dashboard in a real browser (Debian's chromium driven by playwright-core) against the demo
// mesh `weft up` runs: it refuses a visit without the login token, logs in with the URL `weft up`
// recorded (the token leaves the address bar for an HttpOnly cookie), and its live topology shows
// every workload. A screenshot is left in test-results/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMeshForTests } from '../deploy/up-fixture.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const RESULTS = join(process.cwd(), 'test-results');

const mesh = demoMeshForTests();
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  profile = await mkdtemp(join(tmpdir(), 'weft-chromium-'));
  browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport: { width: 1366, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  if (profile !== undefined) await rm(profile, { recursive: true, force: true });
});

describe('dashboard in chromium', () => {
  it('refuses a visit without the login token', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${mesh.record().controlPlane.admin}/dashboard/`);
    expect(response?.status()).toBe(401);
    expect(await page.locator('#topology').count()).toBe(0);
    await page.close();
  });

  it('logs in with the URL weft up printed and shows every workload of the mesh, live', async () => {
    const record = mesh.record();
    const page = await browser.newPage();
    const response = await page.goto(record.dashboard);
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${record.controlPlane.admin}/dashboard/`);
    const [cookie] = await browser.cookies(`${record.controlPlane.admin}/dashboard/`);
    expect(cookie).toEqual(expect.objectContaining({ name: 'weft-dashboard', httpOnly: true, sameSite: 'Strict', path: '/dashboard/' }));

    await page.locator('#live.live').waitFor();
    for (const name of Object.keys(record.workloads)) {
      await page.locator(`#topology .node[data-workload="default/${name}"]`).waitFor();
    }
    expect(await page.locator('#topology .edge').count()).toBeGreaterThan(0);
    await page.locator('#policies tbody tr').first().waitFor();
    expect(await page.locator('#roots li').first().textContent()).toContain('valid until');
    await mkdir(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true });
    await page.close();
  });
});
