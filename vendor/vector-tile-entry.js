// Entry of the vector tile decoder bundle (scripts/vendor-assets.sh builds it with esbuild into
// static/vendor/vector-tile-<version>/vector-tile.js, one classic script that sets the global
// CdfVectorTile). static/maps/cdfmap.js reads the household tiles of a large city with it
// (/tiles/households/{z}/{x}/{y}.pbf, Mapbox Vector Tiles).
import { VectorTile } from "@mapbox/vector-tile";
import { PbfReader as Pbf } from "pbf";

export function decode(buffer) {
  return new VectorTile(new Pbf(buffer));
}
