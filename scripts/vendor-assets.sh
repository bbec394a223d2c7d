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
# openrosa-xpath-evaluator (Enketo's XPath 1.0 + ODK functions) is CommonJS: one ES module
# bundle for the phone (static/collect/xpath.js). node-forge (only for digest()) is left out.
# vendor/patches/ holds what the bundle changes of it (dates read as the server reads them);
# the patched bundle is a version of its own, `-p1` (its folder is its URL, cached for a year
# as immutable): a change of the patch takes the next number.
oxe="static/vendor/openrosa-xpath-evaluator-$(version openrosa-xpath-evaluator)-p1"
rm -rf "$oxe" && mkdir -p "$oxe"
patch --quiet --forward -d "$modules/openrosa-xpath-evaluator" -p1 \
  <"vendor/patches/openrosa-xpath-evaluator-$(version openrosa-xpath-evaluator).patch"
cp vendor/openrosa-xpath-entry.js "$work/"
(cd "$work" && node_modules/.bin/esbuild openrosa-xpath-entry.js --bundle --format=esm \
  --target=es2020 --external:node-forge --legal-comments=inline \
  --outfile=openrosa-xpath-evaluator.js --log-level=warning)
{
  echo "// openrosa-xpath-evaluator $(version openrosa-xpath-evaluator) (Apache-2.0, see LICENSE), bundled"
  echo "// by scripts/vendor-assets.sh from vendor/package-lock.json and vendor/openrosa-xpath-entry.js,"
  echo "// with vendor/patches/openrosa-xpath-evaluator-$(version openrosa-xpath-evaluator).patch."
  cat "$work/openrosa-xpath-evaluator.js"
} >"$oxe/openrosa-xpath-evaluator.js"
cp "$modules/openrosa-xpath-evaluator/LICENSE" "$oxe/"
# @mapbox/vector-tile and pbf (ES modules) read the household tiles of a large city's map:
# one classic script setting the global CdfVectorTile (static/maps/cdfmap.js).
mvt="static/vendor/vector-tile-$(version @mapbox/vector-tile)"
rm -rf "$mvt" && mkdir -p "$mvt"
cp vendor/vector-tile-entry.js "$work/"
(cd "$work" && node_modules/.bin/esbuild vector-tile-entry.js --bundle --format=iife \
  --global-name=CdfVectorTile --target=es2017 --minify --legal-comments=inline \
  --outfile=vector-tile.js --log-level=warning)
{
  echo "// @mapbox/vector-tile $(version @mapbox/vector-tile), pbf $(version pbf) (BSD-3-Clause) and"
  echo "// @mapbox/point-geometry $(version @mapbox/point-geometry) (ISC), see the LICENSE files; bundled"
  echo "// by scripts/vendor-assets.sh from vendor/package-lock.json and vendor/vector-tile-entry.js."
  cat "$work/vector-tile.js"
} >"$mvt/vector-tile.js"
cp "$modules/@mapbox/vector-tile/LICENSE.txt" "$mvt/LICENSE" 2>/dev/null ||
  cp "$modules/@mapbox/vector-tile/LICENSE" "$mvt/LICENSE"
cp "$modules/pbf/LICENSE" "$mvt/LICENSE.pbf"
cp "$modules/@mapbox/point-geometry/LICENSE" "$mvt/LICENSE.point-geometry"
echo "vendored $leaflet, $swagger, $oxe and $mvt"
