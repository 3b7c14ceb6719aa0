/**
 * Pictures of the shipped workflows for the README, taken in n8n's own editor (real Chromium):
 * an owner account is set up on the throwaway n8n, then each workflow is opened and captured
 * into docs/n8n/<workflow file>.png. Run by `npm run test:n8n -- --screenshots` (n8n then starts with its UI).
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from '../helpers/browser.ts';
import type { N8n } from './n8n.ts';

export async function captureWorkflows(n8n: N8n, workflows: { id: string; file: string }[], outDir: string): Promise<string[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await launchChromium();
  const written: string[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, deviceScaleFactor: 1 });
    // The owner account only exists in this throwaway user folder.
    const setup = await context.request.post(`${n8n.url}/rest/owner/setup`, {
      data: { email: 'owner@example.invalid', firstName: 'Test', lastName: 'Owner', password: 'Screenshot-only-1' },
    });
    if (!setup.ok()) throw new Error(`owner setup: ${setup.status()} ${await setup.text()}`);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    for (const wf of workflows) {
      await page.goto(`${n8n.url}/workflow/${wf.id}`);
      await page.locator('[data-test-id="canvas-node"]').first().waitFor();
      // Let the canvas finish its zoom-to-fit and the node icons load.
      await page.waitForTimeout(1500);
      // A fresh instance shows its "Production Checklist" pop-over over the canvas: not part of the workflow.
      await page.evaluate(() => {
        for (const el of Array.from(document.querySelectorAll('div'))) {
          if (el.textContent?.startsWith('Production Checklist') && el.getBoundingClientRect().width < 500) {
            el.remove();
            break;
          }
        }
      });
      const file = path.join(outDir, `${wf.file.replace(/\.json$/, '')}.png`);
      await page.screenshot({ path: file });
      written.push(file);
    }
    await context.close();
  } finally {
    await browser.close();
  }
  return written;
}
