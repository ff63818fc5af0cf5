/* City Cockpit map view: what makes the live map legible, on top of the layers that
 * assets/map.js draws.
 *
 * - The first view fits every site of the file layers (not a fixed centre and zoom).
 * - Under the bundled district outlines, a light hull around all sites, so sites
 *   outside the districts never lie on blank grey.
 * - Markers and clusters of different layers never overlap: after every move each
 *   overlapping pair is pushed apart on the screen (its place on the map is unchanged).
 * - A place search (sites and districts) reads only what the map has already loaded.
 * - District names show from zoom 13 on, where they have room.
 * - A popup never opens under a control (the layer list, the search, the credits): the
 *   map moves it clear, by the smaller of a shift left or down.
 *
 * A map is adopted when its first layer is added (cockpit.mapAdopt, called from
 * assets/map.js); nothing here is read as HTML.
 */
(function () {
    "use strict";
    var dc = (window.dash_clientside = window.dash_clientside || {});
    var cockpit = (dc.cockpit = dc.cockpit || {});

    // Convex hull of [lat, lng] points (Andrew's monotone chain), counter-clockwise.
    function hull(points) {
        var pts = points.slice().sort(function (a, b) { return a[1] - b[1] || a[0] - b[0]; });
        if (pts.length < 3) { return pts; }
        function cross(o, a, b) {
            return (a[1] - o[1]) * (b[0] - o[0]) - (a[0] - o[0]) * (b[1] - o[1]);
        }
        var lower = [], upper = [], i;
        for (i = 0; i < pts.length; i++) {
            while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], pts[i]) <= 0) { lower.pop(); }
            lower.push(pts[i]);
        }
        for (i = pts.length - 1; i >= 0; i--) {
            while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], pts[i]) <= 0) { upper.pop(); }
            upper.push(pts[i]);
        }
        upper.pop();
        lower.pop();
        return lower.concat(upper);
    }

    // The hull pushed out by ``metres`` from its centre (a simple buffer that keeps every
    // site inside with room for its marker).
    function grow(ring, metres) {
        if (!ring.length) { return ring; }
        var lat = 0, lng = 0;
        ring.forEach(function (p) { lat += p[0]; lng += p[1]; });
        lat /= ring.length; lng /= ring.length;
        var ky = 110540, kx = 111320 * Math.cos(lat * Math.PI / 180);
        return ring.map(function (p) {
            var dx = (p[1] - lng) * kx, dy = (p[0] - lat) * ky;
            var d = Math.sqrt(dx * dx + dy * dy) || 1;
            var f = (d + metres) / d;
            return [lat + dy * f / ky, lng + dx * f / kx];
        });
    }

    // Push overlapping screen boxes apart; boxes: {x, y, r} (centre and radius in px).
    // Returns the offsets [dx, dy] per box. Pure, so it can be checked on its own.
    function separate(boxes, gap, rounds) {
        var off = boxes.map(function () { return [0, 0]; });
        for (var round = 0; round < (rounds || 12); round++) {
            var moved = false;
            for (var i = 0; i < boxes.length; i++) {
                for (var j = i + 1; j < boxes.length; j++) {
                    var ax = boxes[i].x + off[i][0], ay = boxes[i].y + off[i][1];
                    var bx = boxes[j].x + off[j][0], by = boxes[j].y + off[j][1];
                    var need = boxes[i].r + boxes[j].r + gap;
                    var dx = bx - ax, dy = by - ay;
                    var d = Math.sqrt(dx * dx + dy * dy);
                    if (d >= need) { continue; }
                    if (d < 0.01) { dx = 1; dy = 0; d = 1; }  // same place: side by side
                    var push = (need - d) / 2 + 0.5;
                    off[i][0] -= dx / d * push; off[i][1] -= dy / d * push;
                    off[j][0] += dx / d * push; off[j][1] += dy / d * push;
                    moved = true;
                }
            }
            if (!moved) { break; }
        }
        return off;
    }

    // A map the page has replaced (another page, a new layout) is left alone.
    function gone(map) { return !map._loaded || !map._container || !map._container.isConnected; }

    function declutter(map) {
        if (gone(map)) { return; }
        var icons = map.getContainer().querySelectorAll(".leaflet-marker-pane .cc-marker");
        if (icons.length > 400) { return; }
        var boxes = [], els = [];
        icons.forEach(function (el) {
            if (el.dataset.ccMl === undefined) {
                el.dataset.ccMl = parseFloat(el.style.marginLeft) || 0;
                el.dataset.ccMt = parseFloat(el.style.marginTop) || 0;
            }
            el.style.marginLeft = el.dataset.ccMl + "px";
            el.style.marginTop = el.dataset.ccMt + "px";
            var r = el.getBoundingClientRect();
            boxes.push({x: r.left + r.width / 2, y: r.top + r.height / 2, r: Math.max(r.width, r.height) / 2});
            els.push(el);
        });
        var off = separate(boxes, 2);
        els.forEach(function (el, i) {
            if (!off[i][0] && !off[i][1]) { return; }
            el.style.marginLeft = (parseFloat(el.dataset.ccMl) + off[i][0]) + "px";
            el.style.marginTop = (parseFloat(el.dataset.ccMt) + off[i][1]) + "px";
        });
    }

    // Sites of the file layers the map has loaded (the browser cache answers again).
    function loadedSites() {
        return fetch("/map-data.json", {credentials: "same-origin"})
            .then(function (answer) { return answer.ok ? answer.json() : {urls: []}; })
            .then(function (index) {
                var files = (index.urls || []).filter(function (u) { return u.indexOf("/map-clusters/") !== 0; });
                return Promise.all(files.map(function (url) {
                    return fetch(url, {credentials: "same-origin"})
                        .then(function (a) { return a.ok ? a.json() : null; })
                        .then(function (data) { return data ? cockpit.decodeLayer(data).features : []; })
                        .catch(function () { return []; });
                }));
            })
            .then(function (lists) { return [].concat.apply([], lists); });
    }

    function districts(map) {
        var out = [];
        map.eachLayer(function (layer) {
            var tip = layer.getTooltip && layer.getTooltip();
            if (tip && layer.getBounds && tip.options.className === "cc-area-label") {
                out.push({name: String(tip.getContent()), bounds: layer.getBounds()});
            }
        });
        return out;
    }

    // Open the popup of site ``id`` once its marker is drawn (clusters split after a move).
    function openSite(map, id, tries) {
        var found = null;
        map.eachLayer(function (layer) {
            var p = layer.feature && layer.feature.properties;
            if (!found && p && !p.cluster && String(p.id) === id && layer.openPopup) { found = layer; }
        });
        if (found) { found.openPopup(); return; }
        if ((tries || 0) < 20) { setTimeout(function () { openSite(map, id, (tries || 0) + 1); }, 200); }
    }

    function overlap(a, b) {
        return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    }

    // Move the map so that an open popup lies clear of every control and inside the map:
    // the smallest of a shift left, right, up or down that achieves both.
    function clearOfControls(map, popup) {
        var box = popup.getElement && popup.getElement();
        if (!box) { return; }
        var p = box.getBoundingClientRect();
        var m = map.getContainer().getBoundingClientRect();
        var controls = [];
        map.getContainer().querySelectorAll(".leaflet-control").forEach(function (el) {
            var c = el.getBoundingClientRect();
            if (c.width) { controls.push(c); }
        });
        function clear(dx, dy) {
            var q = {left: p.left + dx, right: p.right + dx, top: p.top + dy, bottom: p.bottom + dy};
            if (q.left < m.left || q.right > m.right || q.top < m.top || q.bottom > m.bottom) { return false; }
            return !controls.some(function (c) { return overlap(q, c); });
        }
        if (clear(0, 0)) { return; }
        var moves = [];
        controls.forEach(function (c) {
            moves.push([c.left - p.right - 8, 0], [c.right - p.left + 8, 0]);
            moves.push([0, c.bottom - p.top + 8], [0, c.top - p.bottom - 8]);
        });
        moves = moves.filter(function (d) { return clear(d[0], d[1]); });
        moves.sort(function (a, b) { return Math.abs(a[0]) + Math.abs(a[1]) - Math.abs(b[0]) - Math.abs(b[1]); });
        if (moves.length) { map.panBy([-moves[0][0], -moves[0][1]]); }
    }

    // ``sites``: the loaded sites as places; districts are read when asked, since the
    // basemap may still be loading when the search is added.
    function searchControl(map, sites) {
        function places() { return districts(map).concat(sites); }
        var Search = L.Control.extend({
            options: {position: "topleft"},
            onAdd: function () {
                var form = L.DomUtil.create("form", "cc-place-search");
                form.setAttribute("role", "search");
                // The page may give the words in its language (an element <map id>-search-words).
                var words = document.getElementById(map.getContainer().id + "-search-words");
                var prompt = words ? words.textContent : "Find a site or district";
                var label = L.DomUtil.create("label", "cc-sr-only", form);
                label.textContent = prompt;
                label.htmlFor = map.getContainer().id + "-search";
                var input = L.DomUtil.create("input", "", form);
                input.type = "search";
                input.id = label.htmlFor;
                input.placeholder = prompt;
                input.setAttribute("list", input.id + "-list");
                input.autocomplete = "off";
                var list = L.DomUtil.create("datalist", "", form);
                list.id = input.id + "-list";
                function fill() {
                    if (list.childElementCount) { return; }
                    places().forEach(function (p) {
                        var option = document.createElement("option");
                        option.value = p.name;
                        list.appendChild(option);
                    });
                }
                L.DomEvent.on(input, "focus", fill);
                var status = L.DomUtil.create("p", "cc-sr-only", form);
                status.setAttribute("role", "status");
                function go(event) {
                    if (event) { L.DomEvent.preventDefault(event); }
                    var q = input.value.trim().toLowerCase();
                    if (!q) { return; }
                    var all = places();
                    var hit = all.find(function (p) { return p.name.toLowerCase() === q; }) ||
                        all.find(function (p) { return p.name.toLowerCase().indexOf(q) === 0; }) ||
                        all.find(function (p) { return p.name.toLowerCase().indexOf(q) >= 0; });
                    if (!hit) { status.textContent = "No site or district called " + input.value; return; }
                    status.textContent = hit.name;
                    map._ccUserMoved = true;
                    if (hit.bounds) { map.fitBounds(hit.bounds, {padding: [24, 24]}); return; }
                    map.once("moveend", function () { openSite(map, hit.id, 0); });
                    map.setView(hit.latlng, Math.max(map.getZoom(), 17));
                }
                L.DomEvent.on(form, "submit", go);
                L.DomEvent.on(input, "change", go);
                L.DomEvent.disableClickPropagation(form);
                L.DomEvent.disableScrollPropagation(form);
                return form;
            },
        });
        map.addControl(new Search());
    }

    function adopt(map) {
        // The cockpit's map only; the kiosk's map is drawn for its own screen.
        if (!map || map._ccAdopted || !map.getContainer().classList.contains("cc-map")) { return; }
        map._ccAdopted = true;
        cockpit.maps = (cockpit.maps || []).filter(function (m) { return m._container && m._container.isConnected; });
        cockpit.maps.push(map);
        var timer = null;
        function later() {
            clearTimeout(timer);
            timer = setTimeout(function () { declutter(map); }, 60);
        }
        map.on("zoomend moveend layeradd", later);
        // Below zoom 13 the districts are too small for their names, which would pile up.
        function labels() { map.getContainer().classList.toggle("cc-far", map.getZoom() < 13); }
        map.on("zoomend", labels);
        labels();
        map.on("movestart", function (e) { if (e && e.originalEvent) { map._ccUserMoved = true; } });
        map.on("popupopen", function (e) {
            setTimeout(function () { if (!gone(map)) { clearOfControls(map, e.popup); } }, 300);  // after autoPan
        });
        // Wait for the layers and the basemap, then fit, draw the hull and add the search.
        setTimeout(function () {
            loadedSites().then(function (features) {
                if (gone(map)) { return; }
                var pts = features.map(function (f) {
                    return [f.geometry.coordinates[1], f.geometry.coordinates[0]];
                }).filter(function (p) { return isFinite(p[0]) && isFinite(p[1]); });
                if (pts.length) {
                    var pane = map.getPane("ccHull") || map.createPane("ccHull");
                    pane.style.zIndex = 350;  // under the district outlines (overlay pane, 400)
                    var ring = grow(hull(pts), 800);
                    cockpit.mapHull = ring;
                    L.polygon(ring, {
                        pane: "ccHull", className: "cc-hull", interactive: false,
                        color: "#8796a6", weight: 1, dashArray: "4 4", fillColor: "#eef2f6", fillOpacity: 0.9,
                    }).addTo(map);
                }
                var fit = pts.length && !map._ccUserMoved;
                var places = features.map(function (f) {
                    return {
                        name: String(f.properties.name), id: String(f.properties.id),
                        latlng: L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]),
                    };
                });
                searchControl(map, places);
                // Ready once the fit has settled: the markers shown from then on stay.
                function ready() {
                    if (gone(map)) { return; }
                    map.getContainer().dataset.ccReady = "1";
                    later();
                }
                if (fit) {
                    map.once("moveend", ready);
                    map.fitBounds(L.latLngBounds(pts), {padding: [28, 28]});
                } else {
                    ready();
                }
            });
        }, 400);
    }

    // A person who asked for a place (a "needs attention" link, the search) keeps it: the
    // opening fit, if it has not happened yet, is dropped.
    document.addEventListener("click", function (e) {
        if (e.target && e.target.closest && e.target.closest(".cc-attend-link")) {
            (cockpit.maps || []).forEach(function (m) { m._ccUserMoved = true; });
        }
    }, true);

    Object.assign(cockpit, {mapAdopt: adopt, mapHullOf: hull, mapGrow: grow, mapSeparate: separate});
})();
