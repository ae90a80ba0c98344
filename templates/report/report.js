// The report page's script: draws the treemap and the timeline from the inlined data, and makes
// the tables searchable and sortable. Plain browser JavaScript, no module loader: the page is
// opened from file:// and must work offline. `d3` is d3-hierarchy's browser build, inlined before.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var SVG = 'http://www.w3.org/2000/svg';
  // Known owner kinds have fixed colours; a kind this page has not heard of gets the next spare one.
  var colours = { package: '#4e79a7', kernel: '#e15759', 'init-layer': '#59a14f', hook: '#f28e2b', other: '#9c9c9c' };
  var spare = ['#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f'];
  function colourOf(kind) {
    if (!colours[kind]) colours[kind] = spare[Object.keys(colours).length % spare.length];
    return colours[kind];
  }

  function svgEl(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) {
      e.setAttribute(k, attrs[k]);
    });
    if (parent) parent.appendChild(e);
    return e;
  }
  function title(e, text) {
    svgEl('title', {}, e).textContent = text;
  }
  function bytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
  }

  // --- contents: filter and sort the SBOM table ---
  var table = document.getElementById('packages');
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var filter = document.getElementById('package-filter');
  var count = document.getElementById('package-count');
  function showPackages(match) {
    var shown = 0;
    rows.forEach(function (r) {
      var on = match(r.getAttribute('data-package'));
      r.hidden = !on;
      if (on) shown++;
    });
    count.textContent = shown + ' of ' + rows.length + ' packages';
  }
  function filterPackages(text, exact) {
    filter.value = text;
    var t = text.toLowerCase();
    showPackages(function (name) {
      return exact ? name === text : name.toLowerCase().indexOf(t) >= 0;
    });
  }
  filter.addEventListener('input', function () {
    filterPackages(filter.value, false);
  });
  document.getElementById('package-filter-clear').addEventListener('click', function () {
    filterPackages('', false);
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    th.classList.add('sort');
    th.addEventListener('click', function () {
      var numeric = th.getAttribute('data-sort') === 'number';
      var down = th.getAttribute('aria-sort') !== 'descending';
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
        c.removeAttribute('aria-sort');
      });
      th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
      var key = function (r) {
        var cell = r.cells[col];
        return numeric ? Number(cell.getAttribute('data-value')) : cell.textContent;
      };
      rows.sort(function (a, b) {
        var x = key(a);
        var y = key(b);
        var c = x < y ? -1 : x > y ? 1 : 0;
        return down ? -c : c;
      });
      rows.forEach(function (r) {
        table.tBodies[0].appendChild(r);
      });
    });
  });

  // --- size: the biggest contributors, every owner searchable ---
  var owners = data.tree.children || [];
  var contributors = document.getElementById('contributors').tBodies[0];
  function listContributors(text) {
    var t = text.toLowerCase();
    contributors.textContent = '';
    owners
      .filter(function (n) {
        return t ? n.name.toLowerCase().indexOf(t) >= 0 : n.size > 0;
      })
      .slice(0, t ? owners.length : 50)
      .forEach(function (n) {
        var tr = contributors.insertRow();
        tr.setAttribute('data-name', n.name);
        var kind = n.owner ? n.owner.kind : 'other';
        var cell = tr.insertCell();
        var sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.background = colourOf(kind);
        cell.appendChild(sw);
        cell.appendChild(document.createTextNode(n.name));
        tr.insertCell().textContent = kind;
        var size = tr.insertCell();
        size.className = 'num';
        size.textContent = bytes(n.size);
        var share = tr.insertCell();
        share.className = 'num';
        share.textContent = data.tree.size ? ((100 * n.size) / data.tree.size).toFixed(1) + '%' : '-';
      });
  }
  document.getElementById('contributor-search').addEventListener('input', function (e) {
    listContributors(e.target.value);
  });
  listContributors('');

  // --- size: the treemap, one group per owner (package, kernel, init layer, hook, other) ---
  function drawTreemap() {
    var box = document.getElementById('treemap');
    var width = Math.max(box.clientWidth, 600);
    var height = 560;
    var root = d3
      .hierarchy(data.tree, function (d) {
        return d.children;
      })
      .sum(function (d) {
        return d.children && d.children.length ? 0 : d.size;
      })
      .sort(function (a, b) {
        return b.value - a.value;
      });
    d3
      .treemap()
      .size([width, height])
      .paddingTop(function (d) {
        return d.depth === 1 ? 13 : 1;
      })
      .paddingInner(1)
      .paddingOuter(1)(root);
    var svg = svgEl('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, role: 'img' });
    svg.setAttribute('aria-label', 'treemap of the root by owner');
    var path = document.getElementById('treemap-path');
    (root.children || []).forEach(function (top) {
      var owner = top.data.owner || { kind: 'other', name: top.data.name };
      var g = svgEl('g', { class: 'owner', 'data-owner-kind': owner.kind, 'data-owner': owner.name }, svg);
      var pkg = top.data.package;
      if (pkg) g.setAttribute('data-package', pkg);
      if (top.data.diff) g.setAttribute('data-diff', top.data.diff);
      var fill = colourOf(owner.kind);
      top.each(function (n) {
        var w = n.x1 - n.x0;
        var h = n.y1 - n.y0;
        if (n !== top && w * h < 4) return;
        var r = svgEl(
          'rect',
          { x: n.x0, y: n.y0, width: Math.max(w, 0), height: Math.max(h, 0), fill: fill, class: n === top ? 'top' : n.children ? 'folder' : 'file' },
          g,
        );
        if (n.data.diff) r.setAttribute('data-diff', n.data.diff);
        var names = n.ancestors().reverse().slice(1).map(function (a) {
          return a.data.name;
        });
        title(r, names.join(' / ') + ': ' + bytes(n.value));
      });
      var w = top.x1 - top.x0;
      if (w > 40) {
        var label = svgEl('text', { x: top.x0 + 3, y: top.y0 + 10, class: 'label' }, g);
        label.textContent = top.data.name + ' ' + bytes(top.value);
        var clip = svgEl('clipPath', { id: 'clip-' + top.x0.toFixed(0) + '-' + top.y0.toFixed(0) }, svg);
        svgEl('rect', { x: top.x0, y: top.y0, width: w, height: 13 }, clip);
        label.setAttribute('clip-path', 'url(#' + clip.id + ')');
      }
      g.addEventListener('click', function (e) {
        var t = e.target.querySelector ? e.target.querySelector('title') : null;
        path.textContent = t ? t.textContent : owner.name;
        if (pkg) {
          filterPackages(pkg, true);
          document.getElementById('contents').scrollIntoView({ block: 'nearest' });
        }
      });
    });
    box.appendChild(svg);
    var legend = document.getElementById('legend');
    var kinds = {};
    owners.forEach(function (n) {
      kinds[n.owner ? n.owner.kind : 'other'] = true;
    });
    Object.keys(kinds).forEach(function (kind) {
      var sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = colourOf(kind);
      legend.appendChild(sw);
      legend.appendChild(document.createTextNode(kind + ' '));
    });
    if (data.diff) legend.appendChild(document.createTextNode('· outlined: added (green) or changed (amber) since ' + data.diff.against.name));
  }

  // --- time: stages end to end as this build ran them, the commands of built ones inside ---
  function drawTimeline() {
    var box = document.getElementById('timeline');
    var width = Math.max(box.clientWidth, 600);
    var lanes = 4;
    var laneH = 6;
    var rowH = 18 + lanes * (laneH + 1) + 6;
    var labelW = 90;
    var total = data.stages.reduce(function (n, s) {
      return n + Math.max(s.seconds, 0.05);
    }, 0);
    var scale = (width - labelW - 10) / (total || 1);
    var svg = svgEl('svg', { width: width, height: data.stages.length * rowH + 20, role: 'img' }, box);
    svg.setAttribute('aria-label', 'timeline of the build stages');
    var x = labelW;
    data.stages.forEach(function (s, i) {
      var y = i * rowH;
      var g = svgEl('g', { class: 'stage status-' + s.status, 'data-stage': s.stage }, svg);
      svgEl('text', { x: 0, y: y + 13, class: 'label' }, g).textContent = s.stage;
      var cached = s.status === 'hit' || s.status === 'pulled';
      var w = Math.max(s.seconds * scale, 2);
      var bar = svgEl('rect', { x: x, y: y + 2, width: w, height: 14, class: cached ? 'cached' : 'built' }, g);
      title(
        bar,
        s.stage + ': ' + (cached ? 'cached (' + s.status + ')' : s.status) + ', ' + s.seconds.toFixed(1) + ' s' +
          (s.builtSeconds !== undefined ? '; built in ' + s.builtSeconds.toFixed(1) + ' s' : ''),
      );
      svgEl('text', { x: x + w + 4, y: y + 13, class: 'note' }, g).textContent = cached
        ? 'cached' + (s.builtSeconds !== undefined ? ' (built in ' + s.builtSeconds.toFixed(1) + ' s)' : '')
        : s.seconds.toFixed(1) + ' s';
      if (!cached) {
        // Commands of this stage packed into a few lanes, longest first: overlapping ones (run beside each other) get their own lane.
        var ends = [];
        s.commands
          .slice()
          .sort(function (a, b) {
            return b.seconds - a.seconds;
          })
          .slice(0, 60)
          .forEach(function (c) {
            var lane = 0;
            while (lane < lanes && ends[lane] !== undefined && ends[lane].some(function (e) {
              return c.start < e[1] && c.start + c.seconds > e[0];
            })) lane++;
            if (lane >= lanes) return;
            (ends[lane] = ends[lane] || []).push([c.start, c.start + c.seconds]);
            var r = svgEl('rect', {
              x: x + c.start * scale,
              y: y + 18 + lane * (laneH + 1),
              width: Math.max(c.seconds * scale, 1),
              height: laneH,
              class: 'command',
            }, g);
            title(r, c.command.slice(0, 200) + ': ' + c.seconds.toFixed(2) + ' s, exit ' + c.exit);
          });
      }
      x += Math.max(s.seconds, 0.05) * scale;
    });
  }

  drawTreemap();
  drawTimeline();
})();
