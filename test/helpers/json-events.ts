import Ajv2020 from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** schemas/events.schema.json: the --json contract every command's output is checked against. */
const schema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../schemas/events.schema.json', import.meta.url)), 'utf8'),
) as object;
const validate = new Ajv2020.default({ allErrors: true, strict: true, discriminator: true }).compile(schema);

export interface JsonEvent {
  type: string;
  [key: string]: unknown;
}

/**
 * Parse --json output: every line one JSON object that the event schema accepts. Throws with
 * the offending line and ajv's complaint otherwise, so a test that reads events checks the contract.
 */
export function parseEvents(stdout: string): JsonEvent[] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  return lines.map((line, i) => {
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      throw new Error(`stdout line ${i + 1} is not JSON: ${line}`);
    }
    if (!validate(ev))
      throw new Error(
        `stdout line ${i + 1} breaks schemas/events.schema.json: ${JSON.stringify(validate.errors)}\n${line}`,
      );
    return ev as JsonEvent;
  });
}

export function eventsOfType(stdout: string, type: string): JsonEvent[] {
  return parseEvents(stdout).filter((e) => e.type === type);
}
