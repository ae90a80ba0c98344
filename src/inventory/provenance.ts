import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { sha256 } from '../fs/hash.js';
import { VERSION } from '../version.js';
import type { Manifest } from './manifest.js';
import { packageUrl } from './package-url.js';
import { compareText } from './types.js';

/** What a build of isobuild means, the `buildType` of its provenance (docs/supply-chain.md says what its parameters are). */
export const BUILD_TYPE = 'https://github.com/isobuild/isobuild/blob/main/docs/supply-chain.md#build-type-v1';
export const BUILDER_ID = 'https://github.com/isobuild/isobuild/blob/main/docs/supply-chain.md#builder';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';

/** An in-toto ResourceDescriptor: at least one of uri and digest. */
export interface ResourceDescriptor {
  readonly name?: string;
  readonly uri?: string;
  readonly digest?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ProvenanceStatement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly ResourceDescriptor[];
  readonly predicateType: typeof PREDICATE_TYPE;
  readonly predicate: {
    readonly buildDefinition: {
      readonly buildType: typeof BUILD_TYPE;
      readonly externalParameters: Readonly<Record<string, unknown>>;
      readonly internalParameters: Readonly<Record<string, unknown>>;
      readonly resolvedDependencies: readonly ResourceDescriptor[];
    };
    readonly runDetails: {
      readonly builder: { readonly id: string; readonly version: Readonly<Record<string, string>> };
      readonly byproducts: readonly ResourceDescriptor[];
    };
  };
}

/** What the statement says beyond the manifest: the spec file, the lock, the files beside the output. */
export interface ProvenanceInputs {
  readonly manifest: Manifest;
  /** The repo's spec file (repo-spec.json); its digest is a parameter. */
  readonly specFile: string;
  /** The repo's isobuild.lock, when it has one; `locked` when the build installed its versions. */
  readonly lockFile?: string;
  readonly locked: boolean;
  readonly packagemanager: 'deb' | 'rpm';
  /** The manifest and SBOM written beside the output: byproducts. */
  readonly byproducts: readonly string[];
}

async function fileDigest(path: string): Promise<string> {
  return sha256()
    .update(await readFile(path))
    .digest('hex');
}

/** The output itself, or each file of a folder output (kernel+initrd) under the folder's name. */
function subjectsOf(m: Manifest): ResourceDescriptor[] {
  if (!m.output.files) return [{ name: m.output.name, digest: { sha256: m.output.sha256 } }];
  return m.output.files.map((f) => ({ name: `${m.output.name}/${f.name}`, digest: { sha256: f.sha256 } }));
}

/**
 * The packages (by package URL, with the package file's sha256 where the sources gave it), the
 * kernel, every input file a stage's key holds (hooks, sources lists, keys, a kernel source
 * tree: isobuild's hashPath digest, which covers names, modes and contents) and the host tools'
 * versions. Sorted, so the same build gives the same list.
 */
function dependenciesOf(m: Manifest, purlType: 'deb' | 'rpm'): ResourceDescriptor[] {
  const packages = m.packages.map((p) => ({
    name: p.name,
    uri: packageUrl(purlType, m, p).toString(),
    ...(p.sha256 ? { digest: { sha256: p.sha256 } } : {}),
    annotations: { role: 'package', ...(p.origin ? { origin: p.origin } : {}) },
  }));
  const kernel = m.kernel
    ? [
        {
          name: 'vmlinuz',
          uri: `isobuild:kernel/${m.kernel.version}`,
          digest: { sha256: m.kernel.sha256 },
          annotations: { role: 'kernel' },
        },
      ]
    : [];
  const files = new Map<string, ResourceDescriptor>();
  for (const s of m.stages)
    for (const [label, digest] of Object.entries(s.files))
      files.set(`${label} ${digest}`, {
        name: label,
        uri: `isobuild:input/${s.name}/${label}`,
        digest: { 'isobuild-hashpath-sha256': digest },
        annotations: { role: 'input-file', stage: s.name },
      });
  const tools = new Set(m.stages.flatMap((s) => s.toolVersions));
  const toolDeps = [...tools].sort(compareText).map((t) => {
    const [tool, ...version] = t.split(': ');
    return {
      name: tool!,
      uri: `isobuild:tool/${tool}`,
      annotations: { role: 'tool', version: version.join(': ') },
    };
  });
  const byUri = (a: ResourceDescriptor, b: ResourceDescriptor) => compareText(a.uri ?? '', b.uri ?? '');
  return [...packages.sort(byUri), ...kernel, ...[...files.values()].sort(byUri), ...toolDeps];
}

/**
 * `<output>.intoto.json`: an in-toto Statement v1 with a SLSA Provenance v1 predicate. Nothing in
 * it depends on when or where the build ran (no clock but SOURCE_DATE_EPOCH, no host name, no
 * absolute path), so two builds of the same inputs give the same bytes.
 */
export async function makeProvenance(i: ProvenanceInputs): Promise<ProvenanceStatement> {
  const m = i.manifest;
  const lock = i.lockFile ? await fileDigest(i.lockFile).catch(() => undefined) : undefined;
  const byproducts = await Promise.all(
    i.byproducts.map(async (p) => ({ name: basename(p), digest: { sha256: await fileDigest(p) } })),
  );
  return {
    _type: STATEMENT_TYPE,
    subject: subjectsOf(m),
    predicateType: PREDICATE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          repo: m.repo,
          repoSpec: { name: basename(i.specFile), digest: { sha256: await fileDigest(i.specFile) } },
          target: m.target,
          format: m.format,
          isobuildVersion: VERSION,
          lock: lock ? { name: 'isobuild.lock', digest: { sha256: lock }, locked: i.locked } : null,
        },
        internalParameters: {
          sourceDateEpoch: m.sourceDateEpoch,
          packagemanager: m.packagemanager,
          stages: m.stages.map((s) => ({ name: s.name, key: s.key })),
        },
        resolvedDependencies: dependenciesOf(m, i.packagemanager),
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: { isobuild: VERSION } },
        byproducts,
      },
    },
  };
}
