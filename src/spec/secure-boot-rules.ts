import { signedChainProblem } from '../image/secure-boot.js';
import { keyPairProblems } from '../image/secure-boot-keys.js';
import { specPackageManager } from './package-managers.js';
import { finding, type Rule } from './rule.js';

/**
 * secure_boot "distribution" asks for a chain the distribution signed end to end: a repo
 * whose package manager has none that isobuild knows, or whose kernel is not the
 * distribution's signed one, is refused here, before any stage runs.
 */
export const secureBootChain: Rule = {
  name: 'secure-boot-chain',
  check(input) {
    if (input.spec.secureBoot !== 'distribution') return [];
    const chain = specPackageManager(input.spec.packagemanager).signedBootChain === true;
    const problem = signedChainProblem(input.spec, chain);
    return problem ? [finding(input, this.name, '/secure_boot', problem)] : [];
  },
};

/** secure_boot {key, cert}: a pair that could not sign, or would leak, is refused before any stage. */
export const secureBootKeys: Rule = {
  name: 'secure-boot-keys',
  async check(input) {
    const sb = input.spec.secureBoot;
    if (!sb || sb === 'distribution') return [];
    const problems = await keyPairProblems(sb, input.spec.repoDir);
    return problems.map((p) => finding(input, this.name, '/secure_boot', p));
  },
};
