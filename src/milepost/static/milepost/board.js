/* Milepost pipeline board: drag-and-drop (SortableJS), the "Move…" button and the move dialog.
 *
 * Progressive enhancement: without this file a card's "Move…" link opens the deal's page, whose
 * move form is a plain POST. With it, a move first asks the server what the stage gate says
 * (GET .../gate/?to_stage=KEY, which moves nothing), then:
 *   - the gate is clear: a drag moves at once; the Move button's dialog shows it and moves on
 *     "Move";
 *   - "justification" (policy warn): the dialog lists the unmet criteria and asks why;
 *   - "blocked" (policy block): the dialog lists them and only offers Cancel;
 *   - a drop on Closed lost asks for the lost reason.
 * The move POSTs the card's version (optimistic locking). The card only goes back, and the
 * board only says "was not moved", after the person cancels (button or Escape) or the server
 * refuses (409 / 422 / 404): the reason is announced in the board's aria-live status region.
 * The native modal <dialog> traps the focus; the focus returns to where the move started.
 */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  function announce(text, kind) {
    var region = $("board-status");
    if (!region) return;
    region.textContent = text;
    region.className = "board-status " + (kind || "");
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function cardName(card) {
    var link = card.querySelector(".deal-name a");
    return link ? link.textContent.trim() : "The deal";
  }

  function listFor(stage) { return document.querySelector('.card-list[data-stage="' + stage + '"]'); }

  function stageLabel(stage) {
    var target = listFor(stage);
    return target ? target.dataset.label : stage;
  }

  function isLost(stage) {
    var target = listFor(stage);
    return !!target && target.dataset.kind === "lost";
  }

  /* The gate preview lives next to the move endpoint: .../move/ -> .../gate/. */
  function gateUrl(card, stage) {
    return card.dataset.moveUrl.replace(/move\/$/, "gate/") + "?to_stage=" + encodeURIComponent(stage);
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

  /* Put a card into an open list in close-date order, before the column's "Show more". */
  function insertByCloseDate(list, card) {
    var items = list.querySelectorAll(":scope > .deal-card");
    for (var i = 0; i < items.length; i++) {
      if (items[i] !== card && items[i].dataset.close > card.dataset.close) {
        list.insertBefore(card, items[i]);
        return;
      }
    }
    var more = list.querySelector(":scope > .column-more");
    if (more) {
      // Past the loaded cards: it belongs to a page not loaded yet (the column's count says so).
      card.remove();
      return;
    }
    list.appendChild(card);
  }

  function postMove(move) {
    var body = new FormData();
    body.append("to_stage", move.toStage);
    body.append("version", move.card.dataset.version);  // always: the server refuses stale cards
    body.append("next", window.location.pathname + window.location.search);
    if (move.justification) body.append("justification", move.justification);
    if (move.lostReason) body.append("lost_reason", move.lostReason);
    return fetch(move.card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() }
    }).then(function (response) {
      return response.text().then(function (text) {
        return {
          ok: response.ok, status: response.status, text: text,
          gate: response.headers.get("X-Milepost-Gate") || ""
        };
      });
    });
  }

  function fetchGate(move) {
    return fetch(gateUrl(move.card, move.toStage), {
      credentials: "same-origin", headers: { "HX-Request": "true" }
    }).then(function (response) {
      return response.text().then(function (text) {
        if (!response.ok) return { ok: false, status: response.status, text: text };
        var holder = document.createElement("template");
        holder.innerHTML = text.trim();
        var preview = holder.content.querySelector(".gate-preview");
        return { ok: !!preview, status: response.status, node: preview,
                 outcome: preview ? preview.dataset.gate : "", text: text };
      });
    });
  }

  /* The server moved the deal: swap in its re-rendered card, in close-date order. */
  function place(move, html) {
    var card = move.card;
    var target = listFor(move.toStage);
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
      if (window.htmx && document.contains(fresh)) window.htmx.process(fresh);
      if (move.focusAfter && document.contains(fresh)) {
        var link = fresh.querySelector(".deal-name a");
        if (link) link.focus();
      }
    }
    announce("Moved “" + move.name + "” to " + stageLabel(move.toStage) + ".", "is-success");
  }

  function refuse(move, text) {
    move.restore();
    announce("“" + move.name + "” was not moved. " + text, "is-error");
    if (move.opener && document.contains(move.opener)) move.opener.focus();
  }

  /* --- the move dialog ---------------------------------------------------------------------- */

  var pending = null;  // the move the dialog is about
  var checkSeq = 0;    // ignores gate answers that arrive after the stage changed again

  var REASONS = {
    justification: {
      label: "Why move past unmet exit criteria?", min: 10, max: 1000, submit: "Move anyway",
      hint: "At least 10 characters. It is kept with the deal's stage history."
    },
    lost: {
      label: "Lost reason", min: 3, max: 200, submit: "Close as lost",
      hint: "At least 3 characters. It is kept on the deal and feeds win/loss analysis."
    }
  };

  function dialog() { return $("gate-dialog"); }

  function setTitle(move) {
    $("gate-title").textContent = isLost(move.toStage)
      ? "Close “" + move.name + "” as lost?"
      : "Move “" + move.name + "” to " + stageLabel(move.toStage) + "?";
  }

  /* Show what the gate said and ask for what it needs. */
  function showOutcome(move, outcome, node, message) {
    move.outcome = outcome;
    var check = $("gate-check");
    check.textContent = "";
    if (node) check.appendChild(node);
    else if (message) { var p = document.createElement("p"); p.className = "gate-error"; p.textContent = message; check.appendChild(p); }
    var reason = REASONS[outcome];
    var field = $("gate-reason-field");
    var text = $("gate-justification");
    var submit = $("gate-submit");
    $("gate-error").textContent = "";
    text.removeAttribute("aria-invalid");
    field.hidden = !reason;
    if (reason) {
      $("gate-label").textContent = reason.label;
      $("gate-hint").textContent = reason.hint;
      text.setAttribute("minlength", String(reason.min));
      text.setAttribute("maxlength", String(reason.max));
    }
    submit.hidden = outcome === "blocked" || outcome === "error" || outcome === "checking";
    submit.textContent = reason ? reason.submit : "Move";
    $("gate-cancel").textContent = outcome === "blocked" ? "Cancel, keep it where it is" : "Cancel";
    setTitle(move);
  }

  function focusDialog(move) {
    if (move.choose) $("gate-stage").focus();  // the stage first; the reason is a Tab away
    else if (!$("gate-reason-field").hidden) $("gate-justification").focus();
    else if (!$("gate-submit").hidden) $("gate-submit").focus();
    else $("gate-cancel").focus();
  }

  function openDialog(move) {
    var d = dialog();
    if (!d || typeof d.showModal !== "function") return false;
    pending = move;
    $("gate-justification").value = "";
    $("gate-stage-field").hidden = !move.choose;
    if (!d.open) d.showModal();
    focusDialog(move);
    return true;
  }

  /* Ask the gate about the move in the dialog (the Move button's stage picker). */
  function checkInDialog(move) {
    var seq = ++checkSeq;
    if (isLost(move.toStage)) { showOutcome(move, "lost"); return Promise.resolve(); }
    showOutcome(move, "checking", null, "");
    $("gate-check").textContent = "Checking the exit criteria…";
    return fetchGate(move).then(function (res) {
      if (seq !== checkSeq || pending !== move) return;
      if (res.ok) showOutcome(move, res.outcome, res.node);
      else showOutcome(move, "error", null, res.text || "The gate could not be checked.");
    }).catch(function () {
      if (seq === checkSeq && pending === move) showOutcome(move, "error", null, "The server could not be reached.");
    });
  }

  /* Close the dialog; `cancelled` puts the card back and says so. */
  function closeDialog(cancelled) {
    var move = pending;
    pending = null;
    checkSeq++;
    var d = dialog();
    if (d && d.open) d.close();
    if (!move) return;
    if (cancelled) {
      move.restore();
      announce("“" + move.name + "” was not moved.", "");
      var focus = move.opener && document.contains(move.opener) ? move.opener
        : (document.contains(move.card) ? move.card.querySelector(".deal-name a") : null);
      if (focus) focus.focus();
    }
  }

  function attempt(move) {
    move.card.setAttribute("aria-busy", "true");
    return postMove(move).then(function (res) {
      move.card.removeAttribute("aria-busy");
      if (res.ok) {
        if (pending === move) { pending = null; dialog().close(); }
        place(move, res.text);
        return;
      }
      if (res.status === 422 && res.gate === "justification") {
        if (pending === move && move.outcome === "justification") {  // the reason was refused
          $("gate-error").textContent = res.text;
          $("gate-justification").setAttribute("aria-invalid", "true");
          $("gate-justification").focus();
          return;
        }
        // The criteria changed since the check: ask now.
        var p = document.createElement("p");
        p.textContent = res.text;
        var wrap = document.createElement("div");
        wrap.className = "gate-preview";
        wrap.appendChild(p);
        if (pending === move || openDialog(move)) {
          showOutcome(move, "justification", wrap);
          focusDialog(move);
          return;
        }
      }
      if (pending === move) { pending = null; dialog().close(); }
      refuse(move, res.status === 404 ? "This deal no longer exists or is not yours to move."
        : (res.text || "The move failed."));
    }).catch(function () {
      move.card.removeAttribute("aria-busy");
      if (pending === move) { pending = null; dialog().close(); }
      refuse(move, "The server could not be reached.");
    });
  }

  function newMove(card, toStage, fromList, restore, opts) {
    return {
      card: card, toStage: toStage, fromList: fromList, restore: restore,
      focusAfter: !!opts.focusAfter, opener: opts.opener || null, choose: !!opts.choose,
      name: cardName(card), justification: "", lostReason: "", outcome: ""
    };
  }

  /* A drop: check the gate first; move at once when it is clear, else open the dialog. */
  function startDrop(move) {
    if (isLost(move.toStage)) {
      if (openDialog(move)) { showOutcome(move, "lost"); focusDialog(move); }
      else attempt(move);
      return;
    }
    move.card.setAttribute("aria-busy", "true");
    fetchGate(move).then(function (res) {
      move.card.removeAttribute("aria-busy");
      if (!res.ok) { refuse(move, res.text || "The gate could not be checked."); return; }
      if (res.outcome === "clear") { attempt(move); return; }
      if (openDialog(move)) { showOutcome(move, res.outcome, res.node); focusDialog(move); }
      else refuse(move, "This move needs the deal's page.");
    }).catch(function () {
      move.card.removeAttribute("aria-busy");
      refuse(move, "The server could not be reached.");
    });
  }

  /* The Move button: pick a stage in the dialog, which shows what the gate says about it. */
  function startChoose(card, opener) {
    var select = $("gate-stage");
    select.textContent = "";
    var current = card.dataset.stage;
    var lists = document.querySelectorAll(".card-list[data-stage]");
    var currentPos = -1;
    lists.forEach(function (l, i) { if (l.dataset.stage === current) currentPos = i; });
    var preselect = "";
    var ordered = Array.prototype.slice.call(lists).filter(function (l) { return l.dataset.kind === "open"; })
      .concat(Array.prototype.slice.call(lists).filter(function (l) { return l.dataset.kind !== "open"; }));
    var openKeys = ordered.filter(function (l) { return l.dataset.kind === "open"; }).map(function (l) { return l.dataset.stage; });
    var idx = openKeys.indexOf(current);
    if (idx >= 0 && idx + 1 < openKeys.length) preselect = openKeys[idx + 1];
    ordered.forEach(function (l) {
      if (l.dataset.stage === current) return;
      var option = document.createElement("option");
      option.value = l.dataset.stage;
      option.textContent = l.dataset.label;
      if (l.dataset.stage === preselect) option.selected = true;
      select.appendChild(option);
    });
    if (currentPos < 0 || !select.options.length) return false;
    var move = newMove(card, select.value, card.parentElement, function () {},
                       { focusAfter: true, opener: opener, choose: true });
    if (!openDialog(move)) return false;
    checkInDialog(move);
    return true;
  }

  function initDialog() {
    var d = dialog();
    if (!d || d.dataset.ready) return;
    d.dataset.ready = "1";
    $("gate-stage").addEventListener("change", function () {
      if (!pending) return;
      pending.toStage = this.value;
      checkInDialog(pending);
    });
    $("gate-form").addEventListener("submit", function (evt) {
      evt.preventDefault();
      var move = pending;
      if (!move || move.outcome === "blocked" || move.outcome === "checking" || move.outcome === "error") return;
      var reason = REASONS[move.outcome];
      if (reason) {
        var text = $("gate-justification");
        var value = text.value.trim();
        if (value.length < reason.min) {
          $("gate-error").textContent = "Say why in at least " + reason.min + " characters.";
          text.setAttribute("aria-invalid", "true");
          text.focus();
          return;
        }
        if (move.outcome === "lost") move.lostReason = value;
        else move.justification = value;
      }
      attempt(move);
    });
    $("gate-cancel").addEventListener("click", function () { closeDialog(true); });
    d.addEventListener("cancel", function (evt) {  // Escape
      evt.preventDefault();
      closeDialog(true);
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
        preventOnFilter: false,  // keep the links usable
        draggable: ".deal-card",
        ghostClass: "is-ghost",
        chosenClass: "is-chosen",
        onAdd: function (evt) {
          var card = evt.item;
          var from = evt.from;
          var oldIndex = evt.oldIndex;
          startDrop(newMove(card, evt.to.dataset.stage, from, function () {
            var ref = from.children[oldIndex] || null;
            from.insertBefore(card, ref);
          }, {}));
        }
      });
    });
  }

  /* The keyboard / no-drag path: the card's "Move…" link opens the dialog. */
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest(".move-link");
    if (!link || !window.fetch) return;
    var card = link.closest(".deal-card");
    if (card && startChoose(card, link)) evt.preventDefault();
  });

  /* "Show more": the focus goes to the first card it loaded (the link itself is replaced). */
  var moreFocus = null;
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!elt.classList || !elt.classList.contains("more-link")) return;
    var list = elt.closest(".card-list");
    moreFocus = { list: list, count: list.querySelectorAll(":scope > .deal-card").length };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!moreFocus) return;
    var next = moreFocus.list.querySelectorAll(":scope > .deal-card")[moreFocus.count];
    moreFocus = null;
    var link = next && next.querySelector(".deal-name a");
    if (link) link.focus();
  });

  function start() {
    initDialog();
    if (window.htmx) {
      window.htmx.onLoad(function (el) { initLists(el.querySelectorAll ? el : document); });
    } else {
      initLists(document);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
