#!/usr/bin/env node
// npm run bench: speed as ratios against baselines measured in the same run, on this machine.
//
// 1. Stage cache: a cold build of the default repo's bootstrap ISO (stage cache empty, package
//    cache warm) is the baseline; a rebuild with nothing changed and a rebuild after a staging.sh
//    change are printed as ratios of it.
// 2. initrd: GNU cpio | gzip -9 over the same root (the VIC way) is the baseline for isobuild's
//    newc writer + the repo's compressor.
//
// Needs root and the host tools of `make deps`; builds into a temp cache and a temp copy of the repo.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const repo = process.env.BENCH_REPO ?? 'debian-12';
const work = mkdtempSync(join(tmpdir(), 'isobuild-bench-'));
const repos = join(work, 'repos');
// Packages are kept between bench runs so the figures measure isobuild, not the mirror.
const cache = resolve(process.env.BENCH_CACHE ?? join(root, '.isobuild', 'bench'));
const env = { ...process.env, ISOBUILD_CACHE: cache, ISOBUILD_REPOS: repos, NO_COLOR: '1' };

function isobuild(...args) {
  const started = process.hrtime.bigint();
  const res = spawnSync('node', [cli, ...args], { env, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (res.status !== 0) {
    process.stderr.write(res.stdout + res.stderr);
    throw new Error(`isobuild ${args.join(' ')} failed (${res.status})`);
  }
  return { seconds, output: res.stderr };
}

function time(fn) {
  const started = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const rows = [];
function row(label, seconds, baseline) {
  rows.push([
    label,
    `${seconds.toFixed(2)} s`,
    baseline ? (seconds / baseline).toFixed(3) : '1.000 (baseline)',
  ]);
}

try {
  cpSync(join(root, 'repos', repo), join(repos, repo), { recursive: true });
  const iso = join(work, 'bench.iso');
  // Warm the package cache (not measured), then empty the stage cache.
  isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  isobuild('clean', repo);

  const cold = isobuild('build', repo, '--target', 'bootstrap', '--output', iso).seconds;
  const warm = isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  appendFileSync(join(repos, repo, 'staging.sh'), '\necho "bench: staging.sh changed"\n');
  const staging = isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  row('cold build (stage cache empty, packages cached)', cold);
  row('rebuild, nothing changed', warm.seconds, cold);
  row('rebuild after a staging.sh change', staging.seconds, cold);
  const builtLine = (out) => out.split('\n').find((l) => l.includes(': done in')) ?? '';
  rows.push(['  (nothing changed)', builtLine(warm.output).replace(/^.*\(/, '('), '']);
  rows.push(['  (staging.sh changed)', builtLine(staging.output).replace(/^.*\(/, '('), '']);

  // initrd writers over the same staged root (the tether stage's, what the initrd stage packs).
  const stages = join(cache, 'stages', repo);
  const tether = readdirSync(stages)
    .filter((d) => d.startsWith('tether-'))
    .map((d) => join(stages, d));
  const rootfs = join(tether.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0], 'rootfs');
  const gnu = join(work, 'gnu.cpio.gz');
  const gnuSeconds = time(() =>
    execFileSync('sh', [
      '-c',
      `cd "$1" && find . | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible | gzip -9 -n > "$2"`,
      'sh',
      rootfs,
      gnu,
    ]),
  );
  // Drop every cached initrd and ISO so the initrd stage really runs on this root.
  for (const d of readdirSync(stages).filter((d) => d.startsWith('initrd-') || d.startsWith('iso-')))
    rmSync(join(stages, d), { recursive: true, force: true });
  const initrd = isobuild('build', repo, '--target', 'initrd', '--output', join(work, 'kernel'));
  const initrdStage = /\[\d+\/\d+\] initrd: built in ([\d.]+) s/.exec(initrd.output);
  row('initrd: find | sort | cpio | gzip -9 (baseline)', gnuSeconds);
  row('initrd: isobuild stage (newc writer + compressor)', Number(initrdStage?.[1] ?? NaN), gnuSeconds);
  rows.push([
    '  sizes',
    `${(statSync(gnu).size / 2 ** 20).toFixed(1)} MiB vs ${(statSync(join(work, 'kernel', 'initrd.img')).size / 2 ** 20).toFixed(1)} MiB`,
    '',
  ]);
} finally {
  rmSync(work, { recursive: true, force: true });
}

const width = Math.max(...rows.map((r) => r[0].length));
console.log(`isobuild bench (${repo}), ratios against the baseline of each block, measured in this run`);
for (const [label, value, ratio] of rows)
  console.log(`${label.padEnd(width)}  ${value.padStart(10)}  ${ratio}`);
