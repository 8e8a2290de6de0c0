/* Milepost pipeline board: drag-and-drop (SortableJS) and the in-place "Move to" menu.
 *
 * Progressive enhancement: without this file every card's "Move to" form is a plain POST that
 * redirects back to the board. With it, drags and menu submits POST to the same endpoint with
 * the card's version; on success the server's re-rendered card replaces the old one, on a
 * conflict (409) or refused move (422) the card goes back where it was and the reason is
 * announced in the board's aria-live status region.
 */
(function () {
  "use strict";

  function statusRegion() { return document.getElementById("board-status"); }

  function announce(text, kind) {
    var region = statusRegion();
    if (!region) return;
    region.textContent = text;
    region.className = "board-status " + (kind || "");
  }

  function csrfToken(card) {
    var input = card.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function cardName(card) {
    var link = card.querySelector(".deal-name a");
    return link ? link.textContent.trim() : "The deal";
  }

  /* Adjust a column's count and per-currency total by one card, in the browser. */
  function adjustColumn(list, card, sign) {
    var column = list && list.closest(".board-column");
    if (!column || list.dataset.kind !== "open") return;
    var count = column.querySelector(".col-count");
    var total = column.querySelector(".col-total");
    if (count) {
      var n = Math.max(0, parseInt(count.dataset.count || "0", 10) + sign);
      count.dataset.count = String(n);
      count.textContent = String(n);
    }
    if (total) {
      var totals = {};
      try { totals = JSON.parse(total.dataset.totals || "{}"); } catch (e) { totals = {}; }
      var cur = card.dataset.currency || "USD";
      totals[cur] = (parseFloat(totals[cur] || "0") + sign * parseFloat(card.dataset.amount || "0")).toFixed(2);
      total.dataset.totals = JSON.stringify(totals);
      var parts = Object.keys(totals).sort().map(function (c) {
        return new Intl.NumberFormat("en-US", { style: "currency", currency: c, maximumFractionDigits: 0 })
          .format(parseFloat(totals[c]));
      });
      total.textContent = parts.length ? parts.join(" + ") : "$0";
    }
  }

  /* Put a card into an open list, keeping the close-date order. */
  function insertByCloseDate(list, card) {
    var items = list.querySelectorAll(":scope > .deal-card");
    for (var i = 0; i < items.length; i++) {
      if (items[i] !== card && items[i].dataset.close > card.dataset.close) {
        list.insertBefore(card, items[i]);
        return;
      }
    }
    list.appendChild(card);
  }

  /* POST a move. `card` is in the DOM; `restore()` puts it back when the server refuses. */
  function submitMove(card, toStage, fromList, restore, focusAfter) {
    var body = new FormData();
    body.append("to_stage", toStage);
    body.append("version", card.dataset.version);
    body.append("next", window.location.pathname + window.location.search);
    card.setAttribute("aria-busy", "true");
    var name = cardName(card);
    return fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken(card) }
    }).then(function (response) {
      return response.text().then(function (text) {
        card.removeAttribute("aria-busy");
        var target = document.querySelector('.card-list[data-stage="' + toStage + '"]');
        var label = target ? target.dataset.label : toStage;
        if (!response.ok) {
          restore();
          var reason = response.status === 404 ? "This deal no longer exists or is not yours to move."
            : (text || "The move failed.");
          announce("“" + name + "” was not moved. " + reason, "is-error");
          return false;
        }
        var holder = document.createElement("template");
        holder.innerHTML = text.trim();
        var fresh = holder.content.firstElementChild;
        adjustColumn(fromList, card, -1);
        if (!target || target.dataset.kind !== "open") {
          card.remove();  // won / lost columns are drop targets only
        } else {
          card.replaceWith(fresh);
          insertByCloseDate(target, fresh);
          adjustColumn(target, fresh, +1);
          if (window.htmx) window.htmx.process(fresh);
          if (focusAfter) {
            var link = fresh.querySelector(".deal-name a");
            if (link) link.focus();
          }
        }
        announce("Moved “" + name + "” to " + label + ".", "is-success");
        return true;
      });
    }).catch(function () {
      card.removeAttribute("aria-busy");
      restore();
      announce("“" + name + "” was not moved: the server could not be reached.", "is-error");
      return false;
    });
  }

  function initLists(root) {
    if (!window.Sortable) return;
    root.querySelectorAll(".card-list").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      var dropOnly = list.classList.contains("drop-only");
      window.Sortable.create(list, {
        group: { name: "board", pull: !dropOnly, put: true },
        sort: false,             // order within a column is the close date, not a choice
        forceFallback: true,     // pointer events: same behaviour in every browser
        fallbackTolerance: 4,
        fallbackOnBody: true,    // the floating copy must not land in a column's list
        filter: "select, button, input, label, a",
        preventOnFilter: false,  // keep the menu and links usable
        draggable: ".deal-card",
        ghostClass: "is-ghost",
        chosenClass: "is-chosen",
        onAdd: function (evt) {
          var card = evt.item;
          var from = evt.from;
          var oldIndex = evt.oldIndex;
          submitMove(card, evt.to.dataset.stage, from, function () {
            var ref = from.children[oldIndex] || null;
            from.insertBefore(card, ref);
          }, false);
        }
      });
    });
  }

  /* The keyboard / no-drag path: the card's "Move to" form. */
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.classList || !form.classList.contains("move-form")) return;
    var card = form.closest(".deal-card");
    if (!card || !window.fetch) return;  // plain POST fallback
    evt.preventDefault();
    var list = card.parentElement;
    var select = form.querySelector("select[name=to_stage]");
    submitMove(card, select.value, list, function () {}, true);
  });

  function start() {
    if (window.htmx) {
      window.htmx.onLoad(function (el) { initLists(el.querySelectorAll ? el : document); });
    } else {
      initLists(document);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
