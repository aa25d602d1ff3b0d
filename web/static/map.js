// Draws the places of the page's JSON data block (#map-data) on a Leaflet map in #map.
// Feed text is only ever set as text (textContent), never as HTML.
(function () {
  "use strict";
  var el = document.getElementById("map");
  var block = document.getElementById("map-data");
  if (!el || !block || !window.L) return;
  var data;
  try { data = JSON.parse(block.textContent); } catch (e) { return; }
  if (!data.places || data.places.length === 0) return;
  el.hidden = false;
  var map = L.map(el, { scrollWheelZoom: false });
  var attribution = document.createElement("a");
  attribution.href = data.attribution_url;
  attribution.textContent = data.attribution;
  L.tileLayer(data.tiles, { maxZoom: 19, attribution: attribution.outerHTML }).addTo(map);
  var bounds = [];
  data.places.forEach(function (p) {
    var marker = L.marker([p.lat, p.lon], { title: p.name, alt: p.name, keyboard: true }).addTo(map);
    bounds.push([p.lat, p.lon]);
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = p.name;
    box.appendChild(name);
    if (p.count) {
      box.appendChild(document.createTextNode(" (" + p.count + ")"));
    }
    if (p.events && p.events.length) {
      var list = document.createElement("ul");
      p.events.forEach(function (e) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = e.href;
        a.textContent = e.title;
        li.appendChild(a);
        li.appendChild(document.createTextNode(" – " + e.when));
        list.appendChild(li);
      });
      box.appendChild(list);
    }
    if (p.href) {
      var more = document.createElement("a");
      more.href = p.href;
      more.textContent = data.more;
      box.appendChild(more);
    }
    marker.bindPopup(box);
  });
  if (bounds.length === 1) {
    map.setView(bounds[0], 16);
  } else {
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 16 });
  }
})();
