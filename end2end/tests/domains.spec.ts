import { test, expect, Page } from '@playwright/test';
import { confirmEmail } from './support';

const PASSWORD = 'Correct-Horse-Battery-9';
let counter = 0;
const unique = () => `${Date.now().toString(36)}${counter++}`;

async function hydrated(page: Page) {
  await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
}

async function signUpAndOpenDomains(page: Page, company: string) {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Company name').fill(company);
  await page.getByLabel('Email').fill(`dom-${unique()}@acme-e2e.io`);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await confirmEmail(page);
  await hydrated(page);
  await page.getByTestId('domains-link').click();
  await expect(page).toHaveURL(/\/domains$/);
  await hydrated(page);
}

/// Searches `keyword`, buys its .com and pays on the sandbox Checkout.
async function buyCom(page: Page, keyword: string) {
  const box = page.getByLabel('Domain name or keyword');
  await box.fill(keyword);
  await page.getByTestId('search-submit').click();
  const row = page.locator(`[data-testid="search-result"][data-name="${keyword}.com"]`);
  await expect(row.getByTestId('price')).toHaveText('$13.98');
  await row.getByTestId('buy').click();
  await expect(page).toHaveURL(/\/sandbox\/stripe\/checkout\/cs_test_/);
  await expect(page.getByText(`${keyword}.com`).first()).toBeVisible();
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: 'Pay' }).click();
  await expect(page).toHaveURL(/\/domains\/[0-9a-f-]{36}\?session_id=cs_test_/);
  await hydrated(page);
}

test('search, buy, pay on Checkout and watch the domain go active with every record OK', async ({ page }) => {
  await signUpAndOpenDomains(page, 'Domain Buyer Co');
  // Validated as you type, with the shared rules.
  await page.getByLabel('Domain name or keyword').fill('acme outreach');
  await expect(page.getByTestId('search-problem')).toHaveText('A domain cannot contain spaces.');
  await expect(page.getByTestId('search-submit')).toBeDisabled();

  const keyword = `grove-${unique()}`;
  await buyCom(page, keyword);
  await expect(page.getByTestId('domain-name')).toHaveText(`${keyword}.com`);
  const steps = page.getByTestId('step');
  await expect(steps).toHaveCount(6);
  await expect(page.locator('[data-testid="step"][data-step="verify"]')).toHaveAttribute('data-status', 'done');
  await expect(page.locator('[data-testid="step"][data-status="done"]')).toHaveCount(6);
  await expect(page.getByTestId('domain-status')).toHaveText('Active');
  await expect(page.getByTestId('records-summary')).toHaveText('5 of 5 OK');
  await expect(page.locator('[data-testid="record"][data-status="ok"]')).toHaveCount(5);

  await page.getByRole('link', { name: '← Domains' }).click();
  const listed = page.getByTestId('domain-row').filter({ hasText: `${keyword}.com` });
  await expect(listed).toContainText('Active');
  await expect(listed).toContainText('5 of 5 records OK');
});

test('a name the registry refuses is refunded and shown as failed', async ({ page }) => {
  await signUpAndOpenDomains(page, 'Unlucky Co');
  const keyword = `fail-register-${unique()}`;
  await buyCom(page, keyword);
  await expect(page.getByTestId('domain-status')).toHaveText('Failed');
  await expect(page.getByTestId('failure')).toContainText('registry refused');
  await expect(page.getByTestId('refund')).toHaveText('Refunded $13.98 to your card.');
  await expect(page.locator('[data-testid="step"][data-step="register"]')).toHaveAttribute('data-status', 'failed');
});
