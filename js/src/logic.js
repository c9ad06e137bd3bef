// DOM-free helpers: everything here is a pure function of the model's values, tested directly.

/** Texts longer than this are folded on their card until expanded. */
export const FOLD_CHARS = 280;

/**
 * The part of a text shown folded, cut at a word boundary near `limit`.
 * @param {string} text @param {number} [limit]
 * @returns {{shown: string, folded: boolean}}
 */
export function fold(text, limit = FOLD_CHARS) {
  if (text.length <= limit) return { shown: text, folded: false };
  const cut = text.lastIndexOf(" ", limit);
  const end = cut > limit * 0.6 ? cut : limit;
  return { shown: `${text.slice(0, end).trimEnd()}…`, folded: true };
}

/**
 * Ids of the batch's cards without an answer, in card order.
 * @param {{id: number}[]} batch @param {Record<string, string | null>} answers
 */
export function unanswered(batch, answers) {
  return batch.filter((c) => !(String(c.id) in answers)).map((c) => c.id);
}

/**
 * The answer to a card: a class name, null for skipped, undefined for none yet.
 * @param {Record<string, string | null>} answers @param {number} id
 */
export function answerOf(answers, id) {
  const key = String(id);
  return key in answers ? answers[key] : undefined;
}

/**
 * The class "the rest are" gives by default: the first class that is not a minority class.
 * @param {string[]} classes @param {string[]} minority
 */
export function majorityClass(classes, minority) {
  return classes.find((c) => !minority.includes(c)) ?? classes[0];
}

/**
 * The card to focus after answering card `from`: the next card without an answer after it
 * (wrapping round), treating `from` as answered; `from` itself when every card is answered.
 * @param {{id: number}[]} batch @param {Record<string, string | null>} answers @param {number} from
 */
export function nextOpen(batch, answers, from) {
  const n = batch.length;
  for (let step = 1; step < n; step++) {
    const i = (from + step) % n;
    if (!(String(batch[i].id) in answers)) return i;
  }
  return from;
}

/** @param {number} i @param {number} n */
export function clampIndex(i, n) {
  return n === 0 ? 0 : Math.min(Math.max(i, 0), n - 1);
}

/** @param {number} p a probability */
export function percent(p) {
  return `${Math.round(p * 100)}%`;
}

/** @param {number} n */
export function count(n) {
  return n.toLocaleString("en-US");
}

/**
 * "120 / 500 labelled" with a budget, "120 labelled of 2,000 texts" without.
 * @param {import("./model.js").Progress} progress
 */
export function progressText(progress) {
  if (!progress || progress.labelled === undefined) return "";
  const { labelled, budget, pool } = progress;
  if (budget) return `${count(labelled)} / ${count(budget)} labelled`;
  return `${count(labelled)} labelled of ${count(pool)} texts`;
}

/**
 * Fraction of the budget (or of the pool) labelled, between 0 and 1.
 * @param {import("./model.js").Progress} progress
 */
export function progressFraction(progress) {
  if (!progress || !progress.labelled) return 0;
  const of = progress.budget || progress.pool;
  return of ? Math.min(1, progress.labelled / of) : 0;
}

/**
 * Answered / total of the batch, for the submit button.
 * @param {{id: number}[]} batch @param {Record<string, string | null>} answers
 */
export function batchProgress(batch, answers) {
  const open = unanswered(batch, answers).length;
  return { answered: batch.length - open, total: batch.length, open };
}

/** Phases in which the kernel is working and the cards wait. */
export const BUSY_PHASES = ["preparing", "starting", "training", "selecting"];

/**
 * The index of the first card whose answer an undo changed (taken back, or put back to an
 * earlier one), or -1 when none did.
 * @param {{id: number}[]} batch @param {Record<string, string | null>} before @param {Record<string, string | null>} after
 */
export function undoneIndex(batch, before, after) {
  return batch.findIndex((c) => answerOf(before, c.id) !== answerOf(after, c.id));
}

/** How many selected texts the side panel lists (their texts are fetched from the kernel). */
export const SELECTION_SHOWN = 20;

/**
 * The selection panel's headline: "1 text selected", "12,345 texts selected".
 * @param {number} n
 */
export function selectionHeadline(n) {
  return `${count(n)} ${n === 1 ? "text" : "texts"} selected`;
}

/**
 * The ids among the first `shown` of a selection whose text is not known yet (to ask for).
 * @param {number[]} ids @param {Map<number, string>} known @param {number} [shown]
 */
export function textsToFetch(ids, known, shown = SELECTION_SHOWN) {
  return ids.slice(0, shown).filter((id) => !known.has(id));
}

/**
 * Whether the search goes where the cards will be: before the first batch, finding a first
 * example of each class is the first thing to do, so it is the first thing on screen.
 * @param {string} phase @param {unknown[]} batch
 */
export function searchFirst(phase, batch) {
  return batch.length === 0 && ["starting", "preparing", "cold"].includes(phase);
}

/**
 * Whether the top of an element whose box is `rect` (the widget's headline, what to do next) is
 * outside a view `height` pixels tall, as after a notebook's "Run All" that ends on a later cell:
 * Notebook 7 scrolls the page itself and leaves only the widget's lower part on screen.
 * @param {{top: number, bottom: number}} rect @param {number} height
 */
export function outOfView(rect, height) {
  return rect.top < 0 || rect.top >= height;
}
