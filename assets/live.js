/* City Cockpit live: hears the server's signals (/live, server-sent events) and runs the
 * page's usual refresh once, at once, instead of waiting for its next poll.
 *
 * A signal carries only a version; the refresh is the page's own interval callback
 * (cockpit: cc-tick, kiosk: cc-kiosk-tick, phone: m-tick), so what comes back is
 * exactly what the poll would bring, checked for the viewer's role on the server.
 * While the stream is not working (a proxy refuses or buffers it, the server is away)
 * the page polls every FALLBACK_MS by itself on top of its own interval, and reconnects
 * with backoff and jitter; nothing on screen is cleared meanwhile. */
(function () {
    "use strict";
    var TICKS = ["cc-tick", "cc-kiosk-tick", "m-tick"];
    var FALLBACK_MS = 10000;      // polling while the stream does not work
    var HELLO_MS = 8000;          // a stream whose first event does not come is not working
    var SILENT_MS = 40000;        // no event (pings come every 15 s): the stream is dead
    var MAX_BACKOFF_MS = 60000;

    var dc = (window.dash_clientside = window.dash_clientside || {});
    dc.cockpit = dc.cockpit || {};
    var cockpit = dc.cockpit;
    var state = (cockpit.liveState = {
        live: false, opened: 0, signals: 0, failures: 0, last: 0, known: null, pushed: 0,
    });
    var source = null;
    var retryAt = 0;
    var lastFallback = Date.now();

    function component(id) {
        var api = window.dash_component_api;
        try { return api && api.getLayout ? api.getLayout(id) : null; } catch (e) { return null; }
    }

    function present() {
        return TICKS.filter(function (id) { return !!component(id); });
    }

    // Run the refresh behind interval ``id`` once, as if it had ticked.
    function bump(id) {
        var layout = component(id);
        if (!layout || !dc.set_props) { return false; }
        var n = (layout.props && layout.props.n_intervals) || 0;
        dc.set_props(id, {n_intervals: n + 1});
        return true;
    }
    cockpit.liveBump = bump;

    function refreshAll() {
        present().forEach(bump);
    }

    function prefix() {
        var el = document.getElementById("_dash-config");
        try {
            return (el && JSON.parse(el.textContent).requests_pathname_prefix) || "/";
        } catch (e) { return "/"; }
    }

    function close() {
        if (source) { source.close(); source = null; }
        state.live = false;
        document.documentElement.setAttribute("data-live", "off");
    }

    function fail() {
        close();
        state.failures += 1;
        var base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, Math.min(state.failures, 6)));
        retryAt = Date.now() + base * (0.5 + Math.random());  // jitter: not all at once
    }

    function heard(event) {
        state.last = Date.now();
        var data = {};
        try { data = JSON.parse(event.data || "{}"); } catch (e) { data = {}; }
        return data;
    }

    function open(kiosk) {
        if (!window.EventSource) { return; }
        var url = prefix() + "live" + (kiosk ? "?kiosk=1" : "");
        source = new window.EventSource(url, {withCredentials: true});
        state.opened = Date.now();
        state.last = 0;
        source.addEventListener("hello", function (event) {
            var data = heard(event);
            var before = state.known;
            state.known = data;
            state.live = true;
            state.failures = 0;
            document.documentElement.setAttribute("data-live", "on");
            // Back after a gap: whatever changed meanwhile is fetched once.
            if (before && (before.data !== data.data || before.journal !== data.journal)) {
                refreshAll();
            }
        });
        ["data", "notices", "journal"].forEach(function (kind) {
            source.addEventListener(kind, function (event) {
                var data = heard(event);
                if (state.known) { state.known[kind === "notices" ? "journal" : kind] = data.version; }
                state.signals += 1;
                state.pushed = Date.now();
                refreshAll();
            });
        });
        source.addEventListener("ping", heard);
        source.addEventListener("busy", fail);
        source.onerror = function () {
            // The browser would retry by itself at a fixed pace; ours backs off with jitter.
            fail();
        };
    }

    function watch() {
        var now = Date.now();
        var ticks = present();
        if (!ticks.length) {  // a page without live parts (or not rendered yet)
            if (source) { close(); }
            return;
        }
        if (source) {
            var quiet = state.live ? now - state.last > SILENT_MS : now - state.opened > HELLO_MS;
            if (quiet) { fail(); }
        } else if (now >= retryAt) {
            open(ticks.indexOf("cc-kiosk-tick") >= 0);
        }
        if (!state.live && now - lastFallback >= FALLBACK_MS) {
            lastFallback = now;
            ticks.forEach(bump);
        }
    }

    // A page left behind (another address, a reload, the back-forward cache) gives its
    // stream back at once: a browser holds only six connections to one server, and
    // streams it still kept open would leave the next page's requests waiting. The
    // watch opens a new one when the page is shown again.
    window.addEventListener("pagehide", function () {
        close();
        retryAt = 0;
    });

    window.setInterval(watch, 500);
})();
