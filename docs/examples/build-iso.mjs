// Build the debian-12 bootstrap ISO from a script, through isobuild's library (docs/api.md).
// Usage: node build-iso.mjs [OUTPUT-FOLDER]; the stage cache is ISOBUILD_CACHE's, as for the CLI.
import { build, IsobuildError } from 'isobuild';

try {
  const result = await build({
    repo: 'debian-12',
    target: 'bootstrap',
    outputDir: process.argv[2] ?? 'bin',
    // Every event `isobuild build --json` prints, as objects (docs/json.md).
    onEvent: (event) => {
      if (event.type === 'stage' && event.status !== 'start') console.log(`${event.stage}: ${event.status}`);
      if (event.type === 'log' && event.level !== 'info') console.error(`${event.level}: ${event.message}`);
    },
  });
  for (const output of result.outputs)
    console.log(`${output.format} ${output.path} sha256:${output.digest.sha256}`);
  console.log(`${result.repo} ${result.target}: done in ${result.seconds.toFixed(1)} s`);
} catch (err) {
  // A spec, tool, command or file problem: a typed error whose message names what and where.
  if (!(err instanceof IsobuildError)) throw err;
  console.error(`error: ${err.message}`);
  process.exitCode = err.exitCode;
}
