/* Live counts on the campaign page: one small JSON request every few seconds while the
   campaign is under way, none once every delivery is done. */
(function () {
  "use strict";
  var EVERY_MS = 3000;

  function update(box, data) {
    box.querySelector(".cb-bar-done").style.width = data.percent + "%";
    box.querySelector(".cb-bar").setAttribute("aria-valuenow", data.percent);
    box.querySelector(".cb-percent").textContent = data.percent + "%";
    Array.prototype.forEach.call(box.querySelectorAll("[data-count]"), function (node) {
      node.textContent = data[node.getAttribute("data-count")];
    });
  }

  function poll(box) {
    fetch(box.getAttribute("data-live"), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        update(box, data);
        var running = ["running", "scheduled"].indexOf(data.status) >= 0;
        if (running || (data.total > 0 && data.percent < 100)) setTimeout(function () { poll(box); }, EVERY_MS);
      })
      .catch(function () { setTimeout(function () { poll(box); }, EVERY_MS * 3); });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".cb-progress[data-live]"), function (box) {
      setTimeout(function () { poll(box); }, EVERY_MS);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
