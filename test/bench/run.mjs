#!/usr/bin/env node
// npm run bench: isobuild against its peers, measured side by side in one run on this machine.
//
// The package set of issue 10 (busybox bash kmod iptables haveged mount, the cloud kernel,
// modules: drivers) is built three ways:
// - the raw pipeline (test/bench/raw-pipeline.sh: mmdebstrap → sorted cpio | zstd -3 → xorriso),
//   which downloads every package on every run: the baseline of every ratio;
// - isobuild's bootstrap ISO from a copy of the default repo with that package set (package
//   cache warm, stage cache empty for the cold build);
// - mkosi (test/bench/mkosi.mjs: a zstd cpio of the same packages, its package cache warm as
//   isobuild's is; backports' mkosi when none new enough is installed; a failure is reported,
//   not fatal).
// Then: no-op rebuild, rebuild after a staging.sh change, rebuild after adding one package to
// packages.base (iso-base grows its cached root), `isobuild --version` (CLI start),
// boot to a command (the raw ISO to its /init's marker, as qemu's default CD and again on AHCI
// the way isobuild attaches its ISO; isobuild's with `isobuild run ISO -- true`), initrd
// (uncompressed) and ISO sizes. Last, the initrd writer against GNU cpio | gzip -9.
//
// Then (BENCH_KERNEL=0 skips it) the kernel built from source (docs/kernel.md) against Debian's
// packaged kernel, in the same run: the kernel stage cold (no kept tree, empty ccache) and after
// one fragment line, bzImage and vmlinux sizes, and boot to a command of the microVM folder
// (debian-12-microvm, microvm preset) and of the bootstrap ISO (debian-12 with the iso preset).
//
// Needs root and the host tools of `make deps`; builds into a temp cache and a temp copy of the repo.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { clearTimeout, setTimeout } from 'node:timers';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMkosi } from './mkosi.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const repo = process.env.BENCH_REPO ?? 'debian-12';
const PACKAGES = (process.env.BENCH_PACKAGES ?? 'busybox bash kmod iptables haveged mount').split(/\s+/);
const KERNEL = 'linux-image-cloud-amd64';
// Small, no dependencies beyond the essential set: the rebuild measures growing the root, not downloads.
const BENCH_ADDED_PACKAGE = process.env.BENCH_ADDED_PACKAGE ?? 'less';
const RELEASE = 'bookworm';
const work = mkdtempSync(join(tmpdir(), 'isobuild-bench-'));
const repos = join(work, 'repos');
// Packages are kept between bench runs so the figures measure isobuild, not the mirror.
const cache = resolve(process.env.BENCH_CACHE ?? join(root, '.isobuild', 'bench'));
const env = { ...process.env, ISOBUILD_CACHE: cache, ISOBUILD_REPOS: repos, NO_COLOR: '1' };
const MiB = 2 ** 20;

function seconds(started) {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Writes out what earlier steps left in the page cache before a timed step starts, so that a
 * step is not charged for the previous one's writeback (a grown root's copy ran 0.3 s by hand
 * and 0.7 s right after the bench's earlier builds). Every timed build and baseline gets it.
 */
function settle() {
  execFileSync('sync');
}

function time(fn) {
  settle();
  const started = process.hrtime.bigint();
  const out = fn();
  return { seconds: seconds(started), out };
}

function isobuild(...args) {
  settle();
  const started = process.hrtime.bigint();
  const res = spawnSync('node', [cli, ...args], { env, encoding: 'utf8' });
  const s = seconds(started);
  if (res.status !== 0) {
    process.stderr.write(res.stdout + res.stderr);
    throw new Error(`isobuild ${args.join(' ')} failed (${res.status})`);
  }
  return { seconds: s, output: res.stderr + res.stdout };
}

/**
 * How the raw ISO is attached: qemu's default CD (IDE, what `-cdrom` gives, what a person
 * types), or on AHCI the way `isobuild run` attaches its ISO (the firmware then reads it by DMA).
 */
const CD_DRIVES = {
  ide: (iso) => ['-drive', `file=${iso},media=cdrom,readonly=on,if=ide,index=2`],
  ahci: (iso) => [
    '-device',
    'ahci,id=ahci',
    '-drive',
    `id=boot,if=none,file=${iso},media=cdrom,readonly=on`,
    '-device',
    'ide-cd,drive=boot,bus=ahci.0,bootindex=0',
  ],
};

/** Boots an ISO under TCG until `marker` is on the serial console; seconds from qemu's start. */
function bootToMarker(iso, marker, drive = 'ide', timeoutMs = 300_000) {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const qemu = spawn(
      'qemu-system-x86_64',
      [
        '-accel',
        'tcg',
        '-m',
        '1024',
        '-smp',
        '1',
        '-display',
        'none',
        '-serial',
        'stdio',
        '-monitor',
        'none',
        '-no-reboot',
        ...CD_DRIVES[drive](iso),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let text = '';
    const timer = setTimeout(() => qemu.kill('SIGKILL'), timeoutMs);
    qemu.stdout.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes(marker)) {
        const s = seconds(started);
        clearTimeout(timer);
        qemu.kill('SIGKILL');
        done(s);
      }
    });
    qemu.on('exit', () => {
      clearTimeout(timer);
      if (!text.includes(marker)) fail(new Error(`no ${marker} on the console:\n${text.slice(-2000)}`));
    });
  });
}

/** The bench repo: the default repo with the issue's package set and nothing else changed. */
function makeBenchRepo() {
  cpSync(join(root, 'repos', repo), join(repos, repo), { recursive: true });
  const specFile = join(repos, repo, 'repo-spec.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8'));
  spec.packages.base = PACKAGES.join(' ');
  spec.kernel = KERNEL;
  spec.modules = 'drivers';
  writeFileSync(specFile, JSON.stringify(spec, null, 2) + '\n');
}

/** A base package the bench set lacks, added to the bench repo's spec; its name. */
function addBasePackage(name) {
  const specFile = join(repos, repo, 'repo-spec.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8'));
  spec.packages.base = `${spec.packages.base} ${name}`;
  writeFileSync(specFile, JSON.stringify(spec, null, 2) + '\n');
  return name;
}

const rows = [];
const fmtS = (s) => (s === undefined ? '–' : `${s.toFixed(2)} s`);
const fmtB = (b) => (b === undefined ? '–' : `${(b / MiB).toFixed(1)} MiB`);
const ratio = (v, base) => (v === undefined || !base ? '–' : (v / base).toFixed(2));
function row(what, raw, ours, fmt, mkosi) {
  rows.push([what, fmt(raw), fmt(ours), ratio(ours, raw), mkosi === undefined ? '–' : fmt(mkosi)]);
}

try {
  makeBenchRepo();
  const iso = join(work, 'bench.iso');

  // The raw pipeline (downloads everything, as such a script does).
  const rawDir = join(work, 'raw');
  mkdirSync(rawDir);
  const raw = time(() =>
    execFileSync(join(root, 'test/bench/raw-pipeline.sh'), [rawDir, RELEASE, KERNEL, ...PACKAGES], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  const rawIso = join(rawDir, 'raw.iso');
  const rawInitrd = Number(readFileSync(join(rawDir, 'initrd-bytes'), 'utf8'));

  // isobuild: warm the package cache (not measured), then empty the stage cache. The package
  // added later is fetched too, so that every row has its packages cached, as the cold one says,
  // and none waits on the mirror.
  const specFile = join(repos, repo, 'repo-spec.json');
  const benchSpec = readFileSync(specFile, 'utf8');
  addBasePackage(BENCH_ADDED_PACKAGE);
  isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  writeFileSync(specFile, benchSpec);
  isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  isobuild('clean', repo);
  const cold = isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  const warm = isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  // A change to the root (a file the small initrd does not keep): an edit that changes no file
  // would rebuild staging alone, its output being the cold build's (early cutoff, docs/cache.md).
  appendFileSync(
    join(repos, repo, 'staging.sh'),
    '\necho "bench: staging.sh changed" >"$(rootfs_dir "$PKGDIR")"/etc/isobuild-bench-staging\n',
  );
  const staging = isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  // Incremental roots: one more base package grows the cached iso-base (docs/cache.md).
  const added = addBasePackage(BENCH_ADDED_PACKAGE);
  const grown = isobuild('build', repo, '--target', 'bootstrap', '--output', iso);
  const version = time(() => spawnSync('node', [cli, '--version'], { env }));
  // The cold build's: later rebuilds may reuse the initrd entry and say nothing of its size.
  const initrdLine = /initrd: .*; ([\d.]+) MiB uncompressed\)/.exec(cold.output);
  const ourInitrd = initrdLine ? Number(initrdLine[1]) * MiB : undefined;

  const rawBoot = await bootToMarker(rawIso, 'RAW-BENCH-READY');
  const ourBoot = isobuild('run', iso, '--', 'true').seconds;
  const rawBootAhci = await bootToMarker(rawIso, 'RAW-BENCH-READY', 'ahci');

  const mkosi = runMkosi({
    dir: join(work, 'mkosi'),
    toolDir: join(cache, 'mkosi-tool'),
    release: RELEASE,
    packages: [KERNEL, ...PACKAGES],
    time,
  });

  row('cold build (isobuild: packages cached, stages not)', raw.seconds, cold.seconds, fmtS, mkosi.cold);
  row('no-op rebuild', undefined, warm.seconds, fmtS, mkosi.noop);
  row('rebuild after a staging.sh change', undefined, staging.seconds, fmtS);
  row('rebuild after adding one package to packages.base', undefined, grown.seconds, fmtS);
  row('CLI start (isobuild --version)', undefined, version.seconds, fmtS);
  row('boot to a command (raw: /init marker; isobuild run ISO -- true)', rawBoot, ourBoot, fmtS);
  // Part of isobuild's lead is how its ISO is attached: the same raw ISO on AHCI, for comparison.
  row('boot to a command, raw ISO on AHCI as isobuild attaches its ISO', rawBootAhci, ourBoot, fmtS);
  row('initrd, uncompressed', rawInitrd, ourInitrd, fmtB);
  row('ISO', statSync(rawIso).size, statSync(iso).size, fmtB);
  const stagesLine = (out) => /: done in .*\)/.exec(out)?.[0].replace(/^: /, '') ?? '';
  const notes = [
    `no-op: ${stagesLine(warm.output)}; staging.sh change: ${stagesLine(staging.output)}`,
    `packages.base +${added}: ${ratio(grown.seconds, cold.seconds)}× the cold build (goal ≤ 0.3×); ` +
      `iso-base ${/iso-base: incremental from \S+/.test(grown.output) ? 'grown' : 'built from nothing'}, ${stagesLine(grown.output)}`,
    `mkosi: ${mkosi.version ?? 'none'}${mkosi.error ? ` (could not build here: ${mkosi.error})` : ''}` +
      ' (the same packages as a zstd cpio, its package cache warm)',
  ];

  const header = ['', 'raw pipeline', 'isobuild', 'ratio', 'mkosi'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`isobuild bench (${repo} with ${PACKAGES.join(' ')}, ${KERNEL}, modules: drivers), one run`);
  console.log(line(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of rows) console.log(line(r));
  for (const n of notes) console.log(`- ${n}`);

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
  ).seconds;
  // Only the initrd and iso entries: a prefix test would take iso-base's too.
  for (const d of readdirSync(stages).filter((d) => /^(initrd|iso)-[0-9a-f]{24}$/.test(d)))
    rmSync(join(stages, d), { recursive: true, force: true });
  const initrd = isobuild('build', repo, '--target', 'initrd', '--output', join(work, 'kernel'));
  const initrdStage = /\[\d+\/\d+\] initrd: built in ([\d.]+) s/.exec(initrd.output);
  console.log(
    '- ' +
      `initrd writer on the same root: find | sort | cpio | gzip -9 ${gnuSeconds.toFixed(2)} s, ` +
      `isobuild's initrd stage ${initrdStage?.[1] ?? '?'} s ` +
      `(${(statSync(gnu).size / MiB).toFixed(1)} MiB vs ${(statSync(join(work, 'kernel', 'initrd.img')).size / MiB).toFixed(1)} MiB)`,
  );

  if (process.env.BENCH_KERNEL !== '0') benchKernel(iso);
  if (process.env.BENCH_ARM64 === '1') benchArm64(cold.seconds, ourBoot);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** A copy of repos/<from> (or of `fromDir`/<from>) as repos/<name> with `edit` applied to its spec. */
function copyRepo(from, name, edit, fromDir = join(root, 'repos')) {
  cpSync(join(fromDir, from), join(repos, name), { recursive: true });
  const specFile = join(repos, name, 'repo-spec.json');
  const spec = JSON.parse(readFileSync(specFile, 'utf8'));
  spec.name = name;
  edit(spec, join(repos, name));
  writeFileSync(specFile, JSON.stringify(spec, null, 2) + '\n');
}

/** `isobuild run X -- true` for a and b in turn, three times: the median seconds of each. */
function pairedBoots(a, b, rounds = 3) {
  const times = [[], []];
  for (let i = 0; i < rounds; i++)
    [a, b].forEach((target, side) => times[side].push(isobuild('run', target, '--', 'true').seconds));
  return times.map((t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)]);
}

/** Seconds the kernel stage took, from the build's stage line. */
function kernelStageSeconds(output) {
  const m = /\[\d+\/\d+\] kernel: built in ([\d.]+) s/.exec(output);
  return m ? Number(m[1]) : undefined;
}

/** The built kernel against Debian's, each row measured in this run. */
function benchKernel(debianIso) {
  const built = 'debian-12-microvm';
  const packaged = 'debian-12-microvm-pkg';
  copyRepo(built, built, (spec, dir) => {
    writeFileSync(join(dir, 'bench.config'), '# bench: one line is added here\n');
    spec.kernel.fragments = ['bench.config'];
  });
  copyRepo(built, packaged, (spec) => {
    spec.kernel = KERNEL;
  });
  // Cold: no kept tree, an empty ccache; the source package and iso-base are fetched and built first, not measured.
  const ccache = join(work, 'ccache');
  const kenv = { ...env, CCACHE_DIR: ccache };
  const kbuild = (...args) => {
    settle();
    const started = process.hrtime.bigint();
    const res = spawnSync('node', [cli, ...args], { env: kenv, encoding: 'utf8' });
    if (res.status !== 0) {
      process.stderr.write(res.stdout + res.stderr);
      throw new Error(`isobuild ${args.join(' ')} failed (${res.status})`);
    }
    return { seconds: seconds(started), output: res.stderr + res.stdout };
  };
  kbuild('build', built, '--target', 'iso-base');
  rmSync(join(cache, 'kernel-trees'), { recursive: true, force: true });
  const out = join(work, 'kbin');
  const cold = kbuild('build', built, '--target', 'firecracker', '--output', join(out, 'built'));
  // One driver more, what a user adds most often. A line whose option every source file sees
  // costs nearly a cold build, as it does with make: CONFIG_FUSE_FS=y selects FS_POSIX_ACL,
  // which linux/fs.h tests (0.73 of the cold build, docs/kernel.md "Costs"); BENCH_FRAGMENT
  // measures such a line instead.
  appendFileSync(
    join(repos, built, 'bench.config'),
    `${process.env.BENCH_FRAGMENT ?? 'CONFIG_VIRTIO_CONSOLE=y'}\n`,
  );
  const fragment = kbuild('build', built, '--target', 'firecracker', '--output', join(out, 'built'));
  kbuild('build', packaged, '--target', 'firecracker', '--output', join(out, 'packaged'));
  const vmlinux = (dir) => statSync(join(dir, 'vmlinux')).size;
  const bzImage = (repoName) => {
    const stages = join(cache, 'stages', repoName);
    const disk = readdirSync(stages)
      .filter((d) => d.startsWith('disk-'))
      .map((d) => join(stages, d, 'artifacts', 'vmlinuz'))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    return statSync(disk).size;
  };
  // The bootstrap ISO of the default repo with the iso preset, against the Debian-kernel ISO above.
  const isoRepo = `${repo}-iso-kernel`;
  // The bench repo as it is by now (its package set, + the added package, the staging change),
  // so the two ISOs differ only by their kernel.
  copyRepo(
    repo,
    isoRepo,
    (spec) => {
      spec.release = RELEASE;
      spec.kernel = { source: 'linux-source-6.1', config: 'iso', builtin: 'drivers' };
    },
    repos,
  );
  const isoKernel = join(work, 'iso-kernel.iso');
  const isoBuild = kbuild('build', isoRepo, '--target', 'bootstrap', '--output', isoKernel);
  // Boots in alternating pairs, the median of three each: both sides see the same machine.
  const [bootBuilt, bootPackaged] = pairedBoots(join(out, 'built'), join(out, 'packaged'));
  const [isoBoot, debianIsoBoot] = pairedBoots(isoKernel, debianIso);

  const krows = [];
  const krow = (what, debian, ours, fmt) => krows.push([what, fmt(debian), fmt(ours), ratio(ours, debian)]);
  const coldKernel = kernelStageSeconds(cold.output);
  krow('kernel stage, cold (microvm preset)', undefined, coldKernel, fmtS);
  krows.push([
    'kernel stage after one fragment line (ratio: to cold)',
    '–',
    fmtS(kernelStageSeconds(fragment.output)),
    ratio(kernelStageSeconds(fragment.output), coldKernel),
  ]);
  krow(
    'kernel stage, cold (iso preset, with the ISO build)',
    undefined,
    kernelStageSeconds(isoBuild.output),
    fmtS,
  );
  krow('bzImage (microvm preset)', bzImage(packaged), bzImage(built), fmtB);
  krow('vmlinux (microvm preset)', vmlinux(join(out, 'packaged')), vmlinux(join(out, 'built')), fmtB);
  krow('boot to a command, microVM folder (isobuild run DIR -- true)', bootPackaged, bootBuilt, fmtS);
  krow('boot to a command, bootstrap ISO (iso preset)', debianIsoBoot, isoBoot, fmtS);
  const header = ['', 'Debian kernel', 'built kernel', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...krows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\nkernel built from linux-source-6.1 against ${KERNEL}, same run`);
  console.log(line(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of krows) console.log(line(r));
}

/**
 * BENCH_ARM64=1 (docs/arm64.md): the bench repo built cold for arm64 (mmdebstrap under
 * qemu-user; the package cache warmed first, as the amd64 row's is) beside the amd64 cold build,
 * and `isobuild run ISO -- true` under qemu-system-aarch64 + AAVMF beside the amd64 boot.
 */
function benchArm64(amd64Cold, amd64Boot) {
  const iso = join(work, 'bench-arm64.iso');
  isobuild('build', repo, '--arch', 'arm64', '--target', 'bootstrap', '--output', iso);
  isobuild('clean', repo);
  const cold = isobuild('build', repo, '--arch', 'arm64', '--target', 'bootstrap', '--output', iso);
  const boot = isobuild('run', iso, '--timeout', '900', '--', 'true').seconds;
  const arows = [];
  const arow = (what, amd64, arm64) => arows.push([what, fmtS(amd64), fmtS(arm64), ratio(arm64, amd64)]);
  arow('cold build (packages cached, stages not)', amd64Cold, cold.seconds);
  arow('boot to a command (isobuild run ISO -- true)', amd64Boot, boot);
  console.log(`\n| arm64 cross build (${repo}) | amd64 | arm64 | arm64/amd64 |\n| --- | --- | --- | --- |`);
  for (const r of arows) console.log(`| ${r.join(' | ')} |`);
}
