#!/bin/sh
# The stand-in's /lambda-entrypoint.sh, with the contract of the AWS base image's: the image command is the
# handler; on Lambda (AWS_LAMBDA_RUNTIME_API set by the platform) the runtime's bootstrap talks to the real
# Runtime API; anywhere else the Runtime Interface Emulator starts first, answers on :8080 and runs bootstrap.
# _HANDLER is exported here because the emulator hands the runtime an environment of its own making, built
# from its own (LAMBDA_TASK_ROOT comes from the image's ENV the same way).
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie "$RUNTIME_ENTRYPOINT"
else
  exec "$RUNTIME_ENTRYPOINT"
fi
