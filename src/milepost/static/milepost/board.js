/* Milepost pipeline board: drag-and-drop (SortableJS) and the in-place "Move to" menu.
 *
 * Progressive enhancement: without this file every card's "Move to" form is a plain POST that
 * redirects back to the board. With it, drags and menu submits POST to the same endpoint with
 * the card's version; on success the server's re-rendered card replaces the old one, on a
 * conflict (409) or refused move (422) the card goes back where it was and the reason is
 * announced in the board's aria-live status region. When the stage gate asks for a
 * justification (422 "... say why the deal moves anyway ..."), a modal <dialog> shows the
 * server's message and a textarea; "Move anyway" re-posts with the justification, "Cancel"
 * (or Escape) puts the card back.
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

  /* A refusal the gate lifts with a justification (process gate policy "warn"): the view
   * answers 422 with the header X-Milepost-Gate: justification. A "block" gate (header value
   * "blocked") or any other refusal is only announced. */

  function postMove(move) {
    var body = new FormData();
    body.append("to_stage", move.toStage);
    body.append("version", move.card.dataset.version);
    body.append("next", window.location.pathname + window.location.search);
    if (move.justification) body.append("justification", move.justification);
    if (move.lostReason) body.append("lost_reason", move.lostReason);
    return fetch(move.card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken(move.card) }
    }).then(function (response) {
      return response.text().then(function (text) {
        return {
          ok: response.ok,
          status: response.status,
          text: text,
          gate: response.headers.get("X-Milepost-Gate") || ""
        };
      });
    });
  }

  function stageLabel(toStage) {
    var target = document.querySelector('.card-list[data-stage="' + toStage + '"]');
    return target ? target.dataset.label : toStage;
  }

  /* The server moved the deal: swap in its re-rendered card, in close-date order. */
  function place(move, html) {
    var card = move.card;
    var target = document.querySelector('.card-list[data-stage="' + move.toStage + '"]');
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.firstElementChild;
    adjustColumn(move.fromList, card, -1);
    if (!target || target.dataset.kind !== "open") {
      card.remove();  // won / lost columns are drop targets only
    } else {
      card.replaceWith(fresh);
      insertByCloseDate(target, fresh);
      adjustColumn(target, fresh, +1);
      if (window.htmx) window.htmx.process(fresh);
      if (move.focusAfter) {
        var link = fresh.querySelector(".deal-name a");
        if (link) link.focus();
      }
    }
    announce("Moved “" + move.name + "” to " + stageLabel(move.toStage) + ".", "is-success");
  }

  function refuse(move, text) {
    move.restore();
    announce("“" + move.name + "” was not moved. " + text, "is-error");
  }

  /* --- the justification dialog --------------------------------------------------------- */

  var pending = null;  // the move waiting in the dialog

  function gateDialog() { return document.getElementById("gate-dialog"); }

  /* One dialog, two questions: why move past unmet exit criteria ("gate"), or why the deal
   * was lost ("lost", asked before a drop on Closed lost is sent). */
  var MODES = {
    gate: {
      label: "Why move past unmet exit criteria?", min: 10, max: 1000, submit: "Move anyway",
      hint: "At least 10 characters. It is kept with the deal's stage history."
    },
    lost: {
      label: "Lost reason", min: 3, max: 200, submit: "Close as lost",
      hint: "At least 3 characters. It is kept on the deal and feeds win/loss analysis."
    }
  };

  function openDialog(move, mode, message) {
    var dialog = gateDialog();
    if (!dialog || typeof dialog.showModal !== "function") return false;
    var m = MODES[mode];
    pending = move;
    move.mode = mode;
    dialog.querySelector("#gate-title").textContent = mode === "lost"
      ? "Close “" + move.name + "” as lost?"
      : "Move “" + move.name + "” to " + stageLabel(move.toStage) + "?";
    dialog.querySelector("#gate-message").textContent = message;
    dialog.querySelector("#gate-label").textContent = m.label;
    dialog.querySelector("#gate-hint").textContent = m.hint;
    dialog.querySelector("#gate-submit").textContent = m.submit;
    dialog.querySelector("#gate-error").textContent = "";
    var text = dialog.querySelector("#gate-justification");
    text.value = "";
    text.setAttribute("minlength", String(m.min));
    text.setAttribute("maxlength", String(m.max));
    text.removeAttribute("aria-invalid");
    dialog.showModal();
    text.focus();
    return true;
  }

  function openGate(move, message) { return openDialog(move, "gate", message); }

  function isLost(toStage) {
    var target = document.querySelector('.card-list[data-stage="' + toStage + '"]');
    return !!target && target.dataset.kind === "lost";
  }

  /* Start a move: a drop on Closed lost first asks why (without a dialog, it goes as is). */
  function go(move) {
    if (isLost(move.toStage) && !move.lostReason &&
        openDialog(move, "lost", "Why did the buyer choose another path: a competitor, " +
                   "building it themselves, or doing nothing?")) {
      return;
    }
    attempt(move);
  }

  /* Close the dialog; `cancelled` puts the card back where it was. */
  function closeGate(cancelled) {
    var move = pending;
    pending = null;
    var dialog = gateDialog();
    if (dialog && dialog.open) dialog.close();
    if (!move) return;
    if (cancelled) {
      move.restore();
      announce("“" + move.name + "” was not moved.", "");
    }
    var focus = move.opener && document.contains(move.opener) ? move.opener
      : (document.contains(move.card) ? move.card.querySelector(".deal-name a") : null);
    if (cancelled && focus) focus.focus();
  }

  function attempt(move) {
    move.card.setAttribute("aria-busy", "true");
    return postMove(move).then(function (res) {
      move.card.removeAttribute("aria-busy");
      if (res.ok) {
        pending = null;
        var dialog = gateDialog();
        if (dialog && dialog.open) dialog.close();
        place(move, res.text);
        return true;
      }
      if (res.status === 422 && res.gate === "justification") {
        if (pending === move) {  // the justification given was refused: say why, stay open
          var error = gateDialog().querySelector("#gate-error");
          error.textContent = res.text;
          gateDialog().querySelector("#gate-justification").setAttribute("aria-invalid", "true");
          return false;
        }
        if (openGate(move, res.text)) return false;
      }
      if (pending === move) closeGate(false);
      var reason = res.status === 404 ? "This deal no longer exists or is not yours to move."
        : (res.text || "The move failed.");
      refuse(move, reason);
      return false;
    }).catch(function () {
      move.card.removeAttribute("aria-busy");
      if (pending === move) closeGate(false);
      refuse(move, "The server could not be reached.");
      return false;
    });
  }

  function newMove(card, toStage, fromList, restore, focusAfter, opener) {
    return {
      card: card, toStage: toStage, fromList: fromList, restore: restore,
      focusAfter: focusAfter, opener: opener || null, name: cardName(card), justification: "",
      lostReason: "", mode: ""
    };
  }

  function initGate() {
    var dialog = gateDialog();
    if (!dialog || dialog.dataset.ready) return;
    dialog.dataset.ready = "1";
    dialog.querySelector("#gate-form").addEventListener("submit", function (evt) {
      evt.preventDefault();
      if (!pending) return;
      var text = dialog.querySelector("#gate-justification");
      var value = text.value.trim();
      var min = parseInt(text.getAttribute("minlength") || "0", 10);
      if (value.length < min) {
        dialog.querySelector("#gate-error").textContent =
          "Say why in at least " + min + " characters.";
        text.setAttribute("aria-invalid", "true");
        text.focus();
        return;
      }
      if (pending.mode === "lost") pending.lostReason = value;
      else pending.justification = value;
      attempt(pending);
    });
    dialog.querySelector("#gate-cancel").addEventListener("click", function () {
      closeGate(true);
    });
    dialog.addEventListener("cancel", function (evt) {  // Escape
      evt.preventDefault();
      closeGate(true);
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
          go(newMove(card, evt.to.dataset.stage, from, function () {
            var ref = from.children[oldIndex] || null;
            from.insertBefore(card, ref);
          }, false));
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
    go(newMove(card, select.value, list, function () {}, true, select));
  });

  function start() {
    initGate();
    if (window.htmx) {
      window.htmx.onLoad(function (el) { initLists(el.querySelectorAll ? el : document); });
    } else {
      initLists(document);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
