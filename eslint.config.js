import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './tools/eslint/layers.js';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { layers },
    rules: {
      'layers/imports-point-down': 'error',
      // More than three parameters take a named options object.
      'max-params': ['error', 3],
    },
  },
  {
    // The engine's mirror of libtorch keeps libtorch's positional signatures (conv2d(x, w, b, o),
    // slice(dim, start, end, step), ...), so that calls read like the PyTorch they mirror.
    files: ['src/engine/native.ts', 'src/engine/functional.ts', 'src/engine/foreach.ts', 'src/engine/tensor.ts', 'src/engine/jit.ts'],
    rules: { 'max-params': 'off' },
  },
);
