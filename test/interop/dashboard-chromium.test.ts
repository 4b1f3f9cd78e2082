// The dashboard in a real browser (Debian's chromium driven by playwright-core) against the demo
// mesh `weft up` runs: it refuses a visit without the login token, logs in with the URL `weft up`
// recorded (the token leaves the address bar for an HttpOnly cookie), and its live topology shows
// every workload, a denial made during the test appears in the live decisions list (filterable
// by workload), and the inference panel shows the pool's three backends with their charts.
// Screenshots are left in test-results/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMeshForTests, viaProxy } from '../deploy/up-fixture.js';

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
    // Each workload's certificate expiry, as its sidecar's metrics report it.
    await page.locator('#certificates tbody tr td:nth-child(3)').filter({ hasText: /^\d{4}-\d\d-\d\dT/ }).first().waitFor();
    await mkdir(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true });
    await page.close();
  });

  it('lists a denial made during the test within 5 s, and filters the list by workload', async () => {
    const record = mesh.record();
    const page = await browser.newPage();
    await page.goto(record.dashboard);
    await page.locator('#live.live').waitFor();
    // Restricted customer 7: denied by erp's policy on the bridged arguments. Nothing else in
    // this test's mesh asks for it, so its row can only come from this request.
    expect((await viaProxy(record.workloads.web!.outbound, 'http://erp/soap/CustomerService/GetCustomer', { customerId: '7' })).status).toBe(403);
    const denial = page.locator('#decisions tbody tr.decision-deny[data-workload="default/erp"]', { hasText: 'erp-customer-lookup' });
    await denial.first().waitFor({ timeout: 5000 });
    expect(await denial.first().textContent()).toContain('spiffe://cluster.local/ns/default/sa/web');
    expect(await denial.first().textContent()).toContain('erp-customer-lookup.rego');
    await page.selectOption('#decisions-filter', 'default/orders');
    await page.locator('#decisions tbody tr[data-workload="default/erp"]').first().waitFor({ state: 'detached' });
    await page.selectOption('#decisions-filter', 'default/erp');
    await denial.first().waitFor();
    await page.locator('#decisions-panel').screenshot({ path: join(RESULTS, 'dashboard-decisions.png') });
    await page.close();
  });

  it('shows the three backends of the inference pool, with their load charted', async () => {
    const record = mesh.record();
    const page = await browser.newPage();
    await page.goto(record.dashboard);
    for (const backend of ['llm-fast', 'llm-medium', 'llm-slow']) await page.locator(`#backends tbody tr[data-backend="default/${backend}"]`).waitFor();
    const chat = { model: 'sim/llama-3-8b', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'hello' }] };
    expect((await viaProxy(record.workloads.web!.outbound, 'http://llm/v1/chat/completions', chat)).status).toBe(200);
    // A reading of each backend's engine (the sidecars scrape it), drawn by uPlot.
    for (const backend of ['llm-fast', 'llm-medium', 'llm-slow']) {
      await page.locator(`#backends tbody tr[data-backend="default/${backend}"] td:nth-child(2)`).filter({ hasText: /^\d+$/ }).waitFor();
    }
    expect(await page.locator('#inference-charts .uplot').count()).toBe(3);
    // The tokens web's sidecar settled for that answer, by tenant (web's SPIFFE ID).
    await page.locator('#tenant-tokens tbody tr', { hasText: '/sa/web' }).first().waitFor();
    await page.locator('#inference-panel').screenshot({ path: join(RESULTS, 'dashboard-inference.png') });
    await page.close();
  });
});
