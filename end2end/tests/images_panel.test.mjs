// The Images panels in a browser: create an image from a file with real upload
// progress (bytes, rate, time left) reaching 100 % and the image active; cancel an
// upload and nothing is left; a protected image's delete is refused with the reason;
// the detail page edits properties and shares; Admin > Images lists every project's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_PASSWORD, adminToken, api, hydrated, signIn, withCloud } from './harness.mjs';

const MiB = 1024 * 1024;

const env = withCloud(async (env) => {
  env.token = await adminToken(env.cloud);
  const id = (method, path, body) => api(env.cloud, method, '/identity/v3' + path, { token: env.token, body });
  env.blue = (await id('POST', '/projects', { project: { name: 'blue' } })).body.project.id;
  const bob = (await id('POST', '/users', { user: { name: 'bob', password: 'bob-pw-1', default_project_id: env.blue } })).body.user;
  const member = (await id('GET', '/roles?name=member')).body.roles[0].id;
  await id('PUT', `/projects/${env.blue}/users/${bob.id}/roles/${member}`);
  // A raw disk: mostly zeros, some pattern, so checksums mean something.
  env.file = (name, size) => {
    const buf = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) buf[i] = (i / 4096) % 251;
    const path = join(env.cloud.dir, name);
    writeFileSync(path, buf);
    return { path, md5: createHash('md5').update(buf).digest('hex') };
  };
});

const glance = (method, path, body, token = env.token) =>
  api(env.cloud, method, '/image/v2' + path, { token, body });

async function tokenFor(user, password, project) {
  const r = await api(env.cloud, 'POST', '/identity/v3/auth/tokens', {
    body: { auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
      scope: { project: { id: project } },
    } },
  });
  return r.headers.get('x-subject-token');
}

/** Close a page, failing the test if it had a script error. */
async function done(p) {
  assert.deepEqual(p.__errors, [], 'no script errors on the page');
  await p.close();
}

async function page(user, password, path) {
  const p = await env.chrome.newPage({ viewport: { width: 1280, height: 800 } });
  // Any script error (a failed hydration panics the WASM) fails the test at done().
  p.__errors = [];
  p.on('pageerror', (e) => p.__errors.push(`${p.url()}: ${e.message}`));
  await signIn(p, env.cloud.url, user, password);
  await p.waitForSelector('[data-test=sidenav]');
  await p.goto(env.cloud.url + path);
  await hydrated(p);
  return p;
}

/** Slow this page's uploads to `bytesPerSecond` (Chromium's own network throttling). */
async function throttle(p, bytesPerSecond) {
  const cdp = await p.context().newCDPSession(p);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
  });
}

/** Record every value the progress bar shows. */
async function watchProgress(p) {
  await p.evaluate(() => {
    window.__seen = [];
    new MutationObserver(() => {
      const bar = document.querySelector('[data-test=upload-progress]');
      if (bar) window.__seen.push(Number(bar.dataset.percent));
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-percent'] });
  });
  return () => p.evaluate(() => window.__seen);
}

async function toastSays(p, re, test = 'toast') {
  try {
    await p.waitForFunction(([src, t]) => [...document.querySelectorAll(`[data-test=${t}]`)]
      .some((e) => new RegExp(src).test(e.textContent)), [re.source, test]);
  } catch (e) {
    const shown = await p.$$eval('.toast, [data-test=modal-error], [data-test=field-error]', (l) => l.map((x) => x.textContent));
    throw new Error(`no ${test} matching ${re}; the page shows: ${JSON.stringify(shown)}`);
  }
}

async function imageNamed(name, token = env.token) {
  const r = await glance('GET', `/images?name=${encodeURIComponent(name)}`, null, token);
  return r.body.images[0];
}

test('create image: the progress bar shows bytes, rate and time left, reaches 100 %, and the image is active', async () => {
  const disk = env.file('console-disk.raw', 24 * MiB);
  const p = await page('admin', ADMIN_PASSWORD, '/project/images');
  await throttle(p, 8 * MiB);
  const seen = await watchProgress(p);
  await p.click('[data-test=create-image]');
  await p.setInputFiles('[data-test=field-file]', disk.path);
  // The name and disk format are taken from the file.
  assert.equal(await p.inputValue('[data-test=field-name]'), 'console-disk');
  assert.equal(await p.inputValue('[data-test=field-disk_format]'), 'raw');
  await p.check('[data-test=field-protected]');
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector('[data-test=upload-progress]');
  await p.waitForFunction(() => /MiB of 24\.0 MiB · .+\/s · (\d+ s|\d+ min \d+ s) left/
    .test(document.querySelector('[data-test=upload-figures]')?.textContent ?? ''));
  await toastSays(p, /^Image console-disk uploaded and active\./);
  const values = await seen();
  assert.ok(values.some((v) => v > 0 && v < 100), `progress between 0 and 100 shown: ${values}`);
  assert.equal(Math.max(...values), 100, `the bar reached 100 %: ${values}`);
  for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1], `never goes back: ${values}`);
  // The list shows it active, and the API agrees, with the file's checksum.
  await p.waitForSelector('tr[data-name=console-disk] [data-test=badge]:text("active")');
  const img = await imageNamed('console-disk');
  assert.equal(img.status, 'active');
  assert.equal(img.size, 24 * MiB);
  assert.equal(img.checksum, disk.md5);
  assert.equal(img.visibility, 'private');
  // Protected once its data is in (created unprotected, so a failed upload can be undone).
  await p.waitForSelector('tr[data-name=console-disk] td:text("yes")');
  assert.equal((await imageNamed('console-disk')).protected, true);
  await done(p);
});

test('cancelling an upload stops it and leaves no image behind', async () => {
  const disk = env.file('cancelled.raw', 32 * MiB);
  const p = await page('admin', ADMIN_PASSWORD, '/project/images');
  await throttle(p, 1 * MiB);
  await p.click('[data-test=create-image]');
  await p.setInputFiles('[data-test=field-file]', disk.path);
  await p.click('[data-test=dialog-submit]');
  await p.waitForFunction(() => Number(document.querySelector('[data-test=upload-progress]')?.dataset.percent) > 0);
  assert.equal(await p.textContent('[data-test=dialog-cancel]'), 'Cancel upload');
  await p.click('[data-test=dialog-cancel]');
  await toastSays(p, /Upload cancelled; the image was not created\./);
  await p.waitForSelector('[data-test=modal]', { state: 'detached' });
  // The record goes too (the service saw the connection cut, then the delete).
  for (let i = 0; i < 100 && (await imageNamed('cancelled')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await imageNamed('cancelled'), undefined);
  await done(p);
});

test('a refused upload says why and leaves nothing, even when asked to protect it; a protected image cannot be deleted', async () => {
  // Bytes that are not what the chosen format says.
  const disk = env.file('not-really.qcow2', 1 * MiB);
  const p = await page('admin', ADMIN_PASSWORD, '/project/images');
  await p.click('[data-test=create-image]');
  await p.setInputFiles('[data-test=field-file]', disk.path);
  assert.equal(await p.inputValue('[data-test=field-disk_format]'), 'qcow2');
  await p.check('[data-test=field-protected]');
  await p.click('[data-test=dialog-submit]');
  const why = await (await p.waitForSelector('[data-test=modal-error]')).textContent();
  assert.match(why, /The image data is raw but disk_format says qcow2/);
  for (let i = 0; i < 100 && (await imageNamed('not-really')); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await imageNamed('not-really'), undefined);
  await p.click('[data-test=dialog-cancel]');

  const img = (await glance('POST', '/images', { name: 'keep-me', disk_format: 'raw', container_format: 'bare', protected: true })).body;
  await p.goto(env.cloud.url + '/project/images');
  await hydrated(p);
  await p.click('tr[data-name=keep-me] [data-test=row-delete]');
  await p.click('[data-test=dialog-submit]');
  assert.match(await (await p.waitForSelector('[data-test=modal-error]')).textContent(),
    /is protected and cannot be deleted; set protected to false first/);
  assert.equal((await glance('GET', `/images/${img.id}`)).body.status, 'queued', 'still there');
  await done(p);
});

test('the detail page edits properties and visibility, and shares with another project', async () => {
  const img = (await glance('POST', '/images', { name: 'detailed', disk_format: 'raw', container_format: 'bare', os_distro: 'debian' })).body;
  const p = await page('admin', ADMIN_PASSWORD, '/project/images');
  await p.click('tr[data-name=detailed] [data-test=row-link]');
  await p.waitForSelector('[data-test=image-title]:text("detailed")');
  await hydrated(p);
  assert.equal(await p.textContent('[data-test=fact-status]'), 'queued');
  assert.equal(await p.textContent('[data-test=fact-size]'), 'no data yet');
  assert.equal(await p.textContent('[data-test=image-properties] tr[data-name=os_distro] td'), 'debian');

  await p.click('[data-test=image-edit]');
  assert.equal(await p.inputValue('[data-test=field-properties]'), 'os_distro=debian');
  await p.fill('[data-test=field-properties]', 'os_distro=ubuntu\nhw_disk_bus=virtio');
  await p.selectOption('[data-test=field-visibility]', 'shared');
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector('[data-test=image-properties] tr[data-name=hw_disk_bus]');
  assert.equal(await p.textContent('[data-test=image-properties] tr[data-name=os_distro] td'), 'ubuntu');
  assert.equal(await p.textContent('[data-test=fact-visibility]'), 'shared');

  // A bad line is refused with the reason, in the dialog.
  await p.click('[data-test=image-edit]');
  await p.fill('[data-test=field-properties]', 'no equals sign here');
  await p.click('[data-test=dialog-submit]');
  assert.match(await (await p.waitForSelector('[data-test=modal-error]')).textContent(), /needs the form key=value/);
  await p.click('[data-test=dialog-cancel]');

  await p.click('[data-test=image-share]');
  await p.fill('[data-test=field-member]', env.blue);
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector(`[data-test=members-table] tr[data-name="${env.blue}"]`);
  assert.match(await p.textContent(`[data-test=members-table] tr[data-name="${env.blue}"]`), /pending/);

  // Bob (project blue) accepts it on his side, and then sees it in his list.
  const bob = await page('bob', 'bob-pw-1', `/project/images/${img.id}`);
  await bob.click('[data-test=image-accept]');
  await toastSays(bob, /^Image accepted\./);
  await bob.goto(env.cloud.url + '/project/images');
  await hydrated(bob);
  await bob.waitForSelector('tr[data-name=detailed]');
  assert.equal(await bob.$('tr[data-name=detailed] [data-test=row-delete]'), null, 'not his to delete');
  await done(bob);
  await done(p);
});

test("Admin > Images lists every project's images; a member sees only what is theirs or shared", async () => {
  const bobToken = await tokenFor('bob', 'bob-pw-1', env.blue);
  await glance('POST', '/images', { name: 'bob-private', disk_format: 'raw', container_format: 'bare', visibility: 'private' }, bobToken);
  await glance('POST', '/images', { name: 'admin-private', disk_format: 'raw', container_format: 'bare', visibility: 'private' });

  const admin = await page('admin', ADMIN_PASSWORD, '/admin/images');
  await admin.waitForSelector('tr[data-name=bob-private]');
  await admin.waitForSelector('tr[data-name=admin-private]');
  assert.match(await admin.textContent('tr[data-name=bob-private]'), /blue/, 'the owning project is named');
  // Filters narrow the list, as the API's do.
  await admin.selectOption('[data-test=filter-status]', 'active');
  await admin.click('[data-test=filter-apply]');
  await admin.waitForSelector('tr[data-name=bob-private]', { state: 'detached' });
  await done(admin);

  const bob = await page('bob', 'bob-pw-1', '/project/images');
  await bob.waitForSelector('tr[data-name=bob-private]');
  assert.equal(await bob.$('tr[data-name=admin-private]'), null);
  assert.equal(await bob.$('[data-test=nav-admin-images]'), null, 'no Admin group for members');
  await bob.goto(env.cloud.url + '/admin/images');
  await hydrated(bob);
  assert.match(await (await bob.waitForSelector('[data-test=panel-refused]')).textContent(), /needs the admin role/);
  await done(bob);
});

test('the detail page follows an import as it runs, without a reload', async () => {
  const img = (await glance('POST', '/images', { name: 'imported', disk_format: 'raw', container_format: 'bare' })).body;
  const r = await fetch(`${env.cloud.url}/image/v2/images/${img.id}/stage`, {
    method: 'PUT',
    headers: { 'x-auth-token': env.token, 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(2 * MiB, 7),
  });
  assert.equal(r.status, 204);
  const p = await page('admin', ADMIN_PASSWORD, `/project/images/${img.id}`);
  assert.equal(await p.textContent('[data-test=fact-status]'), 'uploading');
  await p.evaluate(() => { window.__samePage = true; });
  await glance('POST', `/images/${img.id}/import`, { method: { name: 'glance-direct' } });
  await p.waitForSelector('[data-test=fact-status]:text("active")');
  await p.waitForSelector('[data-test=tasks-table] [data-test=badge]:text("success")');
  assert.match(await p.textContent('[data-test=tasks-table]'), /Imported raw data\./);
  assert.equal(await p.textContent('[data-test=fact-size]'), '2.0 MiB');
  assert.equal(await p.evaluate(() => window.__samePage), true, 'no reload');
  await done(p);
});
