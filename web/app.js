/* memgrade pages: progressive enhancement only; every page works without
 * it. Local times, the drop zone of the submit form, and a result that
 * arrives without reloading. Plain JS, no framework, no build step. */
"use strict";

(function () {
  /* <time datetime="ISO">UTC text</time> → the reader's own time zone. */
  function localTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) {
      return;
    }
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      t.title = t.textContent;
      t.textContent = fmt.format(d);
    });
  }

  /* The submit form: dropped files join the file input; the chosen list
   * is spoken by screen readers (aria-live on the list). */
  function dropZone() {
    var zone = document.getElementById("drop");
    var input = document.getElementById("files");
    var list = document.getElementById("chosen");
    if (!zone || !input || !list) return;
    function show() {
      list.textContent = "";
      Array.prototype.forEach.call(input.files, function (f) {
        var li = document.createElement("li");
        li.textContent = f.name + " (" + f.size + " bytes)";
        list.appendChild(li);
      });
    }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) {
        e.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      zone.addEventListener(ev, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      try {
        var dt = new DataTransfer();
        Array.prototype.forEach.call(input.files, function (f) { dt.items.add(f); });
        Array.prototype.forEach.call(e.dataTransfer.files, function (f) { dt.items.add(f); });
        input.files = dt.files;
      } catch (err) {
        input.files = e.dataTransfer.files;
      }
      show();
    });
  }

  /* The result page while grading: poll the JSON API (the session cookie
   * authenticates it), say what happens, and once graded swap in the
   * page's result section without a reload. */
  function liveResult() {
    var box = document.getElementById("result");
    if (!box) return;
    var status = box.getAttribute("data-status");
    if (status === "graded") return;
    var id = box.getAttribute("data-id");
    var text = document.getElementById("status-text");
    var delay = 1000;
    function poll() {
      fetch("/api/v1/submissions/" + encodeURIComponent(id),
            { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (doc) {
          if (doc && doc.status === "graded") return swap();
          if (doc && text) {
            text.textContent = doc.status === "running" ? "Grading now…"
                                                        : "Waiting in the queue for grading…";
          }
          delay = Math.min(delay * 1.3, 5000);
          setTimeout(poll, delay);
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    function swap() {
      fetch(window.location.pathname, { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("result");
          if (!fresh) { window.location.reload(); return; }
          box.replaceWith(document.adoptNode(fresh));
          localTimes(fresh);
          var score = document.getElementById("status");
          if (score) score.focus && score.setAttribute("tabindex", "-1");
          if (window.location.hash) {
            var target = document.getElementById(window.location.hash.slice(1));
            if (target) target.scrollIntoView();
          }
        });
    }
    setTimeout(poll, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    dropZone();
    liveResult();
  });
})();
