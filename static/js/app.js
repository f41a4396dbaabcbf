// Espace Pro's own script, beside htmx (the CSP allows scripts from this origin only).
//
// Focus after a swap: when htmx replaces a region marked data-swap-focus (a space's tab, a
// step of a wizard or of a procedure), the element that had the focus (the tab link, the
// button of the step) is gone and the browser drops the focus to <body>; a screen reader
// then announces nothing. The focus goes to the new content instead: left where htmx put it
// (an [autofocus] field, or the element of the same id it keeps focused), else to the error
// summary, else to the heading that names the region (aria-labelledby) or its first heading,
// else to the region itself. The title follows by itself: htmx takes the <title> that every
// partial answer ends with (base.html).
(function () {
  "use strict";

  function focusable(element) {
    if (!element.hasAttribute("tabindex")) {
      element.setAttribute("tabindex", "-1");
    }
    return element;
  }

  function target(region) {
    const label = region.getAttribute("aria-labelledby");
    return (
      region.querySelector(".error-summary") ||
      (label && document.getElementById(label)) ||
      region.querySelector("h1, h2, h3") ||
      region
    );
  }

  // FR / DE / EN comes back to the page shown: after htmx pushed another URL into the
  // address bar (a tab, a step), the form's next, written with the first page, is stale.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.classList.contains("lang-switch")) {
      form.elements.next.value = window.location.pathname + window.location.search;
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    const region = event.target;
    if (!(region instanceof Element) || !region.hasAttribute("data-swap-focus") || !region.isConnected) {
      return;
    }
    const active = document.activeElement;
    if (active && active !== document.body && region.contains(active)) {
      return;
    }
    focusable(target(region)).focus({ preventScroll: false });
  });
})();
