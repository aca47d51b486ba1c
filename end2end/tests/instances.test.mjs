// Project > Instances in a browser: an instance launched from the dialog appears and
// becomes Active without a reload; the dialog says before submitting when the quota or
// the hosts' capacity refuses a launch; and on a real QEMU guest, a command typed into
// the instance page's serial console answers, and its VNC tab draws the guest's screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, adminToken, api, hydrated, signIn, withCloud } from './harness.mjs';

const env = withCloud(async (env) => {
  env.token = await adminToken(env.cloud);
  const projects = await api(env.cloud, 'GET', '/identity/v3/projects?name=admin', { token: env.token });
  env.project = projects.body.projects[0].id;
}, {
  hosts: [
    { name: 'sim-a', cpus: 8, mib: 8192, zone: 'sim' },
    { name: 'sim-b', cpus: 4, mib: 4096, zone: 'sim' },
    { name: 'local', local: true, zone: 'nova' },
  ],
  seed: true,
});

const nova = (method, path, body) => api(env.cloud, method, '/compute/v2.1' + path, { token: env.token, body });
const row = (name) => `[data-test=instances-table] tr[data-name="${name}"]`;

async function instancesPage() {
  const p = await env.chrome.newPage({ viewport: { width: 1400, height: 900 } });
  await signIn(p, env.cloud.url, 'admin', ADMIN_PASSWORD);
  await p.waitForSelector('[data-test=sidenav]');
  await p.goto(env.cloud.url + '/project/instances');
  await hydrated(p);
  await p.waitForSelector('[data-live=connected]');
  await p.evaluate(() => { window.__samePage = true; });
  return p;
}

/** Open the launch dialog (the lazily loaded panel may answer its first click late). */
async function openLaunch(p) {
  for (let i = 0; i < 20; i++) {
    await p.click('[data-test=launch-instance]');
    if (await p.waitForSelector('[data-test=modal] [data-test=field-name]', { timeout: 1000 }).catch(() => null)) return;
  }
  throw new Error('the launch dialog did not open');
}

async function choose(p, field, label) {
  const value = await p.$eval(`[data-test=${field}]`, (sel, label) => {
    const o = [...sel.options].find((o) => o.textContent.startsWith(label));
    return o ? o.value : null;
  }, label);
  assert.ok(value !== null, `${field} offers ${label}`);
  await p.selectOption(`[data-test=${field}]`, value);
}

test('an instance launched from the dialog becomes Active without a reload', async () => {
  const p = await instancesPage();
  await openLaunch(p);
  await p.fill('[data-test=field-name]', 'from-dialog');
  await choose(p, 'field-image', 'ferrostack-test');
  await choose(p, 'field-flavor', 'm1.tiny');
  await choose(p, 'field-zone', 'sim');
  await p.waitForSelector('[data-test=quota-instances]:text("instances: 0 used + 1 = 1 of 10")');
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector(row('from-dialog'));
  await p.waitForSelector(`${row('from-dialog')} [data-test=badge]:text("ACTIVE")`, { timeout: 30_000 });
  // The row shows its power state, and the actions an active server offers.
  const text = await p.textContent(row('from-dialog'));
  assert.match(text, /Running/);
  assert.ok(await p.$(`${row('from-dialog')} [data-test=row-stop]`));
  assert.equal(await p.$(`${row('from-dialog')} [data-test=row-start]`), null);
  // Stopped through the API (as the CLI would), the row follows.
  const id = (await nova('GET', '/servers?name=from-dialog')).body.servers[0].id;
  await nova('POST', `/servers/${id}/action`, { 'os-stop': null });
  await p.waitForSelector(`${row('from-dialog')} [data-test=badge]:text("SHUTOFF")`, { timeout: 30_000 });
  await p.waitForSelector(`${row('from-dialog')} [data-test=row-start]`);
  assert.equal(await p.evaluate(() => window.__samePage), true, 'no reload');
  // Bulk: two more servers ticked and shut off at once, then deleted at once.
  for (const name of ['bulk-1', 'bulk-2']) {
    await nova('POST', '/servers', { server: { name, imageRef: (await api(env.cloud, 'GET', '/image/v2/images?name=ferrostack-test', { token: env.token })).body.images[0].id,
      flavorRef: '1', networks: 'none', availability_zone: 'sim' } });
  }
  for (const name of ['bulk-1', 'bulk-2']) {
    await p.waitForSelector(`${row(name)} [data-test=badge]:text("ACTIVE")`, { timeout: 30_000 });
    await p.check(`${row(name)} [data-test=row-select]`);
  }
  await p.waitForSelector('[data-test=bulk-count]:text("2 selected")');
  await p.click('[data-test=bulk-stop]');
  await p.click('[data-test=dialog-submit]');
  for (const name of ['bulk-1', 'bulk-2']) {
    await p.waitForSelector(`${row(name)} [data-test=badge]:text("SHUTOFF")`, { timeout: 30_000 });
    await p.check(`${row(name)} [data-test=row-select]`);
  }
  await p.click('[data-test=bulk-delete]');
  await p.click('[data-test=dialog-submit]');
  for (const name of ['bulk-1', 'bulk-2']) {
    await p.waitForSelector(row(name), { state: 'detached', timeout: 30_000 });
  }
  assert.equal(await p.evaluate(() => window.__samePage), true, 'no reload');
  await p.close();
});

test('the dialog shows a quota refusal and a capacity refusal before submitting', async () => {
  const p = await instancesPage();
  await openLaunch(p);
  await p.fill('[data-test=field-name]', 'too-big');
  await choose(p, 'field-image', 'ferrostack-test');
  await choose(p, 'field-zone', 'sim');
  // m1.large asks 8 GiB: sim-a has 7.5 GiB free after the first test's server, sim-b 4.
  await choose(p, 'field-flavor', 'm1.large');
  const capacity = await p.waitForSelector('[data-test=launch-capacity-refusal]');
  const why = await capacity.textContent();
  assert.match(why, /No host has room/);
  assert.match(why, /sim-a: \d+ MiB RAM free < 8192 MiB asked/);
  assert.equal(await p.$eval('[data-test=dialog-submit]', (b) => b.disabled), true);
  await choose(p, 'field-flavor', 'm1.tiny');
  await p.waitForSelector('[data-test=launch-capacity-refusal]', { state: 'detached' });
  await p.click('[data-test=dialog-cancel]');
  // One instance used of a quota of one.
  await nova('PUT', `/os-quota-sets/${env.project}`, { quota_set: { instances: 1 } });
  await openLaunch(p);
  await p.fill('[data-test=field-name]', 'over-quota');
  await choose(p, 'field-image', 'ferrostack-test');
  await choose(p, 'field-flavor', 'm1.tiny');
  const quota = await p.waitForSelector('[data-test=launch-quota-refusal]');
  assert.match(await quota.textContent(), /1 of 1 instances used/);
  assert.equal(await p.$eval('[data-test=dialog-submit]', (b) => b.disabled), true);
  await nova('PUT', `/os-quota-sets/${env.project}`, { quota_set: { instances: 10 } });
  await p.close();
});

test('the serial console of a real guest answers a typed command, and VNC draws its screen', async () => {
  const made = await nova('POST', '/servers', { server: {
    name: 'real-console', imageRef: (await api(env.cloud, 'GET', '/image/v2/images?name=ferrostack-test', { token: env.token })).body.images[0].id,
    flavorRef: '1', networks: 'none', availability_zone: 'nova' } });
  const id = made.body.server.id;
  const deadline = Date.now() + 240_000;
  for (;;) {
    const out = await nova('POST', `/servers/${id}/action`, { 'os-getConsoleOutput': { length: 50 } }).catch(() => null);
    if (out && out.body.output.includes('FERROSTACK-TEST-IMAGE SHELL')) break;
    if (Date.now() > deadline) throw new Error('the guest never reached its shell');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const p = await instancesPage();
  await p.goto(`${env.cloud.url}/project/instances/${id}`);
  await hydrated(p);
  await p.waitForSelector('[data-test=instance-status]:text("ACTIVE")');
  // The Log tab follows the console log: a line the guest prints now appears in it.
  for (let i = 0; i < 20 && !(await p.$('[data-test=log-frame]')); i++) {
    await p.click('[data-test=tab-log]');
    await p.waitForSelector('[data-test=log-frame]', { timeout: 1000 }).catch(() => null);
  }
  const logFrame = () => p.frames().find((f) => f.url().includes('/compute/console/logview'));
  for (let i = 0; i < 50 && !logFrame(); i++) await p.waitForTimeout(200);
  await logFrame().waitForFunction(() => document.getElementById('log').textContent.includes('FERROSTACK-TEST-IMAGE SHELL'), null, { timeout: 30_000 });
  const serial = (await nova('POST', `/servers/${id}/remote-consoles`, { remote_console: { protocol: 'serial', type: 'serial' } })).body.remote_console.url;
  const typer = await env.chrome.newPage();
  await typer.goto(env.cloud.url + '/sign-in');
  await typer.evaluate((url) => new Promise((ok, fail) => {
    const ws = new WebSocket(url.replace(/^ws:\/\/[^/]+/, (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host), ['binary']);
    ws.onopen = () => { ws.send(new TextEncoder().encode('echo follow-$((2*21))\r')); setTimeout(() => { ws.close(); ok(); }, 1500); };
    ws.onerror = () => fail(new Error('the serial console did not open'));
  }), serial);
  await typer.close();
  await logFrame().waitForFunction(() => document.getElementById('log').textContent.includes('follow-42'), null, { timeout: 30_000 });
  for (let i = 0; i < 20 && !(await p.$('[data-test=console-frame]')); i++) {
    await p.click('[data-test=tab-console]');
    await p.waitForSelector('[data-test=console-frame]', { timeout: 1000 }).catch(() => null);
  }
  const term = p.frameLocator('[data-test=console-frame]');
  await term.locator('body[data-state=connected]').waitFor({ timeout: 30_000 });
  await term.locator('.xterm').click();
  await p.keyboard.type('echo fs-$((6*7))-ok');
  await p.keyboard.press('Enter');
  const frame = p.frames().find((f) => f.url().includes('/compute/console/terminal'));
  await frame.waitForFunction(() => {
    const b = window.term.buffer.active;
    for (let i = 0; i < b.length; i++) {
      if (b.getLine(i)?.translateToString().includes('fs-42-ok')) return true;
    }
    return false;
  }, null, { timeout: 30_000 });

  await p.click('[data-test=tab-vnc]');
  await p.waitForFunction(() => document.querySelector('[data-test=console-frame]')?.src.includes('/novnc'));
  const vnc = () => p.frames().find((f) => f.url().includes('/compute/console/novnc'));
  for (let i = 0; i < 50 && !vnc(); i++) await p.waitForTimeout(200);
  await vnc().waitForSelector('body[data-state=connected]', { timeout: 30_000 });
  // The guest's screen (its boot text) draws pixels of more than one colour.
  await vnc().waitForFunction(() => {
    const c = document.querySelector('#screen canvas');
    if (!c || !c.width || !c.height) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const first = d.slice(0, 4).join();
    for (let i = 0; i < d.length; i += 4 * 97) {
      if (d.slice(i, i + 4).join() !== first) return true;
    }
    return false;
  }, null, { timeout: 30_000 });
  await p.close();
  // Gone before the cloud stops, so no guest outlives the test.
  await nova('DELETE', `/servers/${id}`);
  for (let i = 0; i < 120; i++) {
    const r = await fetch(`${env.cloud.url}/compute/v2.1/servers/${id}`, { headers: { 'x-auth-token': env.token } });
    if (r.status === 404) break;
    await new Promise((ok) => setTimeout(ok, 500));
  }
});

async function adminPage(path, ready) {
  const p = await env.chrome.newPage({ viewport: { width: 1400, height: 900 } });
  await signIn(p, env.cloud.url, 'admin', ADMIN_PASSWORD);
  await p.waitForSelector('[data-test=sidenav]');
  await p.goto(env.cloud.url + path);
  await hydrated(p);
  await p.waitForSelector(ready);
  return p;
}

/** Click until the dialog opens (a lazily loaded panel may answer its first click late). */
async function clickOpen(p, button, opens) {
  for (let i = 0; i < 20; i++) {
    await p.click(button);
    if (await p.waitForSelector(opens, { timeout: 1000 }).catch(() => null)) return;
  }
  throw new Error(`${button} did not open ${opens}`);
}

test('key pairs, hypervisors, flavors and quotas panels change what the API shows', async () => {
  // Key Pairs: a generated pair's private key is shown once, then listed.
  let p = await adminPage('/project/key-pairs', '[data-test=keypairs-table]');
  await clickOpen(p, '[data-test=add-keypair]', '[data-test=field-key-name]');
  await p.fill('[data-test=field-key-name]', 'made-in-console');
  await p.click('[data-test=dialog-submit]');
  assert.match(await (await p.waitForSelector('[data-test=private-key]')).textContent(), /PRIVATE KEY/);
  await p.click('[data-test=dialog-done]');
  await p.waitForSelector('[data-test=keypairs-table] tr[data-name="made-in-console"]');
  assert.ok((await nova('GET', '/os-keypairs')).body.keypairs.some((k) => k.keypair.name === 'made-in-console'));
  await p.click('[data-test=keypairs-table] tr[data-name="made-in-console"] [data-test=row-delete]');
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector('[data-test=keypairs-table] tr[data-name="made-in-console"]', { state: 'detached' });
  await p.close();

  // Hypervisors: capacity per host; disabled with a reason, the scheduler says so.
  p = await adminPage('/admin/hypervisors', '[data-test=hypervisors-table] tr[data-name="sim-b"]');
  assert.match(await p.textContent('[data-test=hypervisors-table] tr[data-name="sim-a"]'), /\/ 8192 MiB/);
  await clickOpen(p, '[data-test=hypervisors-table] tr[data-name="sim-b"] [data-test=row-disable]', '[data-test=modal] [data-test=field-reason]');
  await p.fill('[data-test=field-reason]', 'disk swap');
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector('[data-test=hypervisors-table] tr[data-name="sim-b"] [data-test=row-enable]');
  const svc = (await nova('GET', '/os-services?host=sim-b')).body.services[0];
  assert.equal(svc.status, 'disabled');
  assert.equal(svc.disabled_reason, 'disk swap');
  await p.click('[data-test=hypervisors-table] tr[data-name="sim-b"] [data-test=row-enable]');
  await p.waitForSelector('[data-test=hypervisors-table] tr[data-name="sim-b"] [data-test=row-disable]');
  await p.close();

  // Flavors: a private flavor, opened to a project, then deleted.
  p = await adminPage('/admin/flavors', '[data-test=flavors-table]');
  await clickOpen(p, '[data-test=create-flavor]', '[data-test=modal] [data-test=field-name]');
  await p.fill('[data-test=field-name]', 'console.private');
  await p.fill('[data-test=field-id]', 'console.private');
  await p.uncheck('[data-test=field-public]');
  await p.click('[data-test=dialog-submit]');
  const frow = '[data-test=flavors-table] tr[data-name="console.private"]';
  await p.waitForSelector(`${frow}:has-text("private: no project")`);
  await clickOpen(p, `${frow} [data-test=row-access]`, '[data-test=modal] [data-test=field-project]');
  await p.fill('[data-test=field-project]', env.project);
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector(`${frow}:has-text("private: ${env.project}")`);
  const access = (await nova('GET', '/flavors/console.private/os-flavor-access')).body.flavor_access;
  assert.deepEqual(access.map((a) => a.tenant_id), [env.project]);
  await p.click(`${frow} [data-test=row-delete]`);
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector(frow, { state: 'detached' });
  await p.close();

  // Quotas: a project's limits set and back to the defaults.
  p = await adminPage('/admin/quotas', '[data-test=quota-table]');
  await p.selectOption('[data-test=quota-project]', env.project);
  await p.waitForSelector('[data-test=quota-edit]');
  await clickOpen(p, '[data-test=quota-edit]', '[data-test=modal] [data-test=field-limits]');
  const lines = (await p.inputValue('[data-test=field-limits]')).replace(/^instances=.*$/m, 'instances=7');
  await p.fill('[data-test=field-limits]', lines);
  await p.click('[data-test=dialog-submit]');
  await p.waitForSelector('[data-test=quota-row][data-name=instances] [data-test=quota-limit]:text("7")');
  assert.equal((await nova('GET', `/os-quota-sets/${env.project}`)).body.quota_set.instances, 7);
  await p.click('[data-test=quota-reset]');
  await p.waitForSelector('[data-test=quota-row][data-name=instances] [data-test=quota-limit]:text("10")');
  await p.close();
});
