import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import { sha256 } from '../fs/hash.js';
import type { Manifest } from './manifest.js';
import { packageUrl } from './package-url.js';

function property(name: string, value: string | undefined): Models.Property[] {
  return value ? [new Models.Property(`isobuild:${name}`, value)] : [];
}

function withSha256(c: Models.Component, digest: string | undefined): Models.Component {
  if (digest) c.hashes.set(Enums.HashAlgorithm['SHA-256'], digest);
  return c;
}

function outputComponent(m: Manifest): Models.Component {
  const out = new Models.Component(Enums.ComponentType.OperatingSystem, m.output.name, {
    bomRef: `output:${m.output.name}`,
    version: `${m.repo} ${m.target}`,
    description: `isobuild ${m.format} output of repo ${m.repo}, target ${m.target}`,
  });
  withSha256(out, m.output.sha256);
  for (const f of m.output.files ?? [])
    out.components.add(
      withSha256(
        new Models.Component(Enums.ComponentType.File, f.name, {
          bomRef: `output:${m.output.name}/${f.name}`,
        }),
        f.sha256,
      ),
    );
  return out;
}

/** The same manifest always gives the same SBOM bytes, serial number included. */
export function makeSbom(m: Manifest, purlType: 'deb' | 'rpm'): string {
  const bom = new Models.Bom();
  bom.metadata.timestamp = new Date(m.sourceDateEpoch * 1000);
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, 'isobuild', {
      version: m.generator.replace(/^isobuild /, ''),
    }),
  );
  bom.metadata.component = outputComponent(m);
  for (const p of m.packages) {
    const purl = packageUrl(purlType, m, p);
    const c = new Models.Component(Enums.ComponentType.Library, p.name, {
      version: p.version,
      bomRef: purl.toString(),
      purl: purl.toString(),
    });
    for (const prop of [...property('source-package', p.source), ...property('origin', p.origin)])
      c.properties.add(prop);
    bom.components.add(withSha256(c, p.sha256));
  }
  if (m.kernel) {
    const c = new Models.Component(Enums.ComponentType.OperatingSystem, 'linux', {
      version: m.kernel.version,
      bomRef: `kernel:${m.kernel.version}`,
      description: 'the kernel the output boots (vmlinuz)',
    });
    c.properties.add(new Models.Property('isobuild:role', 'kernel'));
    bom.components.add(withSha256(c, m.kernel.sha256));
  }
  for (const f of m.isobuildFiles) {
    const c = new Models.Component(Enums.ComponentType.File, f.path, {
      bomRef: `isobuild-file:${f.path}`,
      description: f.type === 'link' ? `link to ${f.target}` : 'added by isobuild (init layer)',
    });
    c.properties.add(new Models.Property('isobuild:role', 'init-layer'));
    bom.components.add(withSha256(c, f.sha256));
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const unsigned = serializer.serialize(bom, { sortLists: true, space: 2 });
  // The serial is a UUID derived from the content (RFC 4122 version 5 bits), not a random one.
  const h = sha256().update(unsigned).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  bom.serialNumber = `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return serializer.serialize(bom, { sortLists: true, space: 2 }) + '\n';
}
