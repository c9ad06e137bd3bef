// The review view's rules, DOM-free: the filters a person set -> the fields of a review command
// (nothing for "all"), and a key pressed while the view is open -> what it does there.
import { commandFor } from "./keys.js";

/**
 * @typedef {{label: string, annotator: string, iteration: string, disagree: boolean, conflicts: boolean, doubted: boolean, offset: number}} ReviewFilters
 * @typedef {{type: "move", delta: number} | {type: "correct", index: number} | {type: "remove"} |
 *   {type: "page", delta: number} | {type: "close"}} ReviewCommand
 */

export const REVIEW_PAGE = 50;

/** @returns {ReviewFilters} every label, first page */
export function noFilters() {
  return { label: "", annotator: "", iteration: "", disagree: false, conflicts: false, doubted: false, offset: 0 };
}

/**
 * The optional fields a review command carries for these filters ("" means all).
 * @param {ReviewFilters} filters
 */
export function filterFields(filters) {
  /** @type {Record<string, string | number | boolean>} */
  const fields = {};
  if (filters.label) fields.label = filters.label;
  if (filters.annotator) fields.annotator = filters.annotator;
  if (filters.iteration !== "") fields.iteration = Number(filters.iteration);
  if (filters.disagree) fields.disagree = true;
  if (filters.doubted) fields.doubted = true;
  if (filters.conflicts) fields.conflicts = true;
  if (filters.offset > 0) fields.offset = filters.offset;
  return fields;
}

/**
 * What a key does in the review view, or null: move between rows, give the row a class,
 * remove its label, turn the page, close.
 * @param {import("./keys.js").KeyLike} event @param {number} nClasses
 * @returns {ReviewCommand | null}
 */
export function reviewCommandFor(event, nClasses) {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  switch (event.key) {
    case "x":
    case "Delete":
      return { type: "remove" };
    case "]":
      return { type: "page", delta: 1 };
    case "[":
      return { type: "page", delta: -1 };
    case "v":
      return { type: "close" };
  }
  const cmd = commandFor(event, nClasses); // moving and the digits read as in the batch view
  if (cmd?.type === "label") return { type: "correct", index: cmd.index };
  if (cmd?.type === "move") return cmd;
  return cmd?.type === "escape" ? { type: "close" } : null;
}

/** The line above the rows: how many pass, which are shown. @param {number} total @param {number} offset @param {number} shown */
export function reviewHeadline(total, offset, shown) {
  if (total === 0) return "no label passes these filters";
  return `${total} ${total === 1 ? "label" : "labels"}, newest first: ${offset + 1}–${offset + shown}`;
}
