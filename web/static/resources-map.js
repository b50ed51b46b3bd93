/* Small maps of the resource pages: the points come from a JSON island beside the map
   (no inline script, so the page's CSP needs no exception). Everything shown here is
   also written in the page: without JavaScript nothing is lost but the picture. */
(function () {
  "use strict";
  function draw(box) {
    var island = document.getElementById(box.getAttribute("data-points"));
    if (!island || typeof L === "undefined") { return; }
    var points = JSON.parse(island.textContent || "[]");
    if (!points.length) { box.hidden = true; return; }
    var map = L.map(box, { scrollWheelZoom: false, keyboard: true });
    L.tileLayer(box.getAttribute("data-tiles"), {
      attribution: box.getAttribute("data-attribution"),
      maxZoom: 18
    }).addTo(map);
    var bounds = [];
    points.forEach(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: 8, color: "#1a1a1a", weight: 1, fillColor: p.colour || "#607D8B", fillOpacity: 0.9
      }).addTo(map);
      var label = document.createElement(p.url ? "a" : "span");
      label.textContent = p.name;
      if (p.url) { label.href = p.url; }
      marker.bindPopup(label);
      marker.bindTooltip(p.name);
      bounds.push([p.lat, p.lon]);
    });
    if (bounds.length === 1) { map.setView(bounds[0], 15); } else { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 }); }
  }
  function start() {
    var boxes = document.querySelectorAll(".small-map[data-points]");
    for (var i = 0; i < boxes.length; i++) { draw(boxes[i]); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
