// The batch as cards: text (folded when long), one button per class, skip, the model's guess and
// which model made it, the AnchorAL score and the nearest anchor ("why am I seeing this"); a toolbar with "the rest
// are ...", undo and submit. Focus (which card the keys act on) belongs to this view alone.
import { h, replace } from "../dom.js";
import { answerOf, batchProgress, BUSY_PHASES, clampIndex, fold, majorityClass, nextOpen, percent, undoneIndex } from "../logic.js";
import { listen, msg } from "../model.js";

/**
 * @param {{model: import("../model.js").AnyModel, onHover?: (card: import("../model.js").Card | null) => void}} ctx
 * onHover: told which card the mouse is over (null when none), so the map can ring its point
 */
export function cardsView({ model, onHover = () => {} }) {
  let focus = 0;
  /** @type {Set<number>} */
  const expanded = new Set();
  /** @type {Map<number, HTMLElement>} */
  const cardEls = new Map();

  const restButtons = h("span", { class: "aw-rest" });
  const undo = h("button", { type: "button", class: "aw-undo", title: "undo (u)" }, "Undo");
  const submit = h("button", { type: "button", class: "aw-submit", title: "submit the batch (Enter)" }, "Submit");
  const toolbar = h("div", { class: "aw-toolbar" }, restButtons, undo, submit);
  const list = h("ol", { class: "aw-cards" });
  const empty = h("p", { class: "aw-empty" });
  const el = h("div", { class: "aw-cards-view" }, toolbar, list, empty);

  const send = (/** @type {object} */ content) => model.send(content);
  const iteration = () => model.get("iteration");
  /** @type {Record<string, string | null> | null} the answers when this view sent an undo, until it lands */
  let beforeUndo = null;
  function sendUndo() {
    beforeUndo = { ...model.get("answers") };
    send(msg.undo(iteration()));
  }
  undo.addEventListener("click", sendUndo);
  submit.addEventListener("click", () => send(msg.submit(iteration())));

  /** @param {number} index @param {string | null} label null: skip */
  function answer(index, label) {
    const batch = model.get("batch");
    const card = batch[index];
    if (!card) return;
    send(label === null ? msg.skip(iteration(), [card.id]) : msg.label(iteration(), [card.id], label));
    setFocus(nextOpen(batch, { ...model.get("answers"), [card.id]: label }, index));
  }

  /** @param {string} label */
  function rest(label) {
    send(msg.rest(iteration(), label));
  }

  /** @param {number} index @param {boolean} [scroll] */
  function setFocus(index, scroll = true) {
    const batch = model.get("batch");
    focus = clampIndex(index, batch.length);
    for (const [i, card] of batch.entries()) {
      const cardEl = cardEls.get(card.id);
      if (!cardEl) continue;
      cardEl.classList.toggle("aw-focused", i === focus);
      if (i === focus) {
        cardEl.setAttribute("aria-current", "true");
        if (scroll && typeof cardEl.scrollIntoView === "function") cardEl.scrollIntoView({ block: "nearest" });
      } else cardEl.removeAttribute("aria-current");
    }
  }

  /** @param {number} id */
  function toggleExpanded(id) {
    if (expanded.has(id)) expanded.delete(id);
    else expanded.add(id);
    const card = model.get("batch").find((c) => c.id === id);
    const cardEl = cardEls.get(id);
    if (card && cardEl) fillText(cardEl.querySelector(".aw-text"), card.text, id);
  }

  /** @param {Element | null} textEl @param {string} text @param {number} id */
  function fillText(textEl, text, id) {
    if (!(textEl instanceof HTMLElement)) return;
    const { shown, folded } = fold(text);
    const open = expanded.has(id);
    textEl.textContent = folded && !open ? shown : text;
    textEl.classList.toggle("aw-foldable", folded);
    textEl.title = folded ? (open ? "click to fold" : "click to read it all") : "";
    if (folded) textEl.setAttribute("aria-expanded", String(open));
    else textEl.removeAttribute("aria-expanded");
  }

  /** @param {import("../model.js").Card} card @param {number} index */
  function renderCard(card, index) {
    const classes = model.get("classes");
    const minority = model.get("minority");
    const text = h("p", { class: "aw-text" });
    fillText(text, card.text, card.id);
    text.addEventListener("click", () => {
      if (text.classList.contains("aw-foldable")) toggleExpanded(card.id);
    });
    const buttons = classes.map((c, i) =>
      h(
        "button",
        { type: "button", class: minority.includes(c) ? "aw-class aw-minority" : "aw-class", dataset: { label: c }, title: `${c} (${i + 1})`, onclick: () => answer(index, c) },
        h("kbd", {}, String(i + 1)),
        ` ${c}`,
      ),
    );
    const skip = h("button", { type: "button", class: "aw-skip", title: "skip (s)", onclick: () => answer(index, null) }, "skip");
    const guess = h("span", { class: "aw-guess", title: "the model's guess" }, `model: ${card.predicted} ${percent(card.confidence)}`);
    const made = card.model_labelled === undefined ? null : h("span", { class: "aw-model", title: "the model that proposed this card" }, modelText(card.model_labelled, card.model_stand_in));
    const score = card.score === null ? null : h("span", { class: "aw-score", title: "AnchorAL score: mean similarity to the anchors that retrieved it" }, `score ${card.score.toFixed(2)}`);
    const why = card.anchor
      ? h(
          "div",
          { class: "aw-why" },
          h("span", { class: "aw-why-head" }, `why am I seeing this? close (${card.anchor.similarity.toFixed(2)}) to anchor #${card.anchor.id}, labelled ${card.anchor.label}: `),
          h("q", { class: "aw-anchor-text" }, card.anchor.text),
        )
      : card.outside
        ? h("div", { class: "aw-why" }, h("span", { class: "aw-why-head" }, "why am I seeing this? drawn at random from beyond the anchors' neighbourhoods: no anchor retrieved it"))
        : null;
    const cardEl = h(
      "li",
      { class: "aw-card", dataset: { id: String(card.id), index: String(index) } },
      h("div", { class: "aw-card-head" }, h("span", { class: "aw-id" }, `#${card.id}`), guess, made, score),
      text,
      h("div", { class: "aw-buttons" }, ...buttons, skip),
      why,
    );
    cardEl.addEventListener("mouseenter", () => onHover(card));
    cardEl.addEventListener("mouseleave", () => onHover(null));
    cardEl.addEventListener("click", (event) => {
      // a class or skip button moves the focus on by itself
      if (!(event.target instanceof Element && event.target.closest("button"))) setFocus(index, false);
    });
    return cardEl;
  }

  function renderBatch() {
    const batch = model.get("batch");
    // a focused button about to be replaced would take the keyboard focus away with it
    const hadFocus = el.contains(document.activeElement);
    cardEls.clear();
    expanded.clear();
    replace(list, ...batch.map((card, i) => {
      const cardEl = renderCard(card, i);
      cardEls.set(card.id, cardEl);
      return cardEl;
    }));
    const classes = model.get("classes");
    const major = majorityClass(classes, model.get("minority"));
    replace(
      restButtons,
      "the rest are: ",
      ...classes.map((c, i) =>
        h("button", { type: "button", class: c === major ? "aw-rest-button aw-major" : "aw-rest-button", dataset: { label: c }, title: c === major ? `r or Shift+${i + 1}` : `Shift+${i + 1}`, onclick: () => rest(c) }, c),
      ),
    );
    updateAnswers();
    const open = batch.findIndex((c) => answerOf(model.get("answers"), c.id) === undefined);
    setFocus(open === -1 ? 0 : open, false);
    updatePhase();
    if (hadFocus && !el.contains(document.activeElement)) {
      /** @type {HTMLElement | null} */ (el.closest("[tabindex]"))?.focus({ preventScroll: true });
    }
  }

  function updateAnswers() {
    const answers = model.get("answers");
    const minority = model.get("minority");
    if (beforeUndo) {
      // the undone card is the one to answer again: focus goes back to it
      const undone = undoneIndex(model.get("batch"), beforeUndo, answers);
      beforeUndo = null;
      if (undone >= 0) setFocus(undone);
    }
    for (const [id, cardEl] of cardEls) {
      const a = answerOf(answers, id);
      cardEl.dataset.answer = a === undefined ? "" : a === null ? "skip" : a;
      cardEl.classList.toggle("aw-answered-minority", typeof a === "string" && minority.includes(a));
      for (const b of cardEl.querySelectorAll("button.aw-class")) {
        b.setAttribute("aria-pressed", String(a === /** @type {HTMLElement} */ (b).dataset.label));
      }
      cardEl.querySelector("button.aw-skip")?.setAttribute("aria-pressed", String(a === null));
    }
    const { answered, total, open } = batchProgress(model.get("batch"), answers);
    submit.textContent = `Submit (${answered}/${total})`;
    // a button disabled under the keyboard focus drops it out of the widget: keep it in
    const focused = document.activeElement;
    submit.disabled = total === 0 || open > 0;
    undo.disabled = total === 0 || answered === 0;
    if ((focused === undo && undo.disabled) || (focused === submit && submit.disabled)) {
      /** @type {HTMLElement | null} */ (el.closest("[tabindex]"))?.focus({ preventScroll: true });
    }
  }

  function updatePhase() {
    const phase = model.get("phase");
    const batch = model.get("batch");
    toolbar.hidden = batch.length === 0;
    empty.hidden = batch.length > 0;
    empty.textContent = phase === "preparing"
      ? "preparing the pool: labelling starts once it is ready (progress above)"
      : BUSY_PHASES.includes(phase)
      ? "preparing the next batch…"
      : phase === "cold"
        ? "no batch yet: every class needs a label first (search below)"
        : phase === "done"
          ? "done: nothing more to label"
          : "no batch";
  }

  /** Carry out a keyboard command; returns false when it does not apply here. */
  function command(/** @type {import("../keys.js").Command} */ cmd) {
    const batch = model.get("batch");
    if (batch.length === 0) return false;
    const classes = model.get("classes");
    switch (cmd.type) {
      case "move":
        setFocus(focus + cmd.delta);
        return true;
      case "label":
        answer(focus, classes[cmd.index]);
        return true;
      case "skip":
        answer(focus, null);
        return true;
      case "rest":
        rest(cmd.index === null ? majorityClass(classes, model.get("minority")) : classes[cmd.index]);
        return true;
      case "undo":
        sendUndo();
        return true;
      case "submit":
        send(msg.submit(iteration()));
        return true;
      case "expand":
        toggleExpanded(batch[focus].id);
        return true;
      default:
        return false;
    }
  }

  const stops = [
    listen(model, ["batch", "classes", "minority"], renderBatch),
    listen(model, ["answers"], updateAnswers),
    listen(model, ["phase"], updatePhase),
  ];
  renderBatch();
  return {
    el,
    command,
    focusIndex: () => focus,
    destroy: () => stops.forEach((stop) => stop()),
  };
}

/**
 * @param {number | null} labelled how many labels the proposing model was trained on; null: none
 * @param {boolean} [standIn] the embedding model proposed it while the first fine-tuning runs
 */
export function modelText(labelled, standIn = false) {
  if (labelled === null) return "no model yet: drawn at random";
  return standIn ? `embedding model trained on ${labelled} labels (fine-tuning)` : `trained on ${labelled} labels`;
}
