#!/usr/bin/env bash
# Builds the self-contained WebGPU benchmark bundle for a GPU machine that has
# neither Node nor network: run here (Node 20, node_modules installed), carry
# .gpu/ (or .gpu/visionops-gpu-bench.tar.gz) there, then scripts/gpu/run.sh.
#
# Contents of .gpu/bundle/:
#   node/bin/node                     this machine's Node binary (self-contained apart from glibc/libstdc++)
#   bench-webgpu.mjs                  bench/webgpu/run.ts bundled with the library and tfjs (esbuild)
#   node_modules/webgpu/              Dawn for Node (index.js + dist/linux-x64/dawn.node), loaded at run time
#   vulkan/libvulkan.so.1             the Vulkan loader, for hosts that have the NVIDIA ICD but no loader
#   vulkan/*.deb                      the loader's Debian package, when `apt-get download` can fetch it here
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu/bundle
rm -rf "$out"
mkdir -p "$out/node/bin" "$out/node_modules/webgpu/dist/linux-x64" "$out/vulkan"

cp "$(command -v node)" "$out/node/bin/node"
# tfjs calls require() for Node built-ins; an ESM bundle needs a real require for that.
npx esbuild bench/webgpu/run.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --log-level=warning --outfile="$out/bench-webgpu.mjs" \
  --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"

loader=$(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ { p = $NF } END { print p }')
if [ -n "$loader" ]; then cp -L "$loader" "$out/vulkan/libvulkan.so.1"; fi
(cd "$out/vulkan" && apt-get download libvulkan1 >/dev/null 2>&1) || echo "note: no libvulkan1 .deb fetched (offline); the .so copy is carried" >&2

tar czf .gpu/visionops-gpu-bench.tar.gz -C .gpu bundle
du -sh "$out" .gpu/visionops-gpu-bench.tar.gz
