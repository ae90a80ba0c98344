import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { run, type RunResult } from '../../src/exec/run.js';
import { eventsOfType } from '../helpers/json-events.js';
import { sharedStageCache } from '../helpers/test-cache.js';

/**
 * `isobuild report` in a real browser: Debian's chromium, headless, driven by puppeteer-core.
 * Two debian-12 bootstrap builds that differ by one package (`--extra-packages hello`), the
 * first with `build --report`, then `report B --against A`. Screenshots go to
 * $ISOBUILD_SCREENSHOTS (default test-results/report-screenshots/, ignored by git).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.ISOBUILD_SCREENSHOTS ?? join(ROOT, 'test-results', 'report-screenshots');
const ADDED = 'hello';

let dir: string;
let browser: Browser;
let buildA: RunResult;
const isoA = () => join(dir, 'a', 'bootstrap.iso');
const isoB = () => join(dir, 'b', 'bootstrap.iso');
const againstHtml = () => join(dir, 'against.html');
const env = { ISOBUILD_CACHE: sharedStageCache(), ISOBUILD_REPOS: join(ROOT, 'repos'), NO_COLOR: '1' };
const cli = (args: string[]): Promise<RunResult> =>
  run('node', [CLI, ...args], { cwd: dir, env, timeoutMs: 1_200_000, stage: 'report test' });

/** The SBOM's packages: components with a package URL (the kernel and isobuild's files have none). */
async function sbomPackages(output: string): Promise<string[]> {
  const bom = JSON.parse(await readFile(`${output}.cdx.json`, 'utf8')) as {
    components: { name: string; purl?: string }[];
  };
  return bom.components.filter((c) => c.purl?.startsWith('pkg:')).map((c) => c.name);
}

/** A page opened from file://, with every console error, page error and non-file request kept. */
async function open(file: string, javaScript = true): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('request', (r) => {
    if (!/^(file|data):/.test(r.url())) problems.push(`request: ${r.url()}`);
  });
  await page.setJavaScriptEnabled(javaScript);
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isobuild-report-'));
  await mkdir(SHOTS, { recursive: true });
  await stat(CLI).catch(() => run('npm', ['run', 'build'], { cwd: ROOT }));
  buildA = await cli(['--json', 'build', 'debian-12', '-o', isoA(), '--report']);
  await cli(['build', 'debian-12', '--extra-packages', ADDED, '-o', isoB()]);
  await cli(['report', isoB(), '--against', isoA(), '-o', againstHtml()]);
  // Chromium refuses to start as root with its sandbox on, and the tests run as root: --no-sandbox.
  // It only opens the report files this test wrote.
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  process.stdout.write(`report screenshots: ${SHOTS}\n`);
}, 2_400_000);

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('isobuild report in headless Chromium', () => {
  test('build --report writes <output>.report.html and says so in a report event', async () => {
    const [ev] = eventsOfType(buildA.stdout, 'report');
    expect(ev).toMatchObject({ output: isoA(), file: `${isoA()}.report.html` });
    expect((await stat(`${isoA()}.report.html`)).size).toBeGreaterThan(0);
    // debian-12's budgets (initrd, iso, rootfs) are marked, each within its limit.
    const html = await readFile(`${isoA()}.report.html`, 'utf8');
    const budgets = html.slice(html.indexOf('<section id="budgets">'));
    for (const name of ['initrd', 'iso', 'rootfs'])
      expect(budgets).toMatch(new RegExp(`<tr class="within"><td>budget\\.${name}: `));
  });

  test('the page loads with no console error and no request off file://; one treemap node per SBOM package', async () => {
    const { page, problems } = await open(`${isoA()}.report.html`);
    const packages = await sbomPackages(isoA());
    const nodes = await page.$$eval('#treemap g[data-package]', (gs) =>
      gs.map((g) => g.getAttribute('data-package')),
    );
    expect(problems).toEqual([]);
    expect(packages.length).toBeGreaterThan(50);
    expect([...nodes].sort()).toEqual([...packages].sort());
    // The build that wrote it left its record: every stage has a status in the timeline.
    const statuses = await page.$$eval('#timeline g.stage', (gs) => gs.map((g) => g.getAttribute('class')));
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.filter((c) => c?.includes('status-unknown'))).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'report.png'), fullPage: true });
    await page.close();
  });

  test('clicking a package in the treemap filters the SBOM table to it', async () => {
    const { page, problems } = await open(`${isoA()}.report.html`);
    const biggest = await page.$eval('#treemap g[data-owner-kind="package"][data-package]', (g) =>
      g.getAttribute('data-package'),
    );
    await page.click(`#treemap g[data-package="${biggest}"] rect.top`);
    const shown = await page.$$eval('#packages tbody tr', (rows) =>
      rows.filter((r) => !r.hidden).map((r) => r.getAttribute('data-package')),
    );
    expect(shown).toEqual([biggest]);
    expect(await page.$eval('#package-filter', (i) => (i as unknown as { value: string }).value)).toBe(
      biggest,
    );
    await page.screenshot({ path: join(SHOTS, 'report-filtered.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  test('the summary and the SBOM table are there without JavaScript', async () => {
    const { page } = await open(`${isoA()}.report.html`, false);
    const manifest = JSON.parse(await readFile(`${isoA()}.manifest.json`, 'utf8')) as {
      output: { sha256: string };
    };
    expect(await page.$eval('dl.summary', (d) => d.textContent)).toContain(manifest.output.sha256);
    expect(await page.$$eval('#packages tbody tr', (r) => r.length)).toBe(
      (await sbomPackages(isoA())).length,
    );
    await page.close();
  });

  test('--against names the added package and marks it on the treemap', async () => {
    const { page, problems } = await open(againstHtml());
    expect(problems).toEqual([]);
    const diff = await page.$eval('#diff', (d) => d.textContent ?? '');
    expect(diff).toMatch(new RegExp(`\\+ ${ADDED} \\S+`));
    expect(diff).toContain('packages: 1 added, 0 removed, 0 changed');
    expect(diff).toContain('first stage whose inputs differ: staging');
    expect(await page.$$eval(`#treemap g[data-package="${ADDED}"][data-diff="added"]`, (g) => g.length)).toBe(
      1,
    );
    expect(await page.$$eval('#treemap g[data-package]', (g) => g.length)).toBe(
      (await sbomPackages(isoB())).length,
    );
    await page.screenshot({ path: join(SHOTS, 'against.png'), fullPage: true });
    await page.close();
  });
});
