import { test, expect, Page, Browser } from '@playwright/test';
import { confirmEmail, totpCode } from './support';

const PASSWORD = 'Correct-Horse-Battery-9';
const NEW_PASSWORD = 'Another-Long-Passphrase-7';
let counter = 0;
const uniqueEmail = () => `acct-${Date.now()}-${counter++}@acme-e2e.io`;

async function hydrated(page: Page) {
  await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true');
}

async function signUp(page: Page, email: string) {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Company name').fill('Account Co');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
}

async function logIn(page: Page, email: string, password: string) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** The newest link of this kind mailed to `email`, read from the sandbox outbox as staff. */
async function mailedLink(browser: Browser, email: string, kind: string): Promise<string> {
  const staff = await (await browser.newContext()).newPage();
  await logIn(staff, 'staff@inboxgrove.test', 'staff-grove-2026');
  await expect(staff).toHaveURL(/\/staff$/);
  for (let i = 0; i < 20; i++) {
    await staff.goto('/dev/outbox');
    const row = staff.locator('tr', { hasText: email }).filter({ hasText: kind }).first();
    if ((await row.count()) > 0) {
      const body = await row.locator('pre').innerText();
      const url = body.match(/https?:\/\/\S+/);
      if (url) {
        await staff.context().close();
        return url[0];
      }
    }
    await staff.waitForTimeout(100);
  }
  throw new Error(`no ${kind} link mailed to ${email}`);
}

test('signup, verify through the sandbox message, and the dashboard has no banner', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await confirmEmail(page);
  await hydrated(page);
  await expect(page.getByTestId('tenant-name')).toHaveText('Account Co');
  await expect(page.getByTestId('verify-banner')).toHaveCount(0);
  // The user menu says who is signed in, where, and as what.
  await page.getByTestId('user-menu').locator('summary').click();
  await expect(page.getByTestId('user-menu')).toContainText(email);
  await expect(page.getByTestId('user-menu')).toContainText('Account Co · owner');
  // The navigation marks where you are.
  const nav = page.getByTestId('main-nav');
  await expect(nav.getByRole('link', { name: 'Dashboard' })).toHaveAttribute('aria-current', 'page');
  await nav.getByRole('link', { name: 'Domains' }).click();
  await expect(page).toHaveURL(/\/domains$/);
  await expect(page.getByTestId('main-nav').getByRole('link', { name: 'Domains' })).toHaveAttribute('aria-current', 'page');
});

test('an unverified account sees why it cannot buy yet and can send the link again', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await expect(page).toHaveURL(/\/check-email$/);
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/dashboard$/);
  await hydrated(page);
  const banner = page.getByTestId('verify-banner');
  await expect(banner).toContainText(email);
  await banner.getByRole('button', { name: 'Send it again' }).click();
  // The signup's link is not a minute old yet.
  await expect(banner.getByRole('alert')).toContainText('Too many attempts');
});

test('forgot password: the reset link sets a new one and signs out the old session', async ({ browser }) => {
  const email = uniqueEmail();
  const old = await (await browser.newContext()).newPage();
  await signUp(old, email);
  await confirmEmail(old);

  const page = await (await browser.newContext()).newPage();
  await page.goto('/login');
  await hydrated(page);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send the link' }).click();
  await expect(page.getByRole('status')).toContainText(`If ${email} has an InboxGrove account`);

  const link = await mailedLink(browser, email, 'Reset your InboxGrove password');
  await page.goto(link);
  await hydrated(page);
  await page.getByLabel('New password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await expect(page).toHaveURL(/\/login\?reset=done$/);
  await expect(page.getByRole('status')).toContainText('Your password was changed');

  // The old browser's session is over.
  await old.goto('/dashboard');
  await expect(old).toHaveURL(/\/login/);

  await logIn(page, email, NEW_PASSWORD);
  await expect(page).toHaveURL(/\/dashboard$/);
});

test('security settings list the browsers and sign out everywhere else', async ({ browser }) => {
  const email = uniqueEmail();
  const here = await (await browser.newContext()).newPage();
  await signUp(here, email);
  await confirmEmail(here);
  const there = await (await browser.newContext()).newPage();
  await logIn(there, email, PASSWORD);
  await expect(there).toHaveURL(/\/dashboard$/);

  await here.goto('/settings/security');
  await hydrated(here);
  await expect(here.getByTestId('session')).toHaveCount(2);
  await expect(here.getByText('This browser')).toHaveCount(1);
  await here.getByTestId('end-others').click();
  await expect(here.getByTestId('session')).toHaveCount(1);

  await there.goto('/dashboard');
  await expect(there).toHaveURL(/\/login/);
});

test('invite a second person who joins read-only, and the owner sees them in the team', async ({ browser }) => {
  const owner = await (await browser.newContext()).newPage();
  await signUp(owner, uniqueEmail());
  await confirmEmail(owner);
  await hydrated(owner);
  await owner.getByTestId('main-nav').getByRole('link', { name: 'Team' }).click();
  await expect(owner).toHaveURL(/\/settings\/team$/);
  await hydrated(owner);
  const invitee = uniqueEmail();
  await owner.getByLabel('Email').fill(invitee);
  await owner.getByRole('button', { name: 'Send invitation' }).click();
  await expect(owner.getByTestId('invitation')).toContainText(invitee);

  const link = await mailedLink(browser, invitee, 'You are invited to');
  const member = await (await browser.newContext()).newPage();
  await member.goto(link);
  await hydrated(member);
  await expect(member.getByTestId('invite-summary')).toContainText('as a member');
  await member.getByLabel('Choose a password').fill(PASSWORD);
  await member.getByRole('button', { name: /^Join / }).click();
  await expect(member).toHaveURL(/\/dashboard$/);
  await expect(member.getByTestId('tenant-name')).toHaveText('Account Co');

  // A member reads everything and changes nothing: the team page offers no invite form.
  await member.goto('/settings/team');
  await hydrated(member);
  await expect(member.getByTestId('member')).toHaveCount(2);
  await expect(member.getByRole('button', { name: 'Send invitation' })).toHaveCount(0);

  await owner.reload();
  await hydrated(owner);
  await expect(owner.getByTestId('member').filter({ hasText: invitee })).toContainText('Member');
});

test('enable 2FA, sign out, and sign in again with a code from the app', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await confirmEmail(page);
  await page.goto('/settings/security');
  await hydrated(page);
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  await expect(page.getByTestId('totp-qr').locator('svg')).toBeVisible();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  await page.getByLabel('Code from the app').fill(totpCode(secret, -1));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  await expect(page.getByTestId('two-factor-state')).toContainText('On. 10 recovery codes left.');

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/code/);
  await hydrated(page);
  await page.getByLabel('Code').fill(totpCode(secret));
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId('tenant-name')).toHaveText('Account Co');
});

test('export the workspace: the mailed link downloads a zip with a file per entity', async ({ browser }) => {
  const email = uniqueEmail();
  const owner = await (await browser.newContext()).newPage();
  await signUp(owner, email);
  await confirmEmail(owner);
  await owner.goto('/settings/team');
  await hydrated(owner);
  await owner.getByTestId('export').click();
  await expect(owner.getByText('We are building your export')).toBeVisible();

  const link = await mailedLink(browser, email, 'Your InboxGrove export is ready');
  const res = await owner.request.get(link);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toBe('application/zip');
  const zip = await res.body();
  expect(zip.subarray(0, 4).toString('binary')).toBe('PK\u0003\u0004');
  for (const name of ['workspace.json', 'members.json', 'domains.json', 'inboxes.json', 'audit.json']) {
    expect(zip.includes(Buffer.from(name)), name).toBe(true);
  }
  expect(zip.includes(Buffer.from(email))).toBe(true);
});

test('close the workspace: typing its name signs out, and the account can no longer sign in', async ({ page }) => {
  const email = uniqueEmail();
  await signUp(page, email);
  await confirmEmail(page);
  await page.goto('/settings/team');
  await hydrated(page);
  await page.getByTestId('close-confirm').fill('Account Co');
  await page.getByTestId('close-workspace').click();
  await expect(page).toHaveURL(/\/login$/);

  // The closing job (started at once, done in well under a second) deletes the account, whose
  // only workspace it was: the password opens nothing. One try: failed logins are throttled.
  await page.waitForTimeout(2000);
  await logIn(page, email, PASSWORD);
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
});
