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

    // Server clusters (layouts/routes/mapclusters.py): the view is asked for as a zoom
    // and a range of 512 px blocks, so that a small pan asks for the same URL again (the
    // browser keeps it) and many screens on one view share one answer.
    var BLOCK = 512, TILE = 256, MAX_BLOCKS = 16;

    function isClusterUrl(url) { return url.indexOf("/map-clusters/") === 0; }

    function worldXY(lat, lng, zoom) {
        var size = TILE * Math.pow(2, zoom);
        var phi = Math.max(-85.05112878, Math.min(85.05112878, lat)) * Math.PI / 180;
        var y = 0.5 - Math.log(Math.tan(Math.PI / 4 + phi / 2)) / (2 * Math.PI);
        return [(lng + 180) / 360 * size, y * size];
    }

    // The blocks [x0, y0, x1, y1] the map element shows around ``center`` at ``zoom``.
    function viewBlocks(mapId, center, zoom) {
        var el = document.getElementById(mapId);
        var w = el ? el.clientWidth : 1024, h = el ? el.clientHeight : 768;
        var lat = Array.isArray(center) ? center[0] : center.lat;
        var lng = Array.isArray(center) ? center[1] : (center.lng !== undefined ? center.lng : center.lon);
        var xy = worldXY(lat, lng, zoom);
        var last = Math.max(Math.floor(TILE * Math.pow(2, zoom) / BLOCK) - 1, 0);
        function block(v) { return Math.max(0, Math.min(last, Math.floor(v / BLOCK))); }
        var b = [block(xy[0] - w / 2), block(xy[1] - h / 2), block(xy[0] + w / 2), block(xy[1] + h / 2)];
        // A view wider than the route answers keeps the blocks around its centre.
        while ((b[2] - b[0] + 1) * (b[3] - b[1] + 1) > MAX_BLOCKS) {
            if (b[2] - b[0] >= b[3] - b[1]) { b[0] += 1; if (b[2] - b[0] >= 1) { b[2] -= 1; } }
            else { b[1] += 1; if (b[3] - b[1] >= 1) { b[3] -= 1; } }
        }
        return b;
    }

    // A view's answer as the features the map draws: one marker per cluster (its count,
    // its members per state and their extent) and one per single site.
    function decodeView(view) {
        var c = view.clusters, levels = view.levels;
        var features = decode(view.sites).features;
        var words = view.typical_words;
        for (var i = 0; i < c.count.length; i++) {
            var props = {cluster: true, point_count: c.count[i], bounds: c.bounds[i]};
            for (var k = 0; k < levels.length; k++) { props[levels[k]] = c.states[i][k]; }
            if (words && c.typical) {
                // Members per word against typical, when the map colours by it.
                props.typical = {};
                for (var w = 0; w < words.length; w++) { props.typical[words[w]] = c.typical[i][w]; }
            }
            features.push({
                type: "Feature",
                geometry: {type: "Point", coordinates: [c.lon[i], c.lat[i]]},
                properties: props,
            });
        }
        return {type: "FeatureCollection", features: features};
    }

    // The newest view asked for each layer, and the URL of the layer's last answer.
    var asked = {}, askedUrl = {}, shownUrl = {};

    // A layer clustered on the server is drawn as sent; one clustered in the browser gets
    // supercluster. A layer crossing the threshold (a new data version with more or fewer
    // sites) changes its URL's kind, and the map switches with it, without a reload.
    var ON_SERVER = false, IN_BROWSER = true;

    function colouring(hideout) {
        return hideout && hideout.colour === "typical" ? "&c=typical" : "";
    }

    // Whether ``shown`` (the layer's data) is a first view the page carried
    // (layouts/routes/mapclusters.py first_views) that covers ``blocks`` of ``url``.
    function carried(shown, url, z, blocks) {
        var v = shown && shown.view;
        if (!v || v.url !== url || v.z !== z) { return false; }
        return v.b[0] <= blocks[0] && v.b[1] <= blocks[1] && v.b[2] >= blocks[2] &&
            v.b[3] >= blocks[3];
    }

    function loadView(layer, url, mapId, center, zoom, hideout, shown) {
        var noUpdate = dc.no_update;
        var none = [noUpdate, noUpdate, noUpdate];
        if (center === undefined || center === null || zoom === undefined || zoom === null) {
            return none;
        }
        var z = Math.round(zoom);
        var blocks = viewBlocks(mapId, center, z);
        var full = url + colouring(hideout) + "&z=" + z + "&b=" + blocks.join(",");
        // The same view again (the map reporting where it already is) asks for nothing,
        // nor does a view within the first one the page carried.
        if (shownUrl[layer] === full || askedUrl[layer] === full) { return none; }
        if (!asked[layer] && carried(shown, url + colouring(hideout), z, blocks)) {
            shownUrl[layer] = full;
            return none;
        }
        askedUrl[layer] = full;
        var first = !asked[layer];
        var ticket = (asked[layer] = (asked[layer] || 0) + 1);
        // Wait a moment (but not for the first view): a wheel turned through several zoom
        // levels asks only once.
        return new Promise(function (resolve) { setTimeout(resolve, first ? 0 : 120); })
            .then(function () {
                if (asked[layer] !== ticket) { return null; }
                return fetch(full, {credentials: "same-origin"}).then(function (answer) {
                    if (!answer.ok) { throw new Error("map clusters: HTTP " + answer.status); }
                    return answer.json();
                });
            })
            .then(function (view) {
                // A newer view, or a layer gone back to its file meanwhile, wins.
                if (view === null || asked[layer] !== ticket || newest[layer] !== url) {
                    return none;
                }
                shownUrl[layer] = full;
                return [decodeView(view), noUpdate, ON_SERVER];
            }, function (error) {
                if (askedUrl[layer] === full) { delete askedUrl[layer]; }
                console.warn("City Cockpit: map layer not updated", String(error));
                return none;
            });
    }

    // The layer's features, its cluster options (as laid out, plus the counting) and
    // whether the browser clusters it; a layer clustered on the server gets the clusters
    // of the map's view (in the map's colouring) instead.
    function loadLayer(url, center, zoom, hideout, options, mapId, shown) {
        var noUpdate = dc.no_update;
        var none = [noUpdate, noUpdate, noUpdate];
        if (!url) { return none; }
        var layer = layerOf(url);
        if (isClusterUrl(url)) {
            newest[layer] = url;
            return loadView(layer, url, mapId, center, zoom, hideout, shown);
        }
        // A file layer clusters in the browser: a new view needs nothing from the server.
        if (newest[layer] === url) { return none; }
        newest[layer] = url;
        // Back from the server's clusters, a view asked for then is asked for again later.
        delete shownUrl[layer];
        delete askedUrl[layer];
        var features = early[url] || get(url);
        delete early[url];
        var counted = Object.assign({}, options, {map: levelCount, reduce: addLevels});
        return features.then(function (data) {
            return newest[layer] === url ? [data, counted, IN_BROWSER] : none;
        }, function (error) {
            console.warn("City Cockpit: map layer not updated", String(error));
            return none;
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

    Object.assign(cockpit, {
        loadLayer: loadLayer, decodeLayer: decode, decodeView: decodeView, viewBlocks: viewBlocks,
    });
})();
