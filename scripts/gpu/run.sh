#!/usr/bin/env bash
# Runs the WebGPU benchmark (with result checks against the CPU ops) on a real
# GPU, from the bundle scripts/gpu/pack.sh made; needs no Node, npm or network.
#
#   bash scripts/gpu/run.sh [runs]          # from the repository root, bundle in .gpu/
#
# Writes .gpu/results/<date>.md (the table for bench/GPU.md) and .json, plus
# nvidia-smi and Vulkan details when available.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-10}
if [ ! -d .gpu/bundle ] && [ -f .gpu/visionops-gpu-bench.tar.gz ]; then tar xzf .gpu/visionops-gpu-bench.tar.gz -C .gpu; fi
b=$(pwd)/.gpu/bundle
[ -x "$b/node/bin/node" ] || { echo "no bundle: run scripts/gpu/pack.sh on a machine with Node first" >&2; exit 2; }

# The NVIDIA ICD (container toolkit path first, then the usual system paths).
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_ICD_FILENAMES="$icd"; break; fi
done
[ -n "${VK_ICD_FILENAMES:-}" ] || { echo "no NVIDIA Vulkan ICD json found" >&2; exit 3; }
export VISIONOPS_NATIVE_VULKAN=1

# A Vulkan loader: the system's, else the carried .deb (unpacked without root), else the carried .so.
if ! ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; then
  deb=$(ls "$b"/vulkan/*.deb 2>/dev/null | head -n1 || true)
  if [ -n "$deb" ]; then
    mkdir -p "$b/vulkan/root" && dpkg-deb -x "$deb" "$b/vulkan/root"
    export LD_LIBRARY_PATH="$b/vulkan/root/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  else
    export LD_LIBRARY_PATH="$b/vulkan:${LD_LIBRARY_PATH:-}"
  fi
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p .gpu/results
{
  echo "# visionops WebGPU benchmark, $stamp"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv || true
  echo
  cd "$b" && ./node/bin/node bench-webgpu.mjs --runs "$runs" --check --json "../results/$stamp.json"
} 2>&1 | grep -v 'XDG_RUNTIME_DIR' | tee ".gpu/results/$stamp.md"
