import { describe, expect, it } from "vitest";
import { mapTexts } from "../src/maptexts.js";

describe("the map's texts", () => {
  it("prefers the kernel's whole text to the map's own, and has none for a point neither holds", () => {
    const texts = mapTexts(() => {});
    const short = new Map([[1, "Cataract…"], [2, "Otitis"]]);
    texts.take({ 1: "Cataract, left eye" });
    expect(texts.textOf(1, short)).toBe("Cataract, left eye");
    expect(texts.textOf(2, short)).toBe("Otitis");
    expect(texts.textOf(3, short)).toBeUndefined();
  });

  it("asks once for a hovered point, and again for a clicked one until it is answered", () => {
    const sent = [];
    const texts = mapTexts((message) => sent.push(message));
    texts.askOnce(4);
    texts.askOnce(4);
    expect(sent).toEqual([{ kind: "map_text", ids: [4] }]);
    texts.ask(4);
    expect(sent).toHaveLength(2);
    texts.take({ 4: "Otitis", 5: "Fracture" });
    texts.ask(4);
    texts.askOnce(5);
    expect(sent).toHaveLength(2); // both known now
  });
});
