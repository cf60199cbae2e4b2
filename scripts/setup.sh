#!/usr/bin/env bash
# Install everything vision-export needs on a fresh Debian/Ubuntu machine:
# Chromium (for verify and the browser tests) and npm from apt-get, the Python
# package with pip, and the pinned onnxruntime-web files into the user cache.
#   bash scripts/setup.sh          # the tool
#   bash scripts/setup.sh --tfjs   # the tool and the TF.js converters (about 3 GB more)
#   bash scripts/setup.sh --test   # the tool, the TF.js converters and the test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
tfjs=""
case "${1:-}" in
  --test) extras="[test]"; tfjs=1 ;;
  --tfjs) tfjs=1 ;;
  "") ;;
  *) echo "unknown option ${1}: use --tfjs or --test" >&2; exit 2 ;;
esac

sudo_cmd=()
if [[ "$(id -u)" != "0" ]]; then
  sudo_cmd=(sudo)
fi

apt_packages=()
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)
# The TF.js converters live in a virtual environment; Debian's Python needs python3-venv for it.
if [[ -n "$tfjs" ]] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt_packages+=(python3-venv)
fi
if (( ${#apt_packages[@]} )); then
  echo "Installing ${apt_packages[*]} with apt-get"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

echo "Installing vision-export${extras} with pip"
python3 -m pip install --quiet --disable-pip-version-check -e ".${extras}"

# The first export would fetch the runtime too; doing it here keeps later runs offline.
vision-export fetch-runtime

if [[ -n "$tfjs" ]]; then
  # TensorFlow, onnx2tf and tensorflowjs go into a virtual environment of their own in
  # the cache: their pins clash with the exporter's onnx and onnxruntime.
  vision-export setup-tfjs
fi

if [[ -n "$extras" ]]; then
  # Vite 7, used by the embedding test, needs Node.js 20.19 or newer.
  if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    echo "Node.js $(node --version) is too old for the JS tests: install Node.js 20.19 or newer" >&2
    exit 1
  fi
  echo "Installing the TypeScript compiler and Vite for the JS tests with npm"
  npm ci --silent --prefix tests/js
fi
