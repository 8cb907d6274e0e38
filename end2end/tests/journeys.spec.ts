import { test, expect, Page } from '@playwright/test';
import { confirmEmail } from './support';

const PASSWORD = 'Correct-Horse-Battery-9';
let counter = 0;
const uniqueEmail = () => `e2e-${Date.now()}-${counter++}@acme-e2e.io`;

/** Fails the test on any console error or CSP violation the page reports. */
function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`); });
  return errors;
}

async function hydrated(page: Page) {
  await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
}

/** An account that exists, with the browser signed out again; returns its email. */
async function existingAccount(page: Page, company: string): Promise<string> {
  const email = uniqueEmail();
  await signUp(page, company, email);
  await page.context().clearCookies();
  return email;
}

/** Opens a page and waits until it has hydrated. */
async function visit(page: Page, path: string) {
  await page.goto(path);
  await hydrated(page);
}

async function signUp(page: Page, company: string, email: string) {
  await visit(page, '/signup');
  await page.getByLabel('Company name').fill(company);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await confirmEmail(page);
}

test('signup lands on the dashboard with the trial days and usage', async ({ page }) => {
  const errors = watchConsole(page);
  await signUp(page, 'Grove Labs', uniqueEmail());
  await expect(page.getByTestId('tenant-name')).toHaveText('Grove Labs');
  await expect(page.getByTestId('trial')).toHaveText('Trial — 7 days left');
  await expect(page.getByTestId('usage-domains')).toHaveText('0 / 2');
  await expect(page.getByTestId('usage-inboxes')).toHaveText('0 / 50');
  expect(errors).toEqual([]);
});

test('logout, then login, returns to the dashboard', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, 'Round Trip Co', email);
  await hydrated(page);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.goto('/dashboard');
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);
  await hydrated(page);
  await page.getByLabel('Email').fill(email.toUpperCase());
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId('tenant-name')).toHaveText('Round Trip Co');
});

test('the hydrated password field gives strength feedback and a show toggle', async ({ page }) => {
  const errors = watchConsole(page);
  await visit(page, '/signup');
  const field = page.getByLabel('Password', { exact: true });
  const strength = page.getByTestId('password-strength');
  await expect(strength).toHaveText('12+ characters');
  await field.pressSequentially('abc');
  await expect(strength).toHaveText('Too short · 3 chars');
  await field.fill(PASSWORD);
  await field.press('End');
  await field.pressSequentially('!');
  await expect(strength).toHaveText(`Strong · ${PASSWORD.length + 1} chars`);

  await expect(field).toHaveAttribute('type', 'password');
  await page.getByTestId('password-toggle').click();
  await expect(field).toHaveAttribute('type', 'text');
  await page.getByTestId('password-toggle').click();
  await expect(field).toHaveAttribute('type', 'password');
  expect(errors).toEqual([]);
});

test('bad input is explained next to the field, and a taken address gets the same answer as a new one', async ({ page }) => {
  const email = await existingAccount(page, 'First Co');
  await visit(page, '/signup');
  // Client-side: the shared parse rules speak before anything is sent.
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Company name').focus();
  await expect(page.locator('#email-error')).toHaveText('Enter a valid email address, like name@company.com.');

  // The address already has an account: "we sent a link", as for anyone (its owner is told).
  await page.getByLabel('Company name').fill('Second Co');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/check-email$/);
  await expect(page.getByTestId('sent-to')).toContainText(email);
});

test('a wrong password shows one generic message', async ({ page }) => {
  const email = await existingAccount(page, 'Generic Co');
  await visit(page, '/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('wrong-password-here');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
  await expect(page.getByLabel('Email')).toHaveValue(email);
});

test('pages fit a 360 px wide phone without sideways scrolling', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  for (const path of ['/', '/signup', '/login']) {
    await page.goto(path);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} overflows by ${overflow}px`).toBeLessThanOrEqual(0);
  }
  await signUp(page, 'Phone Co', uniqueEmail());
  for (const path of ['/dashboard', '/domains', '/domains?q=phone']) {
    await page.goto(path);
    await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} overflows by ${overflow}px`).toBeLessThanOrEqual(0);
  }
});
