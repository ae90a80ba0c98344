import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../fs/disk-space.js';
import { escapeXml as esc } from '../image/ova-descriptor.js';
import type { BudgetRow, ReportData, SizeNode, StageSpan } from './types.js';

const PAGE_DIR = fileURLToPath(new URL('../../templates/report/', import.meta.url));

/**
 * d3-hierarchy's browser build (UMD: it sets `window.d3`), read from node_modules and inlined:
 * the page works from file:// with no network. Its package exports only `umd` and `default`
 * conditions, so the file is found beside the module `require` resolves.
 */
function d3Hierarchy(): string {
  const main = createRequire(import.meta.url).resolve('d3-hierarchy');
  return readFileSync(join(dirname(main), '..', 'dist', 'd3-hierarchy.min.js'), 'utf8');
}

/** Text for inside a <script> element: `</script` or `<!--` in it would end or confuse the element. */
function scriptText(text: string): string {
  return text.replace(/<(\/script|!--)/gi, '\\u003c$1');
}

const seconds = (s: number) => `${s.toFixed(1)} s`;
const percent = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(1)}%` : '-');

function summary(d: ReportData): string {
  const rows: [string, string][] = [
    ['output', `${d.output.name} (${d.output.format}, ${formatBytes(d.output.size)})`],
    ['sha256', d.output.sha256],
    ['repo, target', `${d.repo}, ${d.target}`],
    ['distribution', d.distro],
    ...(d.kernel ? ([['kernel', d.kernel]] as [string, string][]) : []),
    ['packages', String(d.packages.length)],
    ['root', `${d.rootFiles} files, ${formatBytes(d.rootSize)}`],
    ['build time', seconds(d.stages.reduce((n, s) => n + s.seconds, 0))],
    ['made by', d.generator],
  ];
  return `<dl class="summary">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

function budgetValue(b: BudgetRow, n: number): string {
  return b.unit === 'bytes' ? formatBytes(n) : seconds(n);
}

function budgets(rows: readonly BudgetRow[] | undefined): string {
  if (!rows?.length) return '';
  const body = rows
    .map((b) => {
      const over = b.actual > b.limit;
      return `<tr class="${over ? 'over' : 'within'}"><td>${esc(b.what)}</td><td>${budgetValue(b, b.limit)}</td><td>${budgetValue(b, b.actual)}</td><td>${over ? `over by ${budgetValue(b, b.actual - b.limit)}` : 'within'}</td></tr>`;
    })
    .join('');
  return `<section id="budgets"><h2>Budgets</h2><table><thead><tr><th>what</th><th>limit</th><th>actual</th><th></th></tr></thead><tbody>${body}</tbody></table></section>`;
}

function diffSection(d: ReportData): string {
  const x = d.diff;
  if (!x) return '';
  const list = (sign: string, cls: string, items: readonly string[]) =>
    items.map((i) => `<li class="${cls}">${sign} ${esc(i)}</li>`).join('');
  const p = x.packages;
  const delta = x.files.sizeDelta;
  return `<section id="diff"><h2>Against ${esc(x.against.name)} (${esc(x.against.repo)})</h2>
<p>packages: ${p.added.length} added, ${p.removed.length} removed, ${p.changed.length} changed</p>
<ul class="diff-list">${list('+', 'added', p.added)}${list('-', 'removed', p.removed)}${list('~', 'changed', p.changed)}</ul>
<p>root files: ${x.files.added} added, ${x.files.removed} removed, ${x.files.changed} changed; ${delta >= 0 ? '+' : '-'}${formatBytes(Math.abs(delta))}</p>
<p class="stages-verdict">${esc(x.stages)}</p></section>`;
}

function contributors(d: ReportData): string {
  const top = (d.tree.children ?? []).filter((n) => n.size > 0).slice(0, 50);
  const rows = top
    .map(
      (n: SizeNode) =>
        `<tr data-name="${esc(n.name)}"><td><span class="swatch kind-${esc(n.owner?.kind ?? 'other')}"></span>${esc(n.name)}</td><td>${esc(n.owner?.kind ?? '')}</td><td class="num" data-value="${n.size}">${formatBytes(n.size)}</td><td class="num">${percent(n.size, d.tree.size)}</td></tr>`,
    )
    .join('');
  return `<h3>Biggest contributors</h3><input id="contributor-search" type="search" placeholder="search owners" aria-label="search owners">
<table id="contributors"><thead><tr><th>owner</th><th>kind</th><th>size</th><th>share</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function stageRow(s: StageSpan): string {
  const cached = s.status === 'hit' || s.status === 'pulled';
  const commands = [...s.commands].sort((a, b) => b.seconds - a.seconds).slice(0, 20);
  const detail = commands.length
    ? `<details><summary>${s.commands.length} command${s.commands.length === 1 ? '' : 's'}</summary><ol>${commands
        .map((c) => `<li>${seconds(c.seconds)} <code>${esc(c.command.slice(0, 300))}</code></li>`)
        .join('')}</ol></details>`
    : '';
  return `<tr class="status-${s.status}"><td>${esc(s.stage)}</td><td>${cached ? `cached (${s.status})` : esc(s.status)}</td><td class="num">${seconds(s.seconds)}</td><td class="num">${s.builtSeconds === undefined ? '-' : seconds(s.builtSeconds)}</td><td>${detail}</td></tr>`;
}

function timeSection(d: ReportData): string {
  return `<section id="time"><h2>Time</h2><div id="timeline" class="chart"></div>
<table id="stages"><thead><tr><th>stage</th><th>this build</th><th>seconds</th><th>its log, when built</th><th>commands (slowest first)</th></tr></thead><tbody>${d.stages.map(stageRow).join('')}</tbody></table></section>`;
}

function contentsSection(d: ReportData): string {
  const rows = d.packages
    .map(
      (p) =>
        `<tr data-package="${esc(p.name)}"${p.diff ? ` class="${p.diff}"` : ''}><td>${esc(p.name)}</td><td>${esc(p.version)}</td><td>${esc(p.licences.join(', ') || '-')}</td><td class="num" data-value="${p.size}">${formatBytes(p.size)}</td><td class="num" data-value="${p.files}">${p.files}</td></tr>`,
    )
    .join('');
  return `<section id="contents"><h2>Contents (SBOM)</h2>
<p><input id="package-filter" type="search" placeholder="filter packages" aria-label="filter packages"> <button id="package-filter-clear" type="button">show all</button> <span id="package-count">${d.packages.length} packages</span></p>
<table id="packages" class="sortable"><thead><tr><th data-sort="text">name</th><th data-sort="text">version</th><th data-sort="text">licence</th><th data-sort="number">size</th><th data-sort="number">files</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/** The whole report: one HTML file, styles, script, library and data inlined. */
export function renderReportHtml(d: ReportData): string {
  const css = readFileSync(join(PAGE_DIR, 'report.css'), 'utf8');
  const script = readFileSync(join(PAGE_DIR, 'report.js'), 'utf8');
  const notes = d.notes.length
    ? `<ul class="notes">${d.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(d.title)}</title>
<style>${css}</style></head>
<body>
<header><h1>${esc(d.title)}</h1>${summary(d)}${notes}
<noscript><p>The treemap and the timeline need JavaScript; every table below is complete without it.</p></noscript></header>
${budgets(d.budgets)}${diffSection(d)}
<section id="size"><h2>Size</h2><p class="legend" id="legend"></p><div id="treemap" class="chart"></div><p id="treemap-path"></p>${contributors(d)}</section>
${timeSection(d)}
${contentsSection(d)}
<script type="application/json" id="report-data">${JSON.stringify(d).replace(/</g, '\\u003c')}</script>
<script>${scriptText(d3Hierarchy())}</script>
<script>${scriptText(script)}</script>
</body></html>
`;
}
