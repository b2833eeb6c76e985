#!/usr/bin/env bash
# The demo: set-up (install, build), a private redis-server, two C++ hello-service instances,
# a Node Hydra 1.9.3 service and hydra-router on it; hydra-cli, Node and the router show the
# mesh (jobs queued with hydra-cli and taken by the services' queue consumers, HTTP and a
# WebSocket message through the router); then everything stops.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh "$BUILD_DIR"

WORK=$(mktemp -d /tmp/hydra-demo-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# A private redis-server on a free loopback port (never the system service).
for _ in $(seq 1 20); do
  PORT=$((20000 + RANDOM % 40000))
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && continue
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
    --loglevel warning >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  sleep 0.3
  if redis-cli -p "$PORT" ping >/dev/null 2>&1; then break; fi
  kill "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
done
[ -n "${REDIS_PID:-}" ] || { echo "demo: could not start redis-server" >&2; exit 1; }
PIDS+=("$REDIS_PID")
URL="redis://127.0.0.1:$PORT/0"
CLI="$BUILD_DIR/apps/hydra-cli/hydra-cli --redis $URL"
echo "== redis-server pid $REDIS_PID on $URL"

cat >"$WORK/hello.json" <<JSON
{"hydra":{"serviceName":"hello-service","serviceIP":"127.0.0.1","servicePort":0,
 "serviceType":"example","serviceDescription":"Says hello","serviceVersion":"1.0.0",
 "redis":{"url":"$URL"}}}
JSON
for i in 1 2; do
  "$BUILD_DIR/examples/hello-service/hello-service" --config "$WORK/hello.json" \
    >"$WORK/hello$i.out" 2>"$WORK/hello$i.err" &
  PIDS+=("$!")
done
(cd tests/interop/node && HYDRA_TEST_REDIS_URL="$URL" exec node peer.js serve node-service \
  >"$WORK/node.out" 2>"$WORK/node.err") &
NODE_PID=$!
PIDS+=("$NODE_PID")
for _ in $(seq 1 100); do
  n=$(cat "$WORK"/hello*.out "$WORK/node.out" 2>/dev/null | grep -c -E 'ready|READY' || true)
  [ "$n" -ge 3 ] && break
  sleep 0.1
done
cat "$WORK"/hello*.out
sed -n 's/^READY /node-service ready /p' "$WORK/node.out"

cat >"$WORK/router.json" <<JSON
{"hydra":{"serviceName":"hydra-router","serviceIP":"127.0.0.1","servicePort":0,
 "redis":{"url":"$URL"}},"requestTimeout":5}
JSON
"$BUILD_DIR/apps/hydra-router/hydra-router" --config "$WORK/router.json" \
  >"$WORK/router.out" 2>"$WORK/router.err" &
PIDS+=("$!")
for _ in $(seq 1 100); do
  grep -q 'listening on port' "$WORK/router.out" 2>/dev/null && break
  sleep 0.1
done
cat "$WORK/router.out"
RPORT=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$WORK/router.out")
[ -n "$RPORT" ] || { echo "demo: hydra-router did not start" >&2; cat "$WORK/router.err" >&2; exit 1; }
ROUTER="http://127.0.0.1:$RPORT"

echo; echo "== hydra-cli services";  $CLI services
echo; echo "== hydra-cli nodes";     $CLI nodes
echo; echo "== hydra-cli routes";    $CLI routes
echo; echo "== hydra-cli healthlog hello-service"; $CLI healthlog hello-service
echo; echo "== hydra-cli cfg push / pull"
echo '{"hydra":{"serviceName":"hello-service"},"greeting":"hi"}' >"$WORK/cfg.json"
$CLI cfg push hello-service:1.0.0 "$WORK/cfg.json"
$CLI cfg pull hello-service:1.0.0
echo; echo "== hydra-cli message queue: three jobs for hello-service, taken by its QueueConsumer"
for n in 1 2 3; do
  echo "{\"to\":\"hello-service:/\",\"frm\":\"demo:/\",\"bdy\":{\"job\":$n}}" | $CLI message queue -
done
for _ in $(seq 1 50); do
  [ "$(cat "$WORK"/hello*.err | grep -c 'queue item')" -ge 3 ] && break
  sleep 0.1
done
cat "$WORK"/hello*.err | grep 'queue item' || true
$CLI queue stats hello-service
echo; echo "== Node Hydra 1.9.3 sees the C++ instances (getServicePresence hello-service)"
(cd tests/interop/node && HYDRA_TEST_REDIS_URL="$URL" node peer.js query getServicePresence hello-service 2>/dev/null) |
  sed -n 's/^RESULT //p'
echo; echo "== through hydra-router ($ROUTER): GET /v1/hello/greeting, three times (a random instance each time)"
for _ in 1 2 3; do curl -s -D - -o "$WORK/body" "$ROUTER/v1/hello/greeting" | grep -i '^x-process-id'; cat "$WORK/body"; echo; done
echo; echo "== POST /v1/hello/echo through the router"
curl -s -X POST -H 'Content-Type: application/json' -d '{"say":"hi"}' "$ROUTER/v1/hello/echo"; echo
echo; echo "== a WebSocket client sends a UMF message to node-service through the router"
(cd tests/interop/node && node --no-warnings --experimental-websocket -e '
  const ws = new WebSocket(process.argv[1]);
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.typ === "connection") {
      console.log("connected as", m.bdy.id);
      ws.send(JSON.stringify({to: "node-service:/", frm: "client:/", mid: "demo-1", bdy: {echo: true, text: "hello node"}}));
    } else if (m.rmid === "demo-1") {
      console.log("reply:", JSON.stringify(m.bdy)); ws.close();
    }
  };
  setTimeout(() => { console.log("no reply"); process.exit(1); }, 5000);
  ws.onclose = () => process.exit(0);' "ws://127.0.0.1:$RPORT/")
echo; echo "== GET /metrics (first lines)"; curl -s "$ROUTER/metrics" | grep -m 4 '^hydra_router_http_requests_total'
echo "The dashboard is at $ROUTER/ while the demo runs."

echo; echo "== stopping (SIGTERM): presence disappears at once"
for pid in "${PIDS[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]:1}"; do wait "$pid" 2>/dev/null || true; done
echo "presence keys left: $(redis-cli -p "$PORT" --scan --pattern '*:presence' | wc -l)"
echo "demo: done"
