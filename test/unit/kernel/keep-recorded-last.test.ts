import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir as tmpDir, type DirectoryResult } from 'tmp-promise';
import { KERNEL_PINS, keepRecordedLast, makeKernelPins } from '../../../src/kernel/record-kernel-deb.js';

// dpkg rewrites its status file sorted and in its own field order: the kernel entries isobuild
// recorded go back to the end, as they were written, so a grown root matches a cold one.
let tmp: DirectoryResult;
beforeEach(async () => {
  tmp = await tmpDir({ unsafeCleanup: true });
  await mkdir(join(tmp.path, 'var/lib/dpkg'), { recursive: true });
  await mkdir(join(tmp.path, 'etc/apt/preferences.d'), { recursive: true });
  await writeFile(join(tmp.path, KERNEL_PINS), makeKernelPins(['linux-image-x']));
});
afterEach(() => tmp.cleanup());

const bash = 'Package: bash\nStatus: install ok installed\nVersion: 5.2';
const kernelAsRecorded =
  'Package: linux-image-x\nStatus: install ok installed\nVersion: 6.1\nArchitecture: amd64';
const kernelAsDpkg =
  'Package: linux-image-x\nStatus: install ok installed\nArchitecture: amd64\nVersion: 6.1';
const less = 'Package: less\nStatus: install ok installed\nVersion: 590';
const status = () => readFile(join(tmp.path, 'var/lib/dpkg/status'), 'utf8');

test('the recorded kernel entry goes back to the end, in its recorded field order', async () => {
  const before = [bash, kernelAsRecorded].join('\n\n') + '\n';
  await writeFile(join(tmp.path, 'var/lib/dpkg/status'), [bash, less, kernelAsDpkg].join('\n\n') + '\n');
  expect(await keepRecordedLast(tmp.path, before)).toBeUndefined();
  expect(await status()).toBe([bash, less, kernelAsRecorded].join('\n\n') + '\n');
});

test('a recorded entry dpkg changed is refused, not hidden', async () => {
  const before = [bash, kernelAsRecorded].join('\n\n') + '\n';
  const changed = kernelAsDpkg.replace('install ok installed', 'deinstall ok config-files');
  await writeFile(join(tmp.path, 'var/lib/dpkg/status'), [bash, changed, less].join('\n\n') + '\n');
  expect(await keepRecordedLast(tmp.path, before)).toBe(
    'dpkg changed the recorded entry of linux-image-x (kernel_install: files)',
  );
});
