// The dashboard page: renders each state snapshot the control plane pushes over /dashboard/events.
// Every value from the server is set as text, never as markup.
const SVG = 'http://www.w3.org/2000/svg';
const NODE = { width: 170, height: 44 };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    td.append(cell);
    tr.append(td);
  }
  return tr;
}

function ackLine(sidecar) {
  const line = element('div', `${sidecar.identity}: ${sidecar.ackedRevision === null ? 'nothing acknowledged' : `revision ${sidecar.ackedRevision}`}`);
  if (sidecar.lastNack !== null) line.append(element('div', `NACK ${sidecar.lastNack.code}: ${sidecar.lastNack.message}`, 'nack'));
  return line;
}

function renderTopology(state) {
  const root = document.getElementById('topology');
  const width = root.clientWidth || 900;
  const height = root.clientHeight || 350;
  // Columns by call depth (callers left, what they call to the right), rows spread evenly.
  const depth = new Map(state.workloads.map((w) => [w.key, 0]));
  for (let round = 0; round < state.workloads.length; round++) {
    for (const edge of state.edges) depth.set(edge.to, Math.max(depth.get(edge.to) ?? 0, (depth.get(edge.from) ?? 0) + 1));
  }
  const columns = Math.max(...depth.values()) + 1;
  const positions = new Map();
  for (let column = 0; column < columns; column++) {
    const members = state.workloads.filter((w) => Math.min(depth.get(w.key), columns - 1) === column);
    members.forEach((w, i) => positions.set(w.key, { x: ((column + 0.5) * width) / columns, y: ((i + 0.5) * height) / members.length }));
  }
  const defs = svg('defs', {});
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#3b5bab' }));
  defs.append(marker);
  const parts = [defs];
  for (const edge of state.edges) {
    const from = positions.get(edge.from);
    const to = positions.get(edge.to);
    const group = svg('g', { class: `edge${edge.mtls === 'DISABLE' ? ' plaintext' : ''}`, 'data-from': edge.from, 'data-to': edge.to });
    // The line stops at the callee's box edge, so the arrow head shows.
    const dx = to.x - from.x;
    const dy = to.y - from.y;
    const scale = Math.min(NODE.width / 2 / Math.abs(dx || 1), NODE.height / 2 / Math.abs(dy || 1), 1);
    group.append(svg('line', { x1: from.x, y1: from.y, x2: to.x - dx * scale, y2: to.y - dy * scale }));
    const observed = edge.observed;
    const security = observed === null ? `mTLS ${edge.mtls}` : observed.mtls ? 'mTLS' : 'plaintext seen';
    group.append(svg('text', { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 - 6 }, security));
    if (observed !== null) {
      const errors = observed.errorRate === null ? '-' : `${Math.round(observed.errorRate * 100)}%`;
      const p99 = observed.p99Ms === null ? '-' : `${observed.p99Ms} ms`;
      group.append(svg('text', { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 + 8, class: 'traffic' }, `${observed.requestsPerSecond.toFixed(1)} rps, err ${errors}, p99 ${p99}`));
    }
    parts.push(group);
  }
  for (const workload of state.workloads) {
    const { x, y } = positions.get(workload.key);
    const group = svg('g', { class: `node${workload.sidecars.length === 0 ? ' down' : ''}`, 'data-workload': workload.key });
    group.append(svg('rect', { x: x - NODE.width / 2, y: y - NODE.height / 2, width: NODE.width, height: NODE.height }));
    group.append(svg('text', { x, y: y - 7 }, workload.key));
    group.append(svg('text', { x, y: y + 10 }, `${workload.sidecars.length} sidecar${workload.sidecars.length === 1 ? '' : 's'}`));
    parts.push(group);
  }
  root.replaceChildren(...parts);
  document.getElementById('topology-note').textContent = state.notes.topology;
}

function renderPolicies(state) {
  const body = document.querySelector('#policies tbody');
  body.replaceChildren(
    ...state.assets.map((asset) => {
      const policies = element('div');
      if (asset.policies.length === 0) policies.append(element('div', 'none'));
      for (const policy of asset.policies) policies.append(element('div', `${policy.key} (${policy.mode})`, `mode-${policy.mode}`));
      const acks = element('div');
      if (asset.sidecars.length === 0) acks.append(element('div', 'no sidecar connected'));
      for (const sidecar of asset.sidecars) acks.append(ackLine(sidecar));
      return row([`${asset.key} on ${asset.workload}`, policies, acks]);
    }),
  );
}

function renderCertificates(state) {
  document.querySelector('#certificates tbody').replaceChildren(...state.certificates.map((c) => row([c.workload, c.identity, c.expiresAt ?? 'not reported'])));
  const roots = state.trustRoots.map((r) => element('li', `${r.subject}, valid until ${r.notAfter} (SHA-256 ${r.fingerprint256.slice(0, 23)}…)`));
  document.getElementById('roots').replaceChildren(...(roots.length > 0 ? roots : [element('li', 'no trust bundle known to this control plane (plaintext mode)')]));
  document.getElementById('certificates-note').textContent = state.notes.certificates;
}

let lastState;
const filter = document.getElementById('decisions-filter');
filter.addEventListener('change', () => lastState !== undefined && renderDecisions(lastState));

function renderDecisions(state) {
  const workloads = state.workloads.map((w) => w.key);
  if (filter.options.length !== workloads.length + 1) {
    const chosen = filter.value;
    filter.replaceChildren(element('option', 'all'), ...workloads.map((w) => element('option', w)));
    filter.options[0].value = '';
    filter.value = workloads.includes(chosen) ? chosen : '';
  }
  const shown = state.decisions.filter((d) => filter.value === '' || d.workload === filter.value).slice(0, 12);
  document.querySelector('#decisions tbody').replaceChildren(
    ...shown.map((d) => {
      const tr = row([d.time.slice(11, 19), d.workload, d.decision === 'dry_run_deny' ? 'would deny (dry run)' : d.decision, d.principal ?? 'none', d.asset ?? 'none', d.policy, d.rules[0] ?? '']);
      tr.className = `decision-${d.decision}`;
      tr.dataset.workload = d.workload;
      return tr;
    }),
  );
}

/** One uPlot chart per measure, a series per backend; made once per set of backends, then fed. */
const charts = new Map();
const MEASURES = [
  ['running', 'in flight (running)'],
  ['waiting', 'queue (waiting)'],
  ['kvCache', 'KV-cache use'],
];
const COLOURS = ['#2a7a3b', '#3b5bab', '#a33', '#7a5a00', '#6a3b9b'];

function renderInference(state) {
  const backends = state.inference.flatMap((pool) => pool.backends);
  const last = (b, field) => (b.history.length === 0 ? '-' : b.history[b.history.length - 1][field]);
  document.querySelector('#backends tbody').replaceChildren(
    ...backends.map((b) => {
      const kv = last(b, 'kvCache');
      const tr = row([b.workload, String(last(b, 'waiting')), String(last(b, 'running')), kv === '-' ? '-' : `${(kv * 100).toFixed(1)}%`, b.picks === null ? '-' : String(b.picks)]);
      tr.dataset.backend = b.workload;
      return tr;
    }),
  );
  document.querySelector('#tenant-tokens tbody').replaceChildren(...state.tokensPerTenant.map((t) => row([t.tenant, t.kind, String(t.tokens)])));
  const container = document.getElementById('inference-charts');
  const signature = backends.map((b) => b.workload).join(',');
  // uPlot is loaded by its own classic script, before this module.
  const { uPlot } = globalThis;
  if (uPlot === undefined || backends.length === 0) return;
  if (container.dataset.signature !== signature) {
    container.replaceChildren();
    charts.clear();
    container.dataset.signature = signature;
    for (const [field, title] of MEASURES) {
      const box = element('div', undefined, 'chart');
      box.append(element('h3', title));
      container.append(box);
      const series = [{}, ...backends.map((b, i) => ({ label: b.workload.split('/')[1], stroke: COLOURS[i % COLOURS.length], width: 2 }))];
      charts.set(field, new uPlot({ width: Math.max(300, container.clientWidth - 10), height: 130, series, axes: [{}, { size: 45 }] }, [[]], box));
    }
  }
  const times = [...new Set(backends.flatMap((b) => b.history.map((s) => s.t)))].sort((a, b) => a - b);
  for (const [field] of MEASURES) {
    const data = [times.map((t) => t / 1000), ...backends.map((b) => times.map((t) => b.history.find((s) => s.t === t)?.[field] ?? null))];
    charts.get(field).setData(data);
  }
}

function render(state) {
  lastState = state;
  document.getElementById('revision').textContent = `revision ${state.revision}${state.converged ? ', converged' : ', pushing'}`;
  renderTopology(state);
  renderPolicies(state);
  renderCertificates(state);
  renderDecisions(state);
  renderInference(state);
  document.getElementById('decisions-note').textContent = state.notes.decisions;
  document.getElementById('inference-note').textContent = state.notes.inference;
}

const live = document.getElementById('live');
const events = new EventSource('/dashboard/events');
events.addEventListener('open', () => {
  live.textContent = 'live';
  live.classList.add('live');
});
events.addEventListener('error', () => {
  live.textContent = 'offline';
  live.classList.remove('live');
});
events.addEventListener('message', (event) => render(JSON.parse(event.data)));
