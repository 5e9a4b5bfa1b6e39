// The reference deployment's pods as processes on this machine: redis-server and every gridline
// container with the command line deploy/k8s gives it, as `kubectl kustomize` renders it, so that
// what the manifests say (addresses, files, flags' values) is shown to work, not only to parse.
// Run by ctest (tests/deploy/CMakeLists.txt, labels deploy and integration):
//
//   node --test tests/deploy/stack.test.mjs      (GRID_BIN_DIR: the build's bin/)
//
// What a cluster would provide is mapped, and nothing else changed: each container port to a
// free port of 127.0.0.1 (a pod's 0.0.0.0:7071 becomes 127.0.0.1:N), each Service name to the
// address of the port it targets, each mounted ConfigMap key to a file with the rendered data,
// the JWT Secret to a file with a random key, /data to a temporary folder. One pod a workload.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Render, binDir, root } from './manifests.mjs';

const objects = Render('deploy/k8s');
const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
// In start order: Redis first, the gateway after the services it fronts, then the webhooks
// service (the gateway reaches it when asked), the console last.
const order = ['grid-redis', 'grid-intake', 'grid-routing', 'grid-escalation', 'grid-metrics',
  'grid-gateway', 'grid-webhooks', 'grid-console'];
const Workload = (name) => workloads.find((o) => o.metadata.name === name);

// A port of 127.0.0.1 free now, from 16000-19999: below the kernel's ephemeral range (where an
// outgoing connection could take a port from listen(0) before the service binds it) and apart
// from 20000-32767, which the C++ tests running beside this one claim (tests/support/ports.cc).
const givenPorts = new Set();
function Bindable(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.on('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
async function FreePort() {
  const first = 16000 + Math.floor(Math.random() * 4000);
  for (let i = 0; i < 4000; i++) {
    const port = 16000 + ((first - 16000 + i) % 4000);
    if (!givenPorts.has(port) && (await Bindable(port))) {
      givenPorts.add(port);
      return port;
    }
  }
  throw new Error('no free port from 16000 to 19999');
}

// Polls `ready` (true when done) every 50 ms until `seconds` pass; fails with `what()`.
async function Within(seconds, ready, what) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await ready())) {
    assert.ok(Date.now() < deadline, what());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'grid-k8s-stack-'));
const jwtFile = path.join(work, 'jwt-secret');
const processes = [];
const local = new Map();  // "workload:containerPort" -> "127.0.0.1:N"
let gateway;
let consoleAddress;

function Gridctl(args, env = {}) {
  return spawnSync(path.join(binDir, 'gridctl'), ['--timeout-ms', '2000', '--insecure', ...args], {
    encoding: 'utf8',
    env: { ...process.env, GRID_GATEWAY: gateway, ...env },
  });
}

// The local address a Service name and port stand for: its selected workload's target port.
function ServiceAddress(host, port) {
  const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === host);
  assert.ok(service, `no Service ${host}`);
  const servicePort = service.spec.ports.find((p) => p.port === Number(port));
  assert.ok(servicePort, `Service ${host} has no port ${port}`);
  const workload = workloads.find((w) => Object.entries(service.spec.selector)
    .every(([k, v]) => w.spec.template.metadata.labels[k] === v));
  const container = workload.spec.template.spec.containers[0];
  const target = container.ports.find((p) => p.name === servicePort.targetPort ||
    p.containerPort === servicePort.targetPort);
  return local.get(`${workload.metadata.name}:${target.containerPort}`);
}

// A container's argument with the cluster's names and files replaced by this machine's.
function Localize(workload, arg) {
  const spec = workload.spec.template.spec;
  const container = spec.containers[0];
  let value = arg.replace(/0\.0\.0\.0:(\d+)/, (_, port) =>
    local.get(`${workload.metadata.name}:${port}`));
  value = value.replace(/^(--[\w-]+=)(grid-[\w-]+):(\d+)$/, (_, flag, host, port) =>
    `${flag}${ServiceAddress(host, port)}`);
  for (const mount of container.volumeMounts ?? []) {
    const volume = spec.volumes?.find((v) => v.name === mount.name);
    const prefix = `${mount.mountPath}/`;
    const at = value.indexOf(prefix);
    if (!volume || at < 0) continue;
    const key = value.slice(at + prefix.length);
    let file;
    if (volume.configMap) {
      const map = objects.find((o) => o.kind === 'ConfigMap' &&
        o.metadata.name === volume.configMap.name);
      file = path.join(work, map.metadata.name, key);
      // Once: a process started before may be reading it.
      if (!existsSync(file)) {
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, map.data[key]);
      }
    } else if (volume.secret?.secretName === 'grid-jwt') {
      file = jwtFile;
    } else {
      file = path.join(work, workload.metadata.name, key);
      mkdirSync(path.dirname(file), { recursive: true });
    }
    value = value.slice(0, at) + file;
  }
  // The console's page: the image puts the build's output there (check.test.mjs checks where).
  value = value.replace(/^--static-dir=.*/, `--static-dir=${root}/services/console/web/dist`);
  return value;
}

before(async () => {
  writeFileSync(jwtFile, randomBytes(48).toString('base64'), { mode: 0o600 });
  for (const workload of workloads) {
    for (const port of workload.spec.template.spec.containers[0].ports) {
      local.set(`${workload.metadata.name}:${port.containerPort}`, `127.0.0.1:${await FreePort()}`);
    }
  }
  gateway = ServiceAddress('grid-gateway', 7070);
  consoleAddress = ServiceAddress('grid-console', 7080);
});

after(() => {
  for (const child of processes) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('every workload of deploy/k8s is started here', () => {
  assert.deepEqual(workloads.map((w) => w.metadata.name).sort(), [...order].sort());
});

test("the reference deployment's command lines make a stack that works", async () => {
  for (const name of order) {
    const workload = Workload(name);
    const container = workload.spec.template.spec.containers[0];
    let [command] = container.command;
    let args = container.args.map((arg) => Localize(workload, arg));
    if (command === 'redis-server') {
      // Its port by flag; its data in a folder of the test's.
      const [, port] = ServiceAddress('grid-redis', 6379).split(':');
      const data = path.join(work, 'redis');
      mkdirSync(data);
      args = [...args.map((a) => (a === '/data' ? data : a)), '--port', port,
        '--bind', '127.0.0.1'];
    } else {
      command = path.join(binDir, command);
    }
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.log = '';
    child.stdout.on('data', (chunk) => (child.log += chunk));
    child.stderr.on('data', (chunk) => (child.log += chunk));
    child.name = name;
    processes.push(child);
  }
  const Exited = () => processes.filter((p) => p.exitCode !== null || p.signalCode !== null)
    .map((p) => `${p.name} exited (${p.exitCode ?? p.signalCode}):\n${p.log}`).join('\n');

  // Readiness as the kubelet asks it: gRPC health "" on each service's port, the gateway's
  // counting the four services it fronts, the webhooks service's its lease; the console's
  // GET /healthz.
  const services = order.slice(1, -1);
  const addresses = services.map((name) => ServiceAddress(name, Workload(name).spec.template
    .spec.containers[0].ports.find((p) => p.name === 'grpc').containerPort));
  let health;
  await Within(60, () => {
    assert.equal(Exited(), '');
    health = Gridctl(['health', ...addresses]);
    return health.status === 0;
  }, () => `not every service is SERVING: ${health?.stdout}${health?.stderr}`);
  let page;
  await Within(30, async () => {
    assert.equal(Exited(), '');
    page = await fetch(`http://${consoleAddress}/healthz`).catch(() => undefined);
    return page?.status === 200;
  }, () => `the console's /healthz: ${page?.status}`);

  // A report through the gateway, signed with the Secret's key, is dispatched by routing.
  const token = Gridctl(['token', 'issue', '--subject', 'k8s-test', '--role', 'admin', '--unit',
    '370212', '--secret-file', jwtFile]);
  assert.equal(token.status, 0, token.stderr);
  const env = { GRID_TOKEN: token.stdout.trim() };
  const report = Gridctl(['report', '--grid', '37021200100101', '--category', '0102',
    '--severity', 'normal', '--description', 'deploy/k8s stack test'], env);
  assert.equal(report.status, 0, report.stderr);
  const id = report.stdout.trim().split('\n').at(-1);
  let event;
  await Within(30, () => {
    event = Gridctl(['get', id], env);
    return /^state\s+DISPATCHED\b/im.test(event.stdout);
  }, () => `${id} is not dispatched: ${event?.stdout}${event?.stderr}\n${Exited()}`);

  // The webhooks service's administration through the gateway: the shipped receiver, disabled.
  const webhooks = Gridctl(['webhooks', 'status'], env);
  assert.equal(webhooks.status, 0, webhooks.stderr);
  assert.match(webhooks.stdout, /^city-management\s+370212D01\s+disabled\b/m);

  // Prometheus's view: every pod's port named metrics answers /metrics.
  for (const name of order.slice(1)) {
    const port = Workload(name).spec.template.spec.containers[0].ports
      .find((p) => p.name === 'metrics').containerPort;
    const response = await fetch(`http://${local.get(`${name}:${port}`)}/metrics`);
    assert.equal(response.status, 200, name);
    assert.match(await response.text(), /grid_build_info/, name);
  }
});
