/**
 * axe-core in a page the browser tests drive: the WCAG 2.0, 2.1 and 2.2 A and AA rules, run on the page as it
 * stands. axe's source is evaluated through the DevTools protocol, which the page's Content-Security-Policy
 * (script-src 'self') does not govern, so the page is tested under its real policy.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export interface AxeFinding {
  rule: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** The WCAG A/AA violations axe-core finds in the page now, one entry a rule. */
export async function axeViolations(page: Page): Promise<AxeFinding[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    type Result = { violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> };
    const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<Result> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({ rule: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  }, WCAG_TAGS);
}

/** A readable line per finding, for an assertion's message. */
export function describeFindings(findings: AxeFinding[]): string {
  return findings.map((f) => `${f.rule} (${f.impact}): ${f.help} at ${f.targets.slice(0, 3).join(', ')}`).join('\n');
}
