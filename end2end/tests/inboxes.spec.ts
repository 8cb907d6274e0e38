import { test, expect } from '@playwright/test';
import { customerWithDomain, hydrated } from './support';
import { readFileSync } from 'fs';

test('the magic button: 50 inboxes on an active domain, then the Instantly CSV', async ({ page }) => {
  const domain = await customerWithDomain(page);
  await page.goto('/dashboard');
  await hydrated(page);
  await page.getByTestId('inboxes-link').click();
  await expect(page).toHaveURL(/\/inboxes$/);
  await hydrated(page);
  await page.getByTestId('new-inboxes').click();
  await expect(page).toHaveURL(/\/inboxes\/new$/);
  await hydrated(page);
  await expect(page.getByTestId('headroom')).toContainText('room for 50 more');

  await page.getByTestId('domain-choice').check();
  await page.getByTestId('next-1').click();
  // Impossible requests are explained before submit.
  await page.getByTestId('per-domain').fill('51');
  await expect(page.getByTestId('over-limit')).toContainText('your plan has room for 50 more');
  await expect(page.getByTestId('next-2')).toBeDisabled();
  await page.getByTestId('convention').selectOption('roles');
  await page.getByTestId('per-domain').fill('21');
  await expect(page.getByTestId('plan-error')).toContainText('gives 20 addresses per domain');
  await page.getByTestId('convention').selectOption('personas');
  await page.getByTestId('personas').fill('Jane Doe\njane doe');
  await expect(page.getByTestId('personas-error')).toContainText('Line 2');

  await page.getByTestId('convention').selectOption('first.last');
  await page.getByTestId('per-domain').fill('50');
  await page.getByTestId('next-2').click();
  await expect(page.getByTestId('preview-address')).toHaveCount(50);
  await expect(page.getByTestId('preview-address').first()).toContainText(`james.smith@${domain}`);

  const started = Date.now();
  await page.getByTestId('provision').click();
  await expect(page).toHaveURL(/\/inboxes\?batch=[0-9a-f-]{36}/);
  await expect(page.getByTestId('batch-banner')).toContainText('50 inboxes created.');
  console.log(`provision click → list with download links: ${Date.now() - started} ms`);
  await expect(page.getByTestId('inbox-row')).toHaveCount(50);
  // Active once the mail store (a real Dovecot) accepted each login; the list updates itself.
  await expect(page.locator('[data-testid="inbox-row"] [data-status="active"]')).toHaveCount(50, { timeout: 15000 });
  console.log(`provision click → all 50 active (IMAP logins proven): ${Date.now() - started} ms`);

  const downloading = page.waitForEvent('download');
  await page.getByTestId('download-instantly').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^inboxgrove-instantly-.*\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.trimEnd().split('\n');
  expect(lines).toHaveLength(51);
  expect(lines[0]).toBe('Email,First Name,Last Name,IMAP Username,IMAP Password,IMAP Host,IMAP Port,SMTP Username,SMTP Password,SMTP Host,SMTP Port');
  const james = lines.find((l) => l.startsWith(`james.smith@${domain},`))!;
  // IMAP is filled (the local Dovecot of the e2e server), with the SMTP username and password.
  const cells = james.split(',');
  expect(cells.slice(0, 3)).toEqual([`james.smith@${domain}`, 'James', 'Smith']);
  expect(cells[3]).toBe(`james.smith@${domain}`);
  expect(cells[4]).toBe(cells[8]);
  expect(cells.slice(5, 7)).toEqual(['127.0.0.1', process.env.E2E_IMAP_PORT ?? '1144']);

  // One inbox: reveal shows the same password the file has; IMAP beside SMTP, the login the
  // mail store accepted, its (empty) INBOX counted over IMAP; suspend and resume.
  await page.getByRole('link', { name: `james.smith@${domain}` }).click();
  await hydrated(page);
  await page.getByTestId('reveal').click();
  const password = james.split(',')[8];
  await expect(page.getByTestId('password')).toContainText(password);
  await expect(page.getByTestId('imap')).toContainText('127.0.0.1:');
  await expect(page.getByTestId('login-check')).toContainText('accepted its login');
  await expect(page.getByTestId('messages')).toHaveText('0');
  await page.getByTestId('suspend-toggle').click();
  await expect(page.getByTestId('inbox-status')).toHaveText('Suspended');
  await expect(page.getByTestId('messages')).toHaveText('unavailable right now');
  await page.getByTestId('suspend-toggle').click();
  // Resumed: active again once the mail store accepts the login; the page updates itself.
  await expect(page.getByTestId('inbox-status')).toHaveText('Active', { timeout: 15000 });
});

test('the wizard and the inbox list fit a phone', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await customerWithDomain(page);
  await page.goto('/inboxes/new');
  await hydrated(page);
  await page.getByTestId('domain-choice').check();
  await page.getByTestId('next-1').click();
  await page.getByTestId('per-domain').fill('5');
  await page.getByTestId('next-2').click();
  await expect(page.getByTestId('preview-address')).toHaveCount(5);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(360);
  await page.getByTestId('provision').click();
  await expect(page.getByTestId('batch-banner')).toContainText('5 inboxes created.');
  const listWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(listWidth).toBeLessThanOrEqual(360);
});
