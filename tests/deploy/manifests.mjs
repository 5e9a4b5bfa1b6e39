// What the checks of tests/deploy share: where things are, and the manifests as kubectl renders
// them (`kubectl kustomize`; GRID_KUBECTL names another kubectl, GRID_BIN_DIR the build's bin/).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const binDir = process.env.GRID_BIN_DIR ?? path.join(root, 'build/bin');
const kubectl = process.env.GRID_KUBECTL ?? 'kubectl';

// The documents of a YAML stream as plain objects (empty documents left out).
export function ParseYaml(text, where) {
  return parseAllDocuments(text).flatMap((document) => {
    assert.equal(document.errors.length, 0, `${where}: ${document.errors.join('; ')}`);
    const value = document.toJS();
    return value === null ? [] : [value];
  });
}

// The objects a kustomization (a folder relative to the repository) renders to.
export function Render(dir) {
  const result = spawnSync(kubectl, ['kustomize', path.join(root, dir)], { encoding: 'utf8' });
  if (result.error) {
    throw new Error(`${kubectl}: ${result.error.message} (deploy/local/install-deps installs it)`);
  }
  assert.equal(result.status, 0, `${kubectl} kustomize ${dir}: ${result.stderr}`);
  return ParseYaml(result.stdout, dir);
}
