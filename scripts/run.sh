#!/bin/sh
# make run: the whole local stack in the foreground. Starts a redis-server
# under ./var when NUDGE_REDIS_URL is not set, then nudge-server and one
# nudge-worker with the log provider writing into ./var/outbox.
# Ctrl-C stops all of it.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p var/outbox var/redis
pids=""
cleanup() {
	trap - INT TERM EXIT
	[ -n "$pids" ] && kill $pids 2>/dev/null
	wait 2>/dev/null
	rm -f var/redis.url
	echo "nudge: stopped"
}
trap cleanup INT TERM EXIT

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

if [ -z "${NUDGE_REDIS_URL:-}" ]; then
	port=$(free_port)
	redis-server --port "$port" --bind 127.0.0.1 --dir "$top/var/redis" \
	    --appendonly yes --save "" --logfile "$top/var/redis/redis.log" &
	pids="$pids $!"
	i=0
	until redis-cli -p "$port" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "nudge: redis-server did not start (var/redis/redis.log)"; exit 1; }
		sleep 0.05
	done
	export NUDGE_REDIS_URL="redis://127.0.0.1:$port/0"
	# nudgectl, run from this directory in another terminal, finds it here
	echo "$NUDGE_REDIS_URL" > "$top/var/redis.url"
	echo "nudge: started redis-server on port $port (data and AOF in var/redis)"
fi
export NUDGE_SHOPS_FILE="${NUDGE_SHOPS_FILE:-config/shops.example.json}"
export NUDGE_EMAIL_PROVIDER="${NUDGE_EMAIL_PROVIDER:-log}"
export NUDGE_OUTBOX_DIR="${NUDGE_OUTBOX_DIR:-var/outbox}"
export NUDGE_LISTEN="${NUDGE_LISTEN:-127.0.0.1:8080}"
# demo time: a day of the flows passes in half a second (NUDGE_TIME_SCALE=1: real time)
export NUDGE_TIME_SCALE="${NUDGE_TIME_SCALE:-172800}"
export NUDGE_WORKER_METRICS_LISTEN="${NUDGE_WORKER_METRICS_LISTEN:-127.0.0.1:9090}"

bin/nudge-server & pids="$pids $!"
bin/nudge-worker & pids="$pids $!"
sleep 0.3
cat <<MSG

nudge is running: webhooks at http://$NUDGE_LISTEN/webhooks/shopify
messages land in $NUDGE_OUTBOX_DIR. Try, in another terminal:

  sig=\$(bin/nudgectl sign --secret demo-secret examples/orders-create.json)
  curl -sS http://$NUDGE_LISTEN/webhooks/shopify \\
    -H 'X-Shopify-Topic: orders/create' \\
    -H 'X-Shopify-Shop-Domain: demo.myshopify.com' \\
    -H 'X-Shopify-Event-Id: demo-1' \\
    -H "X-Shopify-Hmac-Sha256: \$sig" \\
    --data-binary @examples/orders-create.json
  ls $NUDGE_OUTBOX_DIR

Or play a whole customer lifecycle (orders, shipping, abandoned carts):

  bin/nudgectl demo

Time runs $NUDGE_TIME_SCALE times faster (a day in half a second); set
NUDGE_TIME_SCALE=1 for real time. Metrics: http://$NUDGE_LISTEN/metrics and
http://$NUDGE_WORKER_METRICS_LISTEN/metrics. Ctrl-C stops everything.
MSG
wait
