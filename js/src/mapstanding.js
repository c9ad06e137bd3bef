// Where a map point stands in the labelling (in the batch, labelled and as what, or neither),
// and how the panel of a clicked point says it. DOM-free; tested with node
// (js/test/mapstanding.test.js).

/** @typedef {{where: "batch"} | {where: "labelled", label: string | undefined} | {where: "open"}} Standing */

/**
 * Where a point stands: in the batch, labelled (which class), or neither.
 * @param {import("./mapdata.js").MapState} state @param {{id: number}[]} batch @param {number} id
 * @returns {Standing}
 */
export function standing(state, batch, id) {
  if (batch.some((c) => c.id === id)) return { where: "batch" };
  const labelled = state.layers.labelled;
  const i = labelled.ids.indexOf(id);
  if (i >= 0) return { where: "labelled", label: state.classes[labelled.values?.[i] ?? -1] };
  return { where: "open" };
}

/**
 * The panel's note on a point: a batch item's draft answer, a labelled point's class, or an
 * invitation to label it.
 * @param {Standing} spot @param {number} id @param {Record<string, string | null>} answers
 */
export function standingNote(spot, id, answers) {
  if (spot.where === "batch") return `in the batch${String(id) in answers ? `: answered ${answers[String(id)] ?? "skip"}` : ""}`;
  if (spot.where === "labelled") return `labelled ${spot.label}`;
  return "not labelled: label it here";
}
