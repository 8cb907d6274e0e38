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
