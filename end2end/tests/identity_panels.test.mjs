// The Identity panels in a browser: row actions that keep the table in place, edit /
// delete / members / passwords, groups and roles, self-service application credentials,
// change password, settings, and a narrow screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, adminToken, api, hydrated, signIn, withCloud } from './harness.mjs';

const env = withCloud(async (env) => {
  const token = await adminToken(env.cloud);
  env.token = token;
  const call = (method, path, body) => api(env.cloud, method, '/identity/v3' + path, { token, body });
  env.ids = {};
  for (let i = 0; i < 30; i++) {
    const name = `proj-${String(i).padStart(2, '0')}`;
    env.ids[name] = (await call('POST', '/projects', { project: { name } })).body.project.id;
  }
  const member = (await call('GET', '/roles?name=member')).body.roles[0].id;
  env.member = member;
  for (const user of ['carol', 'dave', 'erin']) {
    const u = (await call('POST', '/users', { user: { name: user, password: `${user}-pw-1` } })).body.user;
    env.ids[user] = u.id;
    await call('PUT', `/projects/${env.ids['proj-01']}/users/${u.id}/roles/${member}`);
  }
});

/** A password token for `user` in proj-01, or the HTTP status when refused. */
async function login(user, password) {
  const r = await fetch(env.cloud.url + '/identity/v3/auth/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
    } }),
  });
  return r.status;
}

async function adminPage(path) {
  const page = await env.chrome.newPage({ viewport: { width: 1280, height: 600 } });
  await signIn(page, env.cloud.url, 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('[data-test=sidenav]');
  await page.goto(env.cloud.url + path);
  await hydrated(page);
  return page;
}

/** Count the console's change requests, to prove a refusal happened in the browser. */
function countChanges(page) {
  const seen = { n: 0 };
  page.on('request', (r) => { if (r.url().endsWith('/api/identity_do')) seen.n++; });
  return seen;
}

/** Wait for a toast whose words match `re`. */
async function toastSays(page, re) {
  await page.waitForFunction((src) => [...document.querySelectorAll('[data-test=toast]')]
    .some((t) => new RegExp(src).test(t.textContent)), re.source);
}

const rowNames = (page, test) =>
  page.$$eval(`[data-test=${test}]`, (rows) => rows.map((r) => r.dataset.name));

test('a row action redraws that row alone: the page, its position and the scroll stay', async () => {
  const page = await adminPage('/identity/projects?page=2');
  await page.waitForSelector('[data-test=project-row]');
  const before = await rowNames(page, 'project-row');
  assert.ok(before.includes('proj-25'), before.join(','));
  await page.$$eval('[data-test=project-row]', (rows) => rows.forEach((r) => { r.__kept = true; }));
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const scrolled = await page.evaluate(() => window.scrollY);
  assert.ok(scrolled > 0, 'the page is long enough to scroll');

  await page.click('tr[data-name=proj-25] [data-test=row-disable]');
  await page.waitForSelector('tr[data-name=proj-25] .badge.off');
  await toastSays(page, /^Project proj-25 is disabled\./);

  assert.match(page.url(), /page=2/);
  assert.deepEqual(await rowNames(page, 'project-row'), before, 'same rows, same order');
  assert.equal(await page.evaluate(() => window.scrollY), scrolled, 'scroll position kept');
  const kept = await page.$$eval('[data-test=project-row]', (rows) =>
    rows.map((r) => [r.dataset.name, r.__kept === true]));
  for (const [name, same] of kept) assert.equal(same, name !== 'proj-25', `${name} redrawn: ${!same}`);
  // The service agrees: the project is disabled for the API too.
  const r = await api(env.cloud, 'GET', `/identity/v3/projects/${env.ids['proj-25']}`, { token: env.token });
  assert.equal(r.body.project.enabled, false);
  await page.close();
});

test('forms check input before sending; edit and delete say what happened', async () => {
  const page = await adminPage('/identity/projects');
  const changes = countChanges(page);
  await page.click('[data-test=create-project]');
  await page.click('[data-test=dialog-submit]');
  assert.equal(await (await page.waitForSelector('[data-test=field-error]')).textContent(), 'Enter a name.');
  await page.fill('[data-test=field-name]', 'x'.repeat(65));
  assert.equal(await page.textContent('[data-test=field-error]'), 'Name is at most 64 characters; this is 65.');
  assert.equal(changes.n, 0, 'nothing was sent');
  await page.click('[data-test=dialog-cancel]');

  await page.click('tr[data-name=proj-03] [data-test=row-edit]');
  assert.equal(await page.inputValue('[data-test=field-name]'), 'proj-03');
  await page.fill('[data-test=field-name]', 'proj-03b');
  await page.fill('[data-test=field-description]', 'renamed in the console');
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('tr[data-name=proj-03b]');
  await toastSays(page, /Saved project proj-03b\./);
  assert.equal(changes.n, 1);

  await page.click('tr[data-name=proj-04] [data-test=row-delete]');
  assert.match(await page.textContent('[data-test=dialog-intro]'), /cannot be undone/);
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('tr[data-name=proj-04]', { state: 'detached' });
  await toastSays(page, /^Deleted project proj-04\./);
  await page.close();
});

test('project members: grant a role, see it, revoke it', async () => {
  const page = await adminPage('/identity/projects');
  await clickUntil(page, 'tr[data-name=proj-01] [data-test=row-members]', '[data-test=members-modal]');
  await page.waitForSelector('[data-test=members-modal] tr[data-name=carol]');
  await page.selectOption('[data-test=member-user]', { label: 'admin' });
  // Choosing admin warns that it is cloud-wide (OpenStack's policy); reader does not.
  await page.selectOption('[data-test=member-role]', { label: 'admin' });
  assert.match(await (await page.waitForSelector('[data-test=admin-role-warning]')).textContent(), /administrator of the whole cloud/);
  await page.selectOption('[data-test=member-role]', { label: 'reader' });
  await page.waitForSelector('[data-test=admin-role-warning]', { state: 'detached' });
  await page.click('[data-test=member-add]');
  await page.waitForSelector('[data-test=members-modal] tr[data-name=admin]');
  const r = await api(env.cloud, 'GET',
    `/identity/v3/role_assignments?scope.project.id=${env.ids['proj-01']}&include_names=true`, { token: env.token });
  assert.ok(r.body.role_assignments.some((a) => a.user?.name === 'admin' && a.role.name === 'reader'));
  await page.click('[data-test=members-modal] tr[data-name=admin] [data-test=row-remove]');
  await page.waitForSelector('[data-test=members-modal] tr[data-name=admin]', { state: 'detached' });
  await toastSays(page, /admin no longer has the reader role here/);
  await page.close();
});

/** Click `selector` until `opens` appears (at most 10 tries): a lazily loaded panel's
 * buttons answer once its own code has arrived, which can be just after hydration. */
async function clickUntil(page, selector, opens) {
  for (let i = 0; i < 10; i++) {
    if (await page.$(opens)) return;
    await page.click(selector);
    try {
      await page.waitForSelector(opens, { timeout: 2_000 });
      return;
    } catch { /* not yet: click again */ }
  }
  throw new Error(`${selector} never opened ${opens}`);
}

test('users: set password (typed twice), disable, delete', async () => {
  const page = await adminPage('/identity/users');
  const changes = countChanges(page);
  await clickUntil(page, 'tr[data-name=dave] [data-test=row-password]', '[data-test=field-password]');
  await page.fill('[data-test=field-password]', 'dave-pw-2');
  await page.fill('[data-test=field-confirm]', 'dave-pw-3');
  await page.click('[data-test=dialog-submit]');
  assert.equal(await page.textContent('[data-test=field-error]'), 'The two passwords do not match.');
  assert.equal(changes.n, 0);
  await page.fill('[data-test=field-confirm]', 'dave-pw-2');
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('[data-test=modal]', { state: 'detached' });
  assert.equal(await login('dave', 'dave-pw-2'), 201);
  assert.equal(await login('dave', 'dave-pw-1'), 401);

  await page.click('tr[data-name=dave] [data-test=row-disable]');
  await page.waitForSelector('tr[data-name=dave] .badge.off');
  assert.equal(await login('dave', 'dave-pw-2'), 401);

  await page.click('tr[data-name=dave] [data-test=row-delete]');
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('tr[data-name=dave]', { state: 'detached' });
  // Deleting oneself is refused with the service's reason, in a toast.
  await page.click('tr[data-name=admin] [data-test=row-delete]');
  await page.click('[data-test=dialog-submit]');
  const refused = await page.waitForSelector('[data-test=modal-error]');
  assert.match(await refused.textContent(), /cannot delete the user you are signed in as/);
  await page.close();
});

test('groups with members, and roles', async () => {
  const page = await adminPage('/identity/groups');
  await page.click('[data-test=create-group]');
  await page.fill('[data-test=field-name]', 'ops');
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('tr[data-name=ops]');
  await page.click('tr[data-name=ops] [data-test=row-members]');
  await page.waitForSelector('[data-test=members-modal] [data-test=empty]');
  await page.selectOption('[data-test=member-user]', { label: 'carol' });
  await page.click('[data-test=member-add]');
  await page.waitForSelector('[data-test=members-modal] tr[data-name=carol]');
  await page.click('[data-test=members-close]');

  await page.click('[data-test=nav-identity-roles]');
  await page.waitForSelector('tr[data-name=member]');
  await page.click('[data-test=create-role]');
  await page.fill('[data-test=field-name]', 'auditor');
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('tr[data-name=auditor]');
  await page.click('tr[data-name=auditor] [data-test=row-delete]');
  await page.click('[data-test=dialog-submit]');
  await page.waitForSelector('tr[data-name=auditor]', { state: 'detached' });
  await page.close();
});

test('a member creates an application credential: the secret is shown once, copies, and works', async () => {
  const context = await env.chrome.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.cloud.url });
  const page = await context.newPage();
  await signIn(page, env.cloud.url, 'carol', 'carol-pw-1');
  await page.click('[data-test=nav-app-creds]');
  await page.waitForSelector('[data-test=empty]');
  await hydrated(page);
  await page.click('[data-test=create-app-cred]');
  await page.fill('[data-test=field-name]', 'deploy');
  await page.fill('[data-test=field-expires]', '2999-12-31');
  await page.click('[data-test=dialog-submit]');
  const secret = await (await page.waitForSelector('[data-test=app-cred-secret]')).textContent();
  const id = await page.textContent('[data-test=app-cred-id]');
  assert.ok(secret.length >= 32, secret);
  assert.match(await page.textContent('[data-test=app-cred-yaml]'),
    new RegExp(`application_credential_id: ${id}\\n\\s+application_credential_secret: ${secret}`));
  await page.click('[data-test=copy-secret]');
  assert.equal(await page.textContent('[data-test=copy-secret]'), 'Copied');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);

  const r = await fetch(env.cloud.url + '/identity/v3/auth/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['application_credential'],
      application_credential: { id, secret } } } }),
  });
  assert.equal(r.status, 201);

  await page.click('[data-test=reveal-close]');
  await page.waitForSelector('tr[data-name=deploy]');
  await page.reload();
  await page.waitForSelector('tr[data-name=deploy]');
  assert.ok(!(await page.content()).includes(secret), 'the secret is never shown again');
  await context.close();
});

test('change password from the user menu: signed out, then in with the new one', async () => {
  const page = await env.chrome.newPage();
  await signIn(page, env.cloud.url, 'erin', 'erin-pw-1');
  await page.waitForSelector('[data-test=signed-in-as]');
  await hydrated(page);
  await page.click('[data-test=signed-in-as]');
  await page.click('[data-test=change-password]');
  await page.fill('[data-test=field-original]', 'not-it');
  await page.fill('[data-test=field-password]', 'erin-pw-2');
  await page.fill('[data-test=field-confirm]', 'erin-pw-2');
  await page.click('[data-test=dialog-submit]');
  assert.match(await (await page.waitForSelector('[data-test=modal-error]')).textContent(),
    /original password is not correct/);
  await page.fill('[data-test=field-original]', 'erin-pw-1');
  await page.click('[data-test=dialog-submit]');
  await page.waitForURL(/\/sign-in\?changed=password$/);
  assert.match(await page.textContent('[data-test=sign-in-notice]'), /password has been changed/);
  await signIn(page, env.cloud.url, 'erin', 'erin-pw-2');
  await page.waitForSelector('[data-test=signed-in-as]');
  assert.equal(await login('erin', 'erin-pw-1'), 401);
  await page.close();
});

test('settings: items per page apply to the Projects list', async () => {
  const page = await adminPage('/settings');
  await page.selectOption('[data-test=page-size]', '10');
  await page.click('[data-test=save-settings]');
  await toastSays(page, /Saved: 10 items per page/);
  await page.goto(env.cloud.url + '/identity/projects');
  await page.waitForSelector('[data-test=project-row]');
  assert.equal((await page.$$('[data-test=project-row]')).length, 10);
  assert.match(await page.textContent('[data-test=pager]'), /page 1 of 3/);
  await page.close();
});

test('on a narrow screen the page does not scroll sideways', async () => {
  const page = await env.chrome.newPage({ viewport: { width: 390, height: 800 } });
  await signIn(page, env.cloud.url, 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('[data-test=sidenav]');
  await page.goto(env.cloud.url + '/identity/users');
  await page.waitForSelector('[data-test=user-row]');
  const [scrollWidth, width] = await page.evaluate(() =>
    [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scrollWidth <= width, `page is ${scrollWidth}px wide in a ${width}px window`);
  await page.close();
});
