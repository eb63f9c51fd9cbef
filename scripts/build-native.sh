#!/usr/bin/env bash
# Builds the kernel side of espan: bpf/vmlinux.h (from this machine's BTF), the
# CO-RE BPF object bpf/.output/espan.bpf.o, its libbpf skeleton
# bpf/.output/espan.skel.h, and the node addon native/build/ that includes it.
# Idempotent: a step runs only when its output is missing or older than its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'build-native: %s\n' "$*" >&2; }

# newer OUT IN...: true when OUT is missing or any IN is newer than it
stale() {
  local out=$1
  shift
  [ -e "$out" ] || return 0
  local f
  for f in "$@"; do [ "$f" -nt "$out" ] && return 0; done
  return 1
}

if [ ! -s bpf/vmlinux.h ]; then
  if [ ! -r /sys/kernel/btf/vmlinux ]; then
    log "no /sys/kernel/btf/vmlinux: this kernel has no BTF, so the eBPF probe cannot be built or run here"
    exit 0
  fi
  log "generating bpf/vmlinux.h from /sys/kernel/btf/vmlinux"
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h.tmp
  mv bpf/vmlinux.h.tmp bpf/vmlinux.h
fi

case "$(uname -m)" in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac

obj=bpf/.output/espan.bpf.o
if stale "$obj" bpf/espan.bpf.c bpf/network_data.h bpf/espan_maps.h bpf/vmlinux.h; then
  log "compiling $obj"
  mkdir -p bpf/.output
  # -mcpu=v3: atomic fetch-and-add with a result (the per-connection call counter)
  clang -g -O2 -target bpf -mcpu=v3 "-D__TARGET_ARCH_${arch}" -Wall -Ibpf -c bpf/espan.bpf.c -o "$obj.tmp"
  mv "$obj.tmp" "$obj"
fi

# The addon reaches maps and programs through the skeleton's fields: a name the object lacks fails its compile.
skel=bpf/.output/espan.skel.h
if stale "$skel" "$obj"; then
  log "generating $skel"
  bpftool gen skeleton "$obj" name espan_bpf > "$skel.tmp"
  mv "$skel.tmp" "$skel"
fi

# Two addons: espan_native (the probe's loader and reader) and espan_capture (capture-file frame
# checks for replay, core/capture/native-frames.ts), built together from native/binding.gyp.
addon=native/build/Release/espan_native.node
capture_addon=native/build/Release/espan_capture.node
if stale "$addon" native/src/addon.cc native/binding.gyp bpf/network_data.h bpf/espan_maps.h "$skel" ||
  stale "$capture_addon" native/src/capture.cc native/binding.gyp; then
  log "building the native addons"
  # Use the headers installed with this node binary: no download from nodejs.org is needed.
  nodedir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  args=()
  if [ -f "$nodedir/include/node/node_api.h" ]; then args+=("--nodedir=$nodedir"); fi
  (cd native && ../node_modules/.bin/node-gyp rebuild "${args[@]}" --loglevel=error)
fi
