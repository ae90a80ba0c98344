import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { placeKernelProblems, type DriverSite } from '../../src/drivers/check.js';
import { COMMON_DRIVERS } from '../../src/drivers/common.js';
import { KernelConfigError } from '../../src/errors.js';
import { microvmDrivers } from '../../src/microvm/initrd.js';
import { run } from '../../src/exec/run.js';
import {
  builtinFragment,
  checkBuiltins,
  checkFragment,
  driverSymbols,
  kernelPreset,
  KERNEL_PRESETS,
  type DriverRequest,
  type DriverSymbol,
} from '../../src/kernel/kconfig/index.js';
import { EnablePlan } from '../../src/kernel/kconfig/enable.js';
import { readMakefiles } from '../../src/kernel/kconfig/makefiles.js';
import { readKconfig } from '../../src/kernel/kconfig/parse-kconfig.js';
import { makePlan } from '../../src/pipeline/plan.js';
import { defaultBuildOptions } from '../../src/pipeline/build-options.js';
import { showPath } from '../../src/spec/document.js';
import { loadRepoFolder } from '../../src/spec/load.js';
import { readDriversArray } from '../../src/spec/drivers-array.js';
import { kernelStage } from '../../src/stages/kernel.js';
import { kernelSourceTree } from '../helpers/kernel-source.js';

/**
 * The Kconfig layer over Debian 12's real Linux 6.1 source: VIC's common list and debian-12's
 * init.sh drivers map to symbols, and `make tinyconfig` + the iso preset + the built-in fragment +
 * `make olddefconfig` (the real kconfig tools, seconds, no kernel build) leaves every one of them
 * =y. The first run unpacks the source into the test cache (about a minute).
 */
const UNPACK_MS = 900_000;
const CONFIG_MS = 300_000;

const INIT_SH = new URL('../../repos/debian-12/init.sh', import.meta.url).pathname;

let src: string;
let tmp: string;
beforeAll(async () => {
  src = await kernelSourceTree();
  tmp = await mkdtemp(join(tmpdir(), 'isobuild-kconfig-'));
}, UNPACK_MS);
afterAll(() => (tmp ? rm(tmp, { recursive: true, force: true }) : undefined));

async function repoDrivers(): Promise<DriverRequest[]> {
  const parsed = readDriversArray(await readFile(INIT_SH, 'utf8'));
  expect(parsed.errors).toEqual([]);
  return parsed.drivers.map((name) => ({ name }));
}

let tiny: string | undefined;

/** `make tinyconfig` (once), the fragments merged in order, `make olddefconfig`: the resulting .config. */
async function configure(out: string, fragments: readonly string[]): Promise<string> {
  if (!tiny) {
    const dir = join(tmp, 'tinyconfig');
    await run('make', ['-s', '-C', src, `O=${dir}`, 'tinyconfig'], { stage: 'test' });
    tiny = join(dir, '.config');
  }
  await mkdir(out, { recursive: true });
  const config = join(out, '.config');
  await copyFile(tiny, config);
  await run(join(src, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', out, config, ...fragments], {
    stage: 'test',
    cwd: out,
  });
  await run('make', ['-s', '-C', src, `O=${out}`, 'olddefconfig'], { stage: 'test' });
  return config;
}

test.each(KERNEL_PRESETS)('the %s preset sets only options Linux 6.1 has', async (name) => {
  await expect(checkFragment(src, kernelPreset(name).fragment)).resolves.toBeUndefined();
});

test(
  "VIC's common list and debian-12's init.sh drivers end =y on tinyconfig + iso preset + built-in fragment",
  async () => {
    const requests: DriverRequest[] = [
      ...COMMON_DRIVERS.map(([name, ...renamed]) => ({ name, orElse: renamed })),
      ...(await repoDrivers()),
    ];
    const symbols = await driverSymbols(src, requests);
    const by = (driver: string): DriverSymbol | undefined => symbols.find((s) => s.driver === driver);
    // Renamed in 4.19 and 5.1: the common list's later names map.
    expect(symbols.map((s) => s.driver)).not.toContain('nf_nat_ipv4');
    expect(by('nf_nat')).toMatchObject({ symbol: 'NF_NAT', makefile: 'net/netfilter/Makefile' });
    expect(by('iptable_filter')).toMatchObject({ symbol: 'IP_NF_FILTER' });
    expect(by('sd_mod')).toMatchObject({ symbol: 'BLK_DEV_SD' });
    // One Makefile line builds x_tables.o and xt_tcpudp.o.
    expect(by('xt_tcpudp')).toMatchObject({ symbol: 'NETFILTER_XTABLES' });

    const fragment = join(tmp, 'builtin.config');
    await writeFile(fragment, await builtinFragment(src, symbols));
    await checkFragment(src, fragment);
    const out = join(tmp, 'iso');
    const config = await configure(out, [kernelPreset('iso').fragment, fragment]);
    expect(await checkBuiltins(src, config, symbols)).toEqual([]);
    // And the check does look: a later fragment turning PCI off leaves the PCI drivers off
    // after the real olddefconfig, each reported with the dependency.
    const noPci = join(tmp, 'no-pci.config');
    await writeFile(noPci, '# CONFIG_PCI is not set\n');
    await run(join(src, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', out, config, noPci], {
      stage: 'test',
      cwd: out,
    });
    await run('make', ['-s', '-C', src, `O=${out}`, 'olddefconfig'], { stage: 'test' });
    const problems = await checkBuiltins(src, config, symbols);
    expect(problems.find((p) => p.driver === 'vmxnet3')).toMatchObject({
      symbol: 'VMXNET3',
      value: 'n',
      unmet: 'PCI',
    });
    expect(problems.map((p) => p.driver)).not.toContain('ext4');
  },
  CONFIG_MS,
);

test(
  'the microvm preset alone builds in what a microVM root needs, with PVH, without PCI drivers or modules',
  async () => {
    const symbols = await driverSymbols(
      src,
      [...new Set([...microvmDrivers('squashfs'), ...microvmDrivers('ext4'), 'virtio_net'])].map((name) => ({
        name,
      })),
    );
    const config = await configure(join(tmp, 'microvm'), [kernelPreset('microvm').fragment]);
    expect(await checkBuiltins(src, config, symbols)).toEqual([]);
    const text = await readFile(config, 'utf8');
    expect(text).toMatch(/^CONFIG_PVH=y$/m);
    expect(text).toMatch(/^CONFIG_SERIAL_8250_CONSOLE=y$/m);
    expect(text).toMatch(/^CONFIG_RD_LZ4=y$/m);
    // PCI support for ACPI's tables only (templates/kernel/microvm.config): no PCI device driver.
    expect(text).toMatch(/^# CONFIG_VIRTIO_PCI is not set$/m);
    expect(text).not.toMatch(/^CONFIG_(ATA|SCSI|BLK_DEV_SR)=y$/m);
    expect(text).toMatch(/^# CONFIG_MODULES is not set$/m);
    expect(text).not.toMatch(/=m$/m);
  },
  CONFIG_MS,
);

test(
  "a sample of the tree's modules (every 9th tristate one the plan accepts) all end =y after olddefconfig",
  async () => {
    // The planner's guesses checked against the real kconfig on ~1,000 drivers of every kind
    // (netfilter, filesystems, crypto, sound, USB...): one built-in fragment, one olddefconfig.
    const index = await readMakefiles(src);
    const tree = await readKconfig(src);
    const sample: DriverSymbol[] = [];
    let i = 0;
    for (const [driver, rules] of index.objects) {
      const rule = rules.find((r) => r.symbol && tree.symbols.get(r.symbol)?.type === 'tristate');
      if (!rule?.symbol || sample.some((s) => s.symbol === rule.symbol) || (i++ + 3) % 9) continue;
      if (new EnablePlan(tree).enable(rule.symbol, driver)) continue;
      sample.push({ driver, symbol: rule.symbol, makefile: rule.file, line: rule.line });
    }
    expect(sample.length).toBeGreaterThan(500);
    // Two of them exclude each other (KMSAN's test needs what another one turns off): drop those.
    const fragmentText = await builtinFragment(src, sample).catch((err: unknown) => {
      if (!(err instanceof KernelConfigError)) throw err;
      const bad = new Set(err.problems.map((p) => p.symbol));
      expect(bad.size).toBeLessThan(5);
      sample.splice(0, sample.length, ...sample.filter((s) => !bad.has(s.symbol)));
      return builtinFragment(src, sample);
    });
    const fragment = join(tmp, 'sample.config');
    await writeFile(fragment, fragmentText);
    const config = await configure(join(tmp, 'sample'), [fragment]);
    expect(await checkBuiltins(src, config, sample)).toEqual([]);
  },
  CONFIG_MS,
);

/**
 * A copy of repos/debian-12 building the iso kernel with `edit` applied to its files, loaded as
 * `isobuild build` loads it: the drivers the kernel stage would build in (its inputs), and where
 * init.sh and the spec ask for each.
 */
async function debian12With(
  name: string,
  edit: (spec: Record<string, unknown>, initSh: string) => string,
): Promise<{ builtin: readonly string[]; sites: readonly DriverSite[]; specFile: string; initFile: string }> {
  const dir = join(tmp, name, 'debian-12');
  await cp(join(INIT_SH, '..'), dir, { recursive: true });
  const specFile = join(dir, 'repo-spec.json');
  const initFile = join(dir, 'init.sh');
  const spec = JSON.parse(await readFile(specFile, 'utf8')) as Record<string, unknown>;
  spec.kernel = { source: 'linux-source-6.1', config: 'iso', builtin: 'drivers' };
  await writeFile(initFile, edit(spec, await readFile(initFile, 'utf8')));
  await writeFile(specFile, JSON.stringify(spec, null, 4) + '\n');
  const loaded = await loadRepoFolder(dir);
  expect(loaded.errors).toEqual([]);
  const inputs = kernelStage.inputs(
    makePlan(loaded.spec!, 'bootstrap', defaultBuildOptions()),
  ) as unknown as {
    builtin: readonly string[];
  };
  return { builtin: inputs.builtin, sites: loaded.driverSites!, specFile, initFile };
}

/** The rejection `p` ends with, placed as the build places a kernel stage's problems. */
async function placedError(p: Promise<unknown>, sites: readonly DriverSite[]): Promise<KernelConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KernelConfigError);
  return placeKernelProblems(err as KernelConfigError, sites);
}

/** 1-based line and column where `word` first starts in `text`. */
function positionOf(text: string, word: string): string {
  const at = text.indexOf(word);
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

test("a misspelled driver of the spec fails before any build, naming it, the spec's line, column and pointer, and the module meant", async () => {
  const repo = await debian12With('misspelled', (spec, initSh) => {
    spec.drivers = ['virtio_net', 'vmw_pvscsy'];
    return initSh;
  });
  expect(repo.builtin).toContain('vmw_pvscsy');
  const err = await placedError(
    driverSymbols(
      src,
      repo.builtin.map((name) => ({ name })),
    ),
    repo.sites,
  );
  expect(err.exitCode).toBe(2);
  const at = positionOf(await readFile(repo.specFile, 'utf8'), '"vmw_pvscsy"');
  expect(err.message).toBe(
    `${showPath(repo.specFile)}:${at} /drivers/1: driver "vmw_pvscsy": no Makefile of the kernel source builds a module of that name (did you mean "vmw_pvscsi"?)`,
  );
});

test("a driver of init.sh whose dependency x86_64 can never meet fails before any build, naming init.sh's line and the dependency", async () => {
  // bcm2835-dma: the Raspberry Pi's DMA engine, `depends on ARCH_BCM2835` (an ARM platform).
  const repo = await debian12With('unmet', (_spec, initSh) =>
    initSh.replace('    "lockd"\n', '    "lockd"\n    "bcm2835-dma"\n'),
  );
  const symbols = await driverSymbols(
    src,
    repo.builtin.map((name) => ({ name })),
  );
  expect(symbols.find((s) => s.driver === 'bcm2835_dma')).toMatchObject({
    symbol: 'DMA_BCM2835',
    makefile: 'drivers/dma/Makefile',
  });
  const err = await placedError(builtinFragment(src, symbols), repo.sites);
  const at = positionOf(await readFile(repo.initFile, 'utf8'), '"bcm2835-dma"');
  expect(err.problems).toEqual([
    expect.objectContaining({ file: showPath(repo.initFile), driver: 'bcm2835_dma', symbol: 'DMA_BCM2835' }),
  ]);
  const prefix = `${showPath(repo.initFile)}:${at}: driver "bcm2835_dma": CONFIG_DMA_BCM2835 (drivers/dma/Makefile:`;
  expect(err.message.slice(0, prefix.length)).toBe(prefix);
  expect(err.message).toMatch(
    /cannot be built in: .*ARCH_BCM2835.* \(drivers\/dma\/Kconfig:\d+\) cannot be met: ARCH_BCM2835 is not defined for x86_64/,
  );
});
