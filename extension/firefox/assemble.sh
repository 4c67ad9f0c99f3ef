#!/bin/sh
# Assemble vauth's Firefox add-on: the very same sources as the Chromium extension, with
# firefox/manifest.json as the manifest (Firefox wants background "scripts", a gecko id, no key).
#   extension/firefox/assemble.sh [OUT_DIR]      then: web-ext run -s OUT_DIR  (or about:debugging)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"${TMPDIR:-/tmp}/vauth-firefox"}
rm -rf "$out"
mkdir -p "$out"
for dir in background content page shared ui popup options help; do
  cp -R "$src/$dir" "$out/$dir"
done
cp "$src/firefox/manifest.json" "$out/manifest.json"
echo "$out"
