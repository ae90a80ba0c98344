import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rpmCacheDir } from '../../../src/pm/rpm-cache-dir.js';
import type { PmSpec } from '../../../src/pm/types.js';

let dir: string;
let made = 0;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-rpm-cache-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const PHOTON = '[photon]\nname=Photon\nbaseurl=https://packages.invalid/photon/$releasever/x86_64\n';

async function folderOf(repoText: string, release: string, mirror?: string): Promise<string> {
  const file = join(dir, `${++made}.repo`);
  await writeFile(file, repoText);
  const spec = { packagemanager: 'tdnf', release, repoFiles: [file] } as unknown as PmSpec;
  return rpmCacheDir({ spec, pkgCacheDir: join(dir, 'package-cache'), ...(mirror ? { mirror } : {}) });
}

test('repos with the same repository definitions share one RPM folder of the package cache', async () => {
  const a = await folderOf(PHOTON, '2.0');
  expect(a).toMatch(new RegExp(`^${join(dir, 'package-cache', 'rpm')}/[0-9a-f]{16}$`));
  // Another repo's copy of the same .repo file (another path, the same text).
  expect(await folderOf(PHOTON, '2.0')).toBe(a);
});

test('the same repository id of another release, other URLs or another mirror gets a folder of its own', async () => {
  const a = await folderOf(PHOTON, '2.0');
  expect(await folderOf(PHOTON, '3.0')).not.toBe(a);
  expect(await folderOf(PHOTON.replace('photon/', 'photon-mirror/'), '2.0')).not.toBe(a);
  expect(await folderOf(PHOTON, '2.0', 'file:///srv/mirror')).not.toBe(a);
});
