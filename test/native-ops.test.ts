/**
 * The op list has one source of truth, the SGT_EXPORT lines of native/*.cc; everything else must follow it. These
 * checks say what to add where when a native function is added (or removed) on one side only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadNative } from '../src/engine/native.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (rel: string) => readFileSync(join(ROOT, rel), 'utf8');
const nativeFiles = readdirSync(join(ROOT, 'native')).filter((f) => f.endsWith('.cc')).sort();

/** Exported function → the native file whose SGT_EXPORT line exports it. */
function exportsByFile(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of nativeFiles) for (const m of read(`native/${f}`).matchAll(/SGT_EXPORT\((\w+)\)/g)) out.set(m[1]!, `native/${f}`);
  return out;
}

/** Member names of `export interface Native { … }` in src/engine/native.ts. */
function interfaceMembers(): Set<string> {
  const src = read('src/engine/native.ts');
  const body = /export interface Native \{([\s\S]*?)\n\}/.exec(src)![1]!;
  return new Set([...body.matchAll(/(?:^|[;\s])(\w+)\(/g)].map((m) => m[1]!));
}

/** Exports the engine computes better itself; kept so that the addon mirrors libtorch's tensor surface. */
const MIRROR_ONLY: Record<string, string> = {
  numel: 'Tensor.numel multiplies its cached shape',
  dim: 'Tensor.ndim is its cached shape length',
  isDisposed: 'Tensor.disposed tracks disposal without a native call',
  distRank: 'ProcessGroup.rank is kept from the init options',
  distSize: 'ProcessGroup.size is kept from the init options',
};

test('every native file is built and registered: binding.gyp sources and the addon init', () => {
  const gyp = read('binding.gyp');
  const init = read('native/addon.cc');
  const problems: string[] = [];
  for (const f of nativeFiles) {
    if (!gyp.includes(`"native/${f}"`)) problems.push(`native/${f} is not built: add "native/${f}" to "sources" in binding.gyp`);
    for (const m of read(`native/${f}`).matchAll(/^void (register\w+)\(Napi::Env env, Exports exports\)/gm)) {
      if (!init.includes(`sgt::${m[1]}(env, exports);`)) problems.push(`native/${f} defines ${m[1]} but the addon never calls it: add \`sgt::${m[1]}(env, exports);\` to Init in native/addon.cc`);
    }
  }
  assert.deepEqual(problems, []);
});

test('native exports ⇔ the Native interface ⇔ the engine wrappers that use them', () => {
  const exported = exportsByFile();
  const declared = interfaceMembers();
  const loaded = new Set(Object.keys(loadNative()));
  const engine = readdirSync(join(ROOT, 'src/engine')).filter((f) => f.endsWith('.ts') && f !== 'native.ts').map((f) => read(`src/engine/${f}`)).join('\n');
  const problems: string[] = [];
  for (const [name, file] of exported) {
    if (!loaded.has(name)) problems.push(`${file} exports '${name}' but the loaded addon lacks it: rebuild with \`npm run build:native\``);
    if (!declared.has(name)) problems.push(`${file} exports '${name}' but src/engine/native.ts does not declare it: add its signature to \`interface Native\``);
    if (!new RegExp(`native\\s*\\.${name}\\(`).test(engine) && !(name in MIRROR_ONLY)) {
      problems.push(`'${name}' (${file}) is not used by the engine: give it a typed, scope-aware wrapper in src/engine/ (a Tensor method in tensor.ts or a function in functional.ts / its own module)`);
    }
  }
  for (const name of declared) if (!exported.has(name)) problems.push(`src/engine/native.ts declares '${name}' but no native/*.cc has SGT_EXPORT(${name}): implement it in a native file or drop the declaration`);
  for (const name of loaded) if (!exported.has(name)) problems.push(`the loaded addon has '${name}' that no native/*.cc exports: the build is stale, run \`npm run build:native\``);
  assert.deepEqual(problems, []);
  assert.ok(exported.size > 150, `found ${exported.size} exports`);
});
