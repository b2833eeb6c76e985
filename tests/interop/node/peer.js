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
 *   node peer.js bench-messaging <targetService> <count> <inflight>
 *   node peer.js bench-queue <serviceName> <count> <inflight>
 *
 * `serve` also reads JSON commands from stdin, one per line (see runServeCommand): log, send,
 * broadcast, queue, dequeue, mark. It prints every received message as `MESSAGE <short UMF>` and
 * answers messages whose body has `"echo": true` with a reply whose body is `{echoed: <body>}`.
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
// `undefined` (hydra's "sent" result) is printed as null.
const orNull = (v) => (v === undefined ? null : v);

// hydra answers failures of sendMessage/sendBroadcastMessage/queueMessage with a resolved
// ServerResponse object ({statusCode, statusMessage, statusDescription, result: {reason}}), not
// with a rejection.
const isServerResponse = (v) => !!(v && typeof v === 'object' && typeof v.statusCode === 'number' &&
  Object.prototype.hasOwnProperty.call(v, 'statusDescription'));

/*
 * One stdin command of `serve`. Output keywords:
 *   {"cmd":"log","type":"info","msg":"..."}            → (no output)
 *   {"cmd":"send","msg":{...}}                          → SENT {"mid","result"}
 *   {"cmd":"broadcast","msg":{...}}                     → SENT {"mid","result"}
 *   {"cmd":"queue","msg":{...}}                         → QUEUED {"mid"} (+ "result" when hydra
 *                                                          answered with an error response)
 *   {"cmd":"dequeue","service":"svc"}                   → DEQUEUED <message or null>
 *   {"cmd":"mark","msg":{...},"completed":b,"reason":s} → MARKED <result>
 * When hydra rejects (e.g. a Redis error) the command's keyword is printed with
 * {"error": "<text>"} (plus "mid" where one exists) instead.
 */
async function runServeCommand(cmd, line) {
  const kind = cmd && typeof cmd === 'object' ? cmd.cmd : undefined;
  switch (kind) {
    case 'log':
      hydra.sendToHealthLog(String(cmd.type || 'info'), String(cmd.msg === undefined ? '' : cmd.msg));
      return;
    case 'send':
    case 'broadcast': {
      // Create the UMF message first so its generated mid is known (hydra resolves undefined).
      const umf = hydra.createUMFMessage(cmd.msg || {});
      try {
        const result = kind === 'send' ?
          await hydra.sendMessage(umf) : await hydra.sendBroadcastMessage(umf);
        emitLine('SENT', {mid: umf.mid, result: orNull(result)});
      } catch (err) {
        emitLine('SENT', {mid: umf.mid, error: errorText(err)});
      }
      return;
    }
    case 'queue': {
      const umf = hydra.createUMFMessage(cmd.msg || {});
      try {
        // Resolves with the object passed in (the UMF proxy) or with a 400 ServerResponse.
        const result = await hydra.queueMessage(umf);
        if (isServerResponse(result)) {
          emitLine('QUEUED', {mid: umf.mid, result});
        } else {
          emitLine('QUEUED', {mid: umf.mid});
        }
      } catch (err) {
        emitLine('QUEUED', {mid: umf.mid, error: errorText(err)});
      }
      return;
    }
    case 'dequeue': {
      const service = cmd.service || hydra.getServiceName();
      try {
        // The raw JSON.parse of what RPOPLPUSH moved (no UMF normalisation), or null when empty.
        emitLine('DEQUEUED', orNull(await hydra.getQueuedMessage(service)));
      } catch (err) {
        emitLine('DEQUEUED', {error: errorText(err)});
      }
      return;
    }
    case 'mark': {
      try {
        // LREM <own service>:mqinprogress -1 JSON.stringify(msg); completed → the (mutated) msg,
        // else the RPUSH result (length of mqincomplete).
        if (!cmd.msg || typeof cmd.msg !== 'object') {
          throw new Error('mark requires "msg" to be the object DEQUEUED printed');
        }
        const result = await hydra.markQueueMessage(cmd.msg, cmd.completed, cmd.reason);
        emitLine('MARKED', orNull(result));
      } catch (err) {
        emitLine('MARKED', {error: errorText(err)});
      }
      return;
    }
    default:
      process.stderr.write(`ignoring unknown stdin command: ${line}\n`);
  }
}

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
    let commandChain = Promise.resolve();
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
      // Commands run one after another, so output lines come in the order the commands arrived.
      commandChain = commandChain
        .then(() => runServeCommand(cmd, line))
        .catch((err) => process.stderr.write(`stdin command error: ${errorText(err)}\n`));
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
    listConfig: () => (needArg(1), hydra.listConfig(rest[0])),
    // The argument is a UMF message as JSON ({to, from, body, ...}); resolves with Node's
    // response object (the JSON body merged over {statusCode, ...}).
    makeAPIRequest: () =>
      (needArg(1), hydra.makeAPIRequest(hydra.createUMFMessage(parseJSONArg(rest[0]))))
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
// bench-messaging
// ---------------------------------------------------------------------------------------------
function parseBenchArgs(args, usage) {
  const name = args[0];
  const count = parseInt(args[1], 10);
  const inflight = parseInt(args[2], 10);
  if (!name || !(count > 0) || !(inflight > 0)) {
    throw new Error(`usage: ${usage}`);
  }
  return {name, count, inflight};
}

const elapsedSeconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

// Waits until `serviceName` has at least one present instance, bypassing hydra's 3 s presence cache.
async function waitForPresence(serviceName, seconds) {
  const deadline = Date.now() + seconds * 1000;
  const cacheKey = `checkServicePresence:${serviceName.toLowerCase()}`;
  for (;;) {
    if (hydra.internalCache && hydra.internalCache.data) {
      delete hydra.internalCache.data[cacheKey];
    }
    const list = await hydra.getServicePresence(serviceName);
    if (Array.isArray(list) && list.length > 0) {
      return list;
    }
    if (Date.now() > deadline) {
      throw new Error(`no present instance of ${serviceName} within ${seconds} s`);
    }
    await sleep(100);
  }
}

const MESSAGE_TIMEOUT_MS = 10000;

async function cmdBenchMessaging(args) {
  const {name: target, count, inflight} =
    parseBenchArgs(args, 'bench-messaging <targetService> <count> <inflight>');
  startWatchdog(Math.max(60, Math.ceil(count / 100) + 60));

  await hydra.init(makeConfig('node-bench-client', '127.0.0.1', 0));
  await hydra.registerService();  // subscribes to hydra:service:mc:node-bench-client[:<iid>]
  const ownName = hydra.getServiceName();
  const instanceID = hydra.getInstanceID();
  // Replies are addressed to this instance: sendReplyMessage sends to the original `from`.
  const from = `${instanceID}@${ownName}:/`;

  // mid → function(t1) called when the reply (rmid === mid) arrives.
  const pending = new Map();
  let unmatched = 0;
  hydra.on('message', (msg) => {
    const done = msg && msg.rmid !== undefined ? pending.get(msg.rmid) : undefined;
    if (done) {
      done(process.hrtime.bigint());
    } else {
      unmatched++;
    }
  });

  let sendErrors = 0;
  // One request/reply; resolves with the round-trip time in ms, or null when no reply came.
  const roundTrip = (body, timeoutMs) => {
    const umf = hydra.createUMFMessage({to: `${target}:/`, from, body});
    const mid = umf.mid;
    return new Promise((resolve) => {
      const finish = (value) => {
        clearTimeout(timer);
        pending.delete(mid);
        resolve(value);
      };
      const timer = setTimeout(() => finish(null), timeoutMs);
      const t0 = process.hrtime.bigint();
      pending.set(mid, (t1) => finish(Number(t1 - t0) / 1e6));
      Promise.resolve(hydra.sendMessage(umf)).then((res) => {
        if (res) {  // hydra resolves a ServerResponse (503/500) instead of rejecting
          sendErrors++;
          process.stderr.write(`sendMessage failed: ${JSON.stringify(res)}\n`);
          finish(null);
        }
      }, (err) => {
        sendErrors++;
        process.stderr.write(`sendMessage rejected: ${errorText(err)}\n`);
        finish(null);
      });
    });
  };

  await waitForPresence(target, 15);
  // Our own presence is written by registerService without waiting, and the responder may hold a
  // 3 s cached presence list of node-bench-client without this instance (then its reply is dropped
  // as "Unavailable ... instance named ..."). Retry a warm-up echo until one comes back.
  let warm = false;
  for (let attempt = 0; attempt < 60 && !warm; attempt++) {
    warm = (await roundTrip({echo: true, warmup: attempt}, 250)) !== null;
  }
  if (!warm) {
    throw new Error(`no echo reply from ${target} (is it a serve peer / echo responder?)`);
  }
  sendErrors = 0;
  unmatched = 0;

  const samples = [];
  let lost = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const ms = await roundTrip({echo: true, n: i}, MESSAGE_TIMEOUT_MS);
      if (ms === null) {
        lost++;
      } else {
        samples.push(ms);
      }
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({length: Math.min(inflight, count)}, worker));
  const seconds = elapsedSeconds(t0);

  const sorted = samples.slice().sort((a, b) => a - b);
  emitLine('RESULT', {
    count,
    inflight,
    seconds: round3(seconds),
    per_second: round3(samples.length / seconds),
    p50_ms: round3(percentile(sorted, 50)),
    p99_ms: round3(percentile(sorted, 99)),
    max_ms: round3(sorted.length ? sorted[sorted.length - 1] : 0),
    lost,
    send_errors: sendErrors,
    unmatched
  });
  await safeShutdown();
  flushAndExit(0);
}

// ---------------------------------------------------------------------------------------------
// bench-queue
// ---------------------------------------------------------------------------------------------
async function cmdBenchQueue(args) {
  const {name, count, inflight} = parseBenchArgs(args, 'bench-queue <serviceName> <count> <inflight>');
  startWatchdog(Math.max(60, Math.ceil(count / 50) + 60));

  // markQueueMessage always works on its own service's lists, so this process is <serviceName>.
  await hydra.init(makeConfig(name, '127.0.0.1', 0));
  await hydra.registerService();
  const service = hydra.getServiceName();  // lower-cased by hydra
  const instanceID = hydra.getInstanceID();
  const db = hydra.redisdb;
  const redis = (command, ...cmdArgs) => new Promise((resolve, reject) => {
    db[command](...cmdArgs, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const key = (list) => `hydra:service:${service}:${list}`;
  const lists = ['mqrecieved', 'mqinprogress', 'mqincomplete'];
  const lengths = async () => {
    const out = {};
    for (const list of lists) {
      out[list] = await redis('llen', key(list));
    }
    return out;
  };

  // Start from empty queues so leftovers of earlier runs do not distort the counts.
  const before = await lengths();
  if (Object.values(before).some((n) => n > 0)) {
    process.stderr.write(`bench-queue: clearing leftover queue lists ${JSON.stringify(before)}\n`);
    await redis('del', ...lists.map(key));
  }

  const to = `${service}:/`;
  const from = `${instanceID}@${service}:/`;
  const enqueueOne = async (body) => {
    const res = await hydra.queueMessage(hydra.createUMFMessage({to, from, body}));
    if (isServerResponse(res)) {
      throw new Error(`queueMessage failed: ${JSON.stringify(res)}`);
    }
  };
  const run = (n, fn) => Promise.all(Array.from({length: n}, fn));
  let duplicates = 0;
  let foreign = 0;
  // Takes one message; returns false when the queue was empty.
  const makeTaker = (phase, seen) => async () => {
    const msg = await hydra.getQueuedMessage(service);
    if (!msg) {
      return false;
    }
    const ok = msg.bdy && msg.bdy.phase === phase && Number.isInteger(msg.bdy.n);
    if (!ok) {
      foreign++;
    } else if (seen.has(msg.bdy.n)) {
      duplicates++;
    } else {
      seen.add(msg.bdy.n);
    }
    // LREM hydra:service:<own>:mqinprogress -1 JSON.stringify(msg): the parse of Node's own
    // JSON.stringify re-serialises byte-identically.
    await hydra.markQueueMessage(msg, true);
    return true;
  };

  // (a) enqueue: `inflight` concurrent producers.
  let next = 0;
  let t0 = process.hrtime.bigint();
  await run(Math.min(inflight, count), async () => {
    while (next < count) {
      const i = next++;
      await enqueueOne({phase: 'drain', n: i});
    }
  });
  const enqueueSeconds = elapsedSeconds(t0);
  const queued = await redis('llen', key('mqrecieved'));

  // (b) drain: `inflight` concurrent workers take + mark complete until the queue is empty.
  const drainSeen = new Set();
  const takeDrain = makeTaker('drain', drainSeen);
  t0 = process.hrtime.bigint();
  await run(inflight, async () => {
    while (await takeDrain()) {
      // keep taking
    }
  });
  const drainSeconds = elapsedSeconds(t0);
  const drained = drainSeen.size;

  // (c) end-to-end: `inflight` producers and `inflight` consumers at the same time. The queue API
  // has no blocking pop, so an idle consumer polls again after 1 ms.
  const e2eSeen = new Set();
  const takeE2E = makeTaker('e2e', e2eSeen);
  let produced = 0;
  let consumed = 0;
  t0 = process.hrtime.bigint();
  await Promise.all([
    run(Math.min(inflight, count), async () => {
      while (produced < count) {
        const i = produced++;
        await enqueueOne({phase: 'e2e', n: i});
      }
    }),
    run(inflight, async () => {
      while (consumed < count) {
        if (await takeE2E()) {
          consumed++;
        } else {
          await sleep(1);
        }
      }
    })
  ]);
  const e2eSeconds = elapsedSeconds(t0);

  const after = await lengths();
  const missing = (count - drained) + (count - e2eSeen.size);
  emitLine('RESULT', {
    count,
    inflight,
    enqueue_per_s: round3(count / enqueueSeconds),
    drain_per_s: round3(drained / drainSeconds),
    e2e_per_s: round3(e2eSeen.size / e2eSeconds),
    queued_after_enqueue: queued,
    missing,
    duplicates,
    foreign,
    inprogress_left: after.mqinprogress,
    received_left: after.mqrecieved,
    incomplete_left: after.mqincomplete
  });
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
    case 'bench-messaging':
      return cmdBenchMessaging(args);
    case 'bench-queue':
      return cmdBenchQueue(args);
    default:
      throw new Error(`unknown command: ${cmd || '(none)'}; ` +
        'use serve | query | bench-discovery | idle | bench-messaging | bench-queue');
  }
}

main().catch((err) => fatal(err, 1));
