import { checkOutputFormats, OUTPUT_FORMATS, OUTPUT_WRITERS } from '../../../src/image/outputs.js';
import { PIPELINE, ROOT_STAGE_NAMES } from '../../../src/pipeline/stages.js';
import { TARGET_TABLE } from '../../../src/stage/targets.js';
import { STAGE_NAMES } from '../../../src/stage/types.js';
import { checkCliBuilt, ROOT, runCli } from '../cli/run-cli.js';

/** The lists of stages and outputs are said once; these check what is derived from them. */
describe('derived lists', () => {
  test("the pipeline runs STAGE_NAMES's stages in its order, each module under its own name", () => {
    expect(PIPELINE.map((s) => s.name)).toEqual([...STAGE_NAMES]);
  });

  test('the stages that make a root are the ones that write one, in pipeline order', () => {
    expect(ROOT_STAGE_NAMES).toEqual(
      STAGE_NAMES.filter((n) => PIPELINE.find((s) => s.name === n)!.mutatesRoot),
    );
    expect(ROOT_STAGE_NAMES).toEqual(expect.arrayContaining(['iso-base', 'staging', 'tether']));
    expect(ROOT_STAGE_NAMES).not.toContain('iso');
  });

  test('export --help lists the stages that make a root', async () => {
    await checkCliBuilt();
    const res = await runCli(['export', '--help'], ROOT);
    expect(res.stdout.replace(/\s+/g, ' ')).toContain(
      `the stage whose root is exported (${ROOT_STAGE_NAMES.join(', ')})`,
    );
  });

  test("the output formats are the writers' keys: each target's outputs among them, any other refused", () => {
    expect(OUTPUT_FORMATS).toEqual(Object.keys(OUTPUT_WRITERS));
    for (const entry of Object.values(TARGET_TABLE))
      for (const output of entry.outputs) expect(OUTPUT_FORMATS).toContain(output.format);
    expect(checkOutputFormats([...OUTPUT_FORMATS])).toEqual(OUTPUT_FORMATS);
    expect(() => checkOutputFormats(['iso', 'qcow3'])).toThrow(
      `unknown output format qcow3: one of ${OUTPUT_FORMATS.join(', ')}`,
    );
  });
});
