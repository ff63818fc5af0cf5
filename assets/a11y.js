/* City Cockpit: names for Dash's radio items, checklists and sliders, and the
 * document's language, for screen readers.
 *
 * Dash 4 renders dcc.RadioItems and dcc.Checklist as a listbox whose options each wrap
 * a native radio button or checkbox (controls nested in controls), and dcc.Slider's
 * thumb without a name. For each such widget whose page has an element
 * "<widget id>-label", this turns the listbox into a radio group (or a group of
 * checkboxes) named by that label, leaves the native inputs as the controls, and names
 * the slider's thumb. It changes nothing else and nothing on other widgets.
 */
(function () {
  "use strict";

  function labelFor(widget) {
    return widget.id ? document.getElementById(widget.id + "-label") : null;
  }

  function fixRadios(group, role) {
    var label = labelFor(group);
    if (!label) return;
    if (group.getAttribute("role") !== role) group.setAttribute("role", role);
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

  // The document's language follows the address's ?lang= (pages change address without
  // a reload) among the city's languages, listed by the server on <html data-languages>
  // with the default first (layouts/components/page_language.py).
  function syncLang() {
    var root = document.documentElement;
    var offered = (root.getAttribute("data-languages") || "en").split(" ");
    var asked = new URLSearchParams(window.location.search).get("lang");
    var lang = offered.indexOf(asked) >= 0 ? asked : offered[0];
    if (root.getAttribute("lang") !== lang) root.setAttribute("lang", lang);
  }

  function fixAll() {
    syncLang();
    var radios = document.querySelectorAll(".dash-radioitems");
    for (var i = 0; i < radios.length; i++) fixRadios(radios[i], "radiogroup");
    // Checklists wrap native checkboxes the same way: a named group of them.
    var checks = document.querySelectorAll(".dash-checklist");
    for (var k = 0; k < checks.length; k++) fixRadios(checks[k], "group");
    var sliders = document.querySelectorAll(".dash-slider-container");
    for (var j = 0; j < sliders.length; j++) fixSlider(sliders[j]);
    // A dropdown's tab stop is a hidden proxy (aria-hidden, yet focusable) that hands the
    // focus on to the dropdown's own button: the button becomes the tab stop itself.
    var proxies = document.querySelectorAll(".dash-dropdown-focus-target:not([tabindex='-1'])");
    for (var p = 0; p < proxies.length; p++) {
      var button = proxies[p].parentElement.querySelector("button.dash-dropdown");
      if (!button || button.disabled) continue;
      proxies[p].setAttribute("tabindex", "-1");
      button.setAttribute("tabindex", "0");
    }
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
