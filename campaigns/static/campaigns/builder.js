/* The message builder: structured fields for a campaign's content, written back into the
   JSON field it replaces (kept under "Advanced"). No framework: shops run behind firewalls and
   every asset is served by us. */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), attrs[key]);
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function input(label, value, onInput, opts) {
    opts = opts || {};
    var field = el(opts.multiline ? "textarea" : "input", {
      "class": "cb-input" + (opts.wide ? " cb-wide" : ""),
      "aria-label": label, placeholder: opts.placeholder || label,
      "data-field": opts.field || label
    });
    if (opts.multiline) field.rows = 3;
    field.value = value || "";
    field.addEventListener("input", function () { onInput(field.value); });
    return opts.bare ? field : el("label", {"class": "cb-label"}, [el("span", {text: label}), field]);
  }

  function move(list, index, step, redraw) {
    var target = index + step;
    if (target < 0 || target >= list.length) return;
    var item = list.splice(index, 1)[0];
    list.splice(target, 0, item);
    redraw();
  }

  function rowTools(list, index, redraw, name) {
    return el("span", {"class": "cb-tools"}, [
      el("button", {type: "button", "class": "cb-small", title: "Move up", text: "↑",
        "aria-label": "Move " + name + " up", onclick: function () { move(list, index, -1, redraw); }}),
      el("button", {type: "button", "class": "cb-small", title: "Move down", text: "↓",
        "aria-label": "Move " + name + " down", onclick: function () { move(list, index, 1, redraw); }}),
      el("button", {type: "button", "class": "cb-small cb-remove", title: "Remove", text: "✕",
        "aria-label": "Remove " + name, onclick: function () { list.splice(index, 1); redraw(); }})
    ]);
  }

  function buttonRows(list, redraw, changed, what) {
    var box = el("div", {"class": "cb-list", "data-list": what});
    list.forEach(function (button, i) {
      var isUrl = what !== "quick reply" && button.url !== undefined;
      var kind = el("select", {"class": "cb-input", "aria-label": what + " " + (i + 1) + " kind",
        "data-field": "kind"}, [
        el("option", {value: "reply", text: "Reply"}), el("option", {value: "url", text: "Link"})]);
      kind.value = isUrl ? "url" : "reply";
      kind.addEventListener("change", function () {
        if (kind.value === "url") { button.url = button.payload && button.payload.indexOf("http") === 0 ? button.payload : "{link}"; delete button.payload; }
        else { button.payload = ""; delete button.url; }
        redraw();
      });
      var value = isUrl ? button.url : button.payload;
      var row = el("div", {"class": "cb-row", "data-item": what}, [
        el("span", {"class": "cb-num", text: (i + 1) + "."}),
        input("Label", button.text, function (v) { button.text = v; changed(); },
          {bare: true, field: "text"}),
        what === "quick reply" ? null : kind,
        input(isUrl ? "Link ({link} = campaign page)" : "Reply value", value, function (v) {
          if (isUrl) button.url = v; else button.payload = v; changed();
        }, {bare: true, field: "value"}),
        rowTools(list, i, redraw, what + " " + (i + 1))
      ]);
      box.appendChild(row);
    });
    return box;
  }

  function messageEditor(message, redraw, changed) {
    message.buttons = message.buttons || [];
    message.quick_replies = message.quick_replies || [];
    message.cards = message.cards || [];
    var cards = el("div", {"class": "cb-list", "data-list": "card"});
    message.cards.forEach(function (card, i) {
      card.buttons = card.buttons || [];
      cards.appendChild(el("fieldset", {"class": "cb-card", "data-item": "card"}, [
        el("legend", {text: "Card " + (i + 1)}), rowTools(message.cards, i, redraw, "card " + (i + 1)),
        input("Title", card.title, function (v) { card.title = v; changed(); }, {field: "title"}),
        input("Subtitle", card.subtitle, function (v) { card.subtitle = v; changed(); }, {field: "subtitle"}),
        input("Image address", card.image_url, function (v) { card.image_url = v; changed(); }, {field: "image_url"}),
        buttonRows(card.buttons, redraw, changed, "card button"),
        el("button", {type: "button", "class": "cb-add", text: "+ Card button",
          onclick: function () { card.buttons.push({text: "", url: "{link}"}); redraw(); }})
      ]));
    });
    return el("div", {"class": "cb-message"}, [
      input("Text", message.text, function (v) { message.text = v; changed(); },
        {multiline: true, wide: true, field: "text",
         placeholder: "Hi {name}! Placeholders: {name} {order} {items} {link}"}),
      input("Image address", message.image_url, function (v) { message.image_url = v; changed(); },
        {wide: true, field: "image_url", placeholder: "https://… (optional)"}),
      el("h4", {text: "Buttons"}), buttonRows(message.buttons, redraw, changed, "button"),
      el("div", {"class": "cb-adds"}, [
        el("button", {type: "button", "class": "cb-add", text: "+ Link button",
          onclick: function () { message.buttons.push({text: "", url: "{link}"}); redraw(); }}),
        el("button", {type: "button", "class": "cb-add", text: "+ Reply button",
          onclick: function () { message.buttons.push({text: "", payload: ""}); redraw(); }}),
        el("button", {type: "button", "class": "cb-add", text: "+ Survey score buttons (5 to 1)",
          onclick: function () {
            [5, 4, 3, 2, 1].forEach(function (n) {
              message.buttons.push({text: "★".repeat(n), payload: "survey:{delivery}:" + n});
            });
            redraw();
          }})
      ]),
      // Only a survey asks for a comment: the field shows once score buttons are there.
      isSurvey(message) ? input("Comment prompt (after a score)", message.comment_prompt,
        function (v) { message.comment_prompt = v; changed(); },
        {multiline: true, wide: true, field: "comment_prompt",
         placeholder: "Empty: \u201cThanks \u2014 anything to add? Just type it.\u201d in the customer's language"})
        : null,
      el("h4", {text: "Quick replies"}), buttonRows(message.quick_replies, redraw, changed, "quick reply"),
      el("button", {type: "button", "class": "cb-add", text: "+ Quick reply",
        onclick: function () { message.quick_replies.push({text: "", payload: ""}); redraw(); }}),
      el("h4", {text: "Carousel cards"}), cards,
      el("button", {type: "button", "class": "cb-add", text: "+ Card",
        onclick: function () { message.cards.push({title: "", buttons: []}); redraw(); }})
    ]);
  }

  function isSurvey(message) {
    return Boolean(message.comment_prompt) || (message.buttons || []).some(function (b) {
      return /^survey:/.test(b.payload || "");
    });
  }

  function clean(content) {
    var out = {};
    Object.keys(content).forEach(function (slot) {
      var m = content[slot], msg = {};
      if (m.text) msg.text = m.text;
      if (m.image_url) msg.image_url = m.image_url;
      if (m.comment_prompt) msg.comment_prompt = m.comment_prompt;
      ["buttons", "quick_replies"].forEach(function (key) {
        if (m[key] && m[key].length) msg[key] = m[key];
      });
      if (m.cards && m.cards.length) {
        msg.cards = m.cards.map(function (c) {
          var card = {title: c.title || ""};
          if (c.subtitle) card.subtitle = c.subtitle;
          if (c.image_url) card.image_url = c.image_url;
          if (c.buttons && c.buttons.length) card.buttons = c.buttons;
          return card;
        });
      }
      out[slot] = msg;
    });
    return out;
  }

  function setUp(root) {
    var textarea = document.getElementById(root.getAttribute("data-for"));
    var labels = JSON.parse(root.getAttribute("data-slots"));
    var content;
    function load() {
      try { content = JSON.parse(textarea.value || "{}") || {}; } catch (e) { content = null; }
    }
    function changed() {
      textarea.value = Object.keys(content).length ? JSON.stringify(clean(content), null, 2) : "";
      textarea.dispatchEvent(new CustomEvent("cb:changed", {bubbles: true}));
    }
    function redraw() {
      root.textContent = "";
      if (content === null) {
        root.appendChild(el("p", {"class": "errornote", text: "The JSON below is not valid: fix it under Advanced."}));
        return;
      }
      Object.keys(labels).forEach(function (slot) {
        if (!content[slot]) return;
        root.appendChild(el("fieldset", {"class": "cb-slot", "data-slot": slot}, [
          el("legend", {text: labels[slot]}),
          el("button", {type: "button", "class": "cb-small cb-remove cb-slot-remove",
            text: "Remove this message", onclick: function () { delete content[slot]; redraw(); }}),
          messageEditor(content[slot], redraw, changed)
        ]));
      });
      var pick = el("select", {"class": "cb-input", "aria-label": "Message for"});
      Object.keys(labels).forEach(function (slot) {
        if (!content[slot]) pick.appendChild(el("option", {value: slot, text: labels[slot]}));
      });
      if (pick.options.length) {
        var hasAny = Object.keys(content).length > 0;
        root.appendChild(el("div", {"class": "cb-adds"}, [
          el("span", {text: hasAny ? "Add a message just for " : "Write a message for "}), pick,
          el("button", {type: "button", "class": "cb-add", text: "Add",
            onclick: function () { content[pick.value] = {text: ""}; redraw(); }})
        ]));
      }
      changed();
    }
    textarea.addEventListener("change", function () { load(); redraw(); });
    load();
    redraw();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".cb-builder"), setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
