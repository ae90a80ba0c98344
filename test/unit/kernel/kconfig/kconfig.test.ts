import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { KernelConfigError, UsageError } from '../../../../src/errors.js';
import {
  builtinFragment,
  checkBuiltins,
  checkFragment,
  driverSymbols,
  kernelPreset,
  KERNEL_PRESETS,
  type DriverSymbol,
} from '../../../../src/kernel/kconfig/index.js';
import { writeFixtureTree } from './fixture-tree.js';

let tmp: DirectoryResult;
let src: string;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  src = join(tmp.path, 'linux');
  await writeFixtureTree(src);
});
afterEach(() => tmp.cleanup());

const symbolsOf = async (...names: string[]): Promise<DriverSymbol[]> =>
  driverSymbols(
    src,
    names.map((name) => ({ name })),
  );

/** The thrown KernelConfigError (the test fails when nothing or something else is thrown). */
async function configError(p: Promise<unknown>): Promise<KernelConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KernelConfigError);
  return err as KernelConfigError;
}

describe('driverSymbols', () => {
  test.each([
    ['foo_pci', 'FOO_PCI', 'drivers/Makefile', 2],
    ['arm-thing', 'ARM_THING', 'drivers/Makefile', 3],
    ['user', 'USER', 'drivers/Makefile', 5],
    // The second object of a continued line: its line is where the assignment starts.
    ['other_user', 'USER', 'drivers/Makefile', 5],
    // A composite module: netdev-y lists its parts, the obj- line names the module.
    ['netdev', 'NETDEV', 'drivers/net/Makefile', 2],
    // obj-y in a folder that drivers/Makefile reaches only with CONFIG_NET.
    ['netglue', 'NET', 'drivers/net/Makefile', 5],
    // obj-y in net/, which the top Kbuild gates with CONFIG_NET.
    ['socket', 'NET', 'net/Makefile', 2],
  ])('%s is built by CONFIG_%s (%s:%d)', async (driver, symbol, makefile, line) => {
    const [s] = await symbolsOf(driver);
    expect(s).toMatchObject({ symbol, makefile, line });
    expect(s!.always).toBeUndefined();
  });

  test('an obj-y object in a folder every build reaches is always built in', async () => {
    expect(await symbolsOf('always')).toEqual([
      { driver: 'always', symbol: '', makefile: 'drivers/Makefile', line: 7, always: true },
    ]);
  });

  test('the top Makefile is not read as a kbuild file (its never.o is no module)', async () => {
    await expect(symbolsOf('never')).rejects.toThrow(/"never"/);
  });

  test('a misspelled driver names the driver, as asked for, and the nearest module', async () => {
    const err = await configError(
      driverSymbols(src, [{ name: 'netdve' }, { name: 'foo_pci' }, { name: 'zzzzzz' }]),
    );
    expect(err.exitCode).toBe(2);
    expect(err.problems).toEqual([
      expect.objectContaining({ driver: 'netdve', suggestion: 'did you mean "netdev"?' }),
      expect.objectContaining({ driver: 'zzzzzz', suggestion: undefined }),
    ]);
    expect(err.message).toContain('driver "netdve": no Makefile of the kernel source builds');
  });

  test('a part of a composite module points at the module', async () => {
    const err = await configError(symbolsOf('ring'));
    expect(err.problems[0]!.suggestion).toBe('ring.o is linked into "netdev": ask for that');
  });

  test('orElse: a renamed driver maps by the first name the tree builds', async () => {
    const [s] = await driverSymbols(src, [{ name: 'netdev_old', orElse: ['netdev'] }]);
    expect(s).toMatchObject({ driver: 'netdev', symbol: 'NETDEV' });
  });
});

describe('builtinFragment', () => {
  const lines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#   '));

  test('sets the symbol and the dependencies of its if block, menu and own depends on', async () => {
    const frag = await builtinFragment(src, await symbolsOf('foo_pci', 'netdev'));
    expect(lines(frag)).toEqual([
      expect.stringMatching(/^# Built-in drivers/),
      'CONFIG_FOO_PCI=y',
      'CONFIG_PCI=y',
      'CONFIG_NETDEV=y',
      'CONFIG_NET=y',
    ]);
    expect(frag).toContain('#   foo_pci: CONFIG_FOO_PCI (drivers/Makefile:2)');
  });

  test("a comment's depends on is not its neighbour's: netdev needs NET, not PCI", async () => {
    const frag = await builtinFragment(src, await symbolsOf('netdev'));
    expect(frag).toContain('CONFIG_NET=y');
    expect(frag).not.toContain('CONFIG_PCI');
  });

  test('an option without a prompt is turned on through the option that selects it', async () => {
    const frag = await builtinFragment(src, await symbolsOf('helper'));
    expect(lines(frag).slice(1)).toEqual(['CONFIG_USER=y']);
  });

  test('an option on by default whose prompt is hidden can be depended on (64BIT on x86_64)', async () => {
    // Written down although its default is y: it has a prompt, which some base may show.
    expect(lines(await builtinFragment(src, await symbolsOf('wide'))).slice(1)).toEqual([
      'CONFIG_WIDE=y',
      'CONFIG_64BIT=y',
    ]);
  });

  test('an option the architecture selects needs nothing (X86 selects ARCH_HELPER)', async () => {
    expect(lines(await builtinFragment(src, await symbolsOf('archy'))).slice(1)).toEqual(['CONFIG_ARCHY=y']);
  });

  test("a choice's member is set with the choice's dependencies", async () => {
    expect(lines(await builtinFragment(src, await symbolsOf('flavoured'))).slice(1)).toEqual([
      'CONFIG_FLAVOURED=y',
      'CONFIG_FLAVOUR_B=y',
      'CONFIG_NET=y',
    ]);
  });

  test('a dependency a later driver broke is planned again (vrf: V6_TABLES || V6=n, then V6 on)', async () => {
    // vrf alone: V6=n holds in the base, nothing to add.
    expect(lines(await builtinFragment(src, await symbolsOf('vrf'))).slice(1)).toEqual(['CONFIG_VRF=y']);
    // needs_v6 turns V6 on after vrf was planned: vrf then needs V6_TABLES.
    expect(
      lines(await builtinFragment(src, await symbolsOf('vrf', 'needs_v6')))
        .slice(1)
        .sort(),
    ).toEqual(['CONFIG_NEEDS_V6=y', 'CONFIG_V6=y', 'CONFIG_V6_TABLES=y', 'CONFIG_VRF=y']);
  });

  test('an option on by default behind a hidden prompt is written (tinyconfig shows it: EXPERT=y)', async () => {
    expect(lines(await builtinFragment(src, await symbolsOf('on_hidden'))).slice(1)).toEqual([
      'CONFIG_ON_HIDDEN=y',
      'CONFIG_HIDDEN_UNLESS_EXPERT=y',
    ]);
  });

  test('!X writes X as not set', async () => {
    const frag = await builtinFragment(src, await symbolsOf('nobar'));
    expect(lines(frag).slice(1)).toEqual(['CONFIG_NEEDS_NO_BAR=y', '# CONFIG_BAR is not set']);
  });

  test('A || B takes the first that can hold, or keeps one already on', async () => {
    expect(lines(await builtinFragment(src, await symbolsOf('either'))).slice(1)).toEqual([
      'CONFIG_EITHER=y',
      'CONFIG_PCI=y',
      '# CONFIG_BAR is not set',
    ]);
    // netdev turns NET on first: either's (PCI || NET) then holds without PCI.
    expect(lines(await builtinFragment(src, await symbolsOf('netdev', 'either'))).slice(1)).toEqual([
      'CONFIG_NETDEV=y',
      'CONFIG_NET=y',
      'CONFIG_EITHER=y',
      '# CONFIG_BAR is not set',
    ]);
  });

  test('a driver depending on an architecture x86_64 does not have fails, naming it', async () => {
    const err = await configError(
      builtinFragment(src, [...(await symbolsOf('netdev')), ...(await symbolsOf('arm_thing'))]),
    );
    expect(err.exitCode).toBe(2);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatchObject({
      driver: 'arm_thing',
      symbol: 'ARM_THING',
      suggestion: 'remove "arm_thing" from the drivers: it cannot be built for x86_64',
    });
    expect(err.message).toMatch(
      /driver "arm_thing": CONFIG_ARM_THING \(drivers\/Makefile:3\) cannot be built in: .*ARM is not defined for x86_64/,
    );
  });

  test('X and a driver that needs !X: the second one fails, naming X', async () => {
    const err = await configError(builtinFragment(src, await symbolsOf('bar', 'nobar')));
    expect(err.problems.map((p) => p.driver)).toEqual(['nobar']);
    expect(err.message).toMatch(
      /"!BAR" \(drivers\/Kconfig:\d+\) cannot be met: BAR must be off, but bar needs it on/,
    );
  });

  test('a module-only option cannot be built in', async () => {
    const err = await configError(builtinFragment(src, await symbolsOf('onlymod')));
    expect(err.message).toMatch(/"m" .*can only be a module/);
  });

  test('drivers always built in add nothing', async () => {
    expect(lines(await builtinFragment(src, await symbolsOf('always')))).toHaveLength(1);
  });
});

describe('checkBuiltins', () => {
  test('no problems when every requested symbol is y', async () => {
    const config = join(tmp.path, '.config');
    await writeFile(config, 'CONFIG_NET=y\nCONFIG_NETDEV=y\n');
    expect(await checkBuiltins(src, config, await symbolsOf('netdev', 'always'))).toEqual([]);
  });

  test('a symbol that olddefconfig left off names the dependency that is not met', async () => {
    const config = join(tmp.path, '.config');
    await writeFile(
      config,
      '# CONFIG_NET is not set\nCONFIG_FOO_PCI=m\nCONFIG_PCI=y\n# CONFIG_USER is not set\n',
    );
    const problems = await checkBuiltins(src, config, await symbolsOf('netdev', 'foo_pci', 'helper'));
    expect(problems).toEqual([
      expect.objectContaining({ driver: 'netdev', symbol: 'NETDEV', value: 'n', unmet: 'NET' }),
      expect.objectContaining({ driver: 'foo_pci', symbol: 'FOO_PCI', value: 'm' }),
      expect.objectContaining({ driver: 'helper', symbol: 'HELPER', value: 'n', unmet: 'USER' }),
    ]);
    expect(problems[0]!.message).toBe(
      'driver "netdev": CONFIG_NETDEV is not set after olddefconfig, not =y: it depends on "NET" (drivers/net/Kconfig:2), and NET=n',
    );
    expect(problems[1]!.message).toMatch(/=m after olddefconfig.*sets it to m/);
    expect(problems[2]!.message).toMatch(/nothing that selects it is on \(USER\)/);
  });
});

describe('checkFragment', () => {
  test('a fragment of known options passes', async () => {
    const frag = join(tmp.path, 'ok.config');
    await writeFile(frag, '# a comment\nCONFIG_NET=y\n\n# CONFIG_PCI is not set\n');
    await expect(checkFragment(src, frag)).resolves.toBeUndefined();
  });

  test('an unknown option names file:line and the nearest option', async () => {
    const frag = join(tmp.path, 'bad.config');
    await writeFile(frag, 'CONFIG_NET=y\nCONFIG_NETDVE=y\n# CONFIG_WORDS is not set\n');
    const err = await configError(checkFragment(src, frag));
    expect(err.problems).toEqual([
      expect.objectContaining({
        file: frag,
        line: 2,
        symbol: 'NETDVE',
        suggestion: 'did you mean CONFIG_NETDEV?',
      }),
      // WORDS appears only in help text: no option.
      expect.objectContaining({ file: frag, line: 3, symbol: 'WORDS' }),
    ]);
    expect(err.message).toContain(`${frag}:2: CONFIG_NETDVE is not a Kconfig option of this kernel`);
  });

  test('a line that sets nothing is an error', async () => {
    const frag = join(tmp.path, 'typo.config');
    await writeFile(frag, 'CONFIG_NET=y\nNET=y\n');
    const err = await configError(checkFragment(src, frag));
    expect(err.problems).toEqual([
      expect.objectContaining({ file: frag, line: 2, message: 'not a Kconfig line' }),
    ]);
  });
});

describe('kernelPreset', () => {
  test.each(KERNEL_PRESETS)('%s: tinyconfig plus a shipped fragment', async (name) => {
    const preset = kernelPreset(name);
    expect(preset.base).toBe('tinyconfig');
    expect(await readFile(preset.fragment, 'utf8')).toMatch(/^CONFIG_64BIT=y$/m);
  });

  test('microvm boots microVMs only (no PCI driver, no EFI stub); iso boots a PC under BIOS and UEFI', async () => {
    const microvm = kernelPreset('microvm');
    const iso = kernelPreset('iso');
    expect([microvm.machine, iso.machine]).toEqual(['microvm', 'pc']);
    expect(await readFile(microvm.fragment, 'utf8')).not.toMatch(/^CONFIG_(VIRTIO_PCI|EFI_STUB)=y$/m);
    const isoText = await readFile(iso.fragment, 'utf8');
    for (const option of ['PCI', 'EFI_STUB', 'ATA_PIIX', 'SATA_AHCI', 'BLK_DEV_SR', 'ISO9660_FS'])
      expect(isoText).toMatch(new RegExp(`^CONFIG_${option}=y$`, 'm'));
  });

  test.each(KERNEL_PRESETS)(
    '%s: lz4 bzImage, warnings-only console, no BSD ptys (the boot-time choices, docs/kernel.md)',
    async (name) => {
      const text = await readFile(kernelPreset(name).fragment, 'utf8');
      expect(text).toMatch(/^CONFIG_KERNEL_LZ4=y$/m);
      expect(text).toMatch(/^CONFIG_CONSOLE_LOGLEVEL_DEFAULT=4$/m);
      expect(text).toMatch(/^# CONFIG_LEGACY_PTYS is not set$/m);
    },
  );

  test('an unknown preset lists the presets', () => {
    expect(() => kernelPreset('microvn')).toThrow(UsageError);
    expect(() => kernelPreset('microvn')).toThrow(
      'unknown kernel preset "microvn" (did you mean "microvm"?); presets: microvm, iso',
    );
  });
});
