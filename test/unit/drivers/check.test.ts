import { checkDriverSites, type DriverSite } from '../../../src/drivers/check.js';
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
