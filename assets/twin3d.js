/* City Cockpit in the browser: the 3D twin's page (layouts/pages/twin3d.py).
 *
 * Whether this browser can draw WebGL, asked once when the page opens: the server then
 * sends the districts (or the columns) in 3D, or flat where WebGL is missing (an old or
 * locked-down browser, a remote desktop without a GPU), instead of a chart that cannot
 * draw. */
(function () {
    "use strict";
    var dc = (window.dash_clientside = window.dash_clientside || {});
    var cockpit = (dc.cockpit = dc.cockpit || {});

    function webglProbe() {
        try {
            var canvas = document.createElement("canvas");
            return !!(window.WebGLRenderingContext &&
                (canvas.getContext("webgl") || canvas.getContext("experimental-webgl")));
        } catch (e) {
            return false;
        }
    }

    Object.assign(cockpit, {webglProbe: webglProbe});
})();
