#!/bin/bash
# Health check: sends a CQL v4 OPTIONS frame to the node's native port and expects a SUPPORTED frame back
# (response version byte 0x84, opcode 0x06), using bash's /dev/tcp, so the image needs no cqlsh or Python.
# Usage: cql-ready.sh [host] [port]  (defaults: the address the entrypoint chose, CASSANDRA_NATIVE_PORT or 9042)
set -u
host="${1:-$(cat /etc/cassandra/rpc-address 2>/dev/null || echo 127.0.0.1)}"
port="${2:-${CASSANDRA_NATIVE_PORT:-9042}}"
exec 3<>"/dev/tcp/${host}/${port}" || exit 1
# version 4 request, flags 0, stream 0, opcode OPTIONS (5), body length 0
printf '\x04\x00\x00\x00\x05\x00\x00\x00\x00' >&3
header=$(timeout 5 head -c 9 <&3 | od -An -tx1 | tr -d ' \n')
exec 3<&-
case "$header" in
  84000000*06*) exit 0 ;;
  *) echo "no SUPPORTED answer from ${host}:${port} (got '${header}')" >&2; exit 1 ;;
esac
