/* City Cockpit kiosk: rotation, clock, offline marker and the periodic full reload.
 * Runs entirely in the browser so that a kiosk keeps rotating its last slides when the
 * server cannot be reached. Does nothing on pages without a kiosk (#cc-kiosk). Its
 * clientside callbacks are in the dash_clientside.cockpit namespace (assets/cockpit.js). */
(function () {
    "use strict";
    var loadedAt = Date.now();
    var lastContact = 0;
    var asked = 0;  // when the refresh now under way was asked for (0: none)
    var again = false;  // a signal came while a refresh was under way: ask once more

    var dc = (window.dash_clientside = window.dash_clientside || {});
    var cockpit = (dc.cockpit = dc.cockpit || {});

    Object.assign(cockpit, {
        // Each tick of the interval: ask the server for a refresh, unless the last
        // request is still under way (and not yet given up).
        kioskAsk: function (n) {
            var now = Date.now();
            var root = document.getElementById("cc-kiosk");
            var giveUp = Math.max(3 * (root ? number(root, "data-poll-ms", 10000) : 10000), 20000);
            if (asked && now - asked < giveUp) {
                again = true;
                return dc.no_update;
            }
            asked = now;
            return {n: n || 0, instance: instance()};
        },
        // Called whenever the server answered a kiosk refresh.
        kioskContact: function () {
            lastContact = Date.now();
            asked = 0;
            if (again && cockpit.liveBump) {
                again = false;
                window.setTimeout(function () { cockpit.liveBump("cc-kiosk-tick"); }, 0);
            }
            return dc.no_update;
        },
    });

    // This browser's own random id: an unnamed kiosk is one row on the staff's list.
    function instance() {
        var key = "cc-kiosk-instance";
        try {
            var found = window.localStorage.getItem(key);
            if (found && /^[a-z0-9]{8,16}$/.test(found)) { return found; }
            var made = "";
            var bytes = new Uint8Array(6);
            window.crypto.getRandomValues(bytes);
            for (var i = 0; i < bytes.length; i++) { made += ("0" + bytes[i].toString(16)).slice(-2); }
            window.localStorage.setItem(key, made);
            return made;
        } catch (e) {
            return "";
        }
    }

    function number(root, name, fallback) {
        var value = parseFloat(root.getAttribute(name));
        return isFinite(value) && value > 0 ? value : fallback;
    }

    function showLanguage(root, lang) {
        if (root.getAttribute("data-lang") !== lang) { root.setAttribute("data-lang", lang); }
        var tagged = root.querySelectorAll("[data-kiosk-lang]");
        for (var i = 0; i < tagged.length; i++) {
            var hide = tagged[i].getAttribute("data-kiosk-lang") !== lang;
            if (tagged[i].hidden !== hide) { tagged[i].hidden = hide; }
        }
    }

    function rotate(root, now) {
        var slides = root.querySelectorAll(".cc-slide");
        if (!slides.length) { return; }
        var period = number(root, "data-rotate-ms", 15000);
        var current = Math.floor(now / period) % slides.length;
        for (var i = 0; i < slides.length; i++) {
            var on = i === current;
            if (slides[i].classList.contains("cc-active") !== on) {
                slides[i].classList.toggle("cc-active", on);
                slides[i].setAttribute("aria-hidden", on ? "false" : "true");
            }
        }
        showLanguage(root, slides[current].getAttribute("data-lang") || "en");
    }

    function clock(root, now) {
        var el = root.querySelector(".cc-clock");
        if (!el || !window.Intl) { return; }
        try {
            var text = new Intl.DateTimeFormat(root.getAttribute("data-lang") || "en", {
                hour: "2-digit", minute: "2-digit", hour12: false,
                timeZone: el.getAttribute("data-tz") || undefined,
            }).format(new Date(now));
            if (el.textContent !== text) { el.textContent = text; }
        } catch (e) { /* an unknown time zone keeps the server's time */ }
    }

    function tick() {
        var root = document.getElementById("cc-kiosk");
        if (!root) { return; }
        var now = Date.now();
        if (!lastContact) { lastContact = now; }
        rotate(root, now);
        clock(root, now);
        var poll = number(root, "data-poll-ms", 10000);
        var online = now - lastContact <= Math.max(3 * poll, 10000);
        root.classList.toggle("cc-offline", !online);
        if (online && now - loadedAt > number(root, "data-reload-ms", 6 * 3600 * 1000)) {
            reload();
        }
    }

    // A fresh page now and then keeps the browser's memory flat. The page is fetched
    // first and reloaded only when the server answered, so a kiosk never reloads into
    // a browser error page.
    var reloading = false;
    function reload() {
        if (reloading || !window.fetch) { return; }
        reloading = true;
        window.fetch(window.location.href, {cache: "no-store", credentials: "same-origin"})
            .then(function (answer) {
                if (answer.ok) { window.location.reload(); } else { reloading = false; }
            })
            .catch(function () { reloading = false; });
    }

    window.setInterval(tick, 250);
})();
