/* City Cockpit map data loader: fetches a layer's compact file
 * (layouts/routes/mapdata.py) and builds the GeoJSON features the map draws, with the
 * same text properties the server would have sent. Text stays text: nothing here is read
 * as HTML. A failed load keeps the markers already shown (a kiosk never shows an error).
 * Its functions are in the dash_clientside.cockpit namespace (assets/cockpit.js). */
(function () {
    "use strict";
    var dc = (window.dash_clientside = window.dash_clientside || {});
    var cockpit = (dc.cockpit = dc.cockpit || {});

    function column(spec, i) {
        if (Array.isArray(spec)) { return spec[i]; }
        return spec.keys[spec.codes[i]];
    }

    function decode(data) {
        var n = data.n, scale = data.scale, cols = data.columns;
        var names = Object.keys(cols);
        var features = new Array(n);
        var x = 0, y = 0;
        for (var i = 0; i < n; i++) {
            x += data.x[i];
            y += data.y[i];
            var props = {};
            for (var k = 0; k < names.length; k++) {
                props[names[k]] = column(cols[names[k]], i);
            }
            features[i] = {
                type: "Feature",
                geometry: {type: "Point", coordinates: [x / scale, y / scale]},
                properties: props,
            };
        }
        return {type: "FeatureCollection", features: features};
    }

    // Layers asked for before the page needed them: url -> promise of features.
    var early = {};

    function get(url) {
        return fetch(url, {credentials: "same-origin"})
            .then(function (answer) {
                if (!answer.ok) { throw new Error("map data: HTTP " + answer.status); }
                return answer.json();
            })
            .then(decode);
    }

    // Each cluster counts its members per state while the cluster index is built
    // (supercluster's map / reduce), so that drawing a cluster never walks its members.
    function levelCount(props) {
        var counts = {ok: 0, warn: 0, alert: 0, stale: 0};
        counts[props.level] = 1;
        return counts;
    }

    function addLevels(total, counts) {
        total.ok += counts.ok;
        total.warn += counts.warn;
        total.alert += counts.alert;
        total.stale += counts.stale;
    }

    // The newest URL asked for each layer (its name is in the path). The time machine
    // switches a layer between live and replayed files quickly; a slow answer for an
    // older request must not overwrite a newer one.
    var newest = {};

    function layerOf(url) {
        var match = /\/([^\/?]+)\.json/.exec(url || "");
        return match ? match[1] : "";
    }

    // The layer's features and its cluster options (as laid out, plus the counting).
    function loadLayer(url, options) {
        var noUpdate = dc.no_update;
        if (!url) { return [noUpdate, noUpdate]; }
        var layer = layerOf(url);
        newest[layer] = url;
        var features = early[url] || get(url);
        delete early[url];
        var counted = Object.assign({}, options, {map: levelCount, reduce: addLevels});
        return features.then(function (data) {
            return newest[layer] === url ? [data, counted] : [noUpdate, noUpdate];
        }, function (error) {
            console.warn("City Cockpit: map layer not updated", String(error));
            return [noUpdate, noUpdate];
        });
    }

    // On the cockpit page the map's data is fetched while the page itself still loads:
    // /map-data.json names the viewer's current layer files.
    function prefetch() {
        fetch("/map-data.json", {credentials: "same-origin"})
            .then(function (answer) { return answer.ok ? answer.json() : {urls: []}; })
            .then(function (index) {
                (index.urls || []).forEach(function (url) {
                    var features = get(url);
                    features.catch(function () { /* load() fetches it again */ });
                    early[url] = features;
                });
            })
            .catch(function () { /* load() fetches each layer itself */ });
    }

    if (window.location.pathname === "/") { prefetch(); }

    Object.assign(cockpit, {loadLayer: loadLayer, decodeLayer: decode});
})();
