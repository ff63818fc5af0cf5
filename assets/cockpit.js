/* City Cockpit in the browser: every function the pages call lives in one namespace,
 * window.dash_clientside.cockpit, which each file of assets/ adds to. Python names them
 * with layouts/components/clientside.py: ClientsideFunction("cockpit", name) for
 * clientside callbacks, {"variable": "dash_clientside.cockpit.<name>"} for the map.
 *
 * This file holds the cockpit page's own functions: the time machine's controls and
 * showing a frame of the cockpit (assets/map.js, mapdata.js, kiosk.js and mobile.js
 * hold the map, its data loader, the kiosk and the phone view). */
(function () {
    "use strict";
    var dc = (window.dash_clientside = window.dash_clientside || {});
    var cockpit = (dc.cockpit = dc.cockpit || {});

    // Play, pause, step, live and range changes, all in the browser: the slider's value
    // is the only thing the server hears about.
    function timeMachine(nTick, nBack, nFwd, nLive, nPlay, range, speed, value, playing, min,
                         step, shown) {
        // Which control moved, by the last part of its id ("cc-tm-play", "cc-3d-tm-play").
        var trig = String(dc.callback_context.triggered_id || "").split("-").pop();
        var v = value || 0, s = step || 15, lo = min || -1440, play = !!playing;
        if (trig === "live") { v = 0; play = false; }
        else if (trig === "back") { v = Math.max(lo, v - s); play = false; }
        else if (trig === "fwd") { v = Math.min(0, v + s); play = false; }
        else if (trig === "play") {
            play = !play;
            if (play && v >= 0) { v = lo; }
        }
        else if (trig === "range") { v = 0; play = false; }
        else if (trig === "interval") {
            // Advance only once the current moment is on screen: a slow server slows the
            // replay down instead of skipping every frame.
            if (!play || (shown || 0) !== (v || 0)) { return dc.no_update; }
            v = Math.min(0, v + s);
            if (v >= 0) { play = false; }
        }
        v = Math.round(v / s) * s;
        return [v, play, !play, Math.round(1000 / (speed || 1)), play ? "❚❚" : "▶"];
    }

    // The markers' colouring last sent to the map (JSON), so that markers are redrawn
    // only when their colouring changes, not on every frame.
    var shownHideouts;

    // A frame of the cockpit ({offset, urls, parts}, layouts/pages/cockpit.py) onto the
    // page: part names come in the order of the callback's outputs. Replayed moments
    // arrive out of order when an older one took longer to compute: a frame is shown
    // only while the slider still shows its moment.
    function showFrame(frame, value, storeUrls, storeIds, names) {
        var none = dc.no_update;
        if (!frame || (frame.offset || 0) !== (value || 0)) {
            return names.map(function () { return none; });
        }
        // A layer file is fetched again only when its URL changes. Its store is set here
        // rather than as an output: Dash holds a callback back while one upstream of its
        // input runs, and the page's first layer load must not wait for the first
        // refresh's round trip.
        var urls = frame.urls || {};
        storeIds.forEach(function (id, i) {
            if (urls[id.layer] && urls[id.layer] !== storeUrls[i]) {
                dc.set_props(id, {data: urls[id.layer]});
            }
        });
        var parts = Object.assign({}, frame.parts);
        var key = JSON.stringify(parts.hideouts);
        if (shownHideouts === undefined) {
            shownHideouts = JSON.stringify(
                parts.hideouts.map(function () { return {colour: "state", typical: {}}; }));
        }
        if (key === shownHideouts) { parts.hideouts = none; } else { shownHideouts = key; }
        return names.map(function (name) { return parts[name]; });
    }

    Object.assign(cockpit, {timeMachine: timeMachine, showFrame: showFrame});
})();
