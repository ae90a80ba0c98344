import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { readDriversArray } from '../../src/spec/drivers-array.js';
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
  return parsed.drivers.map((name, i) => ({
    name,
    origin: { file: 'repos/debian-12/init.sh', line: parsed.positions[i]!.line },
  }));
}

/** `make tinyconfig`, the fragments merged in order, `make olddefconfig`: the resulting .config. */
async function configure(out: string, fragments: readonly string[]): Promise<string> {
  await run('make', ['-s', '-C', src, `O=${out}`, 'tinyconfig'], { stage: 'test' });
  const config = join(out, '.config');
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
      ...COMMON_DRIVERS.map(([name, ...renamed]) => ({
        name,
        orElse: renamed,
        origin: { file: 'src/drivers/common.ts', line: 1 },
      })),
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
  'the microvm preset alone builds in what a microVM root needs, with PVH, without PCI or modules',
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
    expect(text).toMatch(/^# CONFIG_PCI is not set$/m);
    expect(text).toMatch(/^# CONFIG_MODULES is not set$/m);
    expect(text).not.toMatch(/=m$/m);
  },
  CONFIG_MS,
);

test('a misspelled driver fails before any build, naming it, its place and the module meant', async () => {
  const err = await driverSymbols(src, [
    { name: 'vmxnet3' },
    { name: 'vmw_pvscsy', origin: { file: 'repos/debian-12/repo-spec.json', line: 17 } },
  ]).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KernelConfigError);
  expect((err as KernelConfigError).exitCode).toBe(2);
  expect((err as Error).message).toBe(
    'repos/debian-12/repo-spec.json:17: driver "vmw_pvscsy": no Makefile of the kernel source builds a module of that name (did you mean "vmw_pvscsi"?)',
  );
});

test('a driver whose dependency x86_64 can never meet fails before any build, naming the dependency', async () => {
  // bcm2835-dma: the Raspberry Pi's DMA engine, `depends on ARCH_BCM2835` (an ARM platform).
  const symbols = await driverSymbols(src, [
    { name: 'virtio_blk' },
    { name: 'bcm2835-dma', origin: { file: 'repos/pi/repo-spec.json', line: 5 } },
  ]);
  expect(symbols[1]).toMatchObject({
    driver: 'bcm2835_dma',
    symbol: 'DMA_BCM2835',
    makefile: 'drivers/dma/Makefile',
  });
  const err = await builtinFragment(src, symbols).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KernelConfigError);
  expect((err as KernelConfigError).problems).toEqual([
    expect.objectContaining({
      file: 'repos/pi/repo-spec.json',
      line: 5,
      driver: 'bcm2835_dma',
      symbol: 'DMA_BCM2835',
    }),
  ]);
  expect((err as Error).message).toMatch(
    /^repos\/pi\/repo-spec.json:5: driver "bcm2835_dma": CONFIG_DMA_BCM2835 \(drivers\/dma\/Makefile:\d+\) cannot be built in: .*ARCH_BCM2835.* \(drivers\/dma\/Kconfig:\d+\) cannot be met: ARCH_BCM2835 is not defined for x86_64/,
  );
});
