/* Gateway screens (Gateways page): each picture is fetched once per capture (a live capture is audited, so a failed
   one is never asked for twice); a 503's one-line reason becomes the picture's alt text and status line. */
(function () {
  "use strict";
  var clock = function () { return window.ATS && ATS.format ? ATS.format.clock(new Date()) : new Date().toISOString(); };
  document.querySelectorAll("figure.gw-screen").forEach(function (figure) {
    var img = figure.querySelector("img[data-url]");
    if (!img) return;
    var status = figure.querySelector(".gw-screen-status"), shown = null;
    function show(text) { status.textContent = text; }
    function capture() {
      show("capturing…");
      fetch(img.dataset.url + "?t=" + Date.now(), { cache: "no-store", credentials: "same-origin" })
        .then(function (r) {
          if (r.ok) return r.blob().then(function (blob) {
            if (shown) URL.revokeObjectURL(shown);
            shown = URL.createObjectURL(blob);
            img.src = shown;
            figure.classList.remove("failed");
            show("taken " + clock());
          });
          return r.text().then(function (text) {
            img.alt = text.trim().split("\n")[0] || "no reason given";
            img.removeAttribute("src");  // the empty picture shows its alt text: the reason
            figure.classList.add("failed");
            show("no picture at " + clock());
          });
        })
        .catch(function () { figure.classList.add("failed"); show("no picture, and the console did not answer"); });
    }
    figure.querySelector(".gw-screen-refresh").addEventListener("click", capture);
    capture();
  });
})();
