/* Live preview: posts the form's draft message to the admin's preview endpoint a moment after
   each change, and shows each messenger's rendering. One request at a time, never a storm. */
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function csrf() {
    var input = document.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function value(id) {
    var field = document.getElementById(id);
    if (!field || !field.value) return null;
    try { return JSON.parse(field.value); } catch (e) { return null; }
  }

  function bubble(m) {
    var box = el("div", "cb-bubble");
    if (m.image_url) { var img = el("img"); img.src = m.image_url; img.alt = ""; box.appendChild(img); }
    box.appendChild(el("div", "cb-text", m.text));
    var buttons = el("div");
    (m.buttons || []).forEach(function (b) { buttons.appendChild(el("span", "cb-btn", b.text + (b.url ? " ↗" : ""))); });
    box.appendChild(buttons);
    // SMS: what the text costs (campaigns/preview_shown.py).
    if (m.segments) box.appendChild(el("div", "cb-segments", m.segments + (m.segments === 1 ? " segment, " : " segments, ") + m.encoding));
    (m.cards || []).forEach(function (c) {
      var card = el("div", "cb-card");
      if (c.image_url) { var cimg = el("img"); cimg.src = c.image_url; cimg.alt = ""; card.appendChild(cimg); }
      card.appendChild(el("strong", "", c.title));
      if (c.subtitle) card.appendChild(el("div", "", c.subtitle));
      (c.buttons || []).forEach(function (b) { card.appendChild(el("span", "cb-btn", b.text)); });
      box.appendChild(card);
    });
    if (m.menu) {  // WhatsApp's list message: one button opens the rows
      var menu = el("details", "cb-menu");
      menu.appendChild(el("summary", "cb-btn", m.menu.label + " (list)"));
      m.menu.rows.forEach(function (row) { menu.appendChild(el("div", "cb-menu-row", row)); });
      box.appendChild(menu);
    }
    return box;
  }

  function show(root, data) {
    var list = root.querySelector(".cb-preview");
    list.textContent = "";
    root.querySelector(".cb-who").textContent =
      "As " + data.customer + " would get it for order " + data.order + ":";
    data.previews.forEach(function (p) {
      var section = el("section", "cb-channel");
      section.setAttribute("data-kind", p.kind);
      var title = el("h3", "", p.label);
      if (!p.connected) title.appendChild(el("span", "cb-badge", "not connected"));
      title.appendChild(el("span", "cb-badge", p.language));
      section.appendChild(title);
      if (p.error) section.appendChild(el("p", "cb-error", "Cannot render: " + p.error));
      else {
        // The bubbles as the platform shows them (read back from the request bodies: cuts,
        // moved buttons and degradations included); quick replies sit under the last one.
        var quick = el("div");
        (p.shown || []).forEach(function (b) {
          section.appendChild(bubble(b));
          (b.quick_replies || []).forEach(function (q) { quick.appendChild(el("span", "cb-btn cb-quick", q)); });
        });
        section.appendChild(quick);
        var details = el("details");
        details.appendChild(el("summary", "", "Request body"));
        details.appendChild(el("pre", "", JSON.stringify(p.body, null, 2)));
        section.appendChild(details);
      }
      list.appendChild(section);
    });
  }

  function start() {
    var root = document.getElementById("cb-live-preview");
    if (!root) return;
    var timer = null, busy = false, again = false;
    function draft() {
      var category = document.getElementById("id_category");
      var link = document.getElementById("id_link_url");
      return {
        content: value("id_content"), content_ru: value("id_content_ru"),
        content_uk: value("id_content_uk"), content_en: value("id_content_en"),
        category: category ? category.value : "",
        link_url: link ? link.value : "",
        language: root.querySelector("[name=cb-language]").value,
        order: root.querySelector("[name=cb-order]").value
      };
    }
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      root.setAttribute("aria-busy", "true");
      fetch(root.getAttribute("data-url"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
        body: JSON.stringify(draft())
      }).then(function (r) { return r.json(); }).then(function (data) {
        if (data.previews) show(root, data);
        else root.querySelector(".cb-who").textContent = "Cannot preview: " + JSON.stringify(data.fields || data.detail);
      }).finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
        else if (timer === null) root.setAttribute("aria-busy", "false");
      });
    }
    var testSend = document.getElementById("cb-test-send-button");
    if (testSend) testSend.addEventListener("click", function () {
      var box = document.getElementById("cb-test-send");
      var result = document.getElementById("cb-test-send-result");
      var body = draft();
      body.recipient = box.querySelector("[name=cb-recipient]").value;
      result.textContent = "Sending…";
      fetch(box.getAttribute("data-url"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
        body: JSON.stringify(body)
      }).then(function (r) { return r.json(); }).then(function (data) {
        result.textContent = data.sent ? "Sent to " + data.to + " (a test: in no stat)."
          : "Not sent: " + (data.error || JSON.stringify(data.fields || data.detail));
      });
    });
    // aria-busy while a refresh is waiting or on its way: screen readers (and browser tests)
    // know when the preview shows the draft as it is.
    function soon() {
      clearTimeout(timer);
      root.setAttribute("aria-busy", "true");
      timer = setTimeout(function () { timer = null; refresh(); }, 400);
    }
    document.addEventListener("cb:changed", soon);
    document.addEventListener("change", soon);
    refresh();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
