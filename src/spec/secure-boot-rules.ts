import { signedChainProblem } from '../image/secure-boot.js';
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
    const problem = signedChainProblem(input.spec);
    return problem ? [finding(input, this.name, '/secure_boot', problem)] : [];
  },
};
