#!/usr/bin/env bash
# Build page-tracker's image and run its compose stack with the e2e tests, on a machine with no
# container registry and no running Docker engine (air-gapped CI). As root, it:
#   1. installs Debian's Docker engine, docker-compose, debootstrap and iptables if missing;
#   2. starts a private dockerd (data, sockets and pidfile under a temporary directory);
#   3. builds stand-ins for the python, redis and prometheus images from Debian packages, tagged
#      with the names the unmodified Dockerfile and docker-compose.yml use (Grafana has no Debian
#      package: the observability profile runs here without it);
#   4. builds the image (tagged with the commit SHA and latest);
#   5. runs `docker-compose --profile testing up --build --exit-code-from test-service`;
#   6. runs the checks on the image and the stack (test/container);
# and exits with the e2e tests' exit code, or the checks' if those failed. Whatever it started
# (containers, networks, volumes, the daemon, bridges, firewall rules) it removes on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

python_image=$(sed -n 's/^ARG PYTHON_IMAGE=//p' Dockerfile)
redis_image=$(sed -n 's/^ *image: *\(redis:.*\)$/\1/p' docker-compose.yml)
prometheus_image=$(sed -n 's/^ *image: *\(prom\/prometheus:.*\)$/\1/p' docker-compose.yml)
tag=$(git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
project="page-tracker-ci-$$"
work=$(mktemp -d /tmp/page-tracker-containers.XXXXXX)
export DOCKER_HOST="unix://$work/docker.sock" DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
export PAGE_TRACKER_TAG="$tag"
compose=(docker-compose --project-name "$project" --profile testing)

log() { printf '\n== %s\n' "$*" >&2; }
stage_started=$SECONDS
timings=()
end_stage() {
  [ -z "${stage_name:-}" ] || timings+=("$(printf '%-28s %4d s' "$stage_name" $((SECONDS - stage_started)))")
}
stage() {
  end_stage
  stage_name=$1
  stage_started=$SECONDS
  log "$1"
}

[ "$(id -u)" = 0 ] || { echo "container-ci.sh needs root (it installs and starts dockerd)" >&2; exit 2; }

# --- 1. what this script uses, installed if missing -------------------------------------------
# Before anything else: the firewall snapshot below already needs iptables, and a machine that
# ran this once before would hide a missing package.
stage "install what is missing"
trap 'rm -rf "$work"' EXIT  # until the full clean-up below takes over
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v iptables-save >/dev/null || missing+=(iptables)
command -v ip >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- cleanup, also when anything fails --------------------------------------------------------
bridges_before=$(ip -o link show type bridge | awk -F': ' '{print $2}' | sort)
iptables -t filter -S >/dev/null && iptables -t nat -S >/dev/null  # load both tables, so the
iptables-save >"$work/iptables.before"                            # snapshot restores both
dockerd_pid=""
cleanup() {
  local status=$?
  set +e
  stage "clean up"
  if [ -n "$dockerd_pid" ]; then
    "${compose[@]}" down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1
    docker ps --all --quiet | xargs -r docker rm --force --volumes >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$dockerd_pid" 2>/dev/null
  fi
  grep " $work/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l
  iptables-restore <"$work/iptables.before"
  comm -13 <(echo "$bridges_before") <(ip -o link show type bridge | awk -F': ' '{print $2}' | sort) |
    xargs -r -n1 ip link delete
  rm -rf "$work"
  end_stage
  printf '%s\n' "${timings[@]}" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stage "start dockerd"
dockerd --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
  --host "$DOCKER_HOST" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
docker info >/dev/null || { tail -20 "$work/dockerd.log" >&2; exit 1; }

# --- 2. base images from Debian packages ------------------------------------------------------
stage "base images"
# The Debian mirror this machine uses, read from its apt sources (never written in the repo).
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
rootfs="$work/rootfs"
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$work/debootstrap.log"
# Trust the same extra CAs as this machine (an intercepting proxy needs them), in apt and pip.
cp /usr/local/share/ca-certificates/* "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
chroot "$rootfs" update-ca-certificates >/dev/null
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" && chmod +x "$rootfs/usr/sbin/policy-rc.d"
cp -a "$rootfs" "$rootfs-redis"
cp -a "$rootfs" "$rootfs-prometheus"
install_into() {
  chroot "$1" apt-get install -y -qq --no-install-recommends "${@:2}" >/dev/null
  chroot "$1" apt-get clean
  rm -rf "$1"/var/lib/apt/lists/*
}
install_into "$rootfs" python3 python3-venv
install_into "$rootfs-redis" redis-server
install_into "$rootfs-prometheus" prometheus
tar -C "$rootfs" -c . | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$python_image"
tar -C "$rootfs-redis" -c . | docker import --change 'WORKDIR /data' --change 'CMD ["redis-server"]' - "$redis_image"
tar -C "$rootfs-prometheus" -c . | docker import --change 'WORKDIR /prometheus' \
  --change 'ENTRYPOINT ["/usr/bin/prometheus"]' - "$prometheus_image"
rm -rf "$rootfs" "$rootfs-redis" "$rootfs-prometheus"

# --- 3. the image -------------------------------------------------------------------------------
stage "build image"
make image IMAGE_TAG="$tag"
docker image ls page-tracker --format '{{.Repository}}:{{.Tag}} {{.Size}}' >&2

# --- 4. the stack with the e2e tests --------------------------------------------------------------
stage "compose e2e"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PAGE_TRACKER_PUBLISH="127.0.0.1:$port"
e2e_status=0
"${compose[@]}" up --build --exit-code-from test-service || e2e_status=$?
"${compose[@]}" down --timeout 5

# --- 5. checks on the image and the stack ---------------------------------------------------------
stage "image and stack checks"
checks_status=0
"${PYTHON:-.venv/bin/python}" -m pytest -p no:cacheprovider test/container \
  --compose="${compose[*]}" --image="page-tracker:$tag" --flask-url="http://$PAGE_TRACKER_PUBLISH" \
  || checks_status=$?

[ "$e2e_status" = 0 ] || { echo "compose e2e failed ($e2e_status)" >&2; exit "$e2e_status"; }
exit "$checks_status"
