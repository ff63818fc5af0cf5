/* City Cockpit phone view (/m): clientside callbacks only, in the dash_clientside.cockpit
   namespace (assets/cockpit.js). Defining them does nothing on any page; Dash calls them
   from the phone view's own callbacks. */
(function () {
    "use strict";
    var dc = (window.dash_clientside = window.dash_clientside || {});
    var cockpit = (dc.cockpit = dc.cockpit || {});

    Object.assign(cockpit, {
        /* The browser's position as {lat, lon}, or {error} when refused or unavailable. */
        locate: function (clicks) {
            if (!clicks) { return dc.no_update; }
            return new Promise(function (resolve) {
                if (!navigator.geolocation) {
                    resolve({error: "unavailable", at: Date.now()});
                    return;
                }
                navigator.geolocation.getCurrentPosition(
                    function (pos) {
                        resolve({lat: pos.coords.latitude, lon: pos.coords.longitude,
                                 at: Date.now()});
                    },
                    function (err) { resolve({error: String(err.code), at: Date.now()}); },
                    {enableHighAccuracy: false, timeout: 8000, maximumAge: 60000}
                );
            });
        },
        /* Brings the "near me" list into view when it has been filled in. */
        showNear: function (children) {
            var near = document.getElementById("m-near");
            if (near && children && children.length) { near.scrollIntoView({block: "start"}); }
            return dc.no_update;
        },
        /* Moves the keyboard focus into a site's sheet when it opens. */
        focusSheet: function (hidden) {
            if (!hidden) {
                var close = document.getElementById("m-close");
                if (close) { close.focus(); }
            }
            return dc.no_update;
        },
    });
})();
