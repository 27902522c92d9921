/*
 * Choropleth maps for the dashboards, drawn with Leaflet (served by the app, no tile layer, no outside
 * server). CSP-safe: no inline code; styles are set through the CSSOM only.
 *
 * Markup (one element per map):
 *   <div data-choropleth
 *        data-boundaries="/static/dashboards/geo/provinces.json"   GeoJSON, features with properties.code/name
 *        data-values="values-id"        id of a <script type="application/json"> (json_script): {code: number}
 *        data-label="Families in desil 1-4"                         legend title (also the map's aria-label)
 *        data-format="percent|number"   percent: values are 0..1 fractions, shown as "12,3 %"
 *        data-locale="id-ID"            optional, number formatting locale (default id-ID)
 *        data-no-data-label="No data"   optional, translated strings shown by the script
 *        data-error-label="The map could not be loaded"
 *        data-covers-label="Boundary drawn before a split; area includes:"   for shapes with properties.covers
 *        data-aria-label="Map: ..."     optional, defaults to data-label
 *        data-attribution="Boundaries: Natural Earth"   optional, shown in the corner (as text), together
 *                                       with the GeoJSON's own top-level "attribution" member when it has one
 *        data-link="/dashboards/?region={code}">         optional, Enter/click on a region follows the link
 *   </div>
 * When drawn the element gets data-rendered="true"; when loading fails it gets data-error="<message>" and
 * shows the message.
 */
(function () {
  "use strict";

  // ColorBrewer YlOrRd, 5 classes (sequential, colour-blind safe), light to dark.
  var PALETTE = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
  var NO_DATA_COLOUR = "#bdbdbd";
  var BORDER_COLOUR = "#555555";
  var FOCUS_COLOUR = "#000000";

  function formatter(format, locale) {
    var numberFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
    var percentFormat = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    if (format === "percent") {
      return function (value) { return percentFormat.format(value * 100) + " %"; };
    }
    return function (value) { return numberFormat.format(value); };
  }

  function readValues(id) {
    if (!id) { return {}; }
    var node = document.getElementById(id);
    if (!node) { return {}; }
    var parsed = JSON.parse(node.textContent || "{}");
    var values = {};
    Object.keys(parsed).forEach(function (code) {
      var value = parsed[code];
      if (typeof value === "number" && isFinite(value)) { values[code] = value; }
    });
    return values;
  }

  // Class breaks by quantiles of the values present: at most 5 classes, fewer when values repeat.
  // Returns the upper bounds of each class (ascending); the last one is the maximum.
  function breaksFor(values) {
    var sorted = Object.keys(values).map(function (code) { return values[code]; });
    sorted.sort(function (a, b) { return a - b; });
    if (sorted.length === 0) { return []; }
    var breaks = [];
    for (var i = 1; i <= PALETTE.length; i++) {
      var index = Math.min(sorted.length - 1, Math.ceil((i * sorted.length) / PALETTE.length) - 1);
      var bound = sorted[index];
      if (breaks.length === 0 || bound > breaks[breaks.length - 1]) { breaks.push(bound); }
    }
    return breaks;
  }

  function classOf(value, breaks) {
    for (var i = 0; i < breaks.length; i++) {
      if (value <= breaks[i]) { return i; }
    }
    return breaks.length - 1;
  }

  // Spread the used classes over the whole palette so that two classes still look far apart.
  function colourOf(classIndex, classCount) {
    if (classCount <= 1) { return PALETTE[PALETTE.length - 1]; }
    var step = (PALETTE.length - 1) / (classCount - 1);
    return PALETTE[Math.round(classIndex * step)];
  }

  function legendControl(title, breaks, values, format, noDataLabel, hasMissing) {
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "choropleth-legend");
      box.style.background = "#ffffff";
      box.style.padding = "0.4rem 0.6rem";
      box.style.border = "1px solid #999999";
      box.style.borderRadius = "4px";
      box.style.lineHeight = "1.4";
      box.style.maxWidth = "14rem";
      if (title) {
        var heading = L.DomUtil.create("div", "choropleth-legend-title", box);
        heading.style.fontWeight = "bold";
        heading.textContent = title;
      }
      var list = L.DomUtil.create("ul", "choropleth-legend-items", box);
      list.style.listStyle = "none";
      list.style.margin = "0";
      list.style.padding = "0";
      var sorted = Object.keys(values).map(function (code) { return values[code]; });
      var lower = sorted.length ? Math.min.apply(null, sorted) : 0;
      breaks.forEach(function (upper, index) {
        var from = index === 0 ? lower : breaks[index - 1];
        var text = index === 0 && from === upper ? format(upper) : format(from) + " – " + format(upper);
        addLegendItem(list, colourOf(index, breaks.length), text, false);
      });
      if (hasMissing || breaks.length === 0) { addLegendItem(list, NO_DATA_COLOUR, noDataLabel, true); }
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    return legend;
  }

  function addLegendItem(list, colour, text, isNoData) {
    var item = L.DomUtil.create("li", isNoData ? "choropleth-legend-nodata" : "choropleth-legend-class", list);
    var swatch = L.DomUtil.create("span", "choropleth-swatch", item);
    swatch.setAttribute("aria-hidden", "true");
    swatch.style.display = "inline-block";
    swatch.style.width = "1rem";
    swatch.style.height = "0.8rem";
    swatch.style.marginRight = "0.4rem";
    swatch.style.verticalAlign = "middle";
    swatch.style.background = colour;
    swatch.style.border = isNoData ? "1px dashed " + BORDER_COLOUR : "1px solid " + BORDER_COLOUR;
    swatch.dataset.colour = colour;
    var label = L.DomUtil.create("span", "choropleth-legend-text", item);
    label.textContent = text;
  }

  // Keep the regions clear of the zoom buttons (top left) and the legend (bottom right): leave their heights
  // free above and below the regions, or their widths free left and right, whichever lets the map be drawn
  // larger (above/below on a phone, left/right on a wide screen).
  function fitOptions(map, bounds, legendBox) {
    var zoomBox = map.zoomControl ? map.zoomControl.getContainer() : null;
    var zoomWidth = zoomBox ? zoomBox.offsetWidth + 14 : 8;
    var zoomHeight = zoomBox ? zoomBox.offsetHeight + 14 : 8;
    var legendWidth = legendBox.offsetWidth + 14;
    var legendHeight = legendBox.offsetHeight + 14;
    var vertical = map.getBoundsZoom(bounds, false, L.point(16, zoomHeight + legendHeight));
    var horizontal = map.getBoundsZoom(bounds, false, L.point(zoomWidth + legendWidth, 16));
    if (vertical >= horizontal) {
      return { paddingTopLeft: [8, zoomHeight], paddingBottomRight: [8, legendHeight] };
    }
    return { paddingTopLeft: [zoomWidth, 8], paddingBottomRight: [legendWidth, 8] };
  }

  function tooltipContent(name, text, note) {
    var box = document.createElement("div");
    box.className = "choropleth-tooltip";
    var strong = document.createElement("strong");
    strong.textContent = name;
    box.appendChild(strong);
    box.appendChild(document.createElement("br"));
    box.appendChild(document.createTextNode(text));
    if (note) {
      var small = document.createElement("small");
      small.className = "choropleth-tooltip-note";
      small.textContent = note;
      box.appendChild(document.createElement("br"));
      box.appendChild(small);
    }
    return box;
  }

  // A shape that still covers regions split off later (the source predates the split): say which.
  function coversNote(properties, label) {
    var names = properties.covers_names;
    if (!names || names.length < 2) { return ""; }
    return label + " " + names.join(", ");
  }

  // Leaflet's attribution control writes HTML: the file's text is shown as text.
  function escapeHtml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function showError(element, message) {
    element.setAttribute("data-error", message);
    element.removeAttribute("data-rendered");
    var box = document.createElement("p");
    box.className = "choropleth-error";
    box.setAttribute("role", "alert");
    box.textContent = message;
    element.appendChild(box);
  }

  function draw(element, geojson) {
    var values = readValues(element.getAttribute("data-values"));
    var locale = element.getAttribute("data-locale") || "id-ID";
    var format = formatter(element.getAttribute("data-format") || "number", locale);
    var title = element.getAttribute("data-label") || "";
    var noDataLabel = element.getAttribute("data-no-data-label") || "No data";
    var link = element.getAttribute("data-link") || "";
    var coversLabel = element.getAttribute("data-covers-label") || "Boundary drawn before a split; area includes:";
    var breaks = breaksFor(values);

    if (!element.offsetHeight) { element.style.height = "24rem"; }
    element.style.background = "#f4f7fa";
    element.setAttribute("role", "region");
    element.setAttribute("aria-label", element.getAttribute("data-aria-label") || title);

    var map = L.map(element, {
      attributionControl: false, zoomSnap: 0.25, zoomControl: true, minZoom: 2, maxZoom: 12,
    });
    // The page's own attribution (data-attribution) and the boundary file's (its `attribution` member, required
    // by the licence of the kabupaten/kota data): both shown, as text, in the corner.
    var attributions = [element.getAttribute("data-attribution"), geojson.attribution].filter(function (text) {
      return typeof text === "string" && text.trim() !== "";
    });
    if (attributions.length) {
      var attributionControl = L.control.attribution({ prefix: false });
      attributions.forEach(function (text, index) {
        if (attributions.indexOf(text) === index) { attributionControl.addAttribution(escapeHtml(text)); }
      });
      attributionControl.addTo(map);
    }

    var hasMissing = (geojson.features || []).some(function (feature) {
      return !Object.prototype.hasOwnProperty.call(values, String(feature.properties.code));
    });
    var legend = legendControl(title, breaks, values, format, noDataLabel, hasMissing).addTo(map);
    var layer = L.geoJSON(geojson, {
      style: function (feature) {
        var code = String(feature.properties.code);
        if (Object.prototype.hasOwnProperty.call(values, code)) {
          return {
            fillColor: colourOf(classOf(values[code], breaks), breaks.length), fillOpacity: 0.9,
            color: BORDER_COLOUR, weight: 0.8, opacity: 1,
          };
        }
        return {
          fillColor: NO_DATA_COLOUR, fillOpacity: 0.9, color: BORDER_COLOUR, weight: 0.8, opacity: 1,
          dashArray: "3 3",
        };
      },
      onEachFeature: function (feature, featureLayer) {
        var code = String(feature.properties.code);
        var name = feature.properties.name || code;
        var has = Object.prototype.hasOwnProperty.call(values, code);
        var text = has ? format(values[code]) : noDataLabel;
        var note = coversNote(feature.properties, coversLabel);
        featureLayer.bindTooltip(tooltipContent(name, text, note), { sticky: false, direction: "top" });
        featureLayer.dtsenLabel = name + ": " + text + (note ? ". " + note : "");
        featureLayer.dtsenCode = code;
        if (link) {
          featureLayer.on("click", function () { window.location.href = link.replace("{code}", code); });
        }
      },
    });
    // The map needs a view before the layer's paths exist (Leaflet adds layers once the map is ready).
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, fitOptions(map, bounds, legend.getContainer())); }
    else { map.setView([-2.5, 118], 4); }
    layer.addTo(map);

    layer.eachLayer(function (featureLayer) {
      var path = featureLayer.getElement && featureLayer.getElement();
      if (!path) { return; }
      path.setAttribute("tabindex", "0");
      path.setAttribute("role", link ? "link" : "img");
      path.setAttribute("aria-label", featureLayer.dtsenLabel);
      path.setAttribute("data-code", featureLayer.dtsenCode);
      path.setAttribute("focusable", "true");
      path.addEventListener("focus", function () {
        // No bringToFront() here: moving the focused path in the DOM would take the focus away from it.
        layer.eachLayer(function (other) { if (other !== featureLayer) { other.closeTooltip(); } });
        featureLayer.setStyle({ color: FOCUS_COLOUR, weight: 2.5 });
        featureLayer.openTooltip();
      });
      path.addEventListener("blur", function () {
        layer.resetStyle(featureLayer);
        featureLayer.closeTooltip();
      });
      path.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          if (link) {
            window.location.href = link.replace("{code}", featureLayer.dtsenCode);
          } else {
            featureLayer.openTooltip();
          }
        } else if (event.key === "Escape") {
          featureLayer.closeTooltip();
        }
      });
    });

    element.dtsenMap = map;
    element.setAttribute("data-rendered", "true");
  }

  function start(element) {
    var url = element.getAttribute("data-boundaries");
    var errorLabel = element.getAttribute("data-error-label") || "The map could not be loaded";
    if (!url || typeof L === "undefined") {
      showError(element, errorLabel + (url ? " (Leaflet)" : ""));
      return;
    }
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (geojson) { draw(element, geojson); })
      .catch(function (error) { showError(element, errorLabel + " (" + error.message + ")"); });
  }

  function startAll() {
    var elements = document.querySelectorAll("[data-choropleth]");
    for (var i = 0; i < elements.length; i++) { start(elements[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
