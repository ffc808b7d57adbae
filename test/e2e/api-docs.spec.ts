import { expect, test } from '@playwright/test';
import { api, newTeam, url } from './helpers';

/** /docs in a real browser: Swagger UI from PingBack's own files renders every operation, under the page's policy. */
test('the API viewer renders every operation from /openapi.json, loading nothing from elsewhere and breaking no policy', async ({ page }) => {
  const origin = new URL(url()).origin;
  const elsewhere: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('data:') && new URL(r.url()).origin !== origin) elsewhere.push(r.url());
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  // A blocked script or style would show as a violation of the page's Content-Security-Policy.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { violations: string[] }).violations ??= [];
      (window as unknown as { violations: string[] }).violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });

  const spec = (await (await fetch(`${url()}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.values(spec.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);

  await page.goto(`${url()}/docs`);
  await expect(page.locator('.info .title')).toContainText('PingBack API');
  await expect(page.locator('.opblock')).toHaveCount(operations);
  await expect(page.locator('.opblock', { hasText: '/api/conversations/{id}/messages' }).first()).toBeVisible();

  // The widget's embed snippet is shown as code, not made into an element.
  const widget = page.locator('.opblock', { hasText: '/widget.js' }).first();
  await widget.locator('.opblock-summary').click();
  await expect(widget.locator('.opblock-description code')).toHaveText('<script src="…/widget.js" data-channel="CHANNEL_ID" async></script>');
  await expect(widget.locator('.opblock-description script')).toHaveCount(0);

  // A response documented by its schema: /api/me's answer names csrf_token.
  const me = page.locator('.opblock', { hasText: '/api/me' }).first();
  await me.locator('.opblock-summary').click();
  await expect(me.locator('.responses-wrapper')).toContainText('csrf_token');

  // Try it out with an API key (Authorize), against this PingBack.
  const team = await newTeam('mini');
  await page.getByRole('button', { name: /Authorize/ }).first().click();
  const dialog = page.locator('.dialog-ux');
  const apiKeyForm = dialog.locator('.auth-container', { hasText: 'apiKey' }).first();
  await apiKeyForm.locator('input').fill(team.apiKey);
  await apiKeyForm.getByRole('button', { name: 'Apply credentials' }).click();
  await expect(apiKeyForm.getByRole('button', { name: 'Remove authorization' }).or(apiKeyForm.getByText('Logout'))).toBeVisible();
  await dialog.getByRole('button', { name: 'Close' }).first().click();
  await me.getByRole('button', { name: 'Try it out' }).click();
  await me.getByRole('button', { name: 'Execute' }).click();
  const answer = me.locator('.live-responses-table tbody tr.response').first();
  await expect(answer.locator('.response-col_status')).toHaveText('200');
  await expect(answer.locator('.response-col_description')).toContainText(`"id": "${team.accountId}"`);
  expect((await api('GET', '/api/me', { token: team.apiKey })).account.id).toBe(team.accountId);

  expect(await page.evaluate(() => (window as unknown as { violations?: string[] }).violations ?? [])).toEqual([]);
  expect(elsewhere).toEqual([]);
  expect(problems).toEqual([]);
});
