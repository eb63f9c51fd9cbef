#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (run as root): Debian packages,
# npm packages, the BPF object and native addon, the TypeScript build.
# Does nothing for the parts that are already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# Build tools for the probe and addon; the servers and clients the tests and demo run for real.
DEBS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make g++ python3
      redis-server redis-tools mariadb-server mariadb-client nginx wrk tcpdump
      python3-redis python3-pymysql iproute2 curl procps openssl
      postgresql postgresql-client python3-psycopg2 golang-go)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages (${missing[*]}); run this script as root to install them"
  else
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Services must not start on install: the tests start their own instances.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ -x scripts/build-native.sh ]; then
  bash scripts/build-native.sh
fi

# Rebuild dist/ when any TypeScript source is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find core cli receivers processors exporters connectors extensions registry.ts -name '*.ts' -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  log "compiling TypeScript"
  npx tsc -p tsconfig.json
  touch "$stamp"
fi
