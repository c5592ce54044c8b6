// docpush dashboard behaviour: small, no dependencies, loaded from this server only.
(function () {
  "use strict";

  function each(root, selector, fn) {
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  // Forms that destroy something ask first.
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });

  // Value boxes drawn over a page image, in page fractions.
  function placeBoxes(root) {
    each(root, ".page-view .box", function (b) {
      b.style.left = (parseFloat(b.dataset.x) * 100) + "%";
      b.style.top = (parseFloat(b.dataset.y) * 100) + "%";
      b.style.width = (parseFloat(b.dataset.w) * 100) + "%";
      b.style.height = (parseFloat(b.dataset.h) * 100) + "%";
    });
  }

  // Only the chosen locator's inputs are shown, and date formats only for dates.
  function showLocator(field) {
    var select = field.querySelector("[data-locator-select]");
    if (!select) { return; }
    each(field, ".locator", function (l) {
      l.classList.toggle("shown", l.dataset.kind === select.value);
    });
    var type = field.querySelector("[data-type-select]");
    each(field, ".date-only", function (d) {
      d.classList.toggle("shown", !!type && type.value === "date");
    });
  }

  function initFields(root) {
    each(root, ".field", showLocator);
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("[data-locator-select], [data-type-select]")) { showLocator(t.closest(".field")); }
    if (t.matches("[data-kind-select]")) { showKind(); }
    if (t.matches("[data-toggle]")) { showToggles(); }
  });

  // Sections shown by a radio or checkbox: data-show-when="name=value".
  function showToggles() {
    each(document, "[data-show-when]", function (el) {
      var parts = el.dataset.showWhen.split("=");
      var chosen = document.querySelector("[name='" + parts[0] + "']:checked");
      el.hidden = !(chosen && chosen.value === parts[1]);
    });
  }

  function showKind() {
    var select = document.querySelector("[data-kind-select]");
    if (!select) { return; }
    each(document, ".kind-fields", function (f) {
      f.classList.toggle("shown", f.dataset.kind === select.value);
    });
  }

  // Add and remove fields in the template editor.
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t.matches("#add-field")) {
      var tpl = document.getElementById("field-template");
      var list = document.getElementById("fields");
      var next = 0;
      each(list, ".field", function (f) { next = Math.max(next, parseInt(f.dataset.index, 10) + 1); });
      var html = tpl.innerHTML.replace(/__i__/g, String(next));
      list.insertAdjacentHTML("beforeend", html);
      var added = list.lastElementChild;
      showLocator(added);
      var name = added.querySelector("input[type=text]");
      if (name) { name.focus(); }
    }
    if (t.matches("[data-remove-field]")) {
      var field = t.closest(".field");
      if (document.querySelectorAll("#fields .field").length > 1) { field.remove(); }
    }
    if (t.matches("[data-add-row]")) { addRow(t.closest("[data-grid]")); }
    if (t.matches("[data-draw-zone], [data-draw-header]")) {
      drawTarget = t.closest(".field");
      drawMode = t.matches("[data-draw-header]") ? "header" : "zone";
      var select = drawTarget.querySelector("[data-locator-select]");
      select.value = drawMode === "header" ? "rows" : "zone";
      showLocator(drawTarget);
      each(document, ".page-view[data-drawable]", function (v) { v.classList.add("drawing"); });
      var view = document.querySelector(".page-view[data-drawable]");
      if (view) { view.scrollIntoView({ block: "center" }); }
    }
  });

  // Drawing a zone: drag a rectangle on the page image; the field's zone
  // inputs receive it as page fractions.
  var drawTarget = null;
  var drawMode = "zone";
  var drag = null;

  // Review grids: another empty row to fill, numbered after the last.
  function addRow(grid) {
    if (!grid) { return; }
    var blank = grid.querySelector("[data-blank-row]");
    var rows = grid.querySelectorAll("tbody tr");
    var next = parseInt(rows[rows.length - 1].dataset.row, 10) + 1;
    var row = blank.cloneNode(true);
    row.dataset.row = String(next);
    each(row, "input", function (i) {
      i.value = "";
      i.name = "cell." + grid.dataset.grid + "." + next + "." + i.dataset.column;
    });
    blank.parentNode.appendChild(row);
    var first = row.querySelector("input");
    if (first) { first.focus(); }
  }

  // A drawn table header: the words inside it, left to right, grouped into
  // labels where the gap is narrower than the text is tall.
  function headerColumns(r, view) {
    var source = document.getElementById("page-words");
    var words = source ? JSON.parse(source.textContent) : [];
    var img = view.querySelector("img");
    var aspect = img && img.naturalHeight ? img.naturalWidth / img.naturalHeight : 1;
    var inside = words.filter(function (w) {
      var cx = w.x + w.width / 2, cy = w.y + w.height / 2;
      return cx >= r.x && cx <= r.x + r.w && cy >= r.y && cy <= r.y + r.h;
    }).sort(function (a, b) { return a.x - b.x; });
    var labels = [];
    var last = null;
    inside.forEach(function (w) {
      if (last && (w.x - (last.x + last.width)) * aspect < Math.max(w.height, last.height)) {
        labels[labels.length - 1] += " " + w.text;
      } else {
        labels.push(w.text);
      }
      last = w;
    });
    var columns = {};
    labels.forEach(function (label) {
      var name = label.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "column";
      if (/^[0-9]/.test(name)) { name = "c_" + name; }
      var unique = name, n = 2;
      while (columns.hasOwnProperty(unique)) { unique = name + "_" + n; n += 1; }
      columns[unique] = label;
    });
    return labels.length ? columns : null;
  }

  function setHeader(field, r, view) {
    var columns = headerColumns(r, view);
    var error = field.querySelector("[data-error-for$='.rows']");
    if (!columns) {
      if (error) { error.textContent = "No words inside the drawn header: drag across the column labels, after Try it."; }
      return;
    }
    var area = field.querySelector("[data-rows-json]");
    var rules;
    try { rules = JSON.parse(area.value); } catch (err) { rules = null; }
    if (!rules || typeof rules !== "object" || Array.isArray(rules)) { rules = {}; }
    var table = rules.table && typeof rules.table === "object" ? rules.table : {};
    table.columns = columns;
    // Types of columns the new header no longer has would be refused on save.
    if (table.types && typeof table.types === "object") {
      Object.keys(table.types).forEach(function (c) {
        if (!columns.hasOwnProperty(c)) { delete table.types[c]; }
      });
    }
    delete rules.lines;
    rules.table = table;
    area.value = JSON.stringify(rules, null, 2);
    if (error) { error.textContent = ""; }
    var type = field.querySelector("[data-type-select]");
    if (type) { type.value = "lines"; }
    showLocator(field);
  }

  function fraction(view, e) {
    var r = view.querySelector("img").getBoundingClientRect();
    return {
      x: Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1),
      y: Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1)
    };
  }

  // Only after "Draw zone", so a stray drag never moves a zone.
  function zoneField() {
    return drawTarget && document.body.contains(drawTarget) ? drawTarget : null;
  }

  document.addEventListener("pointerdown", function (e) {
    var view = e.target.closest ? e.target.closest(".page-view.drawing") : null;
    if (!view || !zoneField()) { return; }
    e.preventDefault();
    if (view.setPointerCapture) { try { view.setPointerCapture(e.pointerId); } catch (err) { /* synthetic pointers */ } }
    var start = fraction(view, e);
    var box = view.querySelector(".drawn") || document.createElement("div");
    box.className = "drawn";
    view.appendChild(box);
    drag = { view: view, start: start, box: box, end: start };
    paint();
  });

  document.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    drag.end = fraction(drag.view, e);
    paint();
  });

  document.addEventListener("pointerup", function (e) {
    if (!drag) { return; }
    drag.end = fraction(drag.view, e);
    paint();
    var r = rect();
    var field = zoneField();
    if (field && drawMode === "header" && r.w > 0.002 && r.h > 0.002) {
      setHeader(field, r, drag.view);
    } else if (field && r.w > 0.002 && r.h > 0.002) {
      var round = function (v) { return String(Math.round(v * 10000) / 10000); };
      field.querySelector("[data-zone=x]").value = round(r.x);
      field.querySelector("[data-zone=y]").value = round(r.y);
      field.querySelector("[data-zone=width]").value = round(r.w);
      field.querySelector("[data-zone=height]").value = round(r.h);
      field.querySelector("[data-zone=page]").value = drag.view.dataset.page || "1";
      var select = field.querySelector("[data-locator-select]");
      select.value = "zone";
      showLocator(field);
    }
    drag.view.classList.remove("drawing");
    drag = null;
    drawTarget = null;
  });

  document.addEventListener("pointercancel", function () {
    if (drag && drag.box.parentNode) { drag.box.parentNode.removeChild(drag.box); }
    drag = null;
  });

  function rect() {
    return {
      x: Math.min(drag.start.x, drag.end.x),
      y: Math.min(drag.start.y, drag.end.y),
      w: Math.abs(drag.end.x - drag.start.x),
      h: Math.abs(drag.end.y - drag.start.y)
    };
  }

  function paint() {
    var r = rect();
    drag.box.style.left = (r.x * 100) + "%";
    drag.box.style.top = (r.y * 100) + "%";
    drag.box.style.width = (r.w * 100) + "%";
    drag.box.style.height = (r.h * 100) + "%";
  }

  // Pages of running work refresh themselves until it is done.
  function live() {
    var main = document.querySelector("main[data-live]");
    if (!main) { return; }
    window.setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (text) {
          var next = new DOMParser().parseFromString(text, "text/html").querySelector("main");
          if (!next) { return; }
          // Only the live part is replaced, so a filter being chosen is left alone.
          var region = main.querySelector("[data-live-region]");
          var fresh = next.querySelector("[data-live-region]");
          if (region && fresh) { region.innerHTML = fresh.innerHTML; } else { main.innerHTML = next.innerHTML; }
          if (!next.hasAttribute("data-live")) { main.removeAttribute("data-live"); }
          placeBoxes(main);
          live();
        })
        .catch(function () { window.setTimeout(live, 3000); });
    }, 1500);
  }

  function init() {
    // A page answering a form (a secret shown once) takes its own address, so
    // reloading it shows the page instead of sending the form again.
    var canonical = document.querySelector("main[data-canonical]");
    if (canonical && window.location.pathname !== canonical.dataset.canonical) {
      window.history.replaceState(null, "", canonical.dataset.canonical);
    }
    placeBoxes(document);
    initFields(document);
    showKind();
    showToggles();
    live();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
