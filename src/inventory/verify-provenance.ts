import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { UsageError, VerifyError } from '../errors.js';
import { digestOutput } from '../image/output-digest.js';
import { keyIdOf, readPublicKey, verifyEnvelope, type DsseEnvelope } from './dsse.js';
import { PREDICATE_TYPE, STATEMENT_TYPE, type ProvenanceStatement } from './provenance.js';
import { inventoryPaths } from './write-inventory.js';

export interface ProvenanceCheck {
  readonly output: string;
  readonly provenance: string;
  /** Each subject with the digest it names and the one the output has now. */
  readonly subjects: readonly { name: string; expected: string; actual?: string }[];
  /** signed and checked with --key; unsigned; signed, but no key was given to check it. */
  readonly signature: 'valid' | 'invalid' | 'unsigned' | 'not-checked';
  readonly keyid?: string;
}

/** The statement in `<output>.intoto.json`, and the envelope around it when it is signed. */
async function readProvenance(
  file: string,
): Promise<{ statement: ProvenanceStatement; envelope?: DsseEnvelope }> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UsageError(`no provenance at ${file} (isobuild writes it next to every output it builds)`);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new VerifyError(`${file}: not JSON (${(err as Error).message})`, {
      output: file,
      failed: ['digest'],
    });
  }
  const envelope = (parsed as Partial<DsseEnvelope>).payloadType ? (parsed as DsseEnvelope) : undefined;
  const statement = (
    envelope ? JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) : parsed
  ) as ProvenanceStatement;
  if (statement._type !== STATEMENT_TYPE || statement.predicateType !== PREDICATE_TYPE)
    throw new UsageError(`${file}: not an in-toto statement with a SLSA provenance v1 predicate`);
  return { statement, ...(envelope ? { envelope } : {}) };
}

/**
 * Checks an output against its provenance: every subject's sha256 against the output's bytes
 * now, and with `publicKey` the DSSE signature. Throws VerifyError naming what failed (the digest,
 * the signature or both), with the result as data.
 */
export async function verifyProvenance(output: string, publicKey?: string): Promise<ProvenanceCheck> {
  const file = inventoryPaths(output).provenance;
  const { statement, envelope } = await readProvenance(file);
  const digest = await digestOutput(output).catch(() => {
    throw new UsageError(`${output}: no such output`);
  });
  const now = new Map<string, string>(
    digest.files
      ? digest.files.map((f) => [`${basename(output)}/${f.name}`, f.sha256])
      : [[basename(output), digest.sha256]],
  );
  const subjects = statement.subject.map((s) => ({
    name: s.name ?? '',
    expected: s.digest?.sha256 ?? '',
    ...(now.has(s.name ?? '') ? { actual: now.get(s.name ?? '')! } : {}),
  }));
  let signature: ProvenanceCheck['signature'] = envelope ? 'not-checked' : 'unsigned';
  let keyid: string | undefined;
  if (publicKey) {
    const key = await readPublicKey(publicKey);
    keyid = keyIdOf(key);
    signature = envelope && verifyEnvelope(envelope, key, publicKey) ? 'valid' : 'invalid';
  }
  const check: ProvenanceCheck = {
    output,
    provenance: file,
    subjects,
    signature,
    ...(keyid ? { keyid } : {}),
  };
  const badSubjects = subjects.filter((s) => s.actual !== s.expected);
  const failed: ('digest' | 'signature')[] = [];
  const lines: string[] = [];
  if (badSubjects.length || !subjects.length) {
    failed.push('digest');
    lines.push(
      ...(subjects.length
        ? badSubjects
        : [{ name: basename(output), expected: '(none)', actual: undefined }]
      ).map(
        (s) =>
          `digest: ${s.name}: the provenance says sha256 ${s.expected}, the output has ${s.actual ?? 'no such file'}`,
      ),
    );
  }
  if (signature === 'invalid') {
    failed.push('signature');
    lines.push(
      envelope
        ? `signature: no signature in ${file} verifies with ${publicKey} (key ${keyid?.slice(0, 16)})`
        : `signature: ${file} is not signed (a statement, not a DSSE envelope)`,
    );
  }
  if (failed.length)
    throw new VerifyError(`${output} does not verify:\n  ${lines.join('\n  ')}`, { output, failed });
  return check;
}
