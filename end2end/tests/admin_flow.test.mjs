// The whole story in a browser: the admin creates a project and a user with the
// member role there, signs out; the user signs in and sees that project alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, hydrated, signIn, withCloud } from './harness.mjs';

const env = withCloud();

test('admin creates a project and a member in the console; the member sees that project alone', async () => {
  const { cloud, chrome } = env;
  const page = await chrome.newPage();
  await signIn(page, cloud.url, 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('[data-test=nav-identity-projects]');
  await page.click('[data-test=nav-identity-projects]');
  await page.waitForSelector('[data-test=projects-table]');
  await hydrated(page);

  // The modal opens in place: no page load.
  await page.evaluate(() => { window.__samePage = true; });
  await page.click('[data-test=create-project]');
  await page.waitForSelector('[data-test=modal]');
  assert.equal(await page.evaluate(() => window.__samePage), true);
  // A refusal says why, and the modal stays open to fix it.
  await page.fill('[data-test=field-name]', 'admin');
  await page.click('[data-test=dialog-submit]');
  const refused = await page.waitForSelector('[data-test=modal-error]');
  assert.match(await refused.textContent(), /Duplicate entry found with name admin/);
  await page.fill('[data-test=field-name]', 'blue');
  await page.fill('[data-test=field-description]', 'the blue team');
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('[data-test=modal]', { state: 'detached' });
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-test=project-row] td:first-child')].some((td) => td.textContent === 'blue'));

  await page.click('[data-test=nav-identity-users]');
  await page.waitForSelector('[data-test=users-table]');
  await page.click('[data-test=create-user]');
  await page.waitForSelector('[data-test=field-project]');
  await page.fill('[data-test=field-name]', 'bob');
  await page.fill('[data-test=field-email]', 'bob@example.org');
  await page.fill('[data-test=field-password]', 'bob-pw-12345');
  await page.fill('[data-test=field-confirm]', 'bob-pw-12345');
  await page.selectOption('[data-test=field-project]', { label: 'blue' });
  await page.selectOption('[data-test=field-role]', { label: 'member' });
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('[data-test=modal]', { state: 'detached' });
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-test=user-row] td:first-child')].some((td) => td.textContent === 'bob'));

  await page.click('[data-test=signed-in-as]');
  await page.click('[data-test=sign-out]');
  await page.waitForURL(/\/sign-in$/);

  await signIn(page, cloud.url, 'bob', 'bob-pw-12345');
  await page.waitForSelector('[data-test=project-switcher]');
  const options = await page.$$eval('[data-test=project-switcher] option', (os) => os.map((o) => o.textContent));
  assert.deepEqual(options, ['blue']);
  assert.equal(await page.$('[data-test=nav-identity-projects]'), null);
  assert.equal(await page.$('[data-test=nav-identity-users]'), null);
  await page.goto(cloud.url + '/identity/users');
  assert.match(await (await page.waitForSelector('[data-test=panel-refused]')).textContent(), /admin role/);
  assert.equal(await page.$('[data-test=user-row]'), null);
  await page.close();
});
