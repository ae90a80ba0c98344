#!/usr/bin/env node
/**
 * The `isobuild` executable. It checks the Node version before loading anything else: the CLI
 * and its dependencies use syntax and APIs an older Node cannot load, and a SyntaxError from
 * deep inside node_modules tells the user nothing. So this file has no static imports and no
 * syntax newer than what Node 12 reads; the CLI itself is loaded with import() afterwards.
 */
const MINIMUM: readonly [number, number] = [20, 3];

function isTooOld(version: string): boolean {
  const parts = version.split('.').map(Number);
  const major = parts[0] || 0;
  const minor = parts[1] || 0;
  return major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1]);
}

if (isTooOld(process.versions.node)) {
  process.stderr.write(
    'error: isobuild needs Node.js ' +
      MINIMUM.join('.') +
      ' or newer; this is Node.js ' +
      process.versions.node +
      '.\nDebian 12 ships Node.js 18: install Node.js 20 as README.md says under "Requirements"\n' +
      '(the nodejs package from NodeSource, or nvm).\n',
  );
  process.exitCode = 1;
} else if (process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V')) {
  // The one answer that needs none of the CLI: scripts and the bench call it to time startup.
  import('../version.js').then((v) => process.stdout.write(v.VERSION + '\n'));
} else {
  ignoreClosedStdout();
  loadCli().then(
    (cli) => cli.runCli(),
    (err: unknown) => {
      process.stderr.write(String(err instanceof Error && err.stack ? err.stack : err) + '\n');
      process.exitCode = 1;
    },
  );
}

/**
 * The bundle `npm run build` makes (dist/bundle/, .config/bundle.mjs) loads in a fraction of the
 * time of tsc's ~350 modules; a tree built without it (esbuild not installed) runs those.
 */
function loadCli(): Promise<typeof import('./program.js')> {
  const bundle = new URL('../bundle/program.js', import.meta.url);
  return import('node:fs').then(
    (fs) =>
      import(fs.existsSync(bundle) ? bundle.href : './program.js') as Promise<typeof import('./program.js')>,
  );
}

/**
 * `isobuild build --help | head` closes the pipe early. Ending the process there would skip a
 * running build's cleanup (temp folders, mounts), so output to a closed pipe is dropped instead and
 * the command finishes as it would have.
 */
function ignoreClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.stdout.write = () => true;
  });
}
