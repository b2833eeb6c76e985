#!/usr/bin/env node
'use strict';

/*
 * hydra-express 1.9.5 service used by the hydra-cpp HTTP interoperability tests.
 *
 * Usage: node express-peer.js [serviceName]   (default node-express)
 * Serves GET /v1/node/hello -> {greeting: 'hello from node'} and POST /v1/node/echo -> the JSON
 * body, both in the ServerResponse envelope. Prints `READY {serviceName, instanceID, port}` on
 * stdout once listening; other output goes to stderr. Stops on SIGTERM.
 * Redis URL: env HYDRA_TEST_REDIS_URL (then redis://127.0.0.1:6379/15).
 */

const util = require('util');
for (const name of ['log', 'info', 'warn', 'debug', 'trace', 'dir']) {
  console[name] = (...args) => {
    process.stderr.write(util.format(...args) + '\n');
  };
}

const hydraExpress = require('hydra-express');
const express = hydraExpress.getExpress();
const ServerResponse = require('hydra/lib/server-response');

const serviceName = process.argv[2] || 'node-express';
const REDIS_URL = process.env.HYDRA_TEST_REDIS_URL || 'redis://127.0.0.1:6379/15';

const config = {
  environment: 'test',
  hydra: {
    serviceName,
    serviceDescription: 'hydra-express interop peer',
    serviceIP: '127.0.0.1',
    servicePort: 0,
    serviceType: 'test',
    redis: {url: REDIS_URL}
  }
};

function registerRoutes() {
  const api = express.Router();
  api.get('/hello', (req, res) => {
    hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, {result: {greeting: 'hello from node'}});
  });
  api.post('/echo', (req, res) => {
    hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, {result: req.body});
  });
  hydraExpress.registerRoutes({'/v1/node': api});
}

hydraExpress.init(config, '1.0.0', registerRoutes)
  .then((serviceInfo) => {
    const hydra = hydraExpress.getHydra();
    process.stdout.write(`READY ${JSON.stringify({
      serviceName: serviceInfo.serviceName,
      instanceID: hydra.getInstanceID(),
      port: serviceInfo.servicePort
    })}\n`);
  })
  .catch((err) => {
    process.stderr.write(`express-peer failed: ${err && err.stack || err}\n`);
    process.exit(1);
  });
