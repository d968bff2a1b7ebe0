// Runs a page in headless Chromium: Debian's /usr/bin/chromium driven by playwright-core (no browser download).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { serveStatic } from '../../examples/static-server.ts';

const CHROMIUM = '/usr/bin/chromium';

/** Serves `dir` on loopback, opens `page` in headless Chromium and returns window.__result once set. */
export async function inChromium(
  dir: string,
  page: string,
  timeout: number,
): Promise<Record<string, unknown>> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install chromium`);
  const { chromium } = await import('playwright-core');
  const { server, url } = await serveStatic(dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(url + page);
    await tab.waitForFunction(
      () => (window as unknown as { __result?: unknown }).__result !== undefined,
      null,
      {
        timeout,
      },
    );
    const r = (await tab.evaluate(() => (window as unknown as { __result: unknown }).__result)) as Record<
      string,
      unknown
    >;
    return errors.length ? { ...r, error: errors.join('\n') } : r;
  } finally {
    await browser.close();
    server.close();
  }
}
