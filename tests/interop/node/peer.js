#!/usr/bin/env node
'use strict';

/*
 * Node.js hydra 1.9.3 peer used by the hydra-cpp interoperability tests.
 *
 * Protocol: every line written to stdout is `KEYWORD <compact JSON>`.
 * Everything else (hydra noise, diagnostics) goes to stderr.
 *
 * Usage:
 *   node peer.js serve <serviceName> [servicePort]
 *   node peer.js query <method> [args...]
 *   node peer.js bench-discovery <serviceName> <iterations>
 *   node peer.js idle <serviceName> <seconds>
 *
 * Redis URL: env HYDRA_TEST_REDIS_URL (fallback HYDRA_REDIS_URL, then redis://127.0.0.1:6379/15).
 */

// ---------------------------------------------------------------------------------------------
// stdout discipline: only protocol lines go to stdout.
// ---------------------------------------------------------------------------------------------
const util = require('util');
for (const name of ['log', 'info', 'warn', 'debug', 'trace', 'dir']) {
  console[name] = (...args) => {
    process.stderr.write(util.format(...args) + '\n');
  };
}

function emitLine(keyword, value) {
  let json;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (e) {
    json = JSON.stringify(String(value));
  }
  if (json === undefined) {
    json = 'null';
  }
  process.stdout.write(`${keyword} ${json}\n`);
}

function flushAndExit(code) {
  // stdout to a pipe/file is synchronous on Linux, but make sure anything buffered is flushed.
  process.stdout.write('', () => process.exit(code));
  setTimeout(() => process.exit(code), 500).unref();
}

function errorText(err) {
  if (err instanceof Error) {
    return err.message;
  }
  if (err && typeof err === 'object') {
    try {
      return JSON.stringify(err);
    } catch (e) {
      return String(err);
    }
  }
  return String(err);
}

let fatalReported = false;
function fatal(err, code = 1) {
  if (!fatalReported) {
    fatalReported = true;
    process.stderr.write(`peer.js fatal: ${err && err.stack ? err.stack : errorText(err)}\n`);
    emitLine('ERROR', errorText(err));
  }
  flushAndExit(code);
}

process.on('unhandledRejection', (reason) => fatal(reason, 1));
process.on('uncaughtException', (err) => fatal(err, 1));

// ---------------------------------------------------------------------------------------------
// Environment: make the configuration deterministic (hydra reads these in init()).
// ---------------------------------------------------------------------------------------------
const REDIS_URL = process.env.HYDRA_TEST_REDIS_URL || process.env.HYDRA_REDIS_URL ||
  'redis://127.0.0.1:6379/15';
delete process.env.HYDRA_REDIS_URL;
delete process.env.HYDRA_SERVICE;

const hydra = require('hydra');

// hydra emits 'log' events for internal errors; mirror them to stderr for diagnostics.
hydra.on('log', (entry) => {
  try {
    process.stderr.write(`hydra log: ${JSON.stringify(entry)}\n`);
  } catch (e) {
    // ignore
  }
});

function makeConfig(serviceName, serviceIP, servicePort) {
  return {
    hydra: {
      serviceName,
      serviceIP,
      servicePort,
      serviceType: 'node-test',
      serviceDescription: 'node peer',
      serviceVersion: '9.9.9',
      // Only `url`: explicit host/port/db keys would override the URL.
      redis: {url: REDIS_URL}
    }
  };
}

async function safeShutdown() {
  const db = hydra.redisdb;
  try {
    await Promise.race([
      Promise.resolve(hydra.shutdown()),
      new Promise((resolve) => setTimeout(resolve, 3000))
    ]);
  } catch (e) {
    process.stderr.write(`shutdown error: ${errorText(e)}\n`);
  }
  // hydra.shutdown() may resolve before the main connection has processed DEL + QUIT.
  if (db && db.connected) {
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 1000);
      db.once('end', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function startWatchdog(seconds, code = 2) {
  const t = setTimeout(() => {
    if (!fatalReported) {
      fatalReported = true;
      emitLine('ERROR', `watchdog: no completion within ${seconds} s`);
    }
    flushAndExit(code);
  }, seconds * 1000);
  t.unref();
  return t;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function parseJSONArg(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    return text;
  }
}

// ---------------------------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------------------------
async function cmdServe(args) {
  const serviceName = args[0];
  if (!serviceName) {
    throw new Error('usage: serve <serviceName> [servicePort]');
  }
  const servicePort = args[1] ? args[1] : 0;
  const initWatchdog = startWatchdog(20);

  await hydra.init(makeConfig(serviceName, '127.0.0.1', servicePort));
  const reg = await hydra.registerService();
  await hydra.registerRoutes(['[get]/v1/node/hello', '[post]/v1/node/echo']);
  hydra.sendToHealthLog('info', 'hello from node peer');
  const ownName = hydra.getServiceName();
  const instanceID = hydra.getInstanceID();

  hydra.on('message', (msg) => {
    emitLine('MESSAGE', msg);
    try {
      if (msg && msg.bdy && typeof msg.bdy === 'object' && msg.bdy.echo === true) {
        const reply = hydra.createUMFMessage({
          to: msg.frm,
          from: `${instanceID}@${ownName}:/`,
          body: {echoed: msg.bdy}
        });
        Promise.resolve(hydra.sendReplyMessage(msg, reply))
          .then((res) => {
            if (res) {
              process.stderr.write(`sendReplyMessage result: ${JSON.stringify(res)}\n`);
            }
          })
          .catch((err) => process.stderr.write(`sendReplyMessage error: ${errorText(err)}\n`));
      }
    } catch (e) {
      process.stderr.write(`message handler error: ${errorText(e)}\n`);
    }
  });

  clearTimeout(initWatchdog);
  emitLine('READY', {serviceName: ownName, instanceID, port: reg.servicePort});

  let stopping = false;
  const stop = async () => {
    if (stopping) {
      return;
    }
    stopping = true;
    startWatchdog(10);
    await safeShutdown();
    emitLine('BYE', {});
    flushAndExit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // Optional stdin command channel: one JSON object per line.
  if (process.stdin && !process.stdin.isTTY) {
    const readline = require('readline');
    const rl = readline.createInterface({input: process.stdin, terminal: false});
    rl.on('line', (line) => {
      line = line.trim();
      if (!line) {
        return;
      }
      let cmd;
      try {
        cmd = JSON.parse(line);
      } catch (e) {
        process.stderr.write(`ignoring bad stdin line: ${line}\n`);
        return;
      }
      if (cmd && cmd.cmd === 'log') {
        hydra.sendToHealthLog(String(cmd.type || 'info'), String(cmd.msg === undefined ? '' : cmd.msg));
      } else {
        process.stderr.write(`ignoring unknown stdin command: ${line}\n`);
      }
    });
    // stdin closing (EOF) does not stop the peer; only signals do.
    rl.on('error', () => {});
    process.stdin.on('error', () => {});
  }

  // Keep the event loop alive (hydra timers do, but be explicit).
  setInterval(() => {}, 1 << 30);
}

// ---------------------------------------------------------------------------------------------
// query
// ---------------------------------------------------------------------------------------------
async function initConsumer() {
  await hydra.init(makeConfig('node-query', '', 0));
}

async function cmdQuery(args) {
  startWatchdog(20);
  const method = args[0];
  const rest = args.slice(1);
  const needArg = (n) => {
    if (rest.length < n) {
      throw new Error(`${method} requires ${n} argument(s)`);
    }
  };

  const methods = {
    getServices: () => hydra.getServices(),
    getServiceNodes: () => hydra.getServiceNodes(),
    findService: () => (needArg(1), hydra.findService(rest[0])),
    getServicePresence: () => (needArg(1), hydra.getServicePresence(rest[0])),
    hasServicePresence: () => (needArg(1), hydra.hasServicePresence(rest[0])),
    getServiceHealthAll: () => hydra.getServiceHealthAll(),
    getServiceHealthLog: () => (needArg(1), hydra.getServiceHealthLog(rest[0])),
    getAllServiceRoutes: () => hydra.getAllServiceRoutes(),
    getConfig: () => (needArg(1), hydra.getConfig(rest[0])),
    putConfig: () => (needArg(2), hydra.putConfig(rest[0], parseJSONArg(rest[1]))),
    listConfig: () => (needArg(1), hydra.listConfig(rest[0]))
  };
  if (!Object.prototype.hasOwnProperty.call(methods, method)) {
    throw new Error(`unknown query method: ${method}`);
  }

  await initConsumer();
  let result;
  let failed = null;
  try {
    result = await methods[method]();
  } catch (err) {
    failed = err;
  }
  if (failed) {
    emitLine('ERROR', errorText(failed));
  } else {
    emitLine('RESULT', result);
  }
  await safeShutdown();
  flushAndExit(failed ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// bench-discovery
// ---------------------------------------------------------------------------------------------
function percentile(sorted, p) {
  if (!sorted.length) {
    return 0;
  }
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const round3 = (x) => Math.round(x * 1000) / 1000;

async function cmdBenchDiscovery(args) {
  const serviceName = args[0];
  const iterations = parseInt(args[1], 10);
  if (!serviceName || !(iterations > 0)) {
    throw new Error('usage: bench-discovery <serviceName> <iterations>');
  }
  // Generous watchdog scaled to the iteration count.
  startWatchdog(Math.max(20, Math.ceil(iterations / 50) + 20));

  await initConsumer();
  // hydra caches getServicePresence() results for 3 s in hydra.internalCache (lib/cache.js, a plain
  // object store in `.data`) under the key `checkServicePresence:<lower-cased name>`. Delete that
  // entry before every call so each iteration does the real SCAN + MULTI/HGET lookup.
  const cacheKey = `checkServicePresence:${serviceName}`;
  const cache = hydra.internalCache;
  if (!cache || typeof cache.data !== 'object') {
    throw new Error('hydra.internalCache not found; cannot bypass presence cache');
  }

  const samples = [];
  let found = 0;
  for (let i = 0; i < iterations; i++) {
    delete cache.data[cacheKey];
    const t0 = process.hrtime.bigint();
    const res = await hydra.getServicePresence(serviceName);
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0) / 1e6);
    found = Array.isArray(res) ? res.length : 0;
  }
  delete cache.data[cacheKey];

  const sorted = samples.slice().sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  emitLine('RESULT', {
    iterations,
    found,
    p50_ms: round3(percentile(sorted, 50)),
    p99_ms: round3(percentile(sorted, 99)),
    mean_ms: round3(mean),
    max_ms: round3(sorted[sorted.length - 1])
  });
  await safeShutdown();
  flushAndExit(0);
}

// ---------------------------------------------------------------------------------------------
// idle
// ---------------------------------------------------------------------------------------------
async function cmdIdle(args) {
  const serviceName = args[0];
  const seconds = parseFloat(args[1]);
  if (!serviceName || !(seconds >= 0)) {
    throw new Error('usage: idle <serviceName> <seconds>');
  }
  startWatchdog(seconds + 20);
  await hydra.init(makeConfig(serviceName, '127.0.0.1', 0));
  await hydra.registerService();
  const instanceID = hydra.getInstanceID();
  await sleep(seconds * 1000);
  emitLine('RESULT', {rss_bytes: process.memoryUsage().rss, instanceID});
  await safeShutdown();
  flushAndExit(0);
}

// ---------------------------------------------------------------------------------------------
async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  switch (cmd) {
    case 'serve':
      return cmdServe(args);
    case 'query':
      return cmdQuery(args);
    case 'bench-discovery':
      return cmdBenchDiscovery(args);
    case 'idle':
      return cmdIdle(args);
    default:
      throw new Error(`unknown command: ${cmd || '(none)'}; ` +
        'use serve | query | bench-discovery | idle');
  }
}

main().catch((err) => fatal(err, 1));
