// The whole texts of map points. A map update carries the texts of a few points (mapdata.js:
// `state.texts`); the whole text of any other is asked of the kernel (`map_text`) and kept, so
// that a point hovered again asks nothing. DOM-free; tested with node (js/test/maptexts.test.js).
import { msg } from "./model.js";

/** @param {(message: object) => void} send the model's `send` */
export function mapTexts(send) {
  /** @type {Map<number, string>} whole texts of hovered and clicked points */
  const whole = new Map();
  /** @type {Set<number>} */
  const asked = new Set();
  return {
    /**
     * The whole text when the kernel has sent it, else the map's own (undefined: neither).
     * @param {number} id @param {Map<number, string>} mapTexts the map state's `texts`
     */
    textOf: (id, mapTexts) => whole.get(id) ?? mapTexts.get(id),
    /** A hovered point's text: asked once, however often the pointer comes back. @param {number} id */
    askOnce(id) {
      if (whole.has(id) || asked.has(id)) return;
      asked.add(id);
      send(msg.mapText([id]));
    },
    /** A clicked point's text: asked again while unanswered, a click being deliberate. @param {number} id */
    ask(id) {
      if (!whole.has(id)) send(msg.mapText([id]));
    },
    /** Keep the texts of a `map_text` message. @param {Record<string, string>} texts */
    take(texts) {
      for (const [id, text] of Object.entries(texts)) whole.set(Number(id), text);
    },
  };
}
