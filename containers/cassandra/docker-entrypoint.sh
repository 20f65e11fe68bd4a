#!/bin/bash
# The image's entrypoint: renders cassandra.yaml from the local launcher's template (scripts/cassandra/cassandra.yaml)
# with the official cassandra image's variables, then runs CassandraDaemon in the foreground with the launcher's
# JVM flags (jvm17.options, written from launcher.ts by scripts/containers/images.ts).
#   CASSANDRA_CLUSTER_NAME    cluster_name (default "Test Cluster", as the official image)
#   CASSANDRA_LISTEN_ADDRESS  listen address (default: this container's first IP address)
#   CASSANDRA_BROADCAST_ADDRESS, CASSANDRA_RPC_ADDRESS (default 0.0.0.0), CASSANDRA_BROADCAST_RPC_ADDRESS
#   CASSANDRA_SEEDS           comma-separated seed addresses (default: this node's broadcast address)
#   CASSANDRA_DC, CASSANDRA_RACK  when either is set, GossipingPropertyFileSnitch with these (datacenter1/rack1)
#   CASSANDRA_ENDPOINT_SNITCH, CASSANDRA_NUM_TOKENS, CASSANDRA_INITIAL_TOKEN (default 0: one node per token)
#   MAX_HEAP_SIZE, HEAP_NEWSIZE   heap and young generation (both or neither, as the official image; default 1G/200M)
#   JVM_EXTRA_OPTS            appended to the JVM command line
set -euo pipefail

if [ "${1:-}" != "cassandra" ]; then
  exec "$@"
fi

if [ -n "${MAX_HEAP_SIZE:-}" ] && [ -z "${HEAP_NEWSIZE:-}" ] || [ -z "${MAX_HEAP_SIZE:-}" ] && [ -n "${HEAP_NEWSIZE:-}" ]; then
  echo "please set or unset MAX_HEAP_SIZE and HEAP_NEWSIZE in pairs" >&2
  exit 1
fi
heap="${MAX_HEAP_SIZE:-1G}"
newsize="${HEAP_NEWSIZE:-200M}"

first_ip=$(hostname -I 2>/dev/null | awk '{print $1}')
listen="${CASSANDRA_LISTEN_ADDRESS:-${first_ip:-127.0.0.1}}"
[ "$listen" = auto ] && listen="${first_ip:-127.0.0.1}"
broadcast="${CASSANDRA_BROADCAST_ADDRESS:-$listen}"
rpc="${CASSANDRA_RPC_ADDRESS:-0.0.0.0}"
broadcast_rpc="${CASSANDRA_BROADCAST_RPC_ADDRESS:-$broadcast}"
seeds="${CASSANDRA_SEEDS:-$broadcast}"
native_port="${CASSANDRA_NATIVE_PORT:-9042}"
storage_port="${CASSANDRA_STORAGE_PORT:-7000}"
snitch="${CASSANDRA_ENDPOINT_SNITCH:-SimpleSnitch}"
if [ -n "${CASSANDRA_DC:-}" ] || [ -n "${CASSANDRA_RACK:-}" ]; then
  snitch="${CASSANDRA_ENDPOINT_SNITCH:-GossipingPropertyFileSnitch}"
fi

conf=/etc/cassandra
# The template's placeholders are {{name}}; tolerate "{ { name } }" too (a formatter's rewrite of the same).
fill() { sed -E "s/\{ ?\{ ?$1 ?\} ?\}/$(printf '%s' "$2" | sed 's/[\/&]/\\&/g')/g"; }
fill cluster_name "${CASSANDRA_CLUSTER_NAME:-Test Cluster}" </opt/cassandra/conf/cassandra.yaml.template \
  | fill initial_token "${CASSANDRA_INITIAL_TOKEN:-0}" \
  | fill auto_bootstrap true \
  | fill seeds "$seeds" \
  | fill storage_port "$storage_port" \
  | fill native_port "$native_port" \
  | sed -E "s/^rpc_address: .*/rpc_address: $rpc\nbroadcast_rpc_address: $broadcast_rpc\nbroadcast_address: $broadcast/" \
  | fill address "$listen" \
  | sed -E "s/^endpoint_snitch: .*/endpoint_snitch: $snitch/" \
  | { if [ -n "${CASSANDRA_NUM_TOKENS:-}" ]; then sed -E "s/^num_tokens: .*/num_tokens: $CASSANDRA_NUM_TOKENS/; /^initial_token:/d"; else cat; fi; } \
  >"$conf/cassandra.yaml"
printf 'dc=%s\nrack=%s\nprefer_local=true\n' "${CASSANDRA_DC:-datacenter1}" "${CASSANDRA_RACK:-rack1}" >"$conf/cassandra-rackdc.properties"
cp /opt/cassandra/conf/logback.xml "$conf/logback.xml"
# The health check probes the address clients use.
if [ "$rpc" = 0.0.0.0 ]; then echo 127.0.0.1; else echo "$rpc"; fi >"$conf/rpc-address"

data=/var/lib/cassandra
mkdir -p "$data/storage" "$data/tmp" /var/log/cassandra
mapfile -t module_flags </opt/cassandra/conf/jvm17.options
# shellcheck disable=SC2086
exec java \
  "-Xms$heap" "-Xmx$heap" "-Xmn$newsize" -Xss256k \
  -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxGCPauseMillis=300 \
  -XX:+HeapDumpOnOutOfMemoryError -XX:+ExitOnOutOfMemoryError -XX:HeapDumpPath=/var/log/cassandra \
  -Djava.net.preferIPv4Stack=true \
  "${module_flags[@]}" \
  "-Dcassandra.config=file://$conf/cassandra.yaml" \
  "-Dcassandra.storagedir=$data/storage" \
  -Dcassandra.logdir=/var/log/cassandra \
  -Dcassandra-foreground=yes \
  -Dcassandra.skip_wait_for_gossip_to_settle=0 \
  -Dcassandra.ring_delay_ms=100 \
  "-Dlogback.configurationFile=file://$conf/logback.xml" \
  "-Djna.tmpdir=$data/tmp" "-Djava.io.tmpdir=$data/tmp" \
  ${JVM_EXTRA_OPTS:-} \
  -cp "$conf:/opt/cassandra/lib/*" \
  org.apache.cassandra.service.CassandraDaemon
