/**
 * The script the report runs in the browser on load: it reads the embedded JSON and draws the
 * four charts with Observable Plot (global `Plot`, with `d3`). Plain ES2017, no template literals,
 * so that it can live in a String.raw here. When done it sets body[data-charts-drawn] to the
 * number of charts drawn; a chart that fails shows its error in place.
 */
export const CLIENT_JS = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('hs-data').textContent);
  var strategies = data.strategies.map(function (s) { return s.name; });
  var workloadOrder = data.workloads.map(function (w) { return w.name; });
  var runs = data.run.filter(function (r) { return !r.error; });
  var drawn = 0;
  var fmt = d3.format(',.3~s');
  var fmtNum = d3.format(',.4~r');
  var VERDICT = ['clean exhaustive', 'clean bounded', 'violation'];
  var VERDICT_COLOR = ['#1a7f37', '#9ad29a', '#cf222e'];

  function uniq(xs) {
    var out = [];
    xs.forEach(function (x) { if (out.indexOf(x) < 0) out.push(x); });
    return out;
  }
  function ordered(names, order) {
    return order.filter(function (n) { return names.indexOf(n) >= 0; }).concat(names.filter(function (n) { return order.indexOf(n) < 0; }));
  }
  function put(id, make) {
    var el = document.getElementById(id);
    if (!el) return;
    try {
      var width = Math.max(480, Math.min(1100, el.clientWidth || 900));
      var node = make(width);
      if (!node) {
        el.textContent = 'No data for this chart.';
        el.setAttribute('data-empty', 'true');
        return;
      }
      el.replaceChildren(node);
      el.setAttribute('data-drawn', 'true');
      drawn++;
    } catch (e) {
      el.textContent = 'Chart failed: ' + (e && e.message ? e.message : String(e));
      el.setAttribute('data-error', 'true');
    }
  }

  /** Bars per strategy, one facet per perf workload. */
  function bars(field, label, format) {
    return function (width) {
      if (runs.length === 0) return null;
      var ws = ordered(uniq(runs.map(function (r) { return r.workload; })), workloadOrder);
      var ss = ordered(uniq(runs.map(function (r) { return r.strategy; })), strategies);
      return Plot.plot({
        width: width,
        height: 340,
        marginTop: 30,
        marginLeft: 70,
        marginBottom: 50,
        fx: { label: null, domain: ws, padding: 0.12 },
        x: { axis: null, domain: ss, padding: 0.15 },
        y: { label: label, grid: true, tickFormat: '~s' },
        color: { domain: ss, scheme: 'tableau10', legend: true },
        marks: [
          Plot.barY(runs, {
            fx: 'workload', x: 'strategy', y: field, fill: 'strategy',
            title: function (d) { return d.strategy + ' / ' + d.workload + ': ' + format(d[field]) + ' ' + label; }
          }),
          Plot.text(runs, {
            fx: 'workload', x: 'strategy', y: field, dy: -6, lineAnchor: 'bottom', fontSize: 10,
            text: function (d) { return format(d[field]); }
          }),
          Plot.ruleY([0]),
          Plot.axisFx({ anchor: 'bottom', label: null, lineWidth: 14 })
        ]
      });
    };
  }

  put('chart-throughput', bars('faultsPerSec', 'faults/s', fmt));
  put('chart-wait', bars('waitTimeMs', 'wait time (ms)', fmtNum));

  put('chart-latency', function (width) {
    if (runs.length === 0) return null;
    var ws = ordered(uniq(runs.map(function (r) { return r.workload; })), workloadOrder);
    var ss = ordered(uniq(runs.map(function (r) { return r.strategy; })), strategies);
    var pts = [];
    runs.forEach(function (r) {
      ['p50', 'p99', 'max'].forEach(function (stat) {
        pts.push({ strategy: r.strategy, workload: r.workload, stat: stat, value: r.faultLatencyUs[stat] });
      });
    });
    var positive = pts.every(function (p) { return p.value > 0; });
    var lo = d3.min(pts, function (p) { return p.value; });
    var hi = d3.max(pts, function (p) { return p.value; });
    var log = positive && hi / lo >= 50;
    return Plot.plot({
      width: width,
      height: 60 + ws.length * (ss.length * 28 + 30),
      marginLeft: 110,
      marginRight: 120,
      x: { type: log ? 'log' : 'linear', label: 'fault latency (µs)' + (log ? ', log scale' : ''), grid: true, nice: true },
      y: { label: null, domain: ss },
      fy: { label: null, domain: ws },
      color: { domain: ['p50', 'p99', 'max'], range: ['#0969da', '#bf8700', '#cf222e'] },
      symbol: { domain: ['p50', 'p99', 'max'], range: ['circle', 'diamond', 'triangle'], legend: true },
      marks: [
        Plot.frame({ stroke: '#ddd' }),
        Plot.ruleY(runs, {
          fy: 'workload', y: 'strategy', stroke: '#999',
          x1: function (d) { return d.faultLatencyUs.p50; },
          x2: function (d) { return d.faultLatencyUs.max; }
        }),
        Plot.dot(pts, {
          fy: 'workload', y: 'strategy', x: 'value', fill: 'stat', symbol: 'stat', r: 5,
          title: function (d) { return d.strategy + ' / ' + d.workload + ' ' + d.stat + ': ' + fmtNum(d.value) + ' µs'; }
        })
      ]
    });
  });

  put('chart-verdicts', function (width) {
    var cells = [];
    var byKey = {};
    data.explore.forEach(function (e) {
      var key = e.workload + '\u0000' + e.strategy;
      var c = byKey[key];
      if (!c) {
        c = byKey[key] = { workload: e.workload, strategy: e.strategy, kinds: [], exhaustive: false, schedules: 0 };
        cells.push(c);
      }
      e.violations.forEach(function (v) { if (c.kinds.indexOf(v.kind) < 0) c.kinds.push(v.kind); });
      if (e.exhaustive) c.exhaustive = true;
      c.schedules += e.schedules;
    });
    if (cells.length === 0) return null;
    cells.forEach(function (c) {
      c.verdict = c.kinds.length > 0 ? 'violation' : c.exhaustive ? 'clean exhaustive' : 'clean bounded';
      c.label = c.kinds.length > 0 ? c.kinds.join('\n') : c.exhaustive ? 'clean\n(exhaustive)' : 'clean\n(' + d3.format(',')(c.schedules) + ' schedules)';
    });
    var ws = ordered(uniq(cells.map(function (c) { return c.workload; })), workloadOrder);
    var ss = ordered(uniq(cells.map(function (c) { return c.strategy; })), strategies);
    var longest = d3.max(ws, function (w) { return w.length; });
    var marginLeft = Math.min(260, 20 + 7 * longest);
    return Plot.plot({
      width: Math.min(width, marginLeft + 150 * ss.length + 20),
      height: 70 + 54 * ws.length,
      marginLeft: marginLeft,
      marginTop: 40,
      x: { domain: ss, axis: 'top', label: null, tickSize: 0 },
      y: { domain: ws, label: null, tickSize: 0 },
      color: { domain: VERDICT, range: VERDICT_COLOR, legend: true },
      marks: [
        Plot.cell(cells, {
          x: 'strategy', y: 'workload', fill: 'verdict', inset: 1.5, rx: 3,
          title: function (c) { return c.strategy + ' / ' + c.workload + ': ' + c.verdict + (c.kinds.length ? ' (' + c.kinds.join(', ') + ')' : ''); }
        }),
        Plot.text(cells, {
          x: 'strategy', y: 'workload', text: 'label', fontSize: 10, lineWidth: 20,
          fill: function (c) { return c.verdict === 'clean bounded' ? '#111' : '#fff'; }
        })
      ]
    });
  });

  document.body.dataset.chartsDrawn = String(drawn);
})();
`;
