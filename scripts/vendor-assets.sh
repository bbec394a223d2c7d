#!/usr/bin/env bash
# Rebuild static/vendor/ from the npm packages pinned in vendor/package-lock.json.
# Only for maintainers updating a library: `make run` and `make test` never need Node.
#   scripts/vendor-assets.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp vendor/package.json vendor/package-lock.json "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
modules="$work/node_modules"
version() { node -p "require('$modules/$1/package.json').version"; }

leaflet="static/vendor/leaflet-$(version leaflet)"
rm -rf "$leaflet" && mkdir -p "$leaflet"
cp -r "$modules/leaflet/dist/leaflet.js" "$modules/leaflet/dist/leaflet.css" \
  "$modules/leaflet/dist/images" "$modules/leaflet/LICENSE" "$leaflet/"

swagger="static/vendor/swagger-ui-$(version swagger-ui-dist)"
rm -rf "$swagger" && mkdir -p "$swagger"
cp "$modules/swagger-ui-dist/swagger-ui-bundle.js" "$modules/swagger-ui-dist/swagger-ui.css" \
  "$modules/swagger-ui-dist/favicon-32x32.png" "$modules/swagger-ui-dist/LICENSE" \
  "$modules/swagger-ui-dist/NOTICE" "$swagger/"
echo "vendored $leaflet and $swagger"
