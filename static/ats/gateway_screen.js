/* Gateway screens (Gateways page): a "New screenshot" button per screen; when a capture fails, the view's one-line
   reason (its 503 text) becomes the picture's alt text, which the browser shows in its place. */
(function () {
  "use strict";
  document.querySelectorAll("figure.gw-screen").forEach(function (figure) {
    var img = figure.querySelector("img[data-url]");
    if (!img) return;
    var status = figure.querySelector(".gw-screen-status");
    var settled = null;  // the src whose outcome is shown: each picture settles once
    function show(text) { status.textContent = text; }
    function settle() { if (settled === img.src) return false; settled = img.src; return true; }
    function loaded() {
      if (!settle()) return;
      figure.classList.remove("failed");
      show("taken " + new Date().toLocaleTimeString());
    }
    function failed() {
      if (!settle()) return;
      figure.classList.add("failed");
      show("no picture; asking why…");
      // The <img> cannot read its 503 body: ask again for the reason (a refusal answers at once).
      fetch(img.dataset.url, { cache: "no-store", credentials: "same-origin" })
        .then(function (r) { return r.ok ? "the capture works again: take a new screenshot" : r.text(); })
        .then(function (text) {
          img.alt = text.trim().split("\n")[0] || "no reason given";  // the broken picture shows it
          show("no picture at " + new Date().toLocaleTimeString());
        })
        .catch(function () { show("no picture, and the console did not answer"); });
    }
    img.addEventListener("load", loaded);
    img.addEventListener("error", failed);
    if (img.complete) { if (img.naturalWidth > 0) loaded(); else failed(); }  // settled before this script ran
    figure.querySelector(".gw-screen-refresh").addEventListener("click", function () {
      show("capturing…");
      img.src = img.dataset.url + "?t=" + Date.now();
    });
  });
})();
