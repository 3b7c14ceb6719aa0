import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'web/dist/**', 'data/**', '.data/**', 'artifacts/**', 'packages/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', TextEncoder: 'readonly',
        TextDecoder: 'readonly', performance: 'readonly', structuredClone: 'readonly', setImmediate: 'readonly',
        queueMicrotask: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly',
        document: 'readonly', window: 'readonly', EventSource: 'readonly', localStorage: 'readonly', navigator: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The dashboard runs in the browser: React's rules of hooks apply there.
    files: ['web/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { ...reactHooks.configs.recommended.rules },
    languageOptions: {
      globals: {
        history: 'readonly', IntersectionObserver: 'readonly', MessageEvent: 'readonly', HTMLElement: 'readonly',
        HTMLDivElement: 'readonly', HTMLAnchorElement: 'readonly', HTMLTextAreaElement: 'readonly', HTMLFormElement: 'readonly', FormData: 'readonly', URLSearchParams: 'readonly',
      },
    },
  },
);
