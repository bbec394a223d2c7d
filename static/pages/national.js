/* The national view: the member cities on a Leaflet map (circles sized by households
   surveyed, coloured by average settlement priority) and the table sorted by any column.
   Every text from the data goes into the page as a text node, never as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("national-data").textContent);

  function colour(score) {
    if (score === null || score === undefined) return data.no_data_colour;
    var index = Math.min(data.colours.length - 1, Math.floor(score / (100 / data.colours.length)));
    return data.colours[Math.max(0, index)];
  }

  function tooltip(city) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = city.name;
    box.appendChild(name);
    city.lines.forEach(function (line) {
      var row = document.createElement("div");
      row.textContent = line;
      box.appendChild(row);
    });
    return box;
  }

  var map = L.map("national-map", { zoomSnap: 0.5, attributionControl: Boolean(data.basemap_url) });
  if (data.basemap_url) {
    L.tileLayer(data.basemap_url, { maxZoom: 18 }).addTo(map);
  }
  var largest = Math.max.apply(null, data.cities.map(function (c) { return c.households; }).concat([1]));
  var points = [];
  data.cities.forEach(function (city) {
    if (city.lat === null || city.lon === null) return;
    var marker = L.circleMarker([city.lat, city.lon], {
      radius: 6 + 24 * Math.sqrt(city.households / largest),
      color: "#333",
      weight: 1,
      fillColor: colour(city.priority),
      fillOpacity: 0.85,
    }).addTo(map);
    marker.bindTooltip(tooltip(city), { direction: "top" });
    marker.on("click", function () {
      window.location.href = city.url;
    });
    points.push([city.lat, city.lon]);
  });
  if (points.length === 1) {
    map.setView(points[0], 9);
  } else if (points.length > 1) {
    map.fitBounds(points, { padding: [40, 40] });
  } else {
    map.setView([16, 106], 5);
  }

  // Sorting: a click on a column heading sorts by it (again: the other way round).
  var table = document.getElementById("national-table");
  var body = table.tBodies[0];
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, column) {
    cell.querySelector("button").addEventListener("click", function () {
      var ascending = cell.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
        other.setAttribute("aria-sort", "none");
      });
      cell.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var number = cell.classList.contains("num");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-value");
        var y = b.cells[column].getAttribute("data-value");
        var order = number ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, data.language);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
