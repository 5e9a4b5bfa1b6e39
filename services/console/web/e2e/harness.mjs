// What the browser tests and the page benchmark share: a real stack with the console on free
// ports (build/bin/grid-browser-stack, over tests/support's Stack), Debian's Chromium driven by
// playwright-core (no browser download), gridctl for what is done through the gateway, and a
// page that fails the test on any page error or Content-Security-Policy violation.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
export const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repo = path.resolve(web, '../../..');
export const bin = process.env.GRID_BIN_DIR ?? path.join(repo, 'build', 'bin');
export const artifacts = process.env.GRID_ARTIFACTS_DIR ?? path.join(path.dirname(bin), 'test-artifacts');
export const CHROMIUM = process.env.GRID_CHROMIUM ?? '/usr/bin/chromium';

// Starts Redis, the five services and grid-console on free ports; resolves once all serve.
// With GRID_CONSOLE_URL set (e.g. http://127.0.0.1:7080 of deploy/local/up), uses that console
// instead, and GRID_TOKEN as every caller's token (the page benchmark against a running stack).
export async function startStack(extraArgs = []) {
  if (process.env.GRID_CONSOLE_URL) {
    return { console: process.env.GRID_CONSOLE_URL, external: true, logs: () => '', stop: async () => undefined };
  }
  const child = spawn(path.join(bin, 'grid-browser-stack'), ['--static-dir', path.join(web, 'dist'), ...extraArgs], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => {
    log = (log + chunk.toString()).slice(-20000);
  });
  const lines = createInterface({ input: child.stdout });
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack did not start in 90 s:\n${log}`)), 90_000);
    child.once('exit', (code) => reject(new Error(`grid-browser-stack exited ${code}:\n${log}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    ...info,
    logs: () => log,
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// gridctl's environment for the stack's gateway as the caller of `token`: TLS verified against
// the stack's CA when the gateway speaks TLS (gridctl's default), else plaintext.
export function gridctlEnv(stack, token) {
  const transport = stack.gateway_ca ? { GRID_CA: stack.gateway_ca } : { GRID_INSECURE: '1' };
  return { ...process.env, GRID_GATEWAY: stack.gateway, GRID_TOKEN: token, ...transport };
}

// gridctl against the stack's gateway as the caller of `token`; its standard output.
export async function gridctl(stack, token, ...args) {
  const { stdout } = await run(path.join(bin, 'gridctl'), args, {
    env: gridctlEnv(stack, token),
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

export async function issueToken(stack, role, subject, unit) {
  if (stack.external) {
    return process.env.GRID_TOKEN ?? '';
  }
  const { stdout } = await run(path.join(bin, 'gridctl'), [
    'token', 'issue', '--subject', subject, '--role', role, '--unit', unit, '--ttl', '2h',
    '--secret-file', stack.secret_file,
  ]);
  return stdout.trim().split('\n').pop();
}

// Files a report through the gateway; its event id.
export async function report(stack, token, grid, category = '0102', severity = 'normal', description = 'browser test') {
  const out = await gridctl(stack, token, 'report', '--grid', grid, '--category', category, '--severity', severity, '--description', description);
  return out.trim().split('\n').pop();
}

// Debian's Chromium, headless, with a fresh profile of its own (Playwright makes one per launch).
export async function launchBrowser() {
  // A harmless flag that marks this browser's process, to find it (and its network service).
  const marker = `--class=grid-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--enable-precise-memory-info',
      marker,
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  return {
    browser,
    context,
    marker,
    close: () => browser.close(),
  };
}

// A fresh browser (its own cookies) with a page that records page errors and CSP violations.
export async function newBrowserPage() {
  const browser = await launchBrowser();
  const page = await browser.context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message} ${(error.stack ?? '').split('\n').slice(1, 4).join(' ')}`));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) {
      problems.push(`console: ${text}`);
    }
  });
  // Runs before the page's own scripts, through the DevTools protocol (not an inline script, so
  // the CSP does not apply to it): turns the test hooks on and records CSP violations.
  await browser.context.addInitScript(() => {
    localStorage.setItem('grid-console.test-hooks', '1');
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return {
    browser,
    page,
    // Every problem seen so far, CSP violations the page saw included.
    async problems() {
      const violations = await page.evaluate(() => window.__cspViolations ?? []).catch(() => []);
      return [...problems, ...violations.map((v) => `CSP violation: ${v}`)];
    },
    close: () => browser.close(),
  };
}

// Signs in through the page's sign-in form with a pasted token; resolves on the big screen, once
// its live feed is connected (unless `live` is false).
export async function signIn(page, stack, token, { live = true } = {}) {
  await page.goto(`${stack.console}/signin`);
  await page.fill('textarea[name=token]', token);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('.screen', { timeout: 10_000 });
  if (live) {
    await page.waitForFunction(() => window.gridConsoleTest?.state().connection === 'live', null, { timeout: 10_000 });
  }
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, name);
  await page.screenshot({ path: file });
  return file;
}

// Polls `fn` until it returns a truthy value or `ms` pass; the value, or throws with `what`.
export async function until(fn, what, ms = 10_000, every = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) {
      return last;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms: ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
