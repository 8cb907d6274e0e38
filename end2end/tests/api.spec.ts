import { test, expect } from '@playwright/test';
import { customerWithDomain, hydrated } from './support';

// A customer makes a key on Settings → API (shown once), scripts inboxes through /v1 with it,
// sends two of them to Instantly (the sandbox account) from the inbox list, and revokes the
// key: the next call with it fails.
test('a key made on the page provisions through /v1, inboxes go to Instantly, revoking stops the key', async ({ page }) => {
  await customerWithDomain(page, 'API Co', 'apico');

  await page.goto('/settings/api');
  await hydrated(page);
  await page.getByTestId('key-name').fill('my script');
  for (const scope of ['domains:write', 'inboxes:write', 'credentials:read']) {
    await page.getByTestId(`scope-${scope}`).check();
  }
  await page.getByTestId('create-key').click();
  const secret = (await page.getByTestId('new-key-secret').textContent())!.trim();
  expect(secret).toMatch(/^igk_[0-9a-f]{8}_/);
  await expect(page.getByTestId('api-key')).toHaveCount(1);
  // Shown once: a reload lists the key by its prefix only.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('new-key-secret')).toHaveCount(0);
  await expect(page.getByTestId('api-key')).toContainText(secret.slice(0, 12));

  const auth = { Authorization: `Bearer ${secret}` };
  const domains = await (await page.request.get('/v1/domains', { headers: auth })).json();
  expect(domains.data).toHaveLength(1);
  const made = await page.request.post('/v1/inboxes', {
    headers: { ...auth, 'Idempotency-Key': 'e2e-batch-1' },
    data: { domains: [domains.data[0].id], per_domain: 5, convention: 'first.last' },
  });
  expect(made.status()).toBe(201);
  expect((await made.json()).count).toBe(5);
  const listed = await (await page.request.get('/v1/inboxes?limit=2', { headers: auth })).json();
  expect(listed.data).toHaveLength(2);
  expect(listed.next_cursor).toBeTruthy();

  // The Instantly key, then two inboxes pushed from the list.
  await page.getByTestId('tool-instantly').getByTestId('tool-key').fill('sandbox-instantly-key');
  await page.getByTestId('tool-instantly').getByTestId('save-tool').click();
  await expect(page.getByTestId('tool-instantly').getByTestId('tool-state')).toContainText('ends in');
  await page.goto('/inboxes');
  await hydrated(page);
  const boxes = page.getByTestId('select-inbox');
  await expect(boxes).toHaveCount(5);
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.getByTestId('push-instantly').click();
  await expect(page.getByTestId('push-result')).toHaveCount(2);
  await expect(page.locator('[data-testid="push-result"][data-outcome="added"]')).toHaveCount(2);

  // Revoked on the page: the key fails at once.
  await page.goto('/settings/api');
  await hydrated(page);
  await page.getByTestId('revoke-key').click();
  await expect(page.getByTestId('api-key')).toHaveAttribute('data-state', 'revoked');
  const after = await page.request.get('/v1/domains', { headers: auth });
  expect(after.status()).toBe(401);
  expect(after.headers()['content-type']).toBe('application/problem+json');
});
