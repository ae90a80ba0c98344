import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.isobuild/',
      'bin/',
      'coverage/',
      'src/spec/repo-spec.generated.ts',
      'src/spec/repo-spec.validate.generated.ts',
      '.config/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The HTML report's page script runs in a browser (src/report/render-html.ts inlines it).
    files: ['templates/report/*.js'],
    languageOptions: { sourceType: 'script', globals: { document: 'readonly', d3: 'readonly' } },
  },
);
