import { test, expect, Page } from '@playwright/test';
import { customerWithDomain, hydrated } from './support';

/// A new customer with five live inboxes on a bought domain. The e2e server runs the sandbox
/// relay, which reports a week of sample traffic for new inboxes (marked as such).
async function customerWithInboxes(page: Page): Promise<string> {
  const domain = await customerWithDomain(page, 'Deliverability Co', 'dlv');
  await page.goto('/inboxes/new');
  await hydrated(page);
  await page.getByTestId('domain-choice').check();
  await page.getByTestId('next-1').click();
  await page.getByTestId('per-domain').fill('5');
  await page.getByTestId('next-2').click();
  await page.getByTestId('provision').click();
  await expect(page.locator('[data-testid="inbox-row"] [data-status="active"]')).toHaveCount(5, { timeout: 15000 });
  return domain;
}

test('deliverability charts show with data, readable on a phone and without JavaScript', async ({ page, browser }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const domain = await customerWithInboxes(page);
  // Nothing the page does may be refused by its CSP (no inline styles or scripts).
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto('/deliverability?days=7');
  await hydrated(page);
  await expect(page.getByTestId('sandbox-data')).toContainText('Sample data');
  const sent = Number(await page.getByTestId('value-sent').innerText());
  expect(sent).toBeGreaterThan(0);
  // Two charts, each an image with a name, a description in words and a table of the figures.
  for (const id of ['volume', 'rates']) {
    const chart = page.getByTestId(`chart-${id}`);
    // The chart shows, and draws its series. A series that is zero all week is a flat line
    // with no height, which Playwright calls hidden, so the line is checked by its points.
    await expect(chart.locator('svg[role="img"]')).toBeVisible();
    await expect(chart.locator('svg[role="img"] polyline').first()).toHaveAttribute('points', /^(\d+\.\d,\d+\.\d ?){7}$/);
    await expect(chart.getByRole('img')).toHaveAccessibleName(/last 7 days/);
    await chart.getByText('Show the figures as a table').click();
    await expect(chart.getByTestId(`table-${id}`).locator('tbody tr')).toHaveCount(7);
  }
  await expect(page.getByTestId('chart-volume')).toContainText(`${sent} sent in the last 7 days`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(360);

  // 30 days: the period links work without a reload of anything but the page.
  await page.getByRole('link', { name: '30 days' }).click();
  await expect(page).toHaveURL(/days=30/);
  await expect(page.getByTestId('table-volume').locator('tbody tr')).toHaveCount(30);

  // The domain's page: its score with reasons, and the blocklist check. (Scores are computed
  // by a job right after the sample traffic arrives.)
  const domainLink = page.getByRole('link', { name: domain }).first();
  await expect(async () => {
    await page.reload();
    await expect(domainLink).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 15000 });
  await domainLink.click();
  await expect(page).toHaveURL(/\/deliverability\/domains\//);
  await hydrated(page);
  await expect(page.getByTestId('health-score')).toHaveText(/^\d+$/);
  await expect(page.getByTestId('health-reasons').locator('li').first()).toBeVisible();
  await page.getByTestId('check-blocklists').click();
  await expect(page.getByTestId('blocklist-status')).toContainText('Not listed');

  // The dashboard: sent this month against the plan, and the worst inboxes.
  await page.goto('/dashboard');
  await expect(page.getByTestId('sent-this-month')).toContainText('sent of');
  await expect(page.getByTestId('worst-inboxes').locator('li')).toHaveCount(3);

  expect(errors).toEqual([]);

  // Without JavaScript the charts are there all the same (rendered on the server).
  const noJs = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
  const plain = await noJs.newPage();
  await plain.goto(new URL('/deliverability', page.url()).toString());
  await expect(plain.locator('[data-testid="chart-volume"] svg[role="img"]')).toBeVisible();
  await expect(plain.getByTestId('value-sent')).not.toHaveText('0');
  await noJs.close();
});
