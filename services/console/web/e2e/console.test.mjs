// The command centre's page in a real browser (Debian's Chromium, headless) against the real
// stack and grid-console, told as the operators' story. Any page error or Content-Security-Policy
// violation fails the test that saw it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  gridctl,
  issueToken,
  newBrowserPage,
  repo,
  report,
  screenshot,
  signIn,
  startStack,
  until,
} from './harness.mjs';

const DISTRICT = '370212';
const SUBDISTRICT_A = '370212001';
const SUBDISTRICT_B = '370212002';
const GRID_A = '37021200100101';
const GRID_B = '37021200200101';
const LIGHT_RANK = { NONE: -1, TRAFFIC_LIGHT_UNSPECIFIED: 0, TRAFFIC_LIGHT_GREEN: 1, TRAFFIC_LIGHT_YELLOW: 2, TRAFFIC_LIGHT_RED: 3 };
const OPEN_STATES = ['reported', 'dispatched', 'accepted', 'resolved', 'suspended'];
// The traffic-light colours the map must use (src/lib/dom.ts), by light rank.
const COLOR_OF_RANK = { '-1': '#2a3b57', 0: '#5b8def', 1: '#2fbf71', 2: '#f2c12e', 3: '#e5484d' };

// The map's points as ECharts holds them (getOption()): grid, open events, light rank, colour.
async function mapPoints(page) {
  return page.evaluate(() =>
    window.gridConsoleTest.option('map').series.flatMap((series) =>
      series.data.map((point) => ({ grid: String(point[4]), open: point[2], rank: point[3], color: series.itemStyle?.color })),
    ),
  );
}

let stack;
let admin;
let operator;
const pages = [];

async function openAs(token, options) {
  const session = await newBrowserPage();
  pages.push(session);
  await signIn(session.page, stack, token, options);
  return session;
}

const feedIds = (page) =>
  page.$$eval('.feed-row:not([hidden])', (rows) => rows.map((row) => row.dataset.event));

// The event as an admin reads it through the gateway (`gridctl get --json` prints the Event).
async function getEvent(id) {
  return JSON.parse(await gridctl(stack, admin, 'get', id, '--json'));
}

before(async () => {
  // A small SSE buffer and a short write timeout, so that a stalled browser is cut off soon.
  stack = await startStack(['--console-arg=--sse-buffer-bytes=65536', '--console-arg=--sse-write-timeout-seconds=2']);
  admin = await issueToken(stack, 'admin', 'browser-admin', DISTRICT);
  operator = await issueToken(stack, 'operator', 'op-district', DISTRICT);
});

afterEach(async (t) => {
  for (const session of pages.splice(0)) {
    const problems = await session.problems();
    await session.close();
    assert.deepEqual(problems, [], `${t.name}: page errors or CSP violations`);
  }
});

after(async () => {
  await stack?.stop();
});

describe('the command centre page', () => {
  it('an operator sees a report in the live feed within a second, opens it and sees its history', async () => {
    const { page } = await openAs(operator);
    const started = Date.now();
    const id = await report(stack, admin, GRID_A, '0102', 'normal', '暴露垃圾 browser test');
    const reportedAt = Date.now();
    await page.waitForSelector(`.feed-row[data-event="${id}"]`, { timeout: 1000 });
    const seenAfter = Date.now() - reportedAt;
    assert.ok(seenAfter <= 1000, `in the feed ${seenAfter} ms after the report returned (report took ${reportedAt - started} ms)`);

    await page.click(`.feed-row[data-event="${id}"]`);
    await page.waitForSelector('.event-page .timeline .step');
    await until(async () => (await page.$$('.timeline .step[data-kind="CHANGE_KIND_DISPATCHED"]')).length === 1, 'the DISPATCHED step');
    const kinds = await page.$$eval('.timeline .step', (steps) => steps.map((step) => step.dataset.kind));
    assert.deepEqual(kinds.slice(0, 2), ['CHANGE_KIND_REPORTED', 'CHANGE_KIND_DISPATCHED']);
    assert.match(await page.textContent('[data-field=description] dd'), /暴露垃圾 browser test/);
    assert.match(page.url(), new RegExp(`/events/${id}$`));
    await screenshot(page, 'console-event.png');
    // Back on the big screen (the page keeps its feed), with more reports over the district, so
    // that its picture shows a working day.
    await page.click('a[href="/"]');
    await page.waitForSelector('.screen');
    const categories = ['0102', '0104', '0401', '0501', '0701', '0801'];
    const severities = ['SEVERITY_NORMAL', 'SEVERITY_LOW', 'SEVERITY_HIGH', 'SEVERITY_CRITICAL'];
    const lines = spreadGrids(40).map((grid, i) =>
      JSON.stringify({ client_request_id: `screen-${Date.now()}-${i}`, grid_id: grid, category: categories[i % categories.length], severity: severities[i % severities.length], description: `巡查发现 ${i}` }),
    );
    await gridctlStdin(stack, admin, lines.join('\n'), 'upload', '-');
    await until(async () => (await page.evaluate(() => window.gridConsoleTest.state().changesSeen)) >= 80, 'the reports on screen');
    await until(async () => (await page.$$eval('.counters-table tr.total [data-field=reported]', (cells) => Number(cells[0]?.textContent ?? 0))) >= 41, 'the counters caught up');
    await until(async () => (await mapPoints(page)).filter((point) => point.open > 0).length >= 40, 'the map caught up');
    await screenshot(page, 'console-big-screen.png');
  });

  it('the handler of its unit accepts it from the page; a refused move shows the reason', async () => {
    const id = await report(stack, admin, GRID_A, '0102', 'normal', 'to accept');
    const event = await until(async () => {
      const got = await getEvent(id);
      return got.state === 'EVENT_STATE_DISPATCHED' ? got : null;
    }, 'the report dispatched');
    const handler = await issueToken(stack, 'handler', 'h-browser', event.unit_id);
    // The event page needs no live feed: this works whether or not the gateway lets handlers watch.
    const { page } = await openAs(handler, { live: false });
    await page.goto(`${stack.console}/events/${id}`);
    await page.waitForSelector('button[data-move=accept]');
    await page.click('button[data-move=accept]');
    await page.waitForSelector('.outcome.ok');
    const accepted = await until(async () => {
      const got = await getEvent(id);
      return got.state === 'EVENT_STATE_ACCEPTED' ? got : null;
    }, 'the event accepted');
    assert.equal(accepted.unit_id, event.unit_id);
    await until(async () => (await page.$$('.timeline .step[data-kind="CHANGE_KIND_ACCEPTED"]')).length === 1, 'the ACCEPTED step on the page');

    // An operator reassigning it to a unit that does not exist: refused, with the gateway's word.
    const { page: operatorPage } = await openAs(operator);
    await operatorPage.goto(`${stack.console}/events/${id}`);
    await operatorPage.waitForSelector('button[data-move=reassign]');
    await operatorPage.fill('input.move-unit', '999999999');
    await operatorPage.fill('input.move-text', 'wrong unit');
    await operatorPage.click('button[data-move=reassign]');
    await operatorPage.waitForSelector('.outcome.refused');
    const refusal = await operatorPage.textContent('.outcome.refused');
    assert.match(refusal, /(INVALID_ARGUMENT|NOT_FOUND|FAILED_PRECONDITION).*999999999|unit/i, refusal);
    assert.equal((await getEvent(id)).state, 'EVENT_STATE_ACCEPTED');
  });

  it('the tree drill-down narrows the feed to the subtree', async () => {
    const { page } = await openAs(operator);
    const inA = await report(stack, admin, GRID_A, '0102', 'normal', 'in A');
    const inB = await report(stack, admin, GRID_B, '0102', 'normal', 'in B');
    await page.waitForSelector(`.feed-row[data-event="${inB}"]`);
    await page.waitForSelector(`.feed-row[data-event="${inA}"]`);
    await page.click(`.tree-row[data-unit="${SUBDISTRICT_A}"]`);
    await until(async () => {
      const ids = await feedIds(page);
      return ids.includes(inA) && !ids.includes(inB);
    }, 'feed narrowed to subdistrict A');
    // The map too (it redraws at most once a second): only A's grids.
    await until(async () => {
      const grids = (await mapPoints(page)).map((point) => point.grid);
      return grids.length > 0 && grids.every((grid) => grid.startsWith(SUBDISTRICT_A));
    }, 'map narrowed to subdistrict A');
    // And a change in B that arrives now stays out.
    const laterB = await report(stack, admin, GRID_B, '0102', 'normal', 'later in B');
    const laterA = await report(stack, admin, GRID_A, '0102', 'normal', 'later in A');
    await page.waitForSelector(`.feed-row[data-event="${laterA}"]`);
    assert.ok(!(await feedIds(page)).includes(laterB));
  });

  it('a handler sees nothing outside its unit', async (t) => {
    // A handler reads its unit's subtree and watches its own queue: the changes of events at its
    // unit (common/auth/authorizer.h). So the handler here is the one of the unit that a report in
    // grid B is dispatched to.
    const probe = await report(stack, admin, GRID_B, '0102', 'normal', 'where B goes');
    const probed = await until(async () => {
      const got = await getEvent(probe);
      return got.state === 'EVENT_STATE_DISPATCHED' ? got : null;
    }, 'the probe dispatched');
    const unit = probed.unit_id;
    assert.ok(unit.startsWith(SUBDISTRICT_B), `grid B's reports go to ${unit}`);
    const handler = await issueToken(stack, 'handler', 'h-unit-b', unit);
    // A handler's big screen needs the gateway to let handlers read their subtree's topology and
    // watch their queue; without that there is nothing to show.
    const allowed = await gridctl(stack, handler, 'topology', '--summary').then(() => true, (error) => {
      if (/PERMISSION_DENIED/.test(String(error.stderr ?? error))) return false;
      throw error;
    });
    if (!allowed) {
      t.skip('the gateway does not let handlers read the topology yet');
      return;
    }
    const { page } = await openAs(handler);
    const outside = await report(stack, admin, GRID_A, '0102', 'normal', 'outside the handler');
    const inside = await report(stack, admin, GRID_B, '0102', 'normal', 'inside the handler');
    await page.waitForSelector(`.feed-row[data-event="${inside}"]`, { timeout: 5000 });
    assert.ok(!(await feedIds(page)).includes(outside));
    const units = await page.$$eval('.tree-row', (rows) => rows.map((row) => row.dataset.unit));
    assert.ok(units.length > 0 && units.every((unit) => unit.startsWith(SUBDISTRICT_B)), `tree: ${units}`);
    const grids = await mapPoints(page).then((points) => points.map((point) => point.grid));
    assert.ok(grids.every((grid) => grid.startsWith(SUBDISTRICT_B)));
    await page.goto(`${stack.console}/events/${outside}`);
    await page.waitForSelector('.event-page .status:not(:empty)');
    assert.match(await page.textContent('.event-page .status'), /PERMISSION_DENIED/);
  });

  it('the map colours and the counters equal what gridctl list and gridctl stats say', async () => {
    const { page } = await openAs(operator);
    await report(stack, admin, GRID_B, '0501', 'critical', 'fire');
    // Let the page settle: the feed applied, the counters fetched after the last change.
    const list = async () => {
      const events = [];
      let token = '';
      do {
        const args = ['list', '--unit', DISTRICT, '--page-size', '500', '--json', ...OPEN_STATES.flatMap((s) => ['--state', s])];
        if (token) args.push('--page-token', token);
        const page = JSON.parse(await gridctl(stack, admin, ...args));
        events.push(...(page.events ?? []));
        token = page.next_page_token ?? '';
      } while (token);
      return events;
    };
    const expected = (events) => {
      const marks = new Map();
      for (const event of events) {
        const mark = marks.get(event.grid_id) ?? { open: 0, light: 'NONE' };
        mark.open++;
        const light = event.traffic_light ?? 'TRAFFIC_LIGHT_UNSPECIFIED';
        if (mark.light === 'NONE' || LIGHT_RANK[light] > LIGHT_RANK[mark.light]) mark.light = light;
        marks.set(event.grid_id, mark);
      }
      return marks;
    };
    await until(async () => {
      const marks = expected(await list());
      const points = await mapPoints(page);
      return points.length > 0 && points.every((point) => {
        const mark = marks.get(point.grid) ?? { open: 0, light: 'NONE' };
        return point.open === mark.open && point.rank === LIGHT_RANK[mark.light] && point.color === COLOR_OF_RANK[point.rank];
      });
    }, 'map equals gridctl list', 10_000, 300);
    assert.ok((await mapPoints(page)).some((point) => point.open > 0), 'some grid shows open events');

    const dayStart = new Date(Math.floor((Date.now() + 8 * 3600e3) / 86400e3) * 86400e3 - 8 * 3600e3).toISOString();
    await until(async () => {
      const total = JSON.parse(await gridctl(stack, admin, 'stats', '--unit', DISTRICT, '--since', dayStart, '--json'));
      const byUnit = JSON.parse(await gridctl(stack, admin, 'stats', '--unit', DISTRICT, '--since', dayStart, '--group-by', 'unit', '--json'));
      const cells = await page.$$eval('.counters-table tr[data-unit]', (rows) =>
        rows.map((row) => ({
          unit: row.dataset.unit,
          total: row.classList.contains('total'),
          reported: row.querySelector('[data-field=reported]').textContent,
          open: row.querySelector('[data-field=open]').textContent,
          overdue: row.querySelector('[data-field=overdue]').textContent,
          closed: row.querySelector('[data-field=closed]').textContent,
        })),
      );
      const want = (row) => ({
        reported: String(Number(row?.reported ?? 0)),
        open: String(Number(row?.open ?? 0)),
        overdue: String(Number(row?.overdue ?? 0)),
        closed: String(Number(row?.closed ?? 0)),
      });
      const rows = new Map((byUnit.rows ?? []).map((row) => [row.group?.unit, row]));
      const totalRow = (total.rows ?? [])[0];
      return (
        cells.length > 1 &&
        cells.every(({ unit, total: isTotal, ...shown }) =>
          JSON.stringify(shown) === JSON.stringify(want(isTotal ? totalRow : rows.get(unit))))
      );
    }, 'counters equal gridctl stats', 10_000, 300);
  });

  it('a stalled EventSource is cut off by the console and resumes by itself, without gap or duplicate', async () => {
    const session = await openAs(operator);
    const { page } = session;
    await page.evaluate(() => window.gridConsoleTest.record(true));
    const before = await report(stack, admin, GRID_A, '0102', 'normal', 'before the stall');
    await page.waitForSelector(`.feed-row[data-event="${before}"]`);
    // Stall the browser's network service: it stops reading the stream, the console's buffer
    // for this connection fills, and the console cuts it off.
    const network = await networkServicePid(session.browser);
    const cutsBefore = await consoleCutOffs(stack);
    process.kill(network, 'SIGSTOP');
    const ids = [];
    try {
      // Enough changes to overflow the socket buffers (the kernel's send buffer on loopback grows
      // to 4 MiB) and then the console's 64 KiB bound: 5,000 reports, 10,000 changes (an upload
      // takes at most 1,000 reports).
      for (let batch = 0; batch < 5; batch++) {
        const lines = [];
        for (let i = 0; i < 1000; i++) {
          lines.push(JSON.stringify({ client_request_id: `stall-${Date.now()}-${batch}-${i}`, grid_id: i % 2 ? GRID_A : GRID_B, category: '0102', severity: 'SEVERITY_NORMAL', description: `stall ${i}` }));
        }
        const out = await gridctlStdin(stack, admin, lines.join('\n'), 'upload', '-');
        ids.push(...out.split('\n').map((line) => line.match(/\b(\d{9}-[0-9A-Z]{16})\b/)?.[1]).filter(Boolean));
      }
      await until(async () => (await consoleCutOffs(stack)) > cutsBefore, 'the console cut the stalled stream off', 30_000, 200);
    } finally {
      process.kill(network, 'SIGCONT');
    }
    assert.equal(ids.length, 5000, 'every report uploaded');
    const last = await report(stack, admin, GRID_A, '0102', 'normal', 'after the stall');
    const received = async () => new Map(await page.evaluate(() => window.gridConsoleTest.received()));
    await until(async () => [...(await received()).keys()].some((key) => key.startsWith(`${last} CHANGE_KIND_DISPATCHED`)), 'the resumed stream', 90_000, 200);
    const counts = await received();
    const duplicates = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(duplicates, [], 'no change twice');
    const kinds = new Set([...counts.keys()].map((key) => key.split(' ').slice(0, 2).join(' ')));
    const missing = ids.flatMap((id) => ['CHANGE_KIND_REPORTED', 'CHANGE_KIND_DISPATCHED'].map((kind) => `${id} ${kind}`)).filter((key) => !kinds.has(key));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} changes missing after the resume`);
  });
});

const run = promisify(execFile);

// `count` grids spread over the district, from the shipped topology.
function spreadGrids(count) {
  const topology = JSON.parse(readFileSync(path.join(repo, 'deploy/config/laoshan-topology.json'), 'utf8'));
  const grids = topology.units.filter((unit) => unit.level === 'LEVEL_GRID').map((unit) => unit.id);
  return Array.from({ length: count }, (_, i) => grids[Math.floor((i * grids.length) / count)]);
}

async function networkServicePid(browser) {
  // Chromium's network service is a utility process: a child of this browser's own process.
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,args=']);
  const processes = stdout.split('\n').map((l) => l.trim().split(/\s+/));
  const main = processes.find(([, , ...args]) => args.includes(browser.marker) && !args.some((a) => a.startsWith('--type=')));
  assert.ok(main, 'no browser process');
  const line = processes.find(([, ppid, ...args]) => ppid === main[0] && args.join(' ').includes('network.mojom.NetworkService'));
  assert.ok(line, 'no network service process');
  return Number(line[0]);
}

async function gridctlStdin(stack, token, input, ...args) {
  const { spawn } = await import('node:child_process');
  const { bin, gridctlEnv } = await import('./harness.mjs');
  return new Promise((resolve, reject) => {
    const child = spawn(`${bin}/gridctl`, args, { env: gridctlEnv(stack, token) });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`gridctl ${args.join(' ')}: ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

async function consoleCutOffs(stack) {
  const response = await fetch(`http://127.0.0.1:${stack.console_metrics_port}/metrics`);
  const text = await response.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (/^grid_console_sse_(cut|dropped|slow|overflow)\w*\{?.*\}?\s+\d/.test(line)) {
      total += Number(line.trim().split(/\s+/).pop());
    }
  }
  return total;
}
