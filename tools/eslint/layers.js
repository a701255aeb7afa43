/**
 * ESLint rule `layers/imports-point-down`: the folders of src/ form layers, and a module may import only from the
 * layers below it (and its own folder):
 *
 *   engine → nn → nets → io → data, gen → train, metrics, project → studio → cli
 *
 * (io/data/gen share a level: data and gen read and write through io; studio, the web app's server, sits just below
 * the cli that starts it). Nothing in src/ imports bench/, test/ or
 * tools/ (they consume the library). Static imports, re-exports, dynamic `import('…')` and `typeof import('…')` types
 * are all checked.
 */
import path from 'node:path';

const BELOW = {
  engine: [],
  nn: ['engine'],
  nets: ['engine', 'nn'],
  io: ['engine', 'nn', 'nets'],
  data: ['engine', 'nn', 'nets', 'io'],
  gen: ['engine', 'nn', 'nets', 'io'],
  train: ['engine', 'nn', 'nets', 'io', 'data', 'gen'],
  metrics: ['engine', 'nn', 'nets', 'io', 'data', 'gen'],
  project: ['engine', 'nn', 'nets', 'io', 'data', 'gen'],
  studio: ['engine', 'nn', 'nets', 'io', 'data', 'gen', 'train', 'metrics', 'project'],
  cli: ['engine', 'nn', 'nets', 'io', 'data', 'gen', 'train', 'metrics', 'project', 'studio'],
};
export const ORDER = 'engine → nn → nets → io → data, gen → train, metrics, project → studio → cli';

/** The src folder of an absolute path ('' for src/ itself, null outside src/). */
function layerOf(file, srcDir) {
  const rel = path.relative(srcDir, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : '';
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports in src/ point down the layers ' + ORDER },
    schema: [],
    messages: {
      upward: "src/{{from}}/ may not import src/{{to}}/ ('{{spec}}'): imports point down the layers " + ORDER + '. Move the shared code down, or pass it in from above.',
      outside: "src/ may not import '{{spec}}' ({{to}}/ is outside the library): bench/, test/ and tools/ consume src/, never the reverse.",
    },
  },
  create(context) {
    const file = context.filename;
    const srcDir = path.join(context.cwd, 'src');
    const from = layerOf(file, srcDir);
    if (from === null) return {};
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), spec);
      const to = layerOf(target, srcDir);
      if (to === null) {
        context.report({ node, messageId: 'outside', data: { spec, to: path.relative(context.cwd, target).split(path.sep)[0] } });
        return;
      }
      if (from === '' || to === from) return;
      if (to === '' || !(BELOW[from] ?? []).includes(to)) context.report({ node, messageId: 'upward', data: { from, to: to || 'index.ts', spec } });
    };
    const source = (node) => node.source && check(node, node.source.value);
    return {
      ImportDeclaration: source,
      ExportNamedDeclaration: source,
      ExportAllDeclaration: source,
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
      TSImportType: (node) => {
        const arg = node.argument?.literal ?? node.argument;
        if (arg && arg.type === 'Literal') check(node, arg.value);
      },
    };
  },
};

export default { rules: { 'imports-point-down': rule } };
