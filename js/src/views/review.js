// The review view: every past label, newest first, filtered by class, by who gave it, by
// iteration and by whether the last model disagrees; any of them given another class or taken
// away, by button or by key (j/k move, 1-9 give a class, x removes, [ ] turn the page, v or Esc
// close), or those a label check doubts, with its evidence. Items people answered differently (a team's overlap) are marked, can be listed alone,
// and get a decision instead of a change: a resolve, logged even when the class stays. Each change is one event in the kernel's log (the old answer kept); the kernel answers
// every command with the page again (a review_page message), so what is shown is what is stored.
import { h, replace } from "../dom.js";
import { listen, msg } from "../model.js";
import { receive } from "../protocol.js";
import { filterFields, noFilters, REVIEW_PAGE, reviewCommandFor, reviewHeadline } from "../review.js";

/** @param {{model: import("../model.js").AnyModel}} ctx */
export function reviewView({ model }) {
  let filters = noFilters();
  /** @type {any} the last review_page message */
  let page = null;
  let focus = 0;

  const button = h("button", { type: "button", class: "aw-review-button", "aria-expanded": "false", title: "review past labels (v)" }, "review labels");
  const labelFilter = h("select", { class: "aw-review-filter", dataset: { filter: "label" }, "aria-label": "class" });
  const annotatorFilter = h("select", { class: "aw-review-filter", dataset: { filter: "annotator" }, "aria-label": "labelled by" });
  const iterationFilter = h("select", { class: "aw-review-filter", dataset: { filter: "iteration" }, "aria-label": "iteration" });
  const disagree = h("input", { type: "checkbox", class: "aw-review-disagree" });
  const disagreeLabel = h("label", { class: "aw-review-disagree-label" }, disagree, " the model disagrees");
  const conflicts = h("input", { type: "checkbox", class: "aw-review-conflicts" });
  const conflictsLabel = h("label", {}, conflicts, " people disagree");
  const doubted = h("input", { type: "checkbox", class: "aw-review-doubted" });
  const doubtedLabel = h("label", { title: "models fitted without each label prefer another class (least probable first; seconds on thousands of labels)" }, doubted, " a label check doubts it");
  const agreement = h("p", { class: "aw-review-agreement" });
  const headline = h("strong", { class: "aw-review-headline" });
  const said = h("span", { class: "aw-review-said", role: "status" });
  const rows = h("ol", { class: "aw-review-rows" });
  const previous = h("button", { type: "button", class: "aw-review-previous", title: "previous page ([)" }, "‹ newer");
  const next = h("button", { type: "button", class: "aw-review-next", title: "next page (])" }, "older ›");
  const panel = h(
    "div",
    { class: "aw-review", role: "region", "aria-label": "review past labels", hidden: true },
    h("div", { class: "aw-review-filters" }, labelFilter, annotatorFilter, iterationFilter, disagreeLabel, conflictsLabel, doubtedLabel),
    agreement,
    h("div", { class: "aw-review-head" }, headline, said),
    rows,
    h("div", { class: "aw-review-pages" }, previous, next),
  );

  function ask() {
    model.send(msg.reviewPage(filterFields(filters)));
  }
  /** @param {boolean} [open] */
  function toggle(open = panel.hidden) {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) ask();
  }
  button.addEventListener("click", () => toggle());
  for (const select of [labelFilter, annotatorFilter, iterationFilter]) {
    select.addEventListener("change", () => {
      filters = { ...filters, [/** @type {string} */ (select.dataset.filter)]: select.value, offset: 0 };
      ask();
    });
  }
  disagree.addEventListener("change", () => {
    filters = { ...filters, disagree: disagree.checked, offset: 0 };
    ask();
  });
  conflicts.addEventListener("change", () => {
    filters = { ...filters, conflicts: conflicts.checked, offset: 0 };
    ask();
  });
  doubted.addEventListener("change", () => {
    filters = { ...filters, doubted: doubted.checked, offset: 0 };
    ask();
  });
  previous.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));

  /** @param {number} delta */
  function turn(delta) {
    if (!page) return;
    const offset = filters.offset + delta * REVIEW_PAGE;
    if (offset < 0 || offset >= page.total) return;
    filters = { ...filters, offset };
    focus = 0;
    ask();
  }
  /** @param {any} row @param {string} to a change of class, or for a conflict the decision */
  function correct(row, to) {
    const fields = filterFields(filters);
    model.send(row.conflict ? msg.reviewResolve([row.id], to, fields) : msg.reviewCorrect([row.id], to, fields));
  }
  /** @param {number} id */
  function remove(id) {
    model.send(msg.reviewRemove([id], filterFields(filters)));
  }

  /** @param {HTMLSelectElement} select @param {string} all @param {Array<[string, string]>} options value, text */
  function fill(select, all, options) {
    const value = select.value;
    replace(select, h("option", { value: "" }, all), ...options.map(([v, text]) => h("option", { value: v }, text)));
    select.value = options.some(([v]) => v === value) ? value : "";
  }

  function render() {
    const classes = model.get("classes") ?? [];
    fill(labelFilter, "every class", classes.map((c) => [c, c]));
    if (!page) return;
    fill(annotatorFilter, "everyone", page.annotators.map((a) => [a, a]));
    fill(iterationFilter, "every iteration", page.iterations.map((i) => [String(i), i < 0 ? "outside a batch" : `iteration ${i}`]));
    disagree.disabled = !page.model;
    disagreeLabel.title = page.model ? "" : "no model's guesses yet (or a model that reads text: its guesses are not worked out here)";
    headline.textContent = reviewHeadline(page.total, page.offset, page.rows.length);
    said.textContent = page.text;
    agreement.textContent = page.agreement;
    agreement.hidden = !page.agreement;
    focus = Math.max(0, Math.min(focus, page.rows.length - 1));
    replace(rows, ...page.rows.map((/** @type {any} */ row, /** @type {number} */ i) => rowElement(row, i, classes)));
    previous.disabled = page.offset === 0;
    next.disabled = page.offset + page.rows.length >= page.total;
  }

  /** @param {any} row @param {number} i @param {string[]} classes */
  function rowElement(row, i, classes) {
    const minority = model.get("minority") ?? [];
    const guess = row.predicted == null ? "" : `model: ${row.predicted} ${Math.round(100 * row.confidence)}%`;
    const others = row.others.map((/** @type {[string, string]} */ [who, label]) => `${who}: ${label}`).join(", ");
    return h(
      "li",
      { class: i === focus ? "aw-review-row aw-focus" : "aw-review-row", dataset: { id: String(row.id), label: row.label, conflict: String(row.conflict), disagree: String(row.predicted != null && row.predicted !== row.label) } },
      h("div", { class: "aw-review-meta" },
        h("span", { class: "aw-id" }, `#${row.id}`),
        h("span", { class: minority.includes(row.label) ? "aw-review-label aw-minority" : "aw-review-label" }, row.label),
        h("span", { class: "aw-review-who" }, `${row.annotator || "?"}, ${row.iteration < 0 ? "outside a batch" : `iteration ${row.iteration}`}`),
        h("span", { class: "aw-review-guess" }, guess),
        others ? h("span", { class: "aw-review-others" }, `also: ${others}`) : "",
        row.conflict ? h("span", { class: "aw-review-conflict" }, "people disagree: decide") : ""),
      h("div", { class: "aw-review-text" }, row.text),
      row.doubt ? h("div", { class: "aw-review-doubt" }, row.doubt) : "",
      h("div", { class: "aw-review-actions" },
        ...classes.filter((c) => row.conflict || c !== row.label).map((c) =>
          h("button", { type: "button", class: "aw-review-to", dataset: { to: c }, onclick: () => correct(row, c) }, row.conflict ? `decide ${c}` : `→ ${c}`)),
        h("button", { type: "button", class: "aw-review-remove", onclick: () => remove(row.id) }, "remove")),
    );
  }

  /**
   * A key while the view is open; true when it did something.
   * @param {KeyboardEvent} event
   */
  function command(event) {
    const cmd = reviewCommandFor(event, (model.get("classes") ?? []).length);
    if (!cmd) return false;
    const row = page?.rows[focus];
    if (cmd.type === "close") toggle(false);
    else if (cmd.type === "page") turn(cmd.delta);
    else if (cmd.type === "move" && page) {
      focus = Math.max(0, Math.min(focus + cmd.delta, page.rows.length - 1));
      render();
      rows.children[focus]?.scrollIntoView?.({ block: "nearest" });
    } else if (cmd.type === "correct" && row) {
      const to = model.get("classes")[cmd.index];
      if (to !== row.label || row.conflict) correct(row, to);
    } else if (cmd.type === "remove" && row) remove(row.id);
    return true;
  }

  const stops = [
    receive(model, {
      review_page(content) {
        page = content;
        filters = { ...filters, offset: content.offset };
        render();
      },
    }),
    listen(model, ["classes", "minority"], render),
    // a batch submitted meanwhile brings labels: an open view asks for its page again
    listen(model, ["iteration"], () => { if (!panel.hidden) ask(); }),
  ];
  render();
  return { el: button, panel, toggle, command, isOpen: () => !panel.hidden, destroy: () => { stops.forEach((stop) => stop()); panel.remove(); } };
}
