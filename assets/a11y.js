/* City Cockpit: names for Dash's radio items and sliders, for screen readers.
 *
 * Dash 4 renders dcc.RadioItems as a listbox whose options each wrap a native radio
 * button (controls nested in controls), and dcc.Slider's thumb without a name. For each
 * such widget whose page has an element "<widget id>-label", this turns the listbox
 * into a radio group named by that label, leaves the native radios as the controls,
 * and names the slider's thumb. It changes nothing else and nothing on other widgets.
 */
(function () {
  "use strict";

  function labelFor(widget) {
    return widget.id ? document.getElementById(widget.id + "-label") : null;
  }

  function fixRadios(group) {
    var label = labelFor(group);
    if (!label) return;
    if (group.getAttribute("role") !== "radiogroup") group.setAttribute("role", "radiogroup");
    if (group.getAttribute("aria-labelledby") !== label.id) {
      group.setAttribute("aria-labelledby", label.id);
    }
    var options = group.querySelectorAll("[role=option], [aria-selected]");
    for (var i = 0; i < options.length; i++) {
      options[i].removeAttribute("role");
      options[i].removeAttribute("aria-selected");
    }
  }

  function fixSlider(box) {
    var label = labelFor(box);
    if (!label) return;
    var thumbs = box.querySelectorAll("[role=slider]");
    for (var i = 0; i < thumbs.length; i++) {
      if (thumbs[i].getAttribute("aria-labelledby") !== label.id) {
        thumbs[i].setAttribute("aria-labelledby", label.id);
      }
    }
  }

  function fixAll() {
    var radios = document.querySelectorAll(".dash-radioitems");
    for (var i = 0; i < radios.length; i++) fixRadios(radios[i]);
    var sliders = document.querySelectorAll(".dash-slider-container");
    for (var j = 0; j < sliders.length; j++) fixSlider(sliders[j]);
  }

  var queued = false;
  function schedule() {
    if (queued) return;
    queued = true;
    window.requestAnimationFrame(function () {
      queued = false;
      fixAll();
    });
  }

  new MutationObserver(schedule).observe(document.documentElement, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["role", "aria-selected"],
  });
  schedule();
})();
