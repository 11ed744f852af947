// What the browser tests check on every page a person sees: axe-core's
// accessibility rules (WCAG 2.1 A and AA, and its best practices), and a
// screenshot of the page in each language for a person to look at.
//
// How axe gets into the page: our Content-Security-Policy allows no inline
// script (src/security/headers.ts, script-src 'self'), so
// page.addScriptTag({ content }) would be refused, and loosening the policy
// for the test (bypassCSP) would test another page than the one served. The
// source is run with page.evaluate instead: DevTools' Runtime.evaluate, which
// CSP does not govern. The page under test keeps its real headers.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { AxeResults, ImpactValue } from 'axe-core';
import { ROOT } from '../../src/root.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Where screenshots go: git-ignored, kept after the run for a person to look at. */
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');

export interface Violation {
  /** axe's rule id, e.g. "color-contrast", "label". */
  rule: string;
  impact: ImpactValue;
  help: string;
  /** The offending elements (CSS selectors) with axe's summary of what is wrong with each. */
  nodes: { target: string; summary: string }[];
}

const BLOCKING: ImpactValue[] = ['serious', 'critical'];

/**
 * Runs axe-core on the page as it is now and returns the serious and critical
 * violations (an empty array when there are none). `disable` turns rules off
 * by id, for a reason the caller states.
 */
export async function seriousViolations(page: Page, options: { disable?: string[] } = {}): Promise<Violation[]> {
  // (globalThis, not window: the tests compile without the DOM's types.)
  const loaded = await page.evaluate(() => 'axe' in globalThis);
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const results = (await page.evaluate(
    (disabled) =>
      (globalThis as unknown as { axe: typeof import('axe-core') }).axe.run('html', {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
        rules: Object.fromEntries(disabled.map((id) => [id, { enabled: false }])),
        resultTypes: ['violations'],
      }),
    options.disable ?? [],
  )) as AxeResults;
  return results.violations
    .filter((v) => v.impact && BLOCKING.includes(v.impact))
    .map((v) => ({
      rule: v.id,
      impact: v.impact!,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary ?? '' })),
    }));
}

/** Writes a full-page screenshot to test-artifacts/screenshots/<name>-<locale>.png; returns its path. */
export async function screenshot(page: Page, name: string, locale: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}-${locale}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
