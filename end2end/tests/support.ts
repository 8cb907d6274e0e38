import { createHmac } from 'crypto';
import { expect, Page } from '@playwright/test';

/**
 * After "Create account": the "check your inbox" page, the sandbox message it offers, the
 * link in it, and "Confirm my email" — a newcomer's way to the dashboard under `make run`.
 */
export async function confirmEmail(page: Page) {
  await expect(page).toHaveURL(/\/check-email$/);
  await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
  await page.getByTestId('sandbox-mail').click();
  await expect(page).toHaveURL(/\/dev\/outbox\/signup$/);
  // The message is sent just after the response: reload until it is there.
  for (let i = 0; i < 20 && (await page.locator('a[href*="verify-email"]').count()) === 0; i++) {
    await page.waitForTimeout(100);
    await page.reload();
  }
  await page.locator('a[href*="verify-email"]').click();
  await expect(page).toHaveURL(/\/verify-email\?token=/);
  await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}


export async function hydrated(page: Page) {
  await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
}

let counter = 0;
const unique = () => `${Date.now().toString(36)}${counter++}`;

/** A new customer (`company`) with one active domain bought through the sandbox Checkout;
 * returns its name. */
export async function customerWithDomain(page: Page, company = 'Magic Button Co', prefix = 'magic'): Promise<string> {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Company name').fill(company);
  await page.getByLabel('Email').fill(`${prefix}-${unique()}@acme-e2e.io`);
  await page.getByLabel('Password', { exact: true }).fill('Correct-Horse-Battery-9');
  await page.getByRole('button', { name: 'Create account' }).click();
  await confirmEmail(page);
  const keyword = `${prefix}-${unique()}`;
  await page.goto(`/domains?q=${keyword}`);
  await hydrated(page);
  const row = page.locator(`[data-testid="search-result"][data-name="${keyword}.com"]`);
  await row.getByTestId('buy').click();
  await expect(page).toHaveURL(/\/sandbox\/stripe\/checkout\/cs_test_/);
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: 'Pay' }).click();
  await expect(page).toHaveURL(/\/domains\/[0-9a-f-]{36}/);
  await expect(page.getByTestId('domain-status')).toHaveText('Active');
  return `${keyword}.com`;
}

/** The current TOTP code (RFC 6238, SHA-1, 6 digits, 30 s) for a base32 secret. */
export function totpCode(secretBase32: string, offsetSteps = 0): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretBase32.replace(/=+$/, '')) {
    bits += alphabet.indexOf(c.toUpperCase()).toString(2).padStart(5, '0');
  }
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const step = Math.floor(Date.now() / 1000 / 30) + offsetSteps;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', Buffer.from(bytes)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return (value % 1_000_000).toString().padStart(6, '0');
}
