// Offline checks of the Kubernetes manifests (deploy/k8s) and the Dockerfile: no cluster, no
// Docker daemon, no network. Run by ctest (tests/deploy/CMakeLists.txt, label deploy):
//
//   node --test tests/deploy/check.test.mjs      (GRID_BIN_DIR: the build's bin/, for --help)
//
// - every kustomization renders (`kubectl kustomize`; GRID_KUBECTL picks another kubectl);
// - every object validates against the Kubernetes JSON schemas of kubernetes-models, and the
//   PodMonitor against the Prometheus Operator's CRD schema (@kubernetes-models/prometheus-
//   operator), both pinned in package-lock.json; unknown fields fail too (see StrictValidate);
// - every binary the manifests run is one the image holds and CMake builds, every flag they pass
//   is one its --help lists, every file a flag names is a key of a mounted ConfigMap or Secret;
// - every COPY source of the Dockerfile exists and is not left out by .dockerignore, and the
//   runtime stage's packages provide every shared library the binaries load (ldd, dpkg);
// - what the services rely on: two replicas and a PodDisruptionBudget each (grid-webhooks: one,
//   recreated, with a budget that lets a drain evict it), gRPC probes on the health service
//   (readiness "", liveness "liveness"), requests and limits, non-root.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync,
  statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import { ParseYaml, Render, binDir, root } from './manifests.mjs';

// The kustomizations a user applies (deploy/k8s/README.md) and the files outside any of them.
const kustomizations = ['deploy/k8s', 'deploy/k8s/base', 'deploy/k8s/redis-cluster', 'deploy/k8s/cluster'];
const templates = ['deploy/k8s/jwt-secret.template.yaml'];

const rendered = new Map(kustomizations.map((dir) => [dir, Render(dir)]));
const everyObject = [
  ...[...rendered].flatMap(([dir, objects]) => objects.map((object) => ({ where: dir, object }))),
  ...templates.map((file) => ({
    where: file,
    object: ParseYaml(readFileSync(path.join(root, file), 'utf8'), file)[0],
  })),
];
const Name = ({ object }) => `${object.kind}/${object.metadata?.name}`;
// Whether a label selector (matchLabels, matchExpressions with In) selects these labels.
function Selects(selector, labels) {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    assert.equal(e.operator, 'In', `selector operator ${e.operator} is not checked here`);
    return e.values.includes(labels[e.key]);
  });
  return byLabels && byExpressions;
}
const workloads = rendered
  .get('deploy/k8s')
  .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const gridline = workloads.filter((o) =>
  o.spec.template.spec.containers[0].image.startsWith('gridline'));

// ---------------------------------------------------------------------------------------------
// Schema validation. kubernetes-models ships Ajv validators compiled from Kubernetes' OpenAPI
// schemas, which do not forbid unknown fields (the API server prunes or refuses them), so a
// misspelt `readinesProbe` would pass. StrictValidate hands the validator proxies that record
// which fields it looks at: a compiled validator reads every property its schema names, and
// enumerates the keys of a map (labels, resources.limits, ConfigMap data). A field of an object
// whose schema named others but never it is unknown. Objects the schema leaves free-form (it
// reads nothing of them) are not judged.

const schemaModules = {
  'v1': 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

async function ModelOf(object) {
  const module = schemaModules[object.apiVersion];
  assert.ok(module, `${Name({ object })}: no pinned schema for apiVersion ${object.apiVersion}`);
  const model = (await import(module))[object.kind];
  assert.ok(model, `${Name({ object })}: no pinned schema for ${object.apiVersion} ${object.kind}`);
  return model;
}

function Recorded(value, where, records) {
  if (Array.isArray(value)) {
    return value.map((item, i) => Recorded(item, `${where}/${i}`, records));
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const record = { where, keys: Object.keys(value), read: new Set(), enumerated: false };
  records.push(record);
  const copy = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = Recorded(item, `${where}/${key}`, records);
  }
  return new Proxy(copy, {
    get(target, key, receiver) {
      if (typeof key === 'string') record.read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === 'string') record.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      record.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

// Returns the problems of `object` against its pinned schema: [] when it is valid.
export async function StrictValidate(object) {
  const model = await ModelOf(object);
  const records = [];
  const proxy = Recorded(object, '', records);
  const problems = [];
  try {
    model.prototype.validate.call(proxy);
  } catch (error) {
    problems.push(error.message);
  }
  for (const record of records) {
    if (record.enumerated || record.read.size === 0) continue;
    for (const key of record.keys) {
      if (!record.read.has(key)) problems.push(`${record.where || '/'}: unknown field "${key}"`);
    }
  }
  return problems;
}

describe('schemas', () => {
  test('every kustomization renders objects', () => {
    for (const [dir, objects] of rendered) {
      assert.ok(objects.length > 0, `${dir} renders nothing`);
    }
  });

  test('the strict validation refuses a misspelt field and a wrong type', async () => {
    const deployment = structuredClone(gridline[0]);
    const container = deployment.spec.template.spec.containers[0];
    container.readinesProbe = container.readinessProbe;
    deployment.spec.replicas = 'two';
    const problems = await StrictValidate(deployment);
    assert.ok(problems.some((p) => p.includes('unknown field "readinesProbe"')),
      problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('replicas')), problems.join('\n'));
    assert.deepEqual(await StrictValidate(gridline[0]), []);
  });

  for (const entry of everyObject) {
    test(`${entry.where}: ${Name(entry)} is valid`, async () => {
      assert.deepEqual(await StrictValidate(entry.object), [], `${entry.where}: ${Name(entry)}`);
    });
  }
});

describe('scripts', () => {
  // Every shell script a container runs (`sh -c ...`, `bash -ec ...`) is at least valid shell.
  const scripts = [];
  for (const [dir, objects] of rendered) {
    for (const object of objects) {
      const spec = object.spec?.template?.spec;
      for (const container of spec?.containers ?? []) {
        const commands = [
          [...(container.command ?? []), ...(container.args ?? [])],
          container.readinessProbe?.exec?.command,
          container.livenessProbe?.exec?.command,
          container.startupProbe?.exec?.command,
          container.lifecycle?.preStop?.exec?.command,
        ].filter(Boolean);
        for (const command of commands) {
          const [shell, flags, script] = command;
          if (/^(ba)?sh$/.test(shell) && /^-\w*c$/.test(flags ?? '')) {
            scripts.push({ where: `${dir}: ${Name({ object })}/${container.name}`, shell, script });
          }
        }
      }
    }
  }

  test('the manifests run some shell scripts', () => assert.ok(scripts.length >= 3));
  for (const { where, shell, script } of scripts) {
    test(`${where}: its ${shell} script parses`, () => {
      const result = spawnSync(shell, ['-n', '-c', script], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${where}: ${result.stderr}`);
    });
  }
});

describe('Redis', () => {
  // Debian's redis-server (7.0, as the image's) takes each Redis container's command line and
  // configuration file as the manifests give them: /data in a folder of the test's, no TCP port
  // (a Unix socket instead, so that nothing collides with another test).
  const redises = [];
  for (const dir of ['deploy/k8s', 'deploy/k8s/redis-cluster']) {
    for (const object of rendered.get(dir).filter((o) => o.kind === 'StatefulSet')) {
      const spec = object.spec.template.spec;
      for (const container of spec.containers.filter((c) => c.command?.[0] === 'redis-server')) {
        const where = `${dir}: ${Name({ object })}`;
        redises.push({ where, spec, container, objects: rendered.get(dir) });
      }
    }
  }

  test('there are the single Redis and the cluster', () => assert.equal(redises.length, 2));
  for (const { where, spec, container, objects } of redises) {
    test(`${where}: redis-server takes its settings`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'grid-redis-'));
      const socket = path.join(dir, 'redis.sock');
      let server;
      try {
        // A file of a mounted ConfigMap becomes a file of the test's, /data the test's folder.
        const Local = (arg) => {
          for (const mount of container.volumeMounts ?? []) {
            const volume = spec.volumes?.find((v) => v.name === mount.name);
            if (!volume?.configMap || !arg.startsWith(`${mount.mountPath}/`)) continue;
            const map = objects.find((o) => o.kind === 'ConfigMap' &&
              o.metadata.name === volume.configMap.name);
            const file = path.join(dir, path.basename(arg));
            const text = map.data[arg.slice(mount.mountPath.length + 1)];
            writeFileSync(file, text.replaceAll('/data', dir));
            return file;
          }
          return arg.replaceAll('/data', dir).replace(/\$\((\w+)\)/g, 'test');
        };
        const args = [...container.args.map(Local), '--port', '0', '--unixsocket', socket];
        server = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        server.stdout.on('data', (chunk) => (output += chunk));
        server.stderr.on('data', (chunk) => (output += chunk));
        const Cli = (...command) => spawnSync('redis-cli', ['-s', socket, ...command], {
          encoding: 'utf8',
        }).stdout?.trim();
        const deadline = Date.now() + 10000;
        while (Cli('ping') !== 'PONG') {
          assert.equal(server.exitCode, null, `${where}: redis-server exited: ${output}`);
          assert.ok(Date.now() < deadline, `${where}: redis-server does not answer: ${output}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.equal(Cli('config', 'get', 'appendonly'), 'appendonly\nyes');
        assert.equal(Cli('config', 'get', 'maxmemory-policy'), 'maxmemory-policy\nnoeviction');
        const cluster = container.args.some((a) => a.includes('redis.conf'));
        assert.match(Cli('info', 'cluster'), cluster ? /cluster_enabled:1/ : /cluster_enabled:0/);
      } finally {
        server?.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The Dockerfile.

const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
// Instructions with their continuation lines joined, comments dropped.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const stages = [];
for (const line of instructions) {
  if (/^FROM\s/i.test(line)) stages.push({ from: line, lines: [] });
  else stages.at(-1).lines.push(line);
}

// COPY/ADD as { from, sources, destination } (--from names another stage or image).
function Copies(lines) {
  return lines
    .filter((line) => /^(COPY|ADD)\s/i.test(line))
    .map((line) => {
      const words = line.split(/\s+/).slice(1);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { line, from, sources: paths.slice(0, -1), destination: paths.at(-1) };
    });
}

// .dockerignore patterns as regular expressions over paths relative to the context (no `!`).
const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'))
  .map((pattern) => {
    assert.ok(!pattern.startsWith('!'), '.dockerignore: exceptions (!) are not checked here');
    const body = pattern
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .map((part) =>
        part === '**'
          ? '.*'
          : part
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
      )
      .join('/')
      .replace(/\.\*\//g, '(?:.*/)?');
    return { pattern, regex: new RegExp(`^${body}$`) };
  });

function IgnoredBy(relative) {
  const parts = relative.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const hit = ignored.find(({ regex }) => regex.test(prefix));
    if (hit) return hit.pattern;
  }
  return undefined;
}

// The files of `relative` (a file or a folder of the repository) that the build context holds.
function ContextFiles(relative) {
  if (IgnoredBy(relative)) return [];
  const full = path.join(root, relative);
  if (!statSync(full).isDirectory()) return [relative];
  return readdirSync(full).flatMap((entry) => ContextFiles(path.join(relative, entry)));
}

describe('Dockerfile', () => {
  test('every COPY and ADD source exists in the repository and is in the build context', () => {
    const local = stages.flatMap((stage) => Copies(stage.lines)).filter((copy) => !copy.from);
    assert.ok(local.length > 0);
    for (const copy of local) {
      for (const source of copy.sources) {
        const relative = path.normalize(source).replace(/\/$/, '');
        assert.ok(existsSync(path.join(root, relative)), `${copy.line}: ${source} does not exist`);
        const pattern = IgnoredBy(relative);
        assert.equal(pattern, undefined,
          `${copy.line}: .dockerignore's "${pattern}" leaves it out`);
        assert.ok(ContextFiles(relative).length > 0,
          `${copy.line}: .dockerignore leaves nothing of ${source}`);
      }
    }
  });

  test('the build stage installs with install-deps, builds every binary it copies', () => {
    const [build] = stages;
    assert.match(build.from, /^FROM debian:bookworm\b/);
    assert.ok(build.lines.some((line) => /install-deps --build/.test(line)),
      'install-deps --build');
    const targets = build.lines.find((line) => /cmake --build/.test(line)).split('--target')[1];
    const runtime = stages.at(-1);
    const binaries = Copies(runtime.lines)
      .filter((copy) => copy.from === 'build')
      .flatMap((copy) => copy.sources.map((source) => path.basename(source)));
    assert.ok(binaries.length >= 7, binaries.join(' '));
    for (const binary of binaries) {
      assert.ok(targets.split(/\s+/).includes(binary), `the build stage does not build ${binary}`);
      assert.ok(existsSync(path.join(binDir, binary)), `CMake builds no ${binary} (${binDir})`);
    }
  });

  test("the build stage's sources configure by themselves (its own cmake step)", () => {
    const [build] = stages;
    const context = mkdtempSync(path.join(tmpdir(), 'grid-docker-context-'));
    try {
      for (const copy of Copies(build.lines).filter((c) => !c.from)) {
        for (const source of copy.sources) {
          const relative = path.normalize(source).replace(/\/$/, '');
          const inside = copy.destination === './' ? '' : copy.destination;
          for (const file of ContextFiles(relative)) {
            const within = path.relative(relative, file) || path.basename(file);
            const target = path.join(context, inside, within);
            mkdirSync(path.dirname(target), { recursive: true });
            copyFileSync(path.join(root, file), target);
          }
        }
      }
      const configure = build.lines.find((line) => /cmake -S/.test(line)).replace(/^RUN\s+/, '')
        .split('&&')[0];
      const result = spawnSync('sh', ['-c', configure], { cwd: context, encoding: 'utf8' });
      assert.equal(result.status, 0, `${configure}\n${result.stdout}\n${result.stderr}`);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });

  test('the runtime stage is Debian bookworm, runs as a user that is not root', () => {
    const runtime = stages.at(-1);
    assert.match(runtime.from, /^FROM debian:bookworm-slim$/);
    const user = runtime.lines.filter((line) => /^USER\s/.test(line)).at(-1);
    assert.ok(user, 'no USER in the runtime stage');
    assert.doesNotMatch(user, /^USER\s+(root|0)(:|$)/);
  });

  test("the runtime stage's packages provide every shared library the binaries load", () => {
    const runtime = stages.at(-1);
    const install = runtime.lines.find((line) => /apt-get install/.test(line));
    const listed = install
      .split('apt-get install')[1]
      .split('&&')[0]
      .split(/\s+/)
      .filter((word) => word && !word.startsWith('-'));
    // What the listed packages bring with them, from the Depends of the packages installed here
    // (the same Debian release): the runtime gets those too.
    const dependsOf = new Map();
    const format = '-f=${Package}\t${Depends},${Pre-Depends}\n';
    const installed = execFileSync('dpkg-query', ['-W', format], { encoding: 'utf8' });
    for (const line of installed.split('\n').filter(Boolean)) {
      const [name, depends] = line.split('\t');
      dependsOf.set(name, depends.split(',').map((alternatives) =>
        alternatives.split('|')[0].trim().split(/[\s:]/)[0]).filter(Boolean));
    }
    const provided = new Set();
    const queue = [...listed];
    while (queue.length > 0) {
      const name = queue.pop();
      if (provided.has(name)) continue;
      provided.add(name);
      queue.push(...(dependsOf.get(name) ?? []));
    }
    const binaries = Copies(runtime.lines)
      .filter((copy) => copy.from === 'build')
      .flatMap((copy) => copy.sources.map((source) => path.join(binDir, path.basename(source))));
    const libraries = new Set(
      binaries.flatMap((binary) =>
        execFileSync('ldd', [binary], { encoding: 'utf8' })
          .split('\n')
          .map((line) => line.match(/=>\s+(\/\S+)/)?.[1])
          .filter(Boolean),
      ),
    );
    // dpkg knows a file by the path its package installed it at: with /lib a link to /usr/lib
    // (merged /usr) ldd's path may be the other one. One dpkg-query for them all.
    const names = new Map();
    for (const library of libraries) {
      const real = realpathSync(library);
      for (const p of [library, real]) {
        for (const candidate of [p, p.startsWith('/usr/') ? p.slice('/usr'.length) : `/usr${p}`]) {
          names.set(candidate, library);
        }
      }
    }
    const owners = new Map();
    const search = spawnSync('dpkg-query', ['-S', ...names.keys()], { encoding: 'utf8' });
    for (const line of search.stdout.split('\n').filter(Boolean)) {
      const [packages, file] = line.split(': ');
      owners.set(names.get(file.trim()), packages.split(',')[0].split(':')[0].trim());
    }
    const missing = [...libraries]
      .filter((library) => !provided.has(owners.get(library)))
      .map((library) => `${library} (${owners.get(library) ?? 'no package owns it'})`);
    assert.deepEqual(missing, [], `not provided by: ${listed.join(' ')}`);
  });
});

// ---------------------------------------------------------------------------------------------
// What the manifests run.

// The options a binary's --help lists (CLI11: "  --name TEXT ...", "  -h,--help ...").
const helpCache = new Map();
export function OptionsOf(binary) {
  if (!helpCache.has(binary)) {
    const help = execFileSync(path.join(binDir, binary), ['--help'], { encoding: 'utf8' });
    const options = new Set();
    for (const match of help.matchAll(/^\s+(?:-\w,)?(--[\w-]+)/gm)) options.add(match[1]);
    helpCache.set(binary, options);
  }
  return helpCache.get(binary);
}

// The flags of an argument list: "--name=value" and "--name value" alike.
export function FlagsOf(args) {
  return args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0]);
}

function ImageBinaries() {
  return Copies(stages.at(-1).lines)
    .filter((copy) => copy.from === 'build' && copy.destination === '/usr/local/bin/')
    .flatMap((copy) => copy.sources.map((source) => path.basename(source)));
}

describe('what the manifests run', () => {
  test('there is a Deployment of every service and the console', () => {
    const names = gridline.map((o) => o.metadata.name).sort();
    assert.deepEqual(names, [
      'grid-console', 'grid-escalation', 'grid-gateway', 'grid-intake', 'grid-metrics',
      'grid-routing', 'grid-webhooks',
    ]);
  });

  test('a flag the binary does not take is caught', () => {
    const known = OptionsOf('grid-intake');
    assert.ok(known.has('--listen') && known.has('--redis'));
    assert.deepEqual(FlagsOf(['--listen=0.0.0.0:1', '--bogus', 'x']).filter((f) => !known.has(f)),
      ['--bogus']);
  });

  for (const workload of gridline) {
    const spec = workload.spec.template.spec;
    for (const container of spec.containers) {
      const where = `${workload.metadata.name}/${container.name}`;
      test(`${where}: its binary is in the image and built by CMake`, () => {
        assert.equal(container.command.length, 1, `${where}: command is the binary alone`);
        const [binary] = container.command;
        assert.ok(ImageBinaries().includes(binary), `${where}: the image has no ${binary}`);
        assert.ok(existsSync(path.join(binDir, binary)), `${where}: CMake builds no ${binary}`);
      });

      test(`${where}: every flag is one the binary takes`, () => {
        const known = OptionsOf(container.command[0]);
        const unknown = FlagsOf(container.args).filter((flag) => !known.has(flag));
        assert.deepEqual(unknown, [], `${where}: ${container.command[0]} --help has no ${unknown}`);
      });

      test(`${where}: every file a flag names is a key of a mounted ConfigMap or Secret`, () => {
        const objects = rendered.get('deploy/k8s');
        for (const arg of container.args) {
          const value = arg.split('=')[1];
          if (!value?.startsWith('/etc/')) continue;
          const mount = (container.volumeMounts ?? []).find((m) =>
            value.startsWith(`${m.mountPath}/`));
          assert.ok(mount, `${where}: ${arg}: nothing is mounted there`);
          const volume = spec.volumes.find((v) => v.name === mount.name);
          const key = value.slice(mount.mountPath.length + 1);
          if (volume.configMap) {
            const map = objects.find((o) => o.kind === 'ConfigMap' &&
              o.metadata.name === volume.configMap.name);
            assert.ok(map, `${where}: no ConfigMap ${volume.configMap.name}`);
            assert.ok(key in (map.data ?? {}),
              `${where}: ConfigMap ${map.metadata.name} has no ${key}`);
          } else {
            // The Secret is made by hand from the template (never in a kustomization).
            assert.ok(volume.secret, `${where}: ${arg} is neither a ConfigMap nor a Secret`);
            const template = everyObject.find((e) => e.object.kind === 'Secret' &&
              e.object.metadata.name === volume.secret.secretName);
            assert.ok(template, `${where}: no template of Secret ${volume.secret.secretName}`);
            assert.ok(key in template.object.stringData, `${where}: the template has no ${key}`);
          }
        }
      });

      test(`${where}: probes, resources, non-root, listening beyond loopback`, () => {
        assert.ok(container.readinessProbe && container.livenessProbe, `${where}: probes`);
        for (const r of ['cpu', 'memory']) {
          assert.ok(container.resources?.requests?.[r], `${where}: no ${r} request`);
          assert.ok(container.resources?.limits?.[r], `${where}: no ${r} limit`);
        }
        assert.equal(spec.securityContext.runAsNonRoot, true);
        assert.equal(container.securityContext.allowPrivilegeEscalation, false);
        for (const flag of ['--listen', '--metrics-listen']) {
          const arg = container.args.find((a) => a.startsWith(`${flag}=`));
          assert.ok(arg?.startsWith(`${flag}=0.0.0.0:`),
            `${where}: ${flag} must take the pod's address`);
          const port = Number(arg.split(':').at(-1));
          assert.ok(container.ports.some((p) => p.containerPort === port),
            `${where}: port ${port}`);
        }
        const metrics = container.ports.find((p) => p.name === 'metrics');
        assert.ok(metrics, `${where}: no port named metrics for the PodMonitor`);
        if (container.command[0] === 'grid-console') return;
        // gRPC health: readiness is the service's "" status, liveness its "liveness" (README).
        const grpcPort = container.ports.find((p) => p.name === 'grpc').containerPort;
        assert.deepEqual(container.readinessProbe.grpc, { port: grpcPort });
        assert.deepEqual(container.livenessProbe.grpc, { port: grpcPort, service: 'liveness' });
      });
    }

    test(`${workload.metadata.name}: two replicas, a PodDisruptionBudget, a Service`, () => {
      const objects = rendered.get('deploy/k8s');
      const labels = workload.spec.template.metadata.labels;
      const selects = (selector) => Object.entries(selector).every(([k, v]) => labels[k] === v);
      const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' &&
        selects(o.spec.selector.matchLabels));
      assert.ok(pdb, `${workload.metadata.name}: no PodDisruptionBudget`);
      assert.ok(objects.some((o) => o.kind === 'Service' && selects(o.spec.selector)));
      if (workload.metadata.name === 'grid-webhooks') {
        // One replica delivers (its lease guards it); the old pod goes before the new one comes,
        // and the budget lets a node drain evict it rather than block for good.
        assert.equal(workload.spec.replicas, 1);
        assert.equal(workload.spec.strategy.type, 'Recreate');
        assert.equal(pdb.spec.maxUnavailable, 1);
        return;
      }
      assert.ok(workload.spec.replicas >= 2);
    });
  }

  test('the gateway reaches the services by their Service names and ports', () => {
    const objects = rendered.get('deploy/k8s');
    const gateway = gridline.find((o) => o.metadata.name === 'grid-gateway');
    const args = gateway.spec.template.spec.containers[0].args;
    for (const name of ['intake', 'routing', 'escalation', 'metrics', 'webhooks']) {
      const [host, port] = args.find((a) => a.startsWith(`--${name}=`)).split('=')[1].split(':');
      const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === host);
      assert.ok(service, `--${name}: no Service ${host}`);
      assert.ok(service.spec.ports.some((p) => p.port === Number(port)), `--${name}: port ${port}`);
    }
    const redis = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'grid-redis');
    for (const workload of gridline.filter((o) => o.metadata.name !== 'grid-console')) {
      const { args } = workload.spec.template.spec.containers[0];
      const arg = args.find((a) => a.startsWith('--redis='));
      assert.equal(arg, `--redis=grid-redis:${redis.spec.ports[0].port}`, workload.metadata.name);
    }
  });
  test('the PodMonitor scrapes every pod of the services and the console', () => {
    const objects = rendered.get('deploy/k8s');
    const monitor = objects.find((o) => o.kind === 'PodMonitor');
    const ports = monitor.spec.podMetricsEndpoints.map((e) => e.port);
    for (const workload of gridline) {
      const { labels } = workload.spec.template.metadata;
      assert.ok(Selects(monitor.spec.selector, labels), `${workload.metadata.name}: not selected`);
      const names = workload.spec.template.spec.containers[0].ports.map((p) => p.name);
      assert.ok(ports.some((p) => names.includes(p)),
        `${workload.metadata.name}: no port ${ports}`);
    }
  });

  test('the network policies let the gateway, Redis clients, Prometheus through, no more', () => {
    const objects = rendered.get('deploy/k8s');
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const pod = (name) => workloads.find((o) => o.metadata.name === name).spec.template;
    const Allows = (target, source, port) => {
      const selecting = policies.filter((p) => Selects(p.spec.podSelector, target.metadata.labels));
      if (selecting.length === 0) return true;
      return selecting.some((p) => (p.spec.ingress ?? []).some((rule) =>
        (!rule.from || rule.from.some((peer) => source && peer.podSelector &&
          Selects(peer.podSelector, source.metadata.labels))) &&
        (!rule.ports || rule.ports.some((q) => q.port === port))));
    };
    for (const name of ['grid-intake', 'grid-routing', 'grid-escalation', 'grid-metrics',
      'grid-webhooks']) {
      assert.ok(Allows(pod(name), pod('grid-gateway'), 'grpc'), `gateway -> ${name}`);
      assert.ok(!Allows(pod(name), pod('grid-console'), 'grpc'),
        `console -> ${name} is let through`);
      assert.ok(!Allows(pod(name), null, 'grpc'), `anyone -> ${name} is let through`);
      assert.ok(Allows(pod(name), null, 'metrics'), `Prometheus -> ${name}`);
      assert.ok(Allows(pod('grid-redis'), pod(name), 'redis'), `${name} -> grid-redis`);
    }
    assert.ok(Allows(pod('grid-redis'), pod('grid-gateway'), 'redis'), 'gateway -> grid-redis');
    assert.ok(!Allows(pod('grid-redis'), null, 'redis'), 'anyone -> grid-redis is let through');
    assert.ok(Allows(pod('grid-gateway'), null, 'grpc'), 'clients -> gateway');
    assert.ok(Allows(pod('grid-console'), null, 'http'), 'browsers -> console');
  });

  test('grid-webhooks may call out to Redis, DNS and the receivers on 443 and 80 only', () => {
    const objects = rendered.get('deploy/k8s');
    const webhooks = workloads.find((o) => o.metadata.name === 'grid-webhooks').spec.template;
    const redis = workloads.find((o) => o.metadata.name === 'grid-redis').spec.template;
    const selecting = objects.filter((o) => o.kind === 'NetworkPolicy' &&
      o.spec.policyTypes?.includes('Egress') &&
      Selects(o.spec.podSelector, webhooks.metadata.labels));
    assert.equal(selecting.length, 1, 'one egress policy of grid-webhooks');
    // `to` a pod (labels), or an address (an ipBlock of everything stands for the internet).
    const Allows = (to, port, protocol = 'TCP') => selecting.some((p) => p.spec.egress.some((rule) =>
      (!rule.to || rule.to.some((peer) => (to.labels && peer.podSelector &&
        Selects(peer.podSelector, to.labels)) || (to.internet && peer.ipBlock?.cidr === '0.0.0.0/0'))) &&
      (!rule.ports || rule.ports.some((q) => q.port === port && (q.protocol ?? 'TCP') === protocol))));
    assert.ok(Allows({ labels: redis.metadata.labels }, 'redis'), 'webhooks -> grid-redis');
    assert.ok(Allows({ internet: true }, 53, 'UDP'), 'webhooks -> DNS');
    assert.ok(Allows({ internet: true }, 443), 'webhooks -> receivers on 443');
    assert.ok(Allows({ internet: true }, 80), 'webhooks -> receivers on 80');
    assert.ok(!Allows({ internet: true }, 22), 'webhooks -> anything on 22 is let through');
    assert.ok(!Allows({ internet: true }, 'redis'), 'webhooks -> a Redis outside gridline');
  });

  test("the console serves the page from where the image puts it", () => {
    const runtime = stages.at(-1);
    const workdir = runtime.lines.filter((line) => /^WORKDIR\s/.test(line)).at(-1).split(/\s+/)[1];
    const page = Copies(runtime.lines).find((copy) => copy.from === 'web');
    const deployment = gridline.find((o) => o.metadata.name === 'grid-console');
    const { args } = deployment.spec.template.spec.containers[0];
    const arg = args.find((a) => a.startsWith('--static-dir='));
    assert.equal(arg, `--static-dir=${path.posix.join(workdir, page.destination)}`);
  });
});
