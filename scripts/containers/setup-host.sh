#!/usr/bin/env bash
# Prepares a Debian machine without Docker to build and run the project's containers with podman (called by
# .ci/run; run it once by hand, as root, on a developer machine of this kind). Installs podman, podman-compose,
# buildah, runc and debootstrap from Debian when missing, and writes podman's settings for these VMs into
# /etc/containers/containers.conf:
#   - runtime "runc": crun, podman's default, stops with "cgroups in hybrid mode not supported" here;
#   - default ulimits nofile/nproc 1024: podman's defaults exceed the VM's hard limits, and every container
#     then fails with "setrlimit RLIMIT_NOFILE: operation not permitted".
# A machine with a working Docker engine needs none of this: scripts/containers/ uses docker when `docker info`
# answers.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "a Docker engine answers: podman is not needed"
  exit 0
fi

missing=()
for tool in podman podman-compose buildah runc debootstrap; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing ${missing[*]}: run as root (or: sudo apt-get install -y podman podman-compose buildah runc debootstrap)" >&2
    exit 1
  fi
  echo "installing ${missing[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman podman-compose buildah runc debootstrap >/dev/null
fi

conf=/etc/containers/containers.conf
want='# Written by scripts/containers/setup-host.sh (the digit service): settings this VM needs.
[containers]
default_ulimits = [
  "nofile=1024:1024",
  "nproc=1024:1024",
]

[engine]
runtime = "runc"'
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$want" ]; then
  echo "$conf already holds the settings"
elif [ -f "$conf" ] && ! grep -q 'scripts/containers/setup-host.sh' "$conf"; then
  # Someone else's configuration: keep it, and say what it needs rather than overwrite it.
  echo "$conf exists and was not written by this script; make sure it sets runtime = \"runc\" under [engine]" \
    "and default_ulimits nofile/nproc 1024:1024 under [containers]" >&2
else
  mkdir -p /etc/containers
  printf '%s\n' "$want" >"$conf"
  echo "wrote $conf"
fi
podman --version
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupsVersion}}' 2>/dev/null || true
