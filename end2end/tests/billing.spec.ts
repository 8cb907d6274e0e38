import { test, expect, Page } from '@playwright/test';
import { confirmEmail, customerWithDomain } from './support';

const PASSWORD = 'Correct-Horse-Battery-9';
let counter = 0;
const uniqueEmail = () => `bill-${Date.now()}-${counter++}@acme-e2e.io`;

async function hydrated(page: Page) {
  await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
}

async function signUp(page: Page, company: string) {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Company name').fill(company);
  await page.getByLabel('Email').fill(uniqueEmail());
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await confirmEmail(page);
}

async function openBilling(page: Page) {
  await hydrated(page);
  await page.getByTestId('billing-link').click();
  await expect(page).toHaveURL(/\/billing$/);
  await hydrated(page);
}

async function choosePlan(page: Page, plan: string) {
  await page.getByTestId(`plan-${plan}`).getByRole('button').click();
  await expect(page).toHaveURL(/\/sandbox\/stripe\/checkout\/cs_test_/);
}

test('choose a plan, pay on the sandbox Checkout and come back trialing', async ({ page }) => {
  await signUp(page, 'Checkout Co');
  await openBilling(page);
  await expect(page.getByTestId('billing-status')).toHaveText('Trial');
  await choosePlan(page, 'growth');
  await expect(page.getByText('7 days free, then $149 per month')).toBeVisible();
  await page.getByLabel('Card number').fill('4242 4242 4242 4242');
  await page.getByRole('button', { name: 'Start trial' }).click();
  await expect(page).toHaveURL(/\/billing\/success\?session_id=cs_test_/);
  await expect(page.getByTestId('checkout-result')).toHaveText('Growth — Trialing');
  await page.getByRole('link', { name: 'Go to billing' }).click();
  await expect(page.getByTestId('billing-plan')).toHaveText('Growth');
  await expect(page.getByTestId('billing-status')).toHaveText('Trialing');
  await expect(page.getByTestId('plan-growth')).toContainText('Current plan');
  await expect(page.getByTestId('plan-scale').getByRole('button')).toHaveText('Upgrade');
});

test('a declined card says so and creates nothing; cancel returns with nothing changed', async ({ page }) => {
  await signUp(page, 'Declined Co');
  await openBilling(page);
  await choosePlan(page, 'starter');
  await page.getByLabel('Card number').fill('4000 0000 0000 0002');
  await page.getByRole('button', { name: 'Start trial' }).click();
  await expect(page.getByTestId('card-error')).toHaveText('Your card was declined.');
  await page.getByRole('link', { name: /Cancel and return/ }).click();
  await expect(page).toHaveURL(/\/billing\/cancel$/);
  await expect(page.getByTestId('checkout-canceled')).toHaveText('Checkout canceled');
  await page.getByRole('link', { name: 'Back to billing' }).click();
  await hydrated(page);
  await expect(page.getByTestId('billing-status')).toHaveText('Trial');
  await expect(page.getByTestId('billing-plan')).toHaveText('Free trial');
  await expect(page.getByText('No invoices yet.')).toBeVisible();
});

test('staff advances the sandbox clock past the trial: the plan is active and an invoice is listed', async ({ page, browser }) => {
  await signUp(page, 'Clockwork Co');
  await openBilling(page);
  await choosePlan(page, 'starter');
  await page.getByLabel('Card number').fill('4242424242424242');
  await page.getByRole('button', { name: 'Start trial' }).click();
  await expect(page.getByTestId('checkout-result')).toHaveText('Starter — Trialing');

  const staffContext = await browser.newContext();
  const staff = await staffContext.newPage();
  await staff.goto('/login');
  await hydrated(staff);
  await staff.getByLabel('Email').fill('staff@inboxgrove.test');
  await staff.getByLabel('Password', { exact: true }).fill('staff-grove-2026');
  await staff.getByRole('button', { name: 'Log in' }).click();
  await expect(staff).toHaveURL(/\/staff$/);
  await hydrated(staff);
  await staff.getByLabel('Days').fill('8');
  await staff.getByRole('button', { name: 'Advance clock' }).click();
  await expect(staff.getByTestId('clock-result')).toContainText('Clock advanced');
  await staffContext.close();

  await page.goto('/billing');
  await hydrated(page);
  await expect(page.getByTestId('billing-status')).toHaveText('Active');
  await expect(page.getByTestId('billing-period')).toContainText('Renews on');
  const invoices = page.getByTestId('invoices');
  await expect(invoices).toContainText('$49');
  await expect(invoices).toContainText('Paid');
  await expect(page.getByTestId('ledger')).toContainText('Subscription');
});

test('a bought domain shows its renewal and switch; cards are added in setup mode, made default and removed', async ({ page }) => {
  await customerWithDomain(page, 'Cards Co', 'cards');
  // The domain's renewal: on by default, switched off and on from its page.
  const renewal = page.getByTestId('renewal');
  await expect(renewal.getByTestId('renewal-state')).toHaveAttribute('data-state', 'ok');
  await expect(renewal.getByTestId('auto-renew')).toHaveAttribute('data-on', 'true');
  await renewal.getByTestId('auto-renew-toggle').click();
  await expect(renewal.getByTestId('auto-renew')).toHaveAttribute('data-on', 'false');
  await expect(renewal.getByTestId('auto-renew')).toContainText('Auto-renew is off');

  // The card that paid for the domain is on file and the default.
  await page.goto('/billing');
  await hydrated(page);
  const cards = page.getByTestId('card');
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toHaveAttribute('data-last4', '4242');
  await expect(cards.first()).toHaveAttribute('data-default', 'true');

  // Another one through Checkout in setup mode: nothing charged, back on billing.
  await page.getByTestId('add-card').click();
  await expect(page).toHaveURL(/\/sandbox\/stripe\/checkout\/cs_test_/);
  await expect(page.getByText('Nothing is charged now.')).toBeVisible();
  await page.getByLabel('Card number').fill('4000 0000 0000 0341');
  await page.getByRole('button', { name: 'Save card' }).click();
  await expect(page).toHaveURL(/\/billing\?card=added$/);
  await hydrated(page);
  await expect(cards).toHaveCount(2);
  const added = page.locator('[data-testid="card"][data-last4="0341"]');
  await expect(added).toHaveAttribute('data-default', 'false');
  await added.getByTestId('card-default').click();
  await expect(added).toHaveAttribute('data-default', 'true');
  await page.locator('[data-testid="card"][data-last4="4242"]').getByTestId('card-remove').click();
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toHaveAttribute('data-last4', '0341');
});
