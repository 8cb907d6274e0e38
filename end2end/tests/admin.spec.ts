import { test, expect, Page, Browser } from '@playwright/test';
import { confirmEmail } from './support';

const PASSWORD = 'Correct-Horse-Battery-9';
const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;

async function hydrated(page: Page) {
  await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
}

async function signIn(browser: Browser, email: string, password: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: /log in/i }).click();
  return page;
}

/** A new customer in a browser context of its own (signed up and confirmed). */
async function newCustomer(browser: Browser, prefix: string): Promise<{ customer: Page; email: string; company: string }> {
  const customer = await (await browser.newContext()).newPage();
  const email = `${prefix}-${unique()}@acme-e2e.io`;
  const company = `${prefix} Co ${unique()}`;
  await customer.goto('/signup');
  await hydrated(customer);
  await customer.getByLabel('Company name').fill(company);
  await customer.getByLabel('Email').fill(email);
  await customer.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await customer.getByRole('button', { name: 'Create account' }).click();
  await confirmEmail(customer);
  return { customer, email, company };
}

/** Staff signed in, on the admin page of the tenant with `email` as a member. */
async function staffOnTenant(browser: Browser, email: string, company: string): Promise<Page> {
  const staff = await signIn(browser, 'staff@inboxgrove.test', 'staff-grove-2026');
  await expect(staff).toHaveURL(/\/(staff|dashboard)/);
  await staff.goto('/admin');
  await hydrated(staff);
  await staff.getByTestId('admin-search').fill(email);
  await staff.getByTestId('admin-search-submit').click();
  await expect(staff.getByTestId('admin-tenant-row')).toHaveCount(1);
  await staff.getByRole('link', { name: company }).click();
  await hydrated(staff);
  return staff;
}

test('staff suspend a tenant, its next page shows the notice, resume brings it back', async ({ browser }) => {
  // A customer; staff find it and suspend it.
  const { customer, email, company } = await newCustomer(browser, 'Kill');
  const staff = await staffOnTenant(browser, email, company);
  await staff.getByTestId('suspend-category').selectOption('abuse');
  await staff.getByTestId('suspend-reason').fill('spam complaints from a blocklist');
  await staff.getByTestId('suspend').click();
  await expect(staff.getByTestId('admin-tenant-status')).toHaveText('suspended');
  await expect(staff.getByTestId('suspension-history')).toContainText('spam complaints from a blocklist');

  // The customer's next page is the notice (403).
  const blocked = await customer.goto('/inboxes');
  expect(blocked!.status()).toBe(403);
  await expect(customer.getByTestId('suspension-notice')).toContainText('suspended (abuse)');
  await expect(customer.getByRole('link', { name: 'support@inboxgrove.com' })).toBeVisible();

  // Resume: the customer works again.
  await staff.getByTestId('resume-reason').fill('cleaned up');
  await staff.getByTestId('resume').click();
  await expect(staff.getByTestId('admin-tenant-status')).toHaveText('active');
  const back = await customer.goto('/dashboard');
  expect(back!.status()).toBe(200);
  await hydrated(customer);
  await expect(customer.getByTestId('tenant-name')).toHaveText(company);

  // Both sides see the trail: the customer on Activity (staff unnamed), staff on the tenant.
  await customer.getByTestId('activity-link').click();
  await expect(customer).toHaveURL(/\/activity$/);
  const trail = customer.getByTestId('audit-table');
  await expect(trail).toContainText('tenant.resume');
  await expect(trail).toContainText('InboxGrove staff');
  await expect(trail).not.toContainText('staff@inboxgrove.test');
  await staff.getByTestId('note-body').fill('suspended by mistake? no: blocklist hit');
  await staff.getByTestId('note-add').click();
  await expect(staff.getByTestId('admin-notes')).toContainText('blocklist hit');
  await expect(staff.getByTestId('admin-audit')).toContainText('tenant.suspend');
  await staff.getByRole('link', { name: 'Platform' }).click();
  await expect(staff.getByTestId('provider-row')).toHaveCount(5);
});

test('staff view a tenant as its owner, read-only, with a banner and a way out', async ({ browser }) => {
  const { email, company } = await newCustomer(browser, 'Viewed');
  const staff = await staffOnTenant(browser, email, company);
  await staff.getByTestId('view-as').click();
  await expect(staff).toHaveURL(/\/dashboard$/);
  await hydrated(staff);
  await expect(staff.getByTestId('tenant-name')).toHaveText(company);
  await expect(staff.getByTestId('view-as-banner')).toContainText(company);
  // A write is refused with the reason.
  const res = await staff.request.post('/api/domains/connect', { form: { name: 'no-writes.com' } });
  expect(res.status()).toBe(403);
  expect(await res.text()).toContain('nothing can be changed');
  await staff.getByTestId('stop-view-as').click();
  await expect(staff).toHaveURL(/\/admin$/);
});

test('a customer cannot reach the admin panel', async ({ page }) => {
  const res = await page.goto('/admin');
  expect(res!.status()).toBe(404);
});
