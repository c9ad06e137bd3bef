import { describe, expect, it } from "vitest";
import { BAD_BUFFERS, HELLO_WAIT_MS, NO_ANSWER, NO_BUFFERS, checkFrontEnd, helloProblem } from "../src/frontcheck.js";
import { FakeModel } from "./fake-model.js";

const BYTES = [0, 1, 10, 127, 128, 200, 255, 65];

/** Timers the test moves by hand. */
function clock() {
  let now = 0;
  /** @type {Map<number, {at: number, fn: Function}>} */
  const due = new Map();
  let next = 1;
  return {
    setTimeout: (/** @type {Function} */ fn, /** @type {number} */ ms) => (due.set(next, { at: now + ms, fn }), next++),
    clearTimeout: (/** @type {number} */ id) => due.delete(id),
    advance(/** @type {number} */ ms) {
      now += ms;
      for (const [id, t] of [...due]) if (t.at <= now) (due.delete(id), t.fn());
    },
  };
}

/** @param {FakeModel} model @param {object} content @param {unknown[]} buffers */
function fromKernel(model, content, buffers) {
  for (const fn of [...(model.handlers.get("msg:custom") ?? [])]) fn(content, buffers);
}

describe("what the answer to hello says of the front end", () => {
  it("is nothing to say when the buffer came whole, as an ArrayBuffer or a view of one", () => {
    expect(helloProblem({ bytes: BYTES }, [new Uint8Array(BYTES).buffer])).toBe("");
    expect(helloProblem({ bytes: BYTES }, [new DataView(new Uint8Array([9, ...BYTES]).buffer, 1)])).toBe("");
  });
  it("says the buffers are dropped when none came", () => {
    expect(helloProblem({ bytes: BYTES }, [])).toBe(NO_BUFFERS);
    expect(NO_BUFFERS).toMatch(/drops the binary buffers.*the map cannot be drawn/);
  });
  it("says they are changed when other bytes came (text-decoded, cut)", () => {
    expect(helloProblem({ bytes: BYTES }, [new TextEncoder().encode(String.fromCharCode(...BYTES)).buffer])).toBe(BAD_BUFFERS);
    expect(helloProblem({ bytes: BYTES }, [new Uint8Array(BYTES.slice(0, 4)).buffer])).toBe(BAD_BUFFERS);
  });
});

describe("checking the front end when a view opens", () => {
  it("says hello once and says nothing when the whole answer comes", () => {
    const model = new FakeModel();
    const timers = clock();
    const shown = [];
    const stop = checkFrontEnd(model, (p) => shown.push(p), { timers });
    expect(model.sent).toEqual([{ kind: "hello" }]);
    fromKernel(model, { kind: "hello", bytes: BYTES }, [new Uint8Array(BYTES).buffer]);
    timers.advance(HELLO_WAIT_MS * 2);
    expect(shown).toEqual([""]);
    stop();
    expect(model.listenerCount()).toBe(0);
  });
  it("says that no answer came, and takes it back when a late one comes", () => {
    const model = new FakeModel();
    const timers = clock();
    const shown = [];
    checkFrontEnd(model, (p) => shown.push(p), { timers });
    timers.advance(HELLO_WAIT_MS - 1);
    expect(shown).toEqual([]);
    timers.advance(1);
    expect(shown).toEqual([NO_ANSWER]);
    expect(NO_ANSWER).toMatch(/kernel is busy.*custom messages/);
    fromKernel(model, { kind: "hello", bytes: BYTES }, [new Uint8Array(BYTES).buffer]);
    expect(shown).toEqual([NO_ANSWER, ""]);
  });
  it("says the buffers are dropped when the answer comes without them", () => {
    const model = new FakeModel();
    const shown = [];
    checkFrontEnd(model, (p) => shown.push(p), { timers: clock() });
    fromKernel(model, { kind: "hello", bytes: BYTES }, []);
    expect(shown).toEqual([NO_BUFFERS]);
  });
  it("hears the first answer only (another view's hello is answered to every view)", () => {
    const model = new FakeModel();
    const shown = [];
    checkFrontEnd(model, (p) => shown.push(p), { timers: clock() });
    fromKernel(model, { kind: "hello", bytes: BYTES }, [new Uint8Array(BYTES).buffer]);
    fromKernel(model, { kind: "hello", bytes: BYTES }, []);
    expect(shown).toEqual([""]);
  });
});
