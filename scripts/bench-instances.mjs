// The browser half of scripts/bench-instances.sh: Project > Instances open in a real
// Chromium, then N state changes through the API (stop, then start, of servers on the
// first page, one after another). Latency = when the row's status badge changed in the
// page (performance.timeOrigin + performance.now(), the page's clock) − when the API
// call was sent (the same machine's clock), so it includes the request, the job, the
// event's fan-out, the list's re-read and the redraw.
import { chromium } from '../end2end/node_modules/playwright-core/index.mjs';

const [url, token, password, nArg] = process.argv.slice(2);
const n = Number(nArg);
const nova = async (method, path, body) => {
  const r = await fetch(`${url}/compute/v2.1${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-auth-token': token, 'openstack-api-version': 'compute 2.100' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 || r.status === 202 ? null : r.json();
};

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
await page.goto(url + '/sign-in');
await page.waitForSelector('[data-hydrated=true]');
await page.fill('[data-test=username]', 'admin');
await page.fill('[data-test=password]', password);
await page.click('[data-test=sign-in]');
await page.waitForSelector('[data-test=sidenav]');
await page.goto(url + '/project/instances');
await page.waitForSelector('[data-hydrated=true]');
await page.waitForSelector('[data-live=connected]');
// Every change of a row's status badge, with the page's wall-clock time.
await page.evaluate(() => {
  window.__changes = [];
  const seen = new Map();
  const look = () => {
    for (const tr of document.querySelectorAll('[data-test=instances-table] tr[data-name]')) {
      const s = tr.querySelector('[data-test=badge]')?.textContent;
      const name = tr.dataset.name;
      if (seen.get(name) !== s) {
        if (seen.has(name)) window.__changes.push({ name, status: s, at: performance.timeOrigin + performance.now() });
        seen.set(name, s);
      }
    }
  };
  look();
  new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
});
const names = await page.$$eval('[data-test=instances-table] tr[data-name]', (rows) => rows.map((r) => r.dataset.name));
const all = (await nova('GET', '/servers?limit=2000')).servers;
const ids = names.map((nm) => all.find((s) => s.name === nm).id);
const lat = [];
for (let i = 0; i < n; i++) {
  const k = i % ids.length;
  const want = Math.floor(i / ids.length) % 2 === 0 ? 'SHUTOFF' : 'ACTIVE';
  const before = await page.evaluate(() => window.__changes.length);
  const sent = Date.now();
  await nova('POST', `/servers/${ids[k]}/action`, want === 'SHUTOFF' ? { 'os-stop': null } : { 'os-start': null });
  const at = await page.waitForFunction(([b, name, want]) => {
    const c = window.__changes.slice(b).find((c) => c.name === name && c.status === want);
    return c ? c.at : null;
  }, [before, names[k], want], { timeout: 30_000, polling: 'raf' });
  lat.push((await at.jsonValue()) - sent);
}
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))].toFixed(0);
console.log(`${n} changes: p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${lat[lat.length - 1].toFixed(0)} ms`);
await browser.close();
