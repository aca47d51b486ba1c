// A running `ferrostack serve` on a fresh data dir, and a headless Debian Chromium
// driven by playwright-core (no browser download). Used by every browser test.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ADMIN_PASSWORD = 'browser-admin-pw-1';
const REPO = resolve(import.meta.dirname, '..', '..');

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function waitUp(url, proc, logPath) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ferrostack serve exited; see ${logPath}`);
    try {
      const r = await fetch(url + '/identity/v3');
      if (r.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`ferrostack serve did not come up; see ${logPath}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A cloud: `start()` and `stop()` may be called again to restart on the same data.
 * `hosts`: compute hosts, each `{ name, cpus, mib, zone }` (a simulated host: libvirt's
 * test driver) or `{ name, local: true, zone }` (this machine's libvirt/QEMU); `seed`:
 * the test image (FERROSTACK_TEST_IMAGE, which scripts/test.sh sets) as the public
 * image `ferrostack-test`. */
export class Cloud {
  constructor({ hosts, seed } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'ferrostack-e2e-'));
    // QEMU runs as its own user and must pass through to the servers' disks.
    chmodSync(this.dir, 0o711);
    this.bin = process.env.FERROSTACK_BIN || join(REPO, 'target', 'release', 'ferrostack');
    this.args = ['serve'];
    if (hosts) {
      const lines = ['[compute]', 'shutdown_timeout_secs = 3', 'reconcile_secs = 2'];
      for (const h of hosts) {
        let uri = 'qemu:///system';
        if (!h.local) {
          const path = join(this.dir, `${h.name}.xml`);
          writeFileSync(path, `<node><cpu><mhz>2000</mhz><model>x86_64</model><active>${h.cpus}</active><max>${h.cpus}</max>`
            + `<nodes>1</nodes><sockets>1</sockets><cores>${h.cpus}</cores><threads>1</threads></cpu>`
            + `<memory>${h.mib * 1024}</memory></node>`);
          uri = `test://${path}`;
        }
        lines.push('[[compute.hosts]]', `name = "${h.name}"`, `uri = "${uri}"`, `availability_zone = "${h.zone}"`);
        if (!h.local) lines.push('disk_gb = 500');
      }
      const path = join(this.dir, 'ferrostack.toml');
      writeFileSync(path, lines.join('\n') + '\n');
      this.args = ['--config', path, 'serve'];
    }
    this.seed = seed ? process.env.FERROSTACK_TEST_IMAGE : undefined;
    if (seed && !this.seed) throw new Error('FERROSTACK_TEST_IMAGE is not set (scripts/test.sh sets it)');
  }

  async start() {
    this.port ??= await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const log = join(this.dir, 'server.log');
    this.proc = spawn(this.bin, this.args, {
      cwd: REPO,
      env: {
        ...process.env,
        ...(this.seed ? { FERROSTACK_SEED_IMAGE: this.seed } : {}),
        FERROSTACK_DATA_DIR: join(this.dir, 'data'),
        FERROSTACK_LISTEN: `127.0.0.1:${this.port}`,
        FERROSTACK_ADMIN_PASSWORD: ADMIN_PASSWORD,
        LEPTOS_SITE_ROOT: join(REPO, 'target', 'site'),
      },
      stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
    });
    await waitUp(this.url, this.proc, log);
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await done;
  }

  async cleanup() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic',
    ],
  });
}

/** Sign in through the page, as a person would. */
export async function signIn(page, url, user, password) {
  await page.goto(url + '/sign-in');
  await hydrated(page);
  await page.fill('[data-test=username]', user);
  await page.fill('[data-test=password]', password);
  await page.click('[data-test=sign-in]');
}

/** Wait until the console is hydrated (the WASM has taken over the page), including
 *  the open panel, whose code loads separately after the shell's. */
export async function hydrated(page) {
  await page.waitForSelector('[data-hydrated=true]', { timeout: 30_000 });
  await page.waitForFunction(() => !document.querySelector('[data-panel-ready=false]'), null, { timeout: 30_000 });
}

/** Call the cloud's REST API (setup for browser tests). */
export async function api(cloud, method, path, { token, body } = {}) {
  const r = await fetch(cloud.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { 'x-auth-token': token } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return { headers: r.headers, body: text ? JSON.parse(text) : null };
}

export async function adminToken(cloud) {
  const r = await api(cloud, 'POST', '/identity/v3/auth/tokens', {
    body: { auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    } },
  });
  return r.headers.get('x-subject-token');
}

/** Register before/after hooks for a test file: a cloud and a browser for all its tests,
 * plus an optional setup(env). Tests read `env.cloud`, `env.chrome` (and what setup adds). */
export function withCloud(setup, opts) {
  const env = {};
  before(async () => {
    env.cloud = new Cloud(opts);
    await env.cloud.start();
    env.chrome = await browser();
    // Every page's uncaught script errors (a failed hydration panics the WASM and the
    // page stops responding) are collected, and fail the file at the end.
    env.pageErrors = [];
    const newPage = env.chrome.newPage.bind(env.chrome);
    env.chrome.newPage = async (...args) => {
      const p = await newPage(...args);
      p.on('pageerror', (e) => env.pageErrors.push(`${p.url()}: ${e.message}`));
      return p;
    };
    if (setup) await setup(env);
  });
  after(async () => {
    await env.chrome?.close();
    await env.cloud?.cleanup();
    if (env.pageErrors?.length) {
      throw new Error(`script errors on pages: ${env.pageErrors.join('; ')}`);
    }
  });
  return env;
}
