// lessonbot's embed for a lesson page: its discussion (read-only), links to join it, its
// open counts, and "select a passage, suggest an edit". One tag includes it:
//   <script src="https://bot.example/embed.js" data-lesson="program/slug" data-locale="ar" async></script>
// No framework, no eval, no inline style or script: it runs under a strict CSP that allows
// the bot's origin. Every text people wrote is set with textContent, never as HTML.
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector("script[data-lesson][src*='embed.js']");
  if (!script || !window.fetch || !document.documentElement.attachShadow) return;
  var lesson = (script.getAttribute("data-lesson") || "").split("/");
  if (lesson.length !== 2 || !lesson[0] || !lesson[1]) return;
  var origin = new URL(script.src, document.baseURI).origin;
  var locale = script.getAttribute("data-locale") || document.documentElement.lang || "en";
  var base = origin + "/api/lessons/" + encodeURIComponent(lesson[0]) + "/" +
    encodeURIComponent(lesson[1]);

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function link(href, text, className) {
    var anchor = el("a", className, text);
    anchor.href = new URL(href, origin).href;
    anchor.rel = "noopener noreferrer";
    anchor.target = "_blank";
    return anchor;
  }

  // The stylesheet comes from the bot (style-src allows it); inside the shadow root it
  // styles only the embed, and the page's styles do not reach in.
  function shadowFor(host, data) {
    var root = host.shadowRoot || host.attachShadow({ mode: "open" });
    while (root.firstChild) root.removeChild(root.firstChild);
    var sheet = document.createElement("link");
    sheet.rel = "stylesheet";
    sheet.href = origin + data.stylesheet;
    root.appendChild(sheet);
    return root;
  }

  function when(iso) {
    if (!iso) return "";
    try {
      return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" })
        .format(new Date(iso));
    } catch (error) {
      return new Date(iso).toLocaleString();
    }
  }

  function count(label, value, id) {
    var item = el("div", "count");
    item.id = id;
    item.appendChild(el("dt", null, label));
    item.appendChild(el("dd", null, String(value)));
    return item;
  }

  function render(host, data) {
    var s = data.strings;
    var root = shadowFor(host, data);
    var box = el("section", "lessonbot");
    box.dir = data.dir;
    box.lang = data.locale;
    box.setAttribute("aria-label", s.heading);
    box.appendChild(el("h2", "heading", s.heading));

    var counts = el("dl", "counts");
    counts.appendChild(count(s.open_questions, data.counts.questions, "open-questions"));
    counts.appendChild(count(s.open_suggestions, data.counts.suggestions, "open-suggestions"));
    box.appendChild(counts);

    var join = el("p", "join");
    if (data.links.discord) join.appendChild(link(data.links.discord, s.join_discord, "join-discord"));
    if (data.links.github) join.appendChild(link(data.links.github, s.join_github, "join-github"));
    join.appendChild(link(data.links.suggest, s.suggest_lesson, "suggest-lesson"));
    box.appendChild(join);
    if (!data.links.discord && !data.links.github) box.appendChild(el("p", "note", s.not_linked));
    for (var u = 0; u < data.unreachable.length; u++) {
      box.appendChild(el("p", "note", s[data.unreachable[u] + "_unreachable"]));
    }

    if (data.entries.length) {
      var list = el("ol", "entries");
      for (var i = 0; i < data.entries.length; i++) {
        var entry = data.entries[i];
        var item = el("li", "entry entry-" + entry.source);
        var head = el("p", "entry-head");
        // Names and texts keep their own direction inside the page's (bidi isolation).
        var author = el("bdi", "author", entry.author);
        head.appendChild(author);
        head.appendChild(document.createTextNode(" · " + s["on_" + entry.source]));
        if (entry.at) {
          var time = el("time", null, when(entry.at));
          time.dateTime = entry.at;
          head.appendChild(document.createTextNode(" · "));
          head.appendChild(time);
        }
        item.appendChild(head);
        var text = el("p", "entry-text", entry.text);
        text.dir = "auto";
        item.appendChild(text);
        list.appendChild(item);
      }
      box.appendChild(list);
    } else {
      box.appendChild(el("p", "note empty", s.empty));
    }
    box.appendChild(el("p", "note hint", s.suggest_hint));
    root.appendChild(box);
  }

  function fail(host, message) {
    var root = host.shadowRoot || host.attachShadow({ mode: "open" });
    while (root.firstChild) root.removeChild(root.firstChild);
    var note = el("p", null, message);
    note.setAttribute("role", "status");
    root.appendChild(note);
  }

  // --- select to suggest ------------------------------------------------------------------

  function article() {
    var selector = script.getAttribute("data-article");
    return (selector && document.querySelector(selector)) ||
      document.querySelector("[data-lessonbot-article]") ||
      document.querySelector("article") || document.querySelector("main");
  }

  function selectToSuggest(data) {
    var target = article();
    if (!target) return;
    var holder = el("div");
    holder.setAttribute("data-lessonbot-suggest", "");
    var root = holder.attachShadow({ mode: "open" });
    var sheet = document.createElement("link");
    sheet.rel = "stylesheet";
    sheet.href = origin + data.stylesheet;
    root.appendChild(sheet);
    var button = el("button", "suggest-button", data.strings.suggest_button);
    button.type = "button";
    button.dir = data.dir;
    button.lang = data.locale;
    root.appendChild(button);
    // Positioned through the CSSOM: a strict style-src allows it (unlike style attributes).
    holder.style.position = "absolute";
    holder.style.zIndex = "2147483000";
    holder.hidden = true;
    document.body.appendChild(holder);
    var chosen = "";

    function hide() { holder.hidden = true; chosen = ""; }

    function check() {
      var selection = window.getSelection();
      if (!selection || selection.isCollapsed || !selection.rangeCount) return hide();
      var range = selection.getRangeAt(0);
      if (!target.contains(range.commonAncestorContainer)) return hide();
      var text = selection.toString().trim();
      if (!text) return hide();
      chosen = text;
      var box = range.getBoundingClientRect();
      var rtl = data.dir === "rtl";
      holder.hidden = false;
      holder.style.top = Math.round(box.bottom + window.scrollY + 6) + "px";
      holder.style.left = Math.round((rtl ? box.right - holder.offsetWidth : box.left) +
        window.scrollX) + "px";
    }

    function open(href) {
      var anchor = document.createElement("a");
      anchor.href = new URL(href, origin).href;
      anchor.target = "_blank";
      anchor.rel = "noopener";
      anchor.click();
    }

    button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    button.addEventListener("click", function () {
      var text = chosen;
      if (!text) return;
      var url = base + "/passage?" + new URLSearchParams({
        locale: locale, lesson_locale: data.lesson_locale, text: text
      }).toString();
      fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" })
        .then(function (response) { return response.json(); })
        .then(function (found) {
          // Not found in the source: the form still opens with what was selected, and
          // the server says there what to fix.
          var passage = found && found.found ? found.passage : text;
          open(data.links.suggest + "&find=" + encodeURIComponent(passage));
        })
        .catch(function () { open(data.links.suggest + "&find=" + encodeURIComponent(text)); })
        .then(hide);
    });
    document.addEventListener("mouseup", function () { window.setTimeout(check, 0); });
    document.addEventListener("keyup", function (event) {
      if (event.key === "Escape") hide(); else check();
    });
    document.addEventListener("touchend", function () { window.setTimeout(check, 0); });
  }

  function start() {
    var host = document.querySelector("[data-lessonbot]");
    if (!host) {
      host = el("div");
      host.setAttribute("data-lessonbot", "");
      script.parentNode.insertBefore(host, script.nextSibling);
    }
    var url = base + "/discussion?" + new URLSearchParams({ locale: locale }).toString();
    fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          fail(host, answer.data && answer.data.error ? answer.data.error.message : "");
          return;
        }
        render(host, answer.data);
        selectToSuggest(answer.data);
        host.setAttribute("data-lessonbot-ready", "");
      })
      .catch(function () {
        host.setAttribute("data-lessonbot-failed", "");
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
