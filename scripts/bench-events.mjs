// The client half of scripts/bench-events.sh: N event-stream connections, M image
// creates, latency percentiles and the server's CPU per event.
import { readFileSync } from 'node:fs';

const [url, token, cookie, connsArg, eventsArg, pid, listenArg] = process.argv.slice(2);
// Where the connections listen (another server process on the same database, or the same).
const listenUrl = listenArg || url;
const conns = Number(connsArg);
const events = Number(eventsArg);
const ticks = 100; // USER_HZ

function cpu() {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks; // utime + stime, seconds
}

async function create(i) {
  const r = await fetch(`${url}/image/v2/images`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify({ name: `bench-${i}`, disk_format: 'raw', container_format: 'bare' }),
  });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${await r.text()}`);
  return (await r.json()).id;
}

/** Follow the stream; call on(event, arrivalMs) for each resource event. */
async function follow(on, ready) {
  const r = await fetch(`${listenUrl}/console/events?all=true`, { headers: { cookie, accept: 'text/event-stream' } });
  if (r.status !== 200) throw new Error(`events: ${r.status}`);
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of r.body) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const kind = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (kind === 'ready') ready();
      if (kind === 'resource' && data) on(JSON.parse(data), Date.now());
    }
  }
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// Baseline: CPU per create with no listener.
let c0 = cpu();
for (let i = 0; i < events; i++) await create(`base-${i}`);
const base = (cpu() - c0) / events;

// The listeners.
const lat = [];
let got = 0;
const wanted = new Set();
// Events can arrive before the create call has returned its id: keep every arrival.
const arrivals = [];
let readyCount = 0;
const allReady = new Promise((ok) => {
  for (let c = 0; c < conns; c++) {
    follow((e, at) => {
      if (e.action !== 'created') return;
      arrivals.push([e.resource_id, at - Date.parse(e.at)]);
    }, () => { if (++readyCount === conns) ok(); }).catch((e) => { console.error(e.message); process.exit(1); });
  }
});
await allReady;
c0 = cpu();
const t0 = Date.now();
for (let i = 0; i < events; i++) wanted.add(await create(`fan-${i}`));
const deadline = Date.now() + 30_000;
const count = () => arrivals.filter(([id]) => wanted.has(id)).length;
while (count() < events * conns && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
for (const [id, ms] of arrivals) if (wanted.has(id)) { lat.push(ms); got++; }
const wall = (Date.now() - t0) / 1000;
const withListeners = (cpu() - c0) / events;
lat.sort((a, b) => a - b);
console.log(`connections ${conns}, events ${events}, deliveries ${got} of ${events * conns} in ${wall.toFixed(1)} s`);
console.log(`commit -> client latency: p50 ${pct(lat, 50)} ms, p90 ${pct(lat, 90)} ms, p99 ${pct(lat, 99)} ms, max ${lat[lat.length - 1]} ms`);
console.log(`server CPU per image create: ${(base * 1e3).toFixed(2)} ms alone, ${(withListeners * 1e3).toFixed(2)} ms with ${conns} listeners`);
console.log(`fan-out cost: ${((withListeners - base) * 1e6 / conns).toFixed(1)} µs of CPU per event per connection`);
process.exit(0);
