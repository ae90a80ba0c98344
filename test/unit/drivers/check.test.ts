import { checkDriverSites, placeKernelProblems, type DriverSite } from '../../../src/drivers/check.js';
import { KernelConfigError } from '../../../src/errors.js';
import { readModuleIndex } from '../../../src/drivers/module-index.js';
import { KERNEL_FIXTURE_ROOT } from '../../helpers/cached-iso-base.js';

const site = (name: string, line: number, source: DriverSite['source'] = 'repo'): DriverSite => ({
  name,
  source,
  file: source === 'repo' ? 'r/init.sh' : 'r/repo-spec.json',
  line,
  col: 3,
  pointer: source === 'repo' ? '' : '/drivers/0',
});

describe('checkDriverSites', () => {
  it('finds modules, built-ins and aliases, and names each missing driver at its place', async () => {
    const index = await readModuleIndex(KERNEL_FIXTURE_ROOT, '6.1.0-test');
    const found = checkDriverSites({ index, from: 'the fixture' }, [
      site('virtio-blk', 2),
      site('ext4', 3),
      site('fs-nfs3', 4),
      site('virtio_blkk', 5),
      site('wireguard', 1, 'spec'),
    ]);
    expect(found).toEqual([
      {
        file: 'r/init.sh',
        line: 5,
        col: 3,
        pointer: '',
        message:
          'driver "virtio_blkk" is neither a module nor built into kernel 6.1.0-test (the fixture): did you mean "virtio_blk"?',
        rule: 'drivers-exist',
      },
      {
        file: 'r/repo-spec.json',
        line: 1,
        col: 3,
        pointer: '/drivers/0',
        message:
          'driver "wireguard" is neither a module nor built into kernel 6.1.0-test (the fixture): remove it or pick a kernel that has it',
        rule: 'drivers-exist',
      },
    ]);
  });
});

describe('placeKernelProblems', () => {
  const problem = (driver: string) => ({
    driver,
    message: `driver "${driver}": no Makefile of the kernel source builds a module of that name`,
  });

  it("puts each driver problem at init.sh's word, the spec's value or VIC's common list; keeps the stage", () => {
    const err = new KernelConfigError([
      problem('nfsv3x'),
      problem('vmw_pvscsy'),
      { ...problem('vmxnet3'), suggestion: 'remove "vmxnet3" from the drivers, or build it as a module' },
      // nf_nat stands for the common list's nf_nat_ipv4 (its 5.1 name), and init.sh asks for it too.
      problem('nf-nat'),
      problem('unknown_origin'),
      { file: 'r/extra.config', line: 2, message: 'CONFIG_NETDVE is not a Kconfig option' },
    ]).atStage('kernel');
    err.message += '\n  full log: .isobuild/logs/r/kernel.log';
    const placed = placeKernelProblems(err, [
      site('nfsv3x', 24),
      site('nf_nat', 18),
      { ...site('vmw_pvscsy', 17, 'spec'), pointer: '/drivers/1' },
    ]);
    expect(placed).toBeInstanceOf(KernelConfigError);
    expect(placed.exitCode).toBe(2);
    expect(placed.stage).toBe('kernel');
    expect(placed.problems.map((p) => [p.file, p.line, p.col, p.pointer, p.list])).toEqual([
      ['r/init.sh', 24, 3, undefined, undefined],
      ['r/repo-spec.json', 17, 3, '/drivers/1', undefined],
      [undefined, undefined, undefined, undefined, "VIC's common list (src/drivers/common.ts)"],
      ['r/init.sh', 18, 3, undefined, undefined],
      [undefined, undefined, undefined, undefined, undefined],
      ['r/extra.config', 2, undefined, undefined, undefined],
    ]);
    expect(placed.message.split('\n')).toEqual([
      'stage kernel: kernel configuration:',
      '  r/init.sh:24:3: driver "nfsv3x": no Makefile of the kernel source builds a module of that name',
      '  r/repo-spec.json:17:3 /drivers/1: driver "vmw_pvscsy": no Makefile of the kernel source builds a module of that name',
      `  VIC's common list (src/drivers/common.ts): driver "vmxnet3": no Makefile of the kernel source builds a module of that name (set "common_drivers": false to leave the list out, or build the kernel from a config where it can be =y)`,
      '  r/init.sh:18:3: driver "nf-nat": no Makefile of the kernel source builds a module of that name',
      '  driver "unknown_origin": no Makefile of the kernel source builds a module of that name',
      '  r/extra.config:2: CONFIG_NETDVE is not a Kconfig option',
      '  full log: .isobuild/logs/r/kernel.log',
    ]);
  });
});
