/* Comeback subscribe widget: <script src=".../s/embed.js" data-token="TOKEN" async></script>
   puts the hosted subscribe page, framed, right after the script tag. See subscriptions/EMBED.md. */
(function () {
  "use strict";
  var script = document.currentScript;
  var token = script && script.getAttribute("data-token");
  if (!token || !/^[A-Za-z0-9_-]+$/.test(token)) {
    if (window.console) console.warn("comeback embed: data-token missing or malformed");
    return;
  }
  var src = "{{ page|escapejs }}".replace("TOKEN", token) + "?embed=1";
  var lang = script.getAttribute("data-lang");
  if (lang && /^[a-z]{2}$/i.test(lang)) src += "&lang=" + lang;
  var frame = document.createElement("iframe");
  frame.src = src;
  frame.title = script.getAttribute("data-title") || "Subscribe";
  frame.loading = "lazy";
  frame.style.cssText = "display:block;width:100%;max-width:720px;height:360px;border:0;";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== "{{ origin|escapejs }}" || event.source !== frame.contentWindow) return;
    var height = event.data && event.data.comebackHeight;
    if (typeof height === "number" && height > 0 && height < 5000) frame.style.height = height + "px";
  });
})();
