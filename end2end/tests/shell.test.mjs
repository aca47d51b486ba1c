// The console's shell for an admin and for a project member, in a real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, adminToken, api, hydrated, signIn, withCloud } from './harness.mjs';

const env = withCloud(async (env) => {
  const { cloud } = env;
  const token = (env.token = await adminToken(cloud));
  const ids = {};
  for (const name of ['team-a', 'team-b']) {
    ids[name] = (await api(cloud, 'POST', '/identity/v3/projects', { token, body: { project: { name } } })).body.project.id;
  }
  const user = (await api(cloud, 'POST', '/identity/v3/users', { token, body: { user: { name: 'alice', password: 'alice-pw-1' } } })).body.user.id;
  const member = (await api(cloud, 'GET', '/identity/v3/roles?name=member', { token })).body.roles[0].id;
  await api(cloud, 'PUT', `/identity/v3/projects/${ids['team-a']}/users/${user}/roles/${member}`, { token });
});

test('an admin sees the Identity panels and can search projects', async () => {
  const { cloud, chrome, token } = env;
  const page = await chrome.newPage();
  await signIn(page, cloud.url, 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('[data-test=nav-identity-projects]');
  await page.click('[data-test=nav-identity-projects]');
  await page.waitForURL(/\/identity\/projects/);
  await page.waitForSelector('[data-test=projects-table]');
  const names = await page.$$eval('[data-test=project-row] td:first-child', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(names, ['admin', 'team-a', 'team-b']);
  await page.fill('[data-test=project-search]', 'TEAM-B');
  await page.press('[data-test=project-search]', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=project-row]').length === 1);
  assert.equal(await page.textContent('[data-test=project-row] td:first-child'), 'team-b');
  await page.close();
});

test('a member sees its own project alone and cannot open Identity pages', async () => {
  const { cloud, chrome, token } = env;
  const page = await chrome.newPage();
  await signIn(page, cloud.url, 'alice', 'alice-pw-1');
  await page.waitForSelector('[data-test=project-switcher]');
  await hydrated(page);
  const options = await page.$$eval('[data-test=project-switcher] option', (os) => os.map((o) => o.textContent));
  assert.deepEqual(options, ['team-a']);
  assert.equal(await page.$('[data-test=nav-identity-projects]'), null, 'no Identity link for a member');
  assert.match(await page.textContent('[data-test=roles]'), /member/);
  await page.goto(cloud.url + '/identity/projects');
  const refused = await page.waitForSelector('[data-test=panel-refused]');
  assert.match(await refused.textContent(), /admin role/);
  assert.equal(await page.$('[data-test=project-row]'), null, 'no project listed');
  await page.close();
});

test('switching project re-scopes the console', async () => {
  const { cloud, chrome, token } = env;
  const page = await chrome.newPage();
  await signIn(page, cloud.url, 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('[data-test=project-switcher]');
  await hydrated(page);
  // admin holds a role on its own project alone: give it team-b as well.
  const admin = (await api(cloud, 'GET', '/identity/v3/users?name=admin', { token })).body.users[0].id;
  const teamB = (await api(cloud, 'GET', '/identity/v3/projects?name=team-b', { token })).body.projects[0].id;
  const member = (await api(cloud, 'GET', '/identity/v3/roles?name=member', { token })).body.roles[0].id;
  await api(cloud, 'PUT', `/identity/v3/projects/${teamB}/users/${admin}/roles/${member}`, { token });
  await page.reload();
  await hydrated(page);
  await page.selectOption('[data-test=project-switcher]', { label: 'team-b' });
  await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Overview: team-b');
  assert.equal((await page.textContent('[data-test=current-project]')).trim(), 'team-b');
  // member implies reader (bootstrap's inference, as Keystone's).
  assert.match(await page.textContent('[data-test=roles]'), /^member, reader$/);
  await page.close();
});

test('the Overview shows the project quota usage so far', async () => {
  const { cloud, chrome, token } = env;
  // An image of 3,000 bytes in the admin project, through the Glance API.
  const r = await fetch(cloud.url + '/image/v2/images', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify({ name: 'usage', disk_format: 'raw', container_format: 'bare' }),
  });
  const { id } = await r.json();
  const put = await fetch(`${cloud.url}/image/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'x-auth-token': token },
    body: new Uint8Array(3000),
  });
  assert.equal(put.status, 204);
  const page = await chrome.newPage();
  await signIn(page, cloud.url, 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('[data-test=quota-figure]');
  const figures = await page.$$eval('[data-test=quota]', (qs) => qs.map((q) => q.textContent));
  assert.deepEqual(figures, ['Images1 of 1000', 'Image storage2.9 KiB of 1.0 TiB']);
  await page.close();
});
