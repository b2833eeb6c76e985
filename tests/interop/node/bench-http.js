#!/usr/bin/env node
'use strict';

/*
 * makeAPIRequest throughput and latency of Node Hydra 1.9.3, for the hydra-cpp HTTP benchmark.
 *
 * Usage: node bench-http.js <to> <count> <inflight>[,<inflight>...]
 *   e.g. node bench-http.js 'node-express:[get]/v1/node/hello' 5000 1,16,100
 * Initialises hydra as a consumer (no registerService), waits until the target service is present,
 * warms up, then for each in-flight value makes <count> calls with that many outstanding at once.
 * Prints one `RESULT {count, inflight, seconds, per_second, p50_ms, p99_ms, max_ms, errors,
 * cpu_us_per_req}` line per in-flight value on stdout (cpu: this process, user + system);
 * everything else goes to stderr. Exits non-zero on any failed call.
 * Redis URL: env HYDRA_TEST_REDIS_URL (then redis://127.0.0.1:6379/15).
 */

const util = require('util');
for (const name of ['log', 'info', 'warn', 'debug', 'trace', 'dir']) {
  console[name] = (...args) => {
    process.stderr.write(util.format(...args) + '\n');
  };
}

const REDIS_URL = process.env.HYDRA_TEST_REDIS_URL || 'redis://127.0.0.1:6379/15';
delete process.env.HYDRA_REDIS_URL;
delete process.env.HYDRA_SERVICE;

const hydra = require('hydra');

hydra.on('log', (entry) => {
  process.stderr.write(`hydra log: ${JSON.stringify(entry)}\n`);
});

const emit = (keyword, value) => process.stdout.write(`${keyword} ${JSON.stringify(value)}\n`);

function exitWith(code) {
  process.stdout.write('', () => process.exit(code));
  setTimeout(() => process.exit(code), 500).unref();
}

function percentile(sorted, p) {
  if (!sorted.length) {
    return 0;
  }
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const round3 = (x) => Math.round(x * 1000) / 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const to = process.argv[2];
  const count = parseInt(process.argv[3], 10);
  const inflights = String(process.argv[4] || '').split(',').map((s) => parseInt(s, 10));
  if (!to || !(count > 0) || !inflights.length || !inflights.every((k) => k > 0)) {
    throw new Error('usage: bench-http.js <to> <count> <inflight>[,<inflight>...]');
  }
  const serviceName = to.split(':')[0];
  const watchdog = setTimeout(() => {
    emit('ERROR', 'watchdog: no completion within 120 s');
    exitWith(2);
  }, 120000);
  watchdog.unref();

  await hydra.init({
    hydra: {
      serviceName: 'node-http-bench',
      serviceIP: '',
      servicePort: 0,
      serviceType: 'bench',
      serviceDescription: 'makeAPIRequest benchmark client',
      serviceVersion: '1.0.0',
      redis: {url: REDIS_URL}
    }
  });

  // Until the target is present (its presence may not be written yet).
  for (let i = 0; ; i++) {
    if (hydra.internalCache && hydra.internalCache.data) {
      delete hydra.internalCache.data[`checkServicePresence:${serviceName.toLowerCase()}`];
    }
    const list = await hydra.getServicePresence(serviceName);
    if (Array.isArray(list) && list.length > 0) {
      break;
    }
    if (i > 150) {
      throw new Error(`no present instance of ${serviceName}`);
    }
    await sleep(100);
  }

  const call = async () => {
    const t0 = process.hrtime.bigint();
    const res = await hydra.makeAPIRequest({to, from: 'node-http-bench:/', body: {}});
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!res || res.statusCode !== 200) {
      process.stderr.write(`makeAPIRequest failed: ${JSON.stringify(res)}\n`);
      return null;
    }
    return ms;
  };

  // Warm-up: JIT, connections for the largest in-flight value.
  const maxInflight = Math.max(...inflights);
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({length: maxInflight}, call));
  }

  let failed = false;
  for (const inflight of inflights) {
    const samples = [];
    let errors = 0;
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        const ms = await call();
        if (ms === null) {
          errors++;
        } else {
          samples.push(ms);
        }
      }
    };
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({length: Math.min(inflight, count)}, worker));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const sorted = samples.sort((a, b) => a - b);
    emit('RESULT', {
      count,
      inflight,
      seconds: round3(seconds),
      per_second: round3(samples.length / seconds),
      p50_ms: round3(percentile(sorted, 50)),
      p99_ms: round3(percentile(sorted, 99)),
      max_ms: round3(sorted.length ? sorted[sorted.length - 1] : 0),
      errors,
      cpu_us_per_req: round3((cpu.user + cpu.system) / count)
    });
    if (errors) {
      failed = true;
    }
  }
  await Promise.race([Promise.resolve(hydra.shutdown()), sleep(2000)]);
  exitWith(failed ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`bench-http failed: ${err && err.stack || err}\n`);
  emit('ERROR', String(err && err.message || err));
  exitWith(1);
});
