#!/bin/sh
# Copies the pinned front-end libraries from node_modules into vendor/, which is committed and
# embedded into the binary at build time (src/web/assets.rs). Run after changing package.json:
#   cd web && npm ci && npm run vendor
set -eu
cd "$(dirname "$0")"
[ -d node_modules/leaflet/dist ] || npm ci --no-audit --no-fund
rm -rf vendor/leaflet
mkdir -p vendor/leaflet/images
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css vendor/leaflet/
cp node_modules/leaflet/dist/images/marker-icon.png node_modules/leaflet/dist/images/marker-icon-2x.png \
   node_modules/leaflet/dist/images/marker-shadow.png vendor/leaflet/images/
cp node_modules/leaflet/LICENSE vendor/leaflet/LICENSE
node -e 'console.log(require("./node_modules/leaflet/package.json").version)' > vendor/leaflet/VERSION
echo "vendor/leaflet: Leaflet $(cat vendor/leaflet/VERSION)"
