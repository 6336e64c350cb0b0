#!/bin/sh
# `make demo`: start hearth with the embedded store in ./hearth-data, deploy the
# examples, invoke each, show the answers and what to try next. Ctrl-C stops it.
set -eu
BUILD=${HEARTH_BUILD:-$(pwd)/build}
HEARTH="$BUILD/hearth"
DATA=${HEARTH_DATA:-./hearth-data}
LISTEN=${HEARTH_LISTEN:-127.0.0.1:7070}
GATEWAY=${HEARTH_GATEWAY:-127.0.0.1:8080}
export HEARTH_API="http://$LISTEN"

"$HEARTH" serve --data "$DATA" --listen "$LISTEN" --gateway "$GATEWAY" &
pid=$!
stop() {
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Wait for the daemon to answer.
i=0
until curl -sf "$HEARTH_API/v1/health" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "demo: the daemon did not start" >&2
		exit 1
	fi
	sleep 0.1
done

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "\$ hearth deploy hello-c --runtime provided --handler hello --code $BUILD/examples/hello-c"
"$HEARTH" deploy hello-c --runtime provided --handler hello --code "$BUILD/examples/hello-c" --data "$DATA"

say "\$ hearth invoke hello-c --payload '{\"name\": \"Ada\"}'     # cold start"
"$HEARTH" invoke hello-c --payload '{"name": "Ada"}' --data "$DATA"

say "\$ hearth invoke hello-c --payload '{\"name\": \"Grace\"}'   # warm start"
"$HEARTH" invoke hello-c --payload '{"name": "Grace"}' --data "$DATA"

# Lambda-style handlers, deployed from their source directories.
EXAMPLES=$(cd "$(dirname "$0")/../examples" && pwd)

say "\$ hearth deploy hello-python --runtime python3 --handler lambda_function.lambda_handler --code examples/hello-python"
"$HEARTH" deploy hello-python --runtime python3 --handler lambda_function.lambda_handler \
	--code "$EXAMPLES/hello-python" --data "$DATA"

say "\$ hearth invoke hello-python --payload '{\"name\": \"Ada\"}'"
"$HEARTH" invoke hello-python --payload '{"name": "Ada"}' --data "$DATA"

say "\$ hearth deploy hello-node --runtime nodejs --handler index.handler --code examples/hello-node"
"$HEARTH" deploy hello-node --runtime nodejs --handler index.handler \
	--code "$EXAMPLES/hello-node" --data "$DATA"

say "\$ hearth invoke hello-node --payload '{\"name\": \"Grace\"}'"
"$HEARTH" invoke hello-node --payload '{"name": "Grace"}' --data "$DATA"

say "\$ hearth logs hello-python"
"$HEARTH" logs hello-python --data "$DATA"

say "\$ hearth deploy nightly-job --runtime provided --handler job --code $BUILD/examples/scheduled"
"$HEARTH" deploy nightly-job --runtime provided --handler job --code "$BUILD/examples/scheduled" --data "$DATA"

say "\$ hearth schedule add every-minute 'rate(1 minute)' nightly-job"
"$HEARTH" schedule add every-minute 'rate(1 minute)' nightly-job --data "$DATA"

say "\$ hearth deploy api-time ... --route 'GET /time'      # examples/http-api: C, Python, Node.js"
"$HEARTH" deploy api-time --runtime provided --handler time --code "$BUILD/examples/http-api" \
	--route 'GET /time' --data "$DATA"
"$HEARTH" deploy api-hello --runtime python3 --handler lambda_function.lambda_handler \
	--code "$EXAMPLES/http-api/python" --route 'GET /hello/{name}' --data "$DATA"
"$HEARTH" deploy api-notes --runtime nodejs --handler index.handler \
	--code "$EXAMPLES/http-api/node" --route 'ANY /notes' --route 'ANY /notes/{proxy+}' \
	--data "$DATA"

say "\$ hearth route ls"
"$HEARTH" route ls --data "$DATA"

say "\$ curl -i http://$GATEWAY/time"
curl -si "http://$GATEWAY/time"
echo
say "\$ curl http://$GATEWAY/hello/Ada?lang=fr"
curl -s "http://$GATEWAY/hello/Ada?lang=fr"
echo
say "\$ curl -X POST -d '{\"text\": \"buy milk\"}' http://$GATEWAY/notes; curl http://$GATEWAY/notes"
curl -s -X POST -H 'content-type: application/json' -d '{"text": "buy milk"}' "http://$GATEWAY/notes"
echo
curl -s "http://$GATEWAY/notes"
echo

say "\$ hearth ls"
"$HEARTH" ls --data "$DATA"

say "\$ hearth logs hello-c"
"$HEARTH" logs hello-c --data "$DATA"

cat <<EOT

hearth is running on $HEARTH_API (gateway http://$GATEWAY) with its data in $DATA. Try, in
another terminal:

  curl http://$GATEWAY/hello/you

  export HEARTH_API=$HEARTH_API
  $HEARTH invoke hello-c --payload '{"name": "you"}' --data $DATA
  $HEARTH invoke hello-c --async --data $DATA
  $HEARTH invoke hello-python --payload '{"name": "you"}' --data $DATA
  $HEARTH invoke hello-node --payload '{"name": "you"}' --data $DATA
  $HEARTH logs hello-c --follow --data $DATA
  $HEARTH ps --data $DATA
  $HEARTH logs nightly-job --follow --data $DATA     # the scheduled job, once a minute
  $HEARTH events nightly-job --data $DATA
  curl -s -H "Authorization: Bearer \$(cat $DATA/token)" -d '{"name":"curl"}' \\
       $HEARTH_API/v1/functions/hello-c/invoke

Press Ctrl-C to stop (every instance ends, nothing is left running).
EOT
if [ -n "${HEARTH_DEMO_NONINTERACTIVE:-}" ]; then
	exit 0
fi
wait "$pid"
