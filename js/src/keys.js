// Keyboard shortcuts, DOM-free: a key event's fields in, a command out. The widget acts on them
// only while it has focus and stops them there, so that JupyterLab's own shortcuts never fire.

/**
 * @typedef {{key: string, code?: string, shiftKey?: boolean, ctrlKey?: boolean,
 *   altKey?: boolean, metaKey?: boolean}} KeyLike
 * @typedef {{type: "move", delta: number} | {type: "label", index: number} |
 *   {type: "rest", index: number | null} | {type: "skip"} | {type: "undo"} | {type: "submit"} |
 *   {type: "expand"} | {type: "search"} | {type: "help"} | {type: "review"} | {type: "escape"}} Command
 */

/** What the help popover lists; `keys` are shown as written. */
export const SHORTCUTS = [
  { keys: ["↓", "j"], does: "next card" },
  { keys: ["↑", "k"], does: "previous card" },
  { keys: ["1", "…", "9"], does: "give the card class 1 … 9" },
  { keys: ["s"], does: "skip the card" },
  { keys: ["u", "Backspace"], does: "undo the last answer" },
  { keys: ["r"], does: "the rest get the majority class" },
  { keys: ["Shift", "1 … 9"], does: "the rest get class 1 … 9" },
  { keys: ["e"], does: "fold or unfold the card's text" },
  { keys: ["Enter"], does: "submit the batch" },
  { keys: ["/"], does: "search by meaning" },
  { keys: ["v"], does: "review past labels (there: 1 … 9 give a class, x removes, [ ] turn pages)" },
  { keys: ["?"], does: "show or hide this help" },
  { keys: ["Esc"], does: "close the help, leave the widget" },
];

/**
 * The command for a key press, or null when the key is not a shortcut. Keys held with Ctrl,
 * Alt or Meta are never shortcuts here, so Ctrl+S and the like keep working.
 * @param {KeyLike} event @param {number} nClasses
 * @returns {Command | null}
 */
export function commandFor(event, nClasses) {
  if (event.ctrlKey || event.altKey || event.metaKey) return null;
  const digit = /^Digit([1-9])$/.exec(event.code ?? "") ?? /^Numpad([1-9])$/.exec(event.code ?? "");
  if (event.shiftKey && digit) {
    const index = Number(digit[1]) - 1;
    return index < nClasses ? { type: "rest", index } : null;
  }
  if (/^[1-9]$/.test(event.key)) {
    const index = Number(event.key) - 1;
    return index < nClasses ? { type: "label", index } : null;
  }
  switch (event.key) {
    case "ArrowDown":
    case "j":
      return { type: "move", delta: 1 };
    case "ArrowUp":
    case "k":
      return { type: "move", delta: -1 };
    case "s":
      return { type: "skip" };
    case "u":
    case "Backspace":
      return { type: "undo" };
    case "r":
      return { type: "rest", index: null };
    case "e":
      return { type: "expand" };
    case "Enter":
      return event.shiftKey ? null : { type: "submit" };
    case "/":
      return { type: "search" };
    case "?":
      return { type: "help" };
    case "v":
      return { type: "review" };
    case "Escape":
      return { type: "escape" };
    default:
      return null;
  }
}

/**
 * Whether a key pressed inside the widget must be kept from JupyterLab: every key without
 * Ctrl/Alt/Meta (letters, digits, Enter, Shift+Enter, arrows...) would otherwise run a notebook
 * command (change the cell type, insert a cell, run the cell...).
 * @param {KeyLike} event
 */
export function keepFromJupyter(event) {
  return !(event.ctrlKey || event.altKey || event.metaKey);
}
