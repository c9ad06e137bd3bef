import { describe, expect, it } from "vitest";
import { commandFor, keepFromJupyter, SHORTCUTS } from "../src/keys.js";

describe("commandFor", () => {
  it("maps digits to classes, only as many as there are", () => {
    expect(commandFor({ key: "1", code: "Digit1" }, 2)).toEqual({ type: "label", index: 0 });
    expect(commandFor({ key: "2", code: "Digit2" }, 2)).toEqual({ type: "label", index: 1 });
    expect(commandFor({ key: "3", code: "Digit3" }, 2)).toBeNull();
    expect(commandFor({ key: "0", code: "Digit0" }, 2)).toBeNull();
  });
  it("gives the rest a class with Shift+digit, whatever the keyboard layout prints", () => {
    expect(commandFor({ key: "!", code: "Digit1", shiftKey: true }, 2)).toEqual({ type: "rest", index: 0 });
    expect(commandFor({ key: "\"", code: "Digit2", shiftKey: true }, 2)).toEqual({ type: "rest", index: 1 });
    expect(commandFor({ key: "r" }, 2)).toEqual({ type: "rest", index: null });
  });
  it("has keys to move, skip, undo, submit, expand, search and get help", () => {
    expect(commandFor({ key: "ArrowDown" }, 2)).toEqual({ type: "move", delta: 1 });
    expect(commandFor({ key: "k" }, 2)).toEqual({ type: "move", delta: -1 });
    expect(commandFor({ key: "s" }, 2)).toEqual({ type: "skip" });
    expect(commandFor({ key: "Backspace" }, 2)).toEqual({ type: "undo" });
    expect(commandFor({ key: "u" }, 2)).toEqual({ type: "undo" });
    expect(commandFor({ key: "Enter" }, 2)).toEqual({ type: "submit" });
    expect(commandFor({ key: "e" }, 2)).toEqual({ type: "expand" });
    expect(commandFor({ key: "/" }, 2)).toEqual({ type: "search" });
    expect(commandFor({ key: "?", shiftKey: true }, 2)).toEqual({ type: "help" });
  });
  it("leaves keys held with Ctrl, Alt or Meta alone, and Shift+Enter is not submit", () => {
    expect(commandFor({ key: "s", ctrlKey: true }, 2)).toBeNull();
    expect(commandFor({ key: "1", code: "Digit1", altKey: true }, 2)).toBeNull();
    expect(commandFor({ key: "Enter", shiftKey: true }, 2)).toBeNull();
    expect(keepFromJupyter({ key: "s", ctrlKey: true })).toBe(false);
    expect(keepFromJupyter({ key: "Enter", shiftKey: true })).toBe(true);
    expect(keepFromJupyter({ key: "a" })).toBe(true);
  });
  it("documents every command it knows in the help", () => {
    const documented = SHORTCUTS.flatMap((s) => s.keys);
    for (const key of ["j", "k", "s", "u", "r", "e", "Enter", "/", "?"]) expect(documented).toContain(key);
  });
});
