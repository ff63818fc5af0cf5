/* City Cockpit map: markers, clusters and popups built from text, never from HTML.
 * dash-leaflet resolves {"variable": "cityCockpit.map.<name>"} to these functions. */
(function () {
    "use strict";
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

    function row(parent, cls, text) {
        var el = document.createElement("div");
        el.className = cls;
        el.textContent = text;
        parent.appendChild(el);
        return el;
    }

    function pointToLayer(feature, latlng) {
        var p = feature.properties;
        var marker = L.marker(latlng, {
            icon: icon(p.level, SYMBOL[p.level] || "●", 22),
            title: p.name + ": " + p.value + " (" + p.state + ")",
            alt: p.name,
            riseOnHover: true,
        });
        marker.on("add", function () {
            var el = marker.getElement();
            if (el) { el.dataset.site = p.id; el.setAttribute("role", "button"); }
        });
        return marker;
    }

    function clusterToLayer(feature, latlng, index) {
        var counts = {ok: 0, warn: 0, alert: 0, stale: 0};
        index.getLeaves(feature.properties.cluster_id, Infinity).forEach(function (leaf) {
            counts[leaf.properties.level] = (counts[leaf.properties.level] || 0) + 1;
        });
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
            title: n + " sites; " + counts.alert + " " + "■, " + counts.warn + " ▲",
        });
        return marker;
    }

    function onEachFeature(feature, layer) {
        var p = feature.properties;
        if (!p || p.cluster) { return; }
        var box = document.createElement("div");
        box.className = "cc-popup";
        row(box, "cc-popup-name", p.name);
        if (p.district) { row(box, "cc-popup-district", p.district); }
        row(box, "cc-popup-value", p.metric + ": " + p.value + " (" + p.state + ")");
        row(box, "cc-popup-time", "Observed " + p.time);
        row(box, "cc-popup-source", p.source + " · " + p.origin);
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
    }

    window.cityCockpit = Object.assign(window.cityCockpit || {}, {
        map: {
            pointToLayer: pointToLayer,
            clusterToLayer: clusterToLayer,
            onEachFeature: onEachFeature,
            areaStyle: areaStyle,
            areaLabel: areaLabel,
        },
    });
})();
