import { IsobuildError } from '../errors.js';

/** A registry that cannot be reached, refuses a request or answers nonsense. */
export class RegistryError extends IsobuildError {
  constructor(
    message: string,
    readonly details: { url: string; status?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

/** Content whose sha256 is not the digest it was asked for: never used. */
export class DigestMismatchError extends IsobuildError {
  constructor(
    readonly url: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${url}: content digest is ${actual}, expected ${expected}; refused`);
    this.name = 'DigestMismatchError';
  }
}
