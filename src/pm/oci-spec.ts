import { parseImageRef } from '../oci/image-ref.js';
import type { SpecPackageManager } from '../spec/package-managers.js';
import { finding, type Finding, type Rule } from '../spec/rule.js';
import { describeRepoFiles } from './rpm-spec.js';

/** packagemanager oci takes its root from exactly one image or Dockerfile, and only it does. */
export const ociSource: Rule = {
  name: 'oci-source',
  check(input) {
    const { raw } = input;
    const out: Finding[] = [];
    const given = (['image', 'dockerfile'] as const).filter((k) => raw[k] !== undefined);
    if (raw.packagemanager !== 'oci') {
      for (const k of given)
        out.push(
          finding(
            input,
            this.name,
            `/${k}`,
            `"${k}" needs packagemanager "oci" (this repo uses ${raw.packagemanager})`,
            'error',
            {
              key: true,
            },
          ),
        );
      return out;
    }
    if (given.length === 0)
      out.push(
        finding(
          input,
          this.name,
          '/packagemanager',
          'packagemanager "oci" takes the root from an image: set "image" (e.g. "oci-archive:base.tar") or "dockerfile" (e.g. "Dockerfile")',
        ),
      );
    if (given.length === 2)
      out.push(
        finding(input, this.name, '/dockerfile', 'set "image" or "dockerfile", not both', 'error', {
          key: true,
        }),
      );
    if (raw.image !== undefined && raw.dockerfile === undefined) {
      try {
        parseImageRef(raw.image, input.spec.repoDir);
      } catch (err) {
        out.push(finding(input, this.name, '/image', (err as Error).message));
      }
    }
    if (input.spec.packages.base.length)
      out.push(
        finding(
          input,
          this.name,
          '/packages/base',
          'an oci root is the image itself: install base packages in the Dockerfile and leave packages.base empty ("")',
        ),
      );
    return out;
  },
};

/** What the spec's lifecycle asks of packagemanager oci (the rest of its adapter is oci.ts). */
export const ociSpec: Omit<SpecPackageManager, 'name' | 'packageName' | 'checkScript'> = {
  // An oci root names no package sources: nothing reads a release.
  releaseFromName: () => undefined,
  resolveRelease: async () => ({ release: '', from: 'not used: an oci root' }),
  specRules: [ociSource],
  // As for the RPM managers: the repo folder's .repo files and keys (an image needs neither).
  describeSpec: (spec) => describeRepoFiles(spec),
};
