import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import type { Manifest } from '../../../src/inventory/manifest.js';
import { makeSbom } from '../../../src/inventory/sbom.js';
import { packageUrl } from '../../../src/inventory/package-url.js';

const manifest = (over: Partial<Manifest> = {}): Manifest => ({
  manifestVersion: 1,
  generator: 'isobuild 0.1.0',
  repo: 'debian-12',
  target: 'bootstrap',
  format: 'iso',
  packagemanager: 'apt',
  distro: { id: 'debian', versionId: '12' },
  sourceDateEpoch: 1700000000,
  output: { name: 'bootstrap-debian-12.iso', size: 1, sha256: 'a'.repeat(64) },
  kernel: { version: '6.1.0-53-cloud-amd64', sha256: 'b'.repeat(64), size: 1 },
  packages: [
    {
      name: 'bash',
      version: '5.2.15-2+b2',
      arch: 'amd64',
      source: 'bash',
      sha256: 'c'.repeat(64),
      origin: 'Debian bookworm/main',
    },
    { name: 'libc6', version: '2.36-9+deb12u4', arch: 'amd64', source: 'glibc' },
    { name: 'busybox-static', version: '1:1.35.0-4', arch: 'amd64', source: 'busybox' },
  ],
  isobuildFiles: [
    {
      path: '/usr/lib/isobuild/tether/bin/busybox',
      type: 'file',
      mode: '0755',
      size: 3,
      sha256: 'd'.repeat(64),
    },
    { path: '/init', type: 'link', mode: '0777', target: '/bin/init' },
  ],
  initrdFiles: [],
  stages: [],
  ...over,
});

describe('makeSbom', () => {
  test('is CycloneDX 1.6 by the library’s strict JSON validator', async () => {
    const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);
    expect(await validator.validate(makeSbom(manifest(), 'deb'))).toBeNull();
  });

  test('the same manifest gives the same bytes; the serial changes with the content', () => {
    const a = makeSbom(manifest(), 'deb');
    expect(makeSbom(manifest(), 'deb')).toBe(a);
    const b = makeSbom(
      manifest({ output: { name: 'bootstrap-debian-12.iso', size: 1, sha256: 'e'.repeat(64) } }),
      'deb',
    );
    const serial = (s: string) => (JSON.parse(s) as { serialNumber: string }).serialNumber;
    expect(serial(a)).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(serial(b)).not.toBe(serial(a));
    expect((JSON.parse(a) as { metadata: { timestamp: string } }).metadata.timestamp).toBe(
      '2023-11-14T22:13:20.000Z',
    );
  });

  test('lists packages with purls and digests, the kernel, isobuild’s own files and the output’s sha256', () => {
    const bom = JSON.parse(makeSbom(manifest(), 'deb')) as {
      metadata: { component: { name: string; hashes: { content: string }[] } };
      components: { name: string; version?: string; purl?: string; hashes?: { content: string }[] }[];
    };
    expect(bom.metadata.component.name).toBe('bootstrap-debian-12.iso');
    expect(bom.metadata.component.hashes[0]!.content).toBe('a'.repeat(64));
    const byName = new Map(bom.components.map((c) => [c.name, c]));
    expect(byName.get('bash')?.purl).toBe('pkg:deb/debian/bash@5.2.15-2+b2?arch=amd64&distro=debian-12');
    expect(byName.get('bash')?.hashes?.[0]?.content).toBe('c'.repeat(64));
    expect(byName.get('libc6')?.purl).toBe(
      'pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12&upstream=glibc',
    );
    expect(byName.get('linux')?.version).toBe('6.1.0-53-cloud-amd64');
    expect(byName.get('/usr/lib/isobuild/tether/bin/busybox')?.hashes?.[0]?.content).toBe('d'.repeat(64));
    const shuffled = manifest();
    expect(makeSbom({ ...shuffled, packages: [...shuffled.packages].reverse() }, 'deb')).toBe(
      makeSbom(manifest(), 'deb'),
    );
  });

  test('RPM purls carry the epoch as a qualifier, Debian purls keep it in the version', () => {
    const m = manifest({ distro: { id: 'photon', versionId: '2.0' } });
    const p = { name: 'openssl', version: '1:1.0.2-3.ph2', arch: 'x86_64', source: 'openssl' };
    expect(packageUrl('rpm', m, p).toString()).toBe(
      'pkg:rpm/photon/openssl@1.0.2-3.ph2?arch=x86_64&distro=photon-2.0&epoch=1',
    );
    expect(packageUrl('deb', manifest(), { ...p, arch: 'amd64' }).toString()).toBe(
      'pkg:deb/debian/openssl@1:1.0.2-3.ph2?arch=amd64&distro=debian-12',
    );
  });
});
