/* dashboard.js: small helps for the staff pages (server/web_dashboard.c).
 * Each page works without it: sorting is a GET form (?sort=), a regrade's
 * progress is shown as of the page load, extension times are UTC. With it:
 * the students' table sorts in place, the regrade's progress updates live
 * (polling the API's GET /api/v1/courses/C/regrades/ID with the session
 * cookie), and extension times are the reader's own. */
(function () {
  "use strict";

  /* ---- the students' table ---------------------------------------------- */

  function announce(text) {
    var live = document.getElementById("dash-live");
    if (!live) {
      live = document.createElement("p");
      live.id = "dash-live";
      live.className = "visually-hidden";
      live.setAttribute("role", "status");
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = text;
  }

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    var v = cell ? cell.getAttribute("data-v") : null;
    if (numeric) {
      return v === null ? -1 : parseFloat(v);
    }
    return v === null ? "" : v;
  }

  /* The same order as the server's ?sort= (web_dashboard.c cmp_students):
   * by the column, ties by name ascending; names compare as bytes would
   * for ASCII. */
  function sortStudents(table, key, desc) {
    var head = table.tHead.rows[0];
    var buttons = head.querySelectorAll("button[data-key]");
    var index = -1;
    var label = key;
    Array.prototype.forEach.call(buttons, function (b, i) {
      if (b.getAttribute("data-key") === key) {
        index = Array.prototype.indexOf.call(head.cells, b.closest("th"));
        label = b.firstChild.textContent;
      }
    });
    if (index < 0) {
      return;
    }
    var numeric = key !== "name";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) {
      return r.cells.length > 1;
    });
    var nameOf = function (r) { return cellValue(r, 0, false); };
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric);
      var y = cellValue(b, index, numeric);
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (desc) {
        c = -c;
      }
      if (c === 0) {
        var p = nameOf(a);
        var q = nameOf(b);
        c = p < q ? -1 : p > q ? 1 : 0;
      }
      return c;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r); });
    body.appendChild(frag);

    Array.prototype.forEach.call(buttons, function (b) {
      var th = b.closest("th");
      var k = b.getAttribute("data-key");
      var arrow = b.querySelector(".arrow");
      if (k === key) {
        th.setAttribute("aria-sort", desc ? "descending" : "ascending");
        b.value = (desc ? "" : "-") + k;
        if (arrow) {
          arrow.textContent = desc ? " \u25BC" : " \u25B2";
        }
      } else {
        th.removeAttribute("aria-sort");
        b.value = (k === "name" ? "" : "-") + k;
        if (arrow) {
          arrow.textContent = "";
        }
      }
    });
    var sort = (desc ? "-" : "") + key;
    table.setAttribute("data-sort", sort);
    if (window.history && window.history.replaceState) {
      var url = new URL(window.location.href);
      url.searchParams.set("sort", sort);
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    announce("Students sorted by " + label + ", " + (desc ? "descending" : "ascending") + ".");
  }

  var students = document.getElementById("students");
  if (students && students.tHead) {
    students.tHead.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-key]");
      if (!b) {
        return;
      }
      ev.preventDefault();
      var v = b.value;
      sortStudents(students, b.getAttribute("data-key"), v.charAt(0) === "-");
    });
  }

  /* ---- the regrade's progress -------------------------------------------- */

  var panel = document.querySelector("[data-poll]");
  if (panel && window.fetch) {
    var url = panel.getAttribute("data-poll");
    var bar = panel.querySelector("progress");
    var status = panel.querySelector("#regrade-status");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) {
            throw new Error("HTTP " + r.status);
          }
          return r.json();
        })
        .then(function (g) {
          bar.max = g.total > 0 ? g.total : 1;
          bar.value = g.done;
          bar.textContent = g.done + " of " + g.total;
          var word = g.status === "done" ? "Done" : g.status === "running" ? "Running" : "Queued";
          status.setAttribute("data-status", g.status);
          status.textContent = word + ": " + g.done + " of " + g.total + " done, " +
            g.failed + " failed." + (g.status === "done" ? " Refresh the figures to see the new scores." : "");
          if (g.status !== "done") {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () {
          window.setTimeout(poll, 3000);
        });
    };
    if (status.getAttribute("data-status") !== "done") {
      window.setTimeout(poll, 500);
    }
  }

  /* ---- extension times in the reader's zone ------------------------------ */

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function localValue(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.extension"), function (form) {
    var tz = form.querySelector("input.tz");
    var inputs = form.querySelectorAll("input[type=datetime-local]");
    /* The server wrote UTC values: show them as the reader's time. */
    Array.prototype.forEach.call(inputs, function (input) {
      if (input.value) {
        var d = new Date(input.value + ":00Z");
        if (!isNaN(d.getTime())) {
          input.value = localValue(d);
        }
      }
    });
    var zone = "your local time";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || zone;
    } catch (e) { /* an old browser: the generic words */ }
    Array.prototype.forEach.call(form.querySelectorAll(".tzname"), function (s) {
      s.textContent = zone;
    });
    form.addEventListener("submit", function () {
      /* The offset on the date given (summer time differs from now). */
      var first = inputs[0] && inputs[0].value ? inputs[0].value : (inputs[1] ? inputs[1].value : "");
      var d = first ? new Date(first) : new Date();
      tz.value = String(isNaN(d.getTime()) ? new Date().getTimezoneOffset() : d.getTimezoneOffset());
    });
  });
})();
