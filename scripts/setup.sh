#!/usr/bin/env bash
# Idempotent set-up of stylegan-ts on Debian 12 (bookworm): apt packages, node modules (whose install script builds
# the libtorch addon) and the TypeScript build. A repeat run only does what is missing.
#   ./scripts/setup.sh            set up
#   ./scripts/setup.sh --dry-run  print what it would do, change nothing
# LIBTORCH=/path/to/libtorch, or a pip-installed torch that `python3` imports, replaces Debian's libtorch-dev
# (native/find-libtorch.cjs picks the same one when building the addon).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dry_run=0
case "${1:-}" in
  '') ;;
  --dry-run) dry_run=1 ;;
  -h | --help) sed -n '2,7p' "$0" | cut -c3-; exit 0 ;;
  *) echo "setup.sh: unknown argument '$1' (expected --dry-run)" >&2; exit 2 ;;
esac

say() { printf 'setup: %s\n' "$*"; }
run() {
  if ((dry_run)); then say "would run: $*"; else say "running: $*"; "$@"; fi
}

# Node.js: Debian 12's own nodejs is 18, too old; it has to come from elsewhere (nodejs.org, NodeSource).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  say 'Node.js >= 20 with npm is required and was not found (install it from nodejs.org or NodeSource)'
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  say "Node.js >= 20 is required, found $(node --version)"
  exit 1
fi

# 1. apt packages.
# libjemalloc2: the retaining allocator loaded for large CPU tensors; libgloo-dev: headers of c10d's Gloo backend;
# chromium: the headless browser of the studio tests; python3-pil: the stylegan2-ada dataset-compatibility test.
packages=(build-essential time python3 python3-numpy python3-torch python3-pil libopenblas0-pthread libjemalloc2 libgloo-dev
  chromium dataset-fashion-mnist ffmpeg)
if [[ -n "${LIBTORCH:-}" ]]; then
  say "LIBTORCH=$LIBTORCH: building against it, not Debian's libtorch-dev"
elif command -v python3 >/dev/null && python3 -c 'import sys, torch; sys.exit("/usr/lib/python3/" in torch.__file__)' 2>/dev/null; then
  say "python3 imports a pip torch $(python3 -c 'import torch; print(torch.__version__)'): building against it, not Debian's libtorch-dev"
else
  packages=(libtorch-dev "${packages[@]}")
fi

# (Outputs are captured first: `cmd | grep -q` can fail under pipefail when grep exits early.)
installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == 'install ok installed' ]]; }
candidate() { [[ $(apt-cache policy "$1" 2>/dev/null || true) =~ Candidate:\ [^\(] ]]; }
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done

if ((${#missing[@]} == 0)); then
  say "apt packages already installed: ${packages[*]}"
else
  say "apt packages missing: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo)
  else
    say "not root and no passwordless sudo: install them, then run this again:"
    say "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  run "${sudo[@]}" apt-get update
  unknown=()
  for p in "${missing[@]}"; do
    candidate "$p" || unknown+=("$p")
  done
  if ((${#unknown[@]})); then
    say "not available from the configured apt sources: ${unknown[*]} (all are in Debian 12 bookworm main)"
    exit 1
  fi
  run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# 2. node modules; `npm ci` runs the package's install script, which builds the addon. onnxruntime-node ships its CPU
# binary; without this its install script tries to download CUDA files.
export ONNXRUNTIME_NODE_INSTALL=skip
addon=build/Release/stylegan_torch.node
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  run npm ci
elif [[ ! -f $addon || -n $(find native binding.gyp -newer "$addon" -print -quit) ]]; then
  say "node_modules up to date; the addon is missing or older than native/"
  run npm run build:native
else
  say "node_modules and $addon up to date"
fi

# 3. TypeScript → dist/.
run npm run build:ts
say 'done'
