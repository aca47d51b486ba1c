// Signing in to the console in a real browser (Debian Chromium via playwright-core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, hydrated, signIn, withCloud } from './harness.mjs';

const env = withCloud();

test('an anonymous visitor is sent to sign in, and a wrong password says why without a page load', async () => {
  const { cloud, chrome } = env;
  const page = await chrome.newPage();
  await page.goto(cloud.url + '/');
  await page.waitForURL(/\/sign-in$/);
  await hydrated(page);
  await page.evaluate(() => { window.__samePage = true; });
  await page.fill('[data-test=username]', 'admin');
  await page.fill('[data-test=password]', 'definitely-wrong');
  await page.click('[data-test=sign-in]');
  const error = await page.waitForSelector('[data-test=sign-in-error]');
  assert.match(await error.textContent(), /user name or password is not correct/);
  assert.equal(await page.evaluate(() => window.__samePage), true, 'the error came without a full page load');
  await page.close();
});

test('admin signs in, sees who and where they are, and signs out', async () => {
  const { cloud, chrome } = env;
  const page = await chrome.newPage();
  await signIn(page, cloud.url, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(cloud.url + '/');
  assert.equal((await (await page.waitForSelector('[data-test=signed-in-as]')).textContent()).trim(), 'admin');
  assert.equal((await page.textContent('[data-test=current-project]')).trim(), 'admin');
  // The session cookie is HttpOnly: page scripts cannot read it.
  assert.doesNotMatch(await page.evaluate(() => document.cookie), /ferrostack_session/);
  await page.click('[data-test=signed-in-as]'); // opens the user menu
  await page.click('[data-test=sign-out]');
  await page.waitForURL(/\/sign-in$/);
  await page.goto(cloud.url + '/');
  await page.waitForURL(/\/sign-in$/);
  await page.close();
});

test('the session survives a server restart', async () => {
  const { cloud, chrome } = env;
  const context = await chrome.newContext();
  const page = await context.newPage();
  await signIn(page, cloud.url, 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('[data-test=signed-in-as]');
  await cloud.stop();
  await cloud.start();
  await page.goto(cloud.url + '/');
  await hydrated(page);
  assert.equal((await (await page.waitForSelector('[data-test=signed-in-as]')).textContent()).trim(), 'admin');
  assert.ok(page.url().endsWith('/'), `still on the console, not sent to sign in: ${page.url()}`);
  await context.close();
});
