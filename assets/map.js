/* City Cockpit map: markers, clusters and popups built from text, never from HTML.
 * dash-leaflet resolves {"variable": "dash_clientside.cockpit.<name>"} to these functions
 * (the namespace is described in assets/cockpit.js). */
(function () {
    "use strict";
    var dc = (window.dash_clientside = window.dash_clientside || {});
    var cockpit = (dc.cockpit = dc.cockpit || {});
    // One symbol per level, so that a state never rests on colour alone.
    var SYMBOL = {ok: "●", warn: "▲", alert: "■", stale: "?"};

    function icon(level, text, size, extra) {
        var span = document.createElement("span");
        span.textContent = text;
        return L.divIcon({
            className: "cc-marker cc-" + level + (extra ? " " + extra : ""),
            html: span,
            iconSize: [size, size],
        });
    }

    // The popups' words in the page's language: the cockpit holds them, by their English
    // words, as JSON in its element "cc-map-words" (layouts/components/map.py).
    var WORDS = {};
    var WORDS_READ = "";
    function words() {
        var held = document.getElementById("cc-map-words");
        var json = held ? held.textContent : "";
        if (json !== WORDS_READ) {  // read again only when the page's language changed
            try { WORDS = json ? JSON.parse(json) || {} : {}; } catch (e) { WORDS = {}; }
            WORDS_READ = json;
        }
        return function (text) {
            if (Object.prototype.hasOwnProperty.call(WORDS, text)) { return WORDS[text]; }
            if (/^[0-9][0-9,.]*$/.test(text)) {  // "2,480.5" with the language's signs
                return text.replace(/[,.]/g, function (sign) {
                    var said = WORDS[sign === "." ? "{decimal}" : "{group}"];
                    return said === undefined ? sign : said;
                });
            }
            return text;
        };
    }

    function row(parent, cls, text) {
        var el = document.createElement("div");
        el.className = cls;
        el.textContent = text;
        parent.appendChild(el);
        return el;
    }

    // "Against typical": the site's value against its usual for this weekday and hour,
    // sent in the layer's hideout (site id -> below / typical / above).
    var TYPICAL_SYMBOL = {below: "▼", typical: "●", above: "▲", unknown: "?"};

    function typicalOf(p, context) {
        var hideout = context && context.hideout;
        if (!hideout || hideout.colour !== "typical") { return null; }
        // A site sent with the server's clusters carries its own word.
        if (p.typical && typeof p.typical === "string") { return p.typical; }
        return (hideout.typical && hideout.typical[p.id]) || "unknown";
    }

    // A cluster against typical: the word most of its members have, among those with a
    // baseline (``counts``: members per word), "unknown" when none has one.
    function typicalCluster(latlng, counts, m) {
        var word = "unknown", best = 0;
        ["below", "typical", "above"].forEach(function (k) {
            if ((counts[k] || 0) > best) { best = counts[k]; word = k; }
        });
        var px = m < 10 ? 30 : m < 100 ? 36 : 44;
        return L.marker(latlng, {
            icon: icon(word, String(m), px, "cc-cluster"),
            title: m + " " + words()("sites") + "; " + (counts.below || 0) + " ▼, " +
                (counts.above || 0) + " ▲",
        });
    }

    function pointToLayer(feature, latlng, context) {
        var p = feature.properties;
        // A cluster made on the server (assets/mapdata.js) draws as the browser's would.
        if (p.cluster) { return clusterToLayer(feature, latlng, null, context); }
        var typical = typicalOf(p, context);
        var level = typical || p.level;
        var symbol = typical ? TYPICAL_SYMBOL[typical] : (SYMBOL[p.level] || "●");
        var marker = L.marker(latlng, {
            icon: icon(level, symbol, 22),
            title: p.name + ": " + p.value + " (" + p.state + ")",
            alt: p.name,
            riseOnHover: true,
        });
        marker.on("add", function () {
            var el = marker.getElement();
            if (el) { el.dataset.site = p.id; el.setAttribute("role", "button"); }
            adopt(marker);
        });
        return marker;
    }

    // The map view's own behaviour (fit, hull, search, no overlaps: assets/mapview.js)
    // starts with the first layer the map shows.
    function adopt(layer) {
        if (layer._map && cockpit.mapAdopt) { cockpit.mapAdopt(layer._map); }
    }

    function clusterToLayer(feature, latlng, index, context) {
        if (index && typicalOf({}, context)) {
            // A cluster takes the word most of its members with a baseline share.
            var typical = {below: 0, typical: 0, above: 0, unknown: 0};
            var leaves = index.getLeaves(feature.properties.cluster_id, Infinity);
            leaves.forEach(function (leaf) {
                var t = typicalOf(leaf.properties, context);
                typical[t] = (typical[t] || 0) + 1;
            });
            return typicalCluster(latlng, typical, leaves.length);
        }
        if (!index && feature.properties.typical && typicalOf({}, context)) {
            // A server cluster counted its members per word (assets/mapdata.js).
            return typicalCluster(latlng, feature.properties.typical, feature.properties.point_count);
        }
        // Members per state, counted as the index was built (assets/mapdata.js).
        var counts = feature.properties;
        // A cluster shows the state of most of its members: red when at least half are
        // at the alert level, orange when at least half are warn or worse.
        var n = feature.properties.point_count;
        var level = "ok";
        if (counts.stale * 2 >= n) { level = "stale"; }
        else if (counts.alert * 2 >= n) { level = "alert"; }
        else if ((counts.alert + counts.warn) * 2 >= n) { level = "warn"; }
        var size = n < 10 ? 30 : n < 100 ? 36 : 44;
        var marker = L.marker(latlng, {
            icon: icon(level, String(n), size, "cc-cluster"),
            title: n + " " + words()("sites") + "; " + counts.alert + " " + "■, " + counts.warn +
                " ▲",
        });
        marker.on("add", function () { adopt(marker); });
        return marker;
    }

    function onEachFeature(feature, layer) {
        var p = feature.properties;
        if (p && p.cluster && p.bounds) {
            // A server cluster zooms to its members' extent when clicked.
            var b = p.bounds;
            layer.on("click", function () {
                if (layer._map) {
                    layer._map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {padding: [24, 24]});
                }
            });
            return;
        }
        if (!p || p.cluster) { return; }
        var said = words();
        var box = document.createElement("div");
        box.className = "cc-popup";
        row(box, "cc-popup-name", p.name);
        if (p.district) { row(box, "cc-popup-district", p.district); }
        var value = String(p.value).split(" ").map(said).join(" ");
        row(box, "cc-popup-value", said(p.metric) + ": " + value + " (" + said(p.state) + ")");
        var time = String(p.time).split(" ").map(said).join(" ");
        row(box, "cc-popup-time", said("Observed") + " " + time);
        row(box, "cc-popup-source", p.source + " · " + said(p.origin));
        layer.bindPopup(box);
    }

    function areaStyle() {
        return {color: "#6b7b8c", weight: 1, fillColor: "#dfe6ee", fillOpacity: 0.55};
    }

    function areaLabel(feature, layer, context) {
        var key = context && context.hideout && context.hideout.label;
        var name = key && feature.properties ? feature.properties[key] : null;
        if (name) {
            layer.bindTooltip(String(name), {
                permanent: true, direction: "center", className: "cc-area-label",
            });
        }
        layer.on("add", function () { adopt(layer); });
    }

    // Citizens' reports (layouts/routes/reports.py): one marker each, "!" for a new one
    // only staff see, "✎" for a published one; the popup is built from text.
    function reportToLayer(feature, latlng) {
        var p = feature.properties || {};
        var level = p.status === "published" ? "cc-report-published" : "cc-report-new";
        return L.marker(latlng, {
            icon: icon("report", p.status === "published" ? "✎" : "!", 26, level),
            keyboard: true,
            title: String(p.title || ""),
        });
    }

    function reportPopup(feature, layer) {
        var p = feature.properties;
        if (!p) { return; }
        var box = document.createElement("div");
        box.className = "cc-popup cc-report-popup";
        row(box, "cc-popup-name", p.title);
        row(box, "cc-popup-value", p.text);
        if (p.answer) { row(box, "cc-popup-answer", p.answer); }
        row(box, "cc-popup-time", p.date + " · " + p.status_label);
        layer.bindPopup(box);
    }

    Object.assign(cockpit, {
        reportToLayer: reportToLayer,
        reportPopup: reportPopup,
        pointToLayer: pointToLayer,
        clusterToLayer: clusterToLayer,
        onEachFeature: onEachFeature,
        areaStyle: areaStyle,
        areaLabel: areaLabel,
    });
})();
