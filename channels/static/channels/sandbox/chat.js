// The sandbox chat page: renders the conversation's lines, polls for new ones, and posts what the
// customer does (start, typed text, button presses, read receipts) to the sandbox API.
// Plain DOM and fetch, no framework: it must work offline, from Django's static files alone.
// Everything shown is set with textContent (never innerHTML), so message text is always escaped.
(function () {
  "use strict";

  var POLL_MS = 1000;
  var HIDDEN_POLL_MS = 5000; // a background tab needs no second-by-second updates

  var config = JSON.parse(document.getElementById("sandbox-config").textContent);
  var S = config.strings;
  var list = document.querySelector("[data-testid=messages]");
  var quick = document.querySelector("[data-testid=quick-replies]");
  var status = document.querySelector("[data-testid=status]");
  var errorLine = document.querySelector("[data-testid=error]");
  var form = document.querySelector("[data-testid=composer]");
  var input = document.querySelector("[data-testid=composer-input]");
  var csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;

  var lastId = 0;
  var lastLine = null; // the newest line rendered, to know whether quick replies still apply
  var pending = {}; // client event id -> the bubble shown before the server confirmed it
  var unread = []; // ids of bot messages shown while the tab was hidden
  var polling = false;
  var pollAgain = false;
  var pollTimer = null;
  var stick = true; // follow new lines unless the customer scrolled up to read back

  // --- helpers --------------------------------------------------------------------------------
  function el(tag, className, testid, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (testid) node.setAttribute("data-testid", testid);
    if (text) node.textContent = text;
    return node;
  }

  function clientId() {
    // crypto.randomUUID needs a secure context; a demo on a LAN address is plain http.
    var words = new Uint32Array(2);
    crypto.getRandomValues(words);
    return Date.now().toString(36) + "-" + words[0].toString(36) + words[1].toString(36);
  }

  function safeUrl(url, isImage) {
    // Only web links: a javascript: URL in a message must never become clickable.
    if (!url) return null;
    if (isImage && /^data:image\/(png|jpeg|gif|webp|svg\+xml)[;,]/i.test(url)) return url;
    try {
      var parsed = new URL(url, window.location.href);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") return parsed.href;
    } catch (e) {
      /* not a URL: shown as nothing */
    }
    return null;
  }

  function timeOf(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function showError(text) {
    errorLine.textContent = text || "";
    errorLine.hidden = !text;
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  // --- rendering ------------------------------------------------------------------------------
  function image(url, className, testid) {
    var src = safeUrl(url, true);
    if (!src) return null;
    var img = el("img", className, testid);
    img.src = src;
    img.alt = "";
    img.loading = "lazy";
    img.addEventListener("load", function () {
      if (stick) scrollToEnd(); // a late image must not push the newest line out of view
    });
    return img;
  }

  function buttonRow(buttons, onPress) {
    var row = el("div", "sb-buttons", "buttons");
    buttons.forEach(function (button) {
      if (button.url) {
        var href = safeUrl(button.url, false);
        var link = el("a", "sb-btn sb-btn-url", "url-button", button.text);
        if (href) {
          link.href = href;
          link.target = "_blank";
          link.rel = "noopener noreferrer";
          link.title = S.opensNewTab;
        } else {
          link.setAttribute("aria-disabled", "true");
        }
        row.appendChild(link);
      } else {
        var press = el("button", "sb-btn", "reply-button", button.text);
        press.type = "button";
        press.setAttribute("data-payload", button.payload || "");
        press.addEventListener("click", function () {
          onPress(button);
        });
        row.appendChild(press);
      }
    });
    return row;
  }

  function carousel(cards) {
    var strip = el("div", "sb-carousel", "carousel");
    cards.forEach(function (card) {
      var box = el("div", "sb-card", "card");
      var img = image(card.image_url, "sb-card-image", "card-image");
      if (img) box.appendChild(img);
      var words = el("div", "sb-card-body");
      words.appendChild(el("div", "sb-card-title", "card-title", card.title));
      if (card.subtitle) words.appendChild(el("div", "sb-card-subtitle", "card-subtitle", card.subtitle));
      box.appendChild(words);
      if (card.buttons && card.buttons.length) box.appendChild(buttonRow(card.buttons, pressButton));
      strip.appendChild(box);
    });
    return strip;
  }

  function botLine(line) {
    var body = line.body || {};
    var wrap = el("div", "sb-line sb-line-out");
    var bubble = el("div", "sb-msg sb-out", "message-out");
    bubble.setAttribute("data-id", line.id);
    var img = image(body.image_url, "sb-image", "message-image");
    if (img) bubble.appendChild(img);
    if (body.text) bubble.appendChild(el("div", "sb-text", "message-text", body.text));
    bubble.appendChild(el("span", "sb-time", null, timeOf(line.created_at)));
    if (body.buttons && body.buttons.length) bubble.appendChild(buttonRow(body.buttons, pressButton));
    wrap.appendChild(bubble);
    if (body.cards && body.cards.length) wrap.appendChild(carousel(body.cards));
    return wrap;
  }

  function customerBubble(text, id) {
    var wrap = el("div", "sb-line sb-line-in");
    var bubble = el("div", "sb-msg sb-in", "message-in");
    if (id) bubble.setAttribute("data-id", id);
    bubble.appendChild(el("div", "sb-text", "message-text", text));
    wrap.appendChild(bubble);
    return wrap;
  }

  function customerLine(line) {
    var body = line.body || {};
    if (body.type === "start") return el("div", "sb-note", "system-note", S.started);
    var wrap = customerBubble(body.text || body.payload || "", line.id);
    wrap.querySelector(".sb-msg").appendChild(el("span", "sb-time", null, timeOf(line.created_at)));
    return wrap;
  }

  function renderQuickReplies() {
    quick.replaceChildren();
    var body = lastLine && lastLine.direction === "out" ? lastLine.body || {} : {};
    (body.quick_replies || []).forEach(function (button) {
      var chip = el("button", "sb-chip", "quick-reply", button.text);
      chip.type = "button";
      chip.setAttribute("data-payload", button.payload || "");
      chip.addEventListener("click", function () {
        quick.replaceChildren(); // quick replies vanish once used, as in the messengers
        pressButton(button);
      });
      quick.appendChild(chip);
    });
  }

  function append(lines) {
    if (!lines.length) return;
    var seen = [];
    lines.forEach(function (line) {
      lastId = Math.max(lastId, line.id);
      lastLine = line;
      if (line.direction === "out") {
        list.appendChild(botLine(line));
        seen.push(String(line.id));
        return;
      }
      var node = customerLine(line);
      var clientKey = line.body && line.body.id;
      if (clientKey && pending[clientKey]) {
        list.replaceChild(node, pending[clientKey]);
        delete pending[clientKey];
      } else {
        list.appendChild(node);
      }
    });
    renderQuickReplies();
    if (stick || seen.length) scrollToEnd();
    markRead(seen);
  }

  // --- talking to the server ------------------------------------------------------------------
  function post(event) {
    return fetch(config.eventsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(event),
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      pollNow();
      return response;
    });
  }

  function sendShown(event, text) {
    // Show the customer's line at once; the server's copy replaces it when the poll brings it.
    event.id = clientId();
    var bubble = customerBubble(text, null);
    bubble.classList.add("sb-pending");
    pending[event.id] = bubble;
    list.appendChild(bubble);
    scrollToEnd();
    showError("");
    return post(event).catch(function () {
      if (pending[event.id]) {
        list.removeChild(pending[event.id]);
        delete pending[event.id];
      }
      showError(S.sendFailed);
      throw new Error("not sent");
    });
  }

  function pressButton(button) {
    sendShown({ type: "button", text: button.text, payload: button.payload }, button.text).catch(
      function () {}
    );
  }

  function markRead(ids) {
    unread = unread.concat(ids);
    if (!unread.length || document.hidden) return;
    var batch = unread.slice(-100);
    unread = [];
    post({ type: "read", id: "read-" + batch[batch.length - 1], message_ids: batch }).catch(
      function () {} // a lost receipt only makes a statistic a little low
    );
  }

  function schedule() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  }

  function poll() {
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    clearTimeout(pollTimer);
    fetch(config.messagesUrl + (config.messagesUrl.indexOf("?") < 0 ? "?" : "&") + "after=" + lastId, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (lines) {
        status.textContent = S.online;
        status.classList.remove("sb-offline");
        append(lines);
        if (lines.length >= 200) pollAgain = true; // a long transcript arrives in pages
      })
      .catch(function () {
        status.textContent = S.offline;
        status.classList.add("sb-offline");
      })
      .then(function () {
        polling = false;
        if (pollAgain) {
          pollAgain = false;
          poll();
        } else {
          schedule();
        }
      });
  }

  function pollNow() {
    poll();
  }

  // --- wiring ---------------------------------------------------------------------------------
  list.addEventListener("scroll", function () {
    stick = nearBottom();
  });
  // A rotated phone or an on-screen keyboard resizes the list: keep the newest line in view.
  window.addEventListener("resize", function () {
    if (stick) scrollToEnd();
  });

  form.addEventListener("submit", function (submit) {
    submit.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    sendShown({ type: "text", text: text }, text).catch(function () {
      if (!input.value) input.value = text; // give the words back to retry
    });
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      markRead([]);
      pollNow();
    }
  });

  if (config.start !== null) {
    // One fixed id: reloading the page (or a retry) cannot start the conversation twice.
    post({ type: "start", id: "start", token: config.start }).catch(function () {
      showError(S.sendFailed);
    });
  }
  poll();
  // A phone would pop its keyboard over the welcome; focus only where there is a real pointer.
  if (window.matchMedia("(pointer: fine)").matches) input.focus();
})();
