/* CDF map: the savings groups layer (one circle per settlement with groups, its radius from
 * the members, its colour from PAR30; both worked out by the server). cdfmap.js builds the
 * page and lends its popup and tooltip builders, which set every text as a text node. */
(function () {
  "use strict";

  function layer(collection, fields, popupContent, tooltipContent) {
    return L.geoJSON(collection, {
      pane: "cdfGroups",
      pointToLayer: function (feature, latlng) {
        var properties = feature.properties;
        return L.circleMarker(latlng, {
          pane: "cdfGroups",
          radius: typeof properties.radius === "number" ? properties.radius : 8,
          color: "#3b2a00",
          weight: 1.5,
          fillColor: properties.colour,
          fillOpacity: 0.8,
          className: "cdf-group-circle",
        });
      },
      onEachFeature: function (feature, item) {
        item.bindTooltip(
          function () {
            return tooltipContent(feature.properties);
          },
          { sticky: true }
        );
        item.bindPopup(
          function () {
            return popupContent(feature.properties, fields);
          },
          { minWidth: 240, maxWidth: 340, autoPanPaddingTopLeft: [10, 90] }
        );
      },
    });
  }

  window.CdfGroups = { layer: layer };
})();
