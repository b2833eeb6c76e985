// Hydra Router dashboard: polls the router's JSON API and updates the page in place.
// Plain ES2020, no dependencies. Data is only ever inserted with textContent/attributes.
'use strict';

(() => {
  const POLL_INTERVAL_MS = 2000;
  const REQUEST_TIMEOUT_MS = 8000;
  const STALE_AFTER_S = 3;
  const WINDOW_S = 60;
  const LOG_LIMIT = 50;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const ENDPOINTS = {
    services: '/v1/router/list/services',
    routes: '/v1/router/list/routes',
    stats: '/v1/router/stats',
    log: '/v1/router/log',
    version: '/v1/router/version',
  };

  const token = new URLSearchParams(window.location.search).get('token');

  const state = {
    instances: [],
    routes: [],
    stats: { httpStats: {}, wsStats: {}, errorStats: {} },
    routerLogs: [],
    version: null,
    updatedAt: null,
  };

  // ---- Small helpers ---------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (name === 'className') node.className = value;
      else if (name === 'text') node.textContent = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function setText(node, text) {
    const value = String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  function setAttr(node, name, value) {
    if (value === undefined || value === null || value === '') {
      if (node.hasAttribute(name)) node.removeAttribute(name);
    } else if (node.getAttribute(name) !== String(value)) {
      node.setAttribute(name, String(value));
    }
  }

  // Makes `parent`'s children exactly `children`, in order, moving only what is out of place.
  function placeChildren(parent, children) {
    let ref = parent.firstChild;
    for (const child of children) {
      if (child === ref) ref = ref.nextSibling;
      else parent.insertBefore(child, ref);
    }
    while (ref) {
      const next = ref.nextSibling;
      parent.removeChild(ref);
      ref = next;
    }
  }

  function asArray(value) {
    return Array.isArray(value) ? value : [];
  }

  function asObject(value) {
    return value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  }

  function toNumber(value) {
    if (typeof value === 'number') return Number.isFinite(value) ? value : null;
    if (typeof value === 'string' && value.trim() !== '') {
      const n = Number(value);
      return Number.isFinite(n) ? n : null;
    }
    return null;
  }

  function present(value) {
    return value !== undefined && value !== null && value !== '';
  }

  const numberFormat = new Intl.NumberFormat();
  const timeFormat = new Intl.DateTimeFormat(undefined, {
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  });
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
    hour12: false,
  });

  function formatCount(n) {
    return numberFormat.format(Math.round(n));
  }

  function formatMegabytes(bytes) {
    const mb = bytes / (1024 * 1024);
    return `${mb >= 100 ? Math.round(mb) : mb.toFixed(1)} MB`;
  }

  function pad2(n) {
    return String(n).padStart(2, '0');
  }

  // 42s, 5m 07s, 1h 02m, 3d 04h
  function formatDuration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${pad2(s % 60)}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${pad2(Math.floor((s % 3600) / 60))}m`;
    return `${Math.floor(s / 86400)}d ${pad2(Math.floor((s % 86400) / 3600))}h`;
  }

  function formatTime(millis) {
    const date = new Date(millis);
    const sameDay = date.toDateString() === new Date().toDateString();
    return (sameDay ? timeFormat : dateTimeFormat).format(date);
  }

  // Log timestamps: ISO strings (Node Hydra), or epoch seconds/milliseconds.
  function timestampMillis(ts) {
    const n = toNumber(ts);
    if (n !== null) return n < 1e11 ? n * 1000 : n;
    if (typeof ts === 'string') {
      const parsed = Date.parse(ts);
      if (!Number.isNaN(parsed)) return parsed;
    }
    return null;
  }

  function shortId(id) {
    return id.length > 10 ? `${id.slice(0, 8)}…` : id;
  }

  function address(ip, port) {
    const host = present(ip) ? String(ip) : '';
    const p = present(port) ? String(port) : '';
    if (!host && !p) return '–';
    const shownHost = host.includes(':') ? `[${host}]` : host || '?';
    return p ? `${shownHost}:${p}` : shownHost;
  }

  // The last WINDOW_S per-second counters of one service (oldest first, zero-padded).
  function lastWindow(series) {
    const values = asArray(series).slice(-WINDOW_S).map((v) => Math.max(0, toNumber(v) || 0));
    while (values.length < WINDOW_S) values.unshift(0);
    return values;
  }

  function sum(values) {
    return values.reduce((total, v) => total + v, 0);
  }

  function sumWindows(statsByService) {
    const total = new Array(WINDOW_S).fill(0);
    for (const series of Object.values(asObject(statsByService))) {
      lastWindow(series).forEach((v, i) => { total[i] += v; });
    }
    return total;
  }

  // ---- Sparklines (inline SVG) -----------------------------------------------------------

  function createSparkline(width, height) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('role', 'img');
    const title = document.createElementNS(SVG_NS, 'title');
    const base = document.createElementNS(SVG_NS, 'line');
    base.setAttribute('class', 'spark-base');
    base.setAttribute('x1', '0');
    base.setAttribute('x2', String(width));
    base.setAttribute('y1', String(height - 0.5));
    base.setAttribute('y2', String(height - 0.5));
    const area = document.createElementNS(SVG_NS, 'path');
    area.setAttribute('class', 'spark-area');
    const line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('class', 'spark-line');
    svg.append(title, base, area, line);
    svg.dataset.width = String(width);
    svg.dataset.height = String(height);
    return svg;
  }

  function updateSparkline(svg, values, what) {
    const width = Number(svg.dataset.width);
    const height = Number(svg.dataset.height);
    const max = Math.max(1, ...values);
    const step = values.length > 1 ? width / (values.length - 1) : width;
    const points = values.map((v, i) => {
      const x = (i * step).toFixed(1);
      const y = (height - 1 - (v / max) * (height - 3)).toFixed(1);
      return `${x},${y}`;
    });
    const line = points.join(' ');
    const [title, , area, polyline] = svg.childNodes;
    setAttr(polyline, 'points', line);
    setAttr(area, 'd', `M0,${height} L${points.join(' L')} L${width},${height} Z`);
    const label = `${formatCount(sum(values))} ${what} in the last ${WINDOW_S} s, ` +
      `peak ${formatCount(Math.max(0, ...values))}/s`;
    setText(title, label);
    setAttr(svg, 'aria-label', label);
  }

  // ---- Fetching --------------------------------------------------------------------------

  function apiUrl(path) {
    return token === null ? path : `${path}?token=${encodeURIComponent(token)}`;
  }

  async function fetchResult(path) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(apiUrl(path), {
        cache: 'no-store',
        headers: { Accept: 'application/json' },
        signal: controller.signal,
      });
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
      const status = body && toNumber(body.statusCode);
      if (!response.ok || !body || typeof body !== 'object' || (status !== null && status >= 400)) {
        const detail = body && (body.statusDescription || body.statusMessage);
        const reason = detail ? ` ${detail}` : response.ok ? ' (not a JSON answer)' : '';
        throw new Error(`${path}: HTTP ${response.status}${reason}`);
      }
      return body.result;
    } catch (err) {
      if (err && err.name === 'AbortError') {
        throw new Error(`${path}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`);
      }
      if (err instanceof TypeError) throw new Error(`${path}: ${err.message || 'network error'}`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- Rendering: status and summary -----------------------------------------------------

  const statusNode = document.getElementById('status');

  function renderStatus(errors) {
    if (errors.length === 0) {
      statusNode.className = 'status ok';
      setText(statusNode, `Updated ${formatTime(state.updatedAt)} · every ${POLL_INTERVAL_MS / 1000} s`);
      setAttr(statusNode, 'title', null);
      return;
    }
    const now = formatTime(Date.now());
    const previous = state.updatedAt === null
      ? 'No data yet.'
      : `Showing data from ${formatTime(state.updatedAt)}.`;
    statusNode.className = 'status error';
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    setText(statusNode, `Update failed at ${now}: ${errors[0]}${more}. ${previous}`);
    setAttr(statusNode, 'title', errors.join('\n'));
  }

  const summaryNode = document.getElementById('summary');
  const summaryCards = {};
  for (const card of summaryNode.querySelectorAll('.card')) {
    summaryCards[card.dataset.metric] = {
      card,
      value: card.querySelector('.card-value'),
      chart: card.querySelector('.card-chart'),
    };
  }
  for (const name of ['requests', 'errors']) {
    const spark = createSparkline(96, 30);
    summaryCards[name].chart.append(spark);
    summaryCards[name].spark = spark;
  }

  function renderSummary(groups) {
    const requests = sumWindows(state.stats.httpStats);
    const errors = sumWindows(state.stats.errorStats);
    setText(summaryCards.services.value, formatCount(groups.size));
    setText(summaryCards.instances.value, formatCount(state.instances.length));
    setText(summaryCards.requests.value, formatCount(sum(requests)));
    updateSparkline(summaryCards.requests.spark, requests, 'requests');
    setText(summaryCards.errors.value, formatCount(sum(errors)));
    updateSparkline(summaryCards.errors.spark, errors, 'errors');
    summaryCards.errors.card.classList.toggle('alert', sum(errors) > 0);
    const version = present(state.version) ? String(state.version) : '–';
    setText(summaryCards.version.value, version);
    setAttr(summaryCards.version.value, 'title', version);
  }

  // ---- Rendering: services and instances -------------------------------------------------

  const servicesNode = document.getElementById('services');
  const serviceBlocks = new Map(); // serviceName -> block
  const noServices = el('p', { className: 'empty', text: 'No service instances are present.' });

  function serviceNameOf(item) {
    return present(item && item.serviceName) ? String(item.serviceName) : '(unnamed)';
  }

  function groupInstances() {
    const groups = new Map();
    for (const instance of state.instances) {
      if (!instance || typeof instance !== 'object') continue;
      const name = serviceNameOf(instance);
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push(instance);
    }
    return new Map([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  function createMetric(kind, label) {
    const value = el('span', { className: 'metric-value', text: '0' });
    const root = el('div', { className: `metric ${kind}` }, value,
      el('span', { className: 'metric-label', text: label }));
    return { root, value };
  }

  const COLUMNS = [
    ['Instance', ''], ['Version', ''], ['Address', ''], ['Host', ''], ['PID', 'num'],
    ['Memory', 'num'], ['Uptime', 'num'], ['Last seen', 'num'],
  ];

  function createServiceBlock(name) {
    const title = el('span', { className: 'service-name', text: name });
    const count = el('span', { className: 'service-count' });
    const description = el('p', { className: 'service-description' });
    const spark = createSparkline(120, 28);
    const requests = createMetric('requests', `req · last ${WINDOW_S} s`);
    const errors = createMetric('errors', `errors · last ${WINDOW_S} s`);
    const ws = createMetric('ws', `ws msgs · last ${WINDOW_S} s`);
    const routes = createMetric('route-total', 'routes');
    const head = el('tr', null,
      ...COLUMNS.map(([label, cls]) => el('th', { className: cls || null, scope: 'col', text: label })));
    const tbody = el('tbody');
    const root = el('section', { className: 'service', 'data-service': name },
      el('div', { className: 'service-head' },
        el('div', { className: 'service-title' }, el('h3', null, title, count), description),
        el('div', { className: 'service-metrics' },
          el('span', { className: 'metric-chart' }, spark),
          requests.root, errors.root, ws.root, routes.root)),
      el('div', { className: 'table-wrap' }, el('table', null, el('thead', null, head), tbody)));
    return { root, count, description, spark, requests, errors, ws, routes, tbody, rows: new Map() };
  }

  function createInstanceRow(name, id) {
    const cells = {
      id: el('td', { className: 'mono' }),
      version: el('td'),
      address: el('td', { className: 'mono' }),
      host: el('td', { className: 'host' }),
      pid: el('td', { className: 'num' }),
      memory: el('td', { className: 'num' }),
      uptime: el('td', { className: 'num' }),
      seen: el('td', { className: 'num' }),
    };
    const rss = el('span');
    const heap = el('span', { className: 'dim' });
    cells.memory.append(rss, heap);
    const seen = el('span', { className: 'seen' });
    cells.seen.append(seen);
    const root = el('tr', { 'data-service': name, 'data-instance': id }, ...Object.values(cells));
    return { root, cells, rss, heap, seen };
  }

  function instanceElapsed(instance) {
    const elapsed = toNumber(instance.elapsed);
    if (elapsed !== null) return elapsed;
    const updated = typeof instance.updatedOn === 'string' ? Date.parse(instance.updatedOn) : NaN;
    return Number.isNaN(updated) ? null : Math.max(0, (Date.now() - updated) / 1000);
  }

  function updateInstanceRow(row, instance) {
    const { cells } = row;
    const id = present(instance.instanceID) ? String(instance.instanceID) : '';
    setText(cells.id, id ? shortId(id) : '–');
    setAttr(cells.id, 'title', id);

    setText(cells.version, present(instance.version) ? String(instance.version) : '–');
    const runtime = [
      present(instance.nodeVersion) ? `node ${instance.nodeVersion}` : null,
      [instance.platform, instance.architecture].filter(present).join('/') || null,
    ].filter(Boolean).join(' · ');
    setAttr(cells.version, 'title', runtime);

    const shownAddress = address(instance.ip, instance.port);
    setText(cells.address, shownAddress);
    setAttr(cells.address, 'title', shownAddress);
    setText(cells.host, present(instance.hostName) ? String(instance.hostName) : '–');
    setAttr(cells.host, 'title', present(instance.hostName) ? String(instance.hostName) : null);
    setText(cells.pid, present(instance.processID) ? String(instance.processID) : '–');

    const memory = asObject(instance.memory);
    const rss = toNumber(memory.rss);
    const heapUsed = toNumber(memory.heapUsed);
    setText(row.rss, rss !== null ? formatMegabytes(rss) : '–');
    setText(row.heap, heapUsed !== null ? ` · heap ${formatMegabytes(heapUsed)}` : '');
    const memoryDetail = Object.entries(memory)
      .filter(([, v]) => toNumber(v) !== null)
      .map(([k, v]) => `${k}: ${formatMegabytes(toNumber(v))}`)
      .join('\n');
    setAttr(cells.memory, 'title', memoryDetail || null);

    const uptime = toNumber(instance.uptimeSeconds);
    setText(cells.uptime, uptime !== null ? formatDuration(uptime) : '–');

    const elapsed = instanceElapsed(instance);
    const stale = elapsed !== null && elapsed > STALE_AFTER_S;
    let seenText = '–';
    if (elapsed !== null) {
      seenText = elapsed < 60
        ? `${elapsed < 10 && !Number.isInteger(elapsed) ? elapsed.toFixed(1) : Math.round(elapsed)} s ago`
        : `${formatDuration(elapsed)} ago`;
    }
    setText(row.seen, seenText);
    setAttr(cells.seen, 'title',
      present(instance.updatedOn) ? `Last presence update: ${instance.updatedOn}` : null);
    row.root.classList.toggle('stale', stale);
  }

  function instanceKey(instance, index) {
    if (present(instance.instanceID)) return `id:${instance.instanceID}`;
    return `anon:${instance.ip}:${instance.port}:${instance.processID}:${index}`;
  }

  function routesByService() {
    const map = new Map();
    for (const entry of state.routes) {
      if (!entry || typeof entry !== 'object') continue;
      map.set(serviceNameOf(entry), asArray(entry.routes));
    }
    return map;
  }

  function renderServices(groups) {
    const routes = routesByService();
    const stats = state.stats;
    const blocks = [];
    for (const [name, instances] of groups) {
      let block = serviceBlocks.get(name);
      if (!block) {
        block = createServiceBlock(name);
        serviceBlocks.set(name, block);
      }
      blocks.push(block.root);

      setText(block.count, instances.length === 1 ? '1 instance' : `${instances.length} instances`);
      const described = instances.find((i) => present(i.serviceDescription));
      setText(block.description, described ? String(described.serviceDescription) : '');
      setAttr(block.description, 'title', described ? String(described.serviceDescription) : null);

      const requests = lastWindow(asObject(stats.httpStats)[name]);
      const errors = sum(lastWindow(asObject(stats.errorStats)[name]));
      setText(block.requests.value, formatCount(sum(requests)));
      updateSparkline(block.spark, requests, 'requests');
      setText(block.errors.value, formatCount(errors));
      block.errors.root.classList.toggle('nonzero', errors > 0);
      const wsSeries = asObject(stats.wsStats)[name];
      block.ws.root.classList.toggle('absent', wsSeries === undefined);
      setText(block.ws.value, formatCount(sum(lastWindow(wsSeries))));
      setText(block.routes.value, formatCount(asArray(routes.get(name)).length));

      const sorted = instances
        .map((instance, index) => ({ instance, key: instanceKey(instance, index) }))
        .sort((a, b) => a.key.localeCompare(b.key));
      const rows = [];
      const seen = new Set();
      for (const { instance, key } of sorted) {
        let row = block.rows.get(key);
        if (!row) {
          const id = present(instance.instanceID) ? String(instance.instanceID) : '';
          row = createInstanceRow(name, id);
          block.rows.set(key, row);
        }
        seen.add(key);
        updateInstanceRow(row, instance);
        rows.push(row.root);
      }
      for (const key of [...block.rows.keys()]) if (!seen.has(key)) block.rows.delete(key);
      placeChildren(block.tbody, rows);
    }
    for (const name of [...serviceBlocks.keys()]) if (!groups.has(name)) serviceBlocks.delete(name);
    placeChildren(servicesNode, blocks.length ? blocks : [noServices]);
  }

  // ---- Rendering: routes -----------------------------------------------------------------

  const routesNode = document.getElementById('routes');
  const collapsedRoutes = new Set(); // service names whose route list the user closed
  let routesSignature = null;

  function parseRoute(route) {
    const text = String(route);
    const match = /^\[([a-z]+)\](.*)$/i.exec(text);
    return match ? { method: match[1].toUpperCase(), path: match[2] } : { method: 'ALL', path: text };
  }

  function renderRoutes() {
    const entries = [...routesByService().entries()].sort(([a], [b]) => a.localeCompare(b));
    const signature = JSON.stringify(entries);
    if (signature === routesSignature) return;
    routesSignature = signature;

    const groups = entries.map(([name, routes]) => {
      const details = el('details', { className: 'route-group', 'data-service': name },
        el('summary', null,
          el('span', { className: 'route-service', text: name }),
          el('span', {
            className: 'route-count',
            text: routes.length === 1 ? '1 route' : `${routes.length} routes`,
          })),
        el('ul', { className: 'route-list' }, ...routes.map((route) => {
          const { method, path } = parseRoute(route);
          return el('li', { className: 'route', title: String(route) },
            el('span', { className: `method ${method.toLowerCase()}`, text: method }),
            el('span', { className: 'route-path', text: path }));
        })));
      details.open = !collapsedRoutes.has(name);
      details.addEventListener('toggle', () => {
        if (details.open) collapsedRoutes.delete(name);
        else collapsedRoutes.add(name);
      });
      return details;
    });
    placeChildren(routesNode, groups.length
      ? groups
      : [el('p', { className: 'empty', text: 'No routes are registered.' })]);
  }

  // ---- Rendering: log --------------------------------------------------------------------

  const logNode = document.getElementById('log');
  let logSignature = null;

  function logMessage(msg) {
    if (typeof msg === 'string') return msg;
    if (msg === undefined || msg === null) return '';
    try {
      return JSON.stringify(msg);
    } catch (_) {
      return String(msg);
    }
  }

  function collectLog() {
    const entries = [];
    const seen = new Set();
    const add = (entry, order) => {
      if (!entry || typeof entry !== 'object') return;
      const item = {
        millis: timestampMillis(entry.ts),
        ts: present(entry.ts) ? String(entry.ts) : '',
        serviceName: present(entry.serviceName) ? String(entry.serviceName) : '',
        type: present(entry.type) ? String(entry.type).toLowerCase() : 'info',
        processID: present(entry.processID) ? String(entry.processID) : '',
        msg: logMessage(entry.msg).slice(0, 4000),
        order,
      };
      // Instances of one service share that service's log: keep each entry once.
      const key = JSON.stringify([item.ts, item.serviceName, item.type, item.processID, item.msg]);
      if (seen.has(key)) return;
      seen.add(key);
      entries.push(item);
    };
    let order = 0;
    for (const entry of state.routerLogs) add(entry, order++);
    for (const instance of state.instances) {
      for (const entry of asArray(instance && instance.log)) add(entry, order++);
    }
    entries.sort((a, b) => {
      if (a.millis !== b.millis) {
        if (a.millis === null) return 1;
        if (b.millis === null) return -1;
        return b.millis - a.millis;
      }
      return a.order - b.order;
    });
    return entries.slice(0, LOG_LIMIT);
  }

  function renderLog() {
    const entries = collectLog();
    const signature = JSON.stringify(entries.map(({ order, ...rest }) => rest));
    if (signature === logSignature) return;
    logSignature = signature;

    if (entries.length === 0) {
      placeChildren(logNode, [el('li', { className: 'empty', text: 'No log entries.' })]);
      return;
    }
    placeChildren(logNode, entries.map((entry) => {
      const typeClass = /^[a-z]+$/.test(entry.type) ? entry.type : 'other';
      const source = [entry.serviceName || 'unknown', entry.processID ? `pid ${entry.processID}` : null]
        .filter(Boolean).join(' · ');
      return el('li', { className: `log-entry ${typeClass}`, 'data-type': entry.type },
        el('div', { className: 'log-meta' },
          el('span', {
            className: 'log-time',
            title: entry.ts || null,
            text: entry.millis === null ? (entry.ts || '–') : formatTime(entry.millis),
          }),
          el('span', { className: 'log-type', text: entry.type }),
          el('span', { className: 'log-source', title: source, text: source })),
        el('div', { className: 'log-msg', text: entry.msg }));
    }));
  }

  // ---- Polling ---------------------------------------------------------------------------

  function render() {
    const groups = groupInstances();
    renderSummary(groups);
    renderServices(groups);
    renderRoutes();
    renderLog();
  }

  async function poll() {
    const names = Object.keys(ENDPOINTS);
    const results = await Promise.allSettled(names.map((name) => fetchResult(ENDPOINTS[name])));
    const errors = [];
    results.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        errors.push(outcome.reason && outcome.reason.message ? outcome.reason.message : String(outcome.reason));
        return;
      }
      const result = outcome.value;
      switch (names[i]) {
        case 'services':
          state.instances = asArray(result);
          break;
        case 'routes':
          state.routes = asArray(result);
          break;
        case 'stats': {
          const stats = asObject(result);
          state.stats = {
            httpStats: asObject(stats.httpStats),
            wsStats: asObject(stats.wsStats),
            errorStats: asObject(stats.errorStats),
          };
          break;
        }
        case 'log':
          state.routerLogs = asArray(asObject(result).logs);
          break;
        case 'version':
          state.version = asObject(result).version ?? null;
          break;
        default:
          break;
      }
    });
    if (errors.length === 0) state.updatedAt = Date.now();
    try {
      render();
    } catch (err) {
      errors.push(`rendering failed: ${err && err.message ? err.message : err}`);
    }
    renderStatus(errors);
    if (errors.length === 0) document.body.dataset.loaded = 'true';
  }

  async function loop() {
    const started = Date.now();
    try {
      await poll();
    } finally {
      const wait = Math.max(250, POLL_INTERVAL_MS - (Date.now() - started));
      window.setTimeout(loop, wait);
    }
  }

  loop();
})();
