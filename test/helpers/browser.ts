/**
 * The dashboard in real Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core), against the real app on a fresh database, listening on port 0.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WEB_ROOT } from '../../src/main.ts';
import { createTestApp, type TestApp, type TestAppOptions } from './app.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCREENSHOTS = path.join(ROOT, 'artifacts', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// The flags a closed network needs: no background fetches, no QUIC, no first-run UI.
// launch() gives every browser its own fresh temporary profile (user data dir).
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/** Builds web/dist if it is missing or older than web/src; test files running at once take turns. */
export function ensureWebBuilt(): void {
  const lock = path.join(ROOT, 'web', '.build-lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed test run is older than any build takes.
      if (Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`ensureWebBuilt: ${lock} is held for 2 minutes; remove it if no build runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-web.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`dashboard build failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    fs.rmdirSync(lock);
  }
}

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface Dashboard {
  t: TestApp;
  /** The server's own address. */
  serverUrl: string;
  /** What the browser uses: the server itself, or the cuttable proxy in front of it. */
  url: string;
  browser: Browser;
  proxy: CuttableProxy | undefined;
  newPage(viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function startDashboard(opts: TestAppOptions & { proxy?: boolean } = {}): Promise<Dashboard> {
  ensureWebBuilt();
  const t = await createTestApp({ webRoot: WEB_ROOT, ...opts });
  const serverUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const proxy = opts.proxy ? await startProxy(Number(new URL(serverUrl).port)) : undefined;
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  return {
    t,
    serverUrl,
    url: proxy ? `http://127.0.0.1:${proxy.port}` : serverUrl,
    browser,
    proxy,
    async newPage(viewport = { width: 1440, height: 900 }) {
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      return { context, page };
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await proxy?.close();
      await t.close();
    },
  };
}

/** Signs in on the sign-in page (AUTH=keys) with an API key, as a person would. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A TCP proxy that can cut every connection and refuse new ones, to drop the browser's event stream for real. */
export interface CuttableProxy {
  port: number;
  /** Destroys open connections and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  /** Sends new connections to another server (a restarted one). */
  retarget(port: number): void;
  close(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      cut = false;
    },
    retarget(port) {
      targetPort = port;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
