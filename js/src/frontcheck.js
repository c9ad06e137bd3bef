// Whether this front end carries the widget's messages. Each view says hello to the kernel, which
// answers with a binary buffer of known bytes. No answer in time: the kernel is busy, or custom
// messages do not pass (then the answers given on the cards cannot reach the kernel either). An
// answer without its buffer, or with other bytes: buffers are dropped or mangled (the map cannot
// be drawn). Either is said on screen instead of leaving the widget blank or silent; an answer
// that comes late takes the first back. DOM-free.
import { msg } from "./model.js";
import { receive } from "./protocol.js";

/** How long a view waits for the kernel's answer before it says that none came. */
export const HELLO_WAIT_MS = 20_000;

const WORKS_IN = "JupyterLab 4, Notebook 7 and marimo carry them (docs/front-ends.md)";

export const NO_ANSWER =
  `no answer from the kernel to the widget's first message in ${HELLO_WAIT_MS / 1000} s: either the kernel is busy ` +
  "(a cell still running) or this front end does not pass the widget's custom messages, and then no answer given " +
  `here reaches the kernel. ${WORKS_IN}.`;

export const NO_BUFFERS = `this front end drops the binary buffers of the widget's messages: the map cannot be drawn (the cards and keys work). ${WORKS_IN}.`;

export const BAD_BUFFERS = `this front end changes the binary buffers of the widget's messages on the way: the map cannot be drawn. ${WORKS_IN}.`;

/**
 * What is wrong with the kernel's answer to hello, in words; "" when its buffer came whole.
 * @param {{bytes: number[]}} content @param {unknown[]} buffers
 */
export function helloProblem(content, buffers) {
  const got = buffers?.[0];
  if (!got) return NO_BUFFERS;
  const view = ArrayBuffer.isView(got)
    ? new Uint8Array(got.buffer, got.byteOffset, got.byteLength)
    : new Uint8Array(/** @type {ArrayBuffer} */ (got));
  const want = content.bytes;
  return view.length === want.length && want.every((b, i) => view[i] === b) ? "" : BAD_BUFFERS;
}

/**
 * Say hello to the kernel; `show(problem)` hears what is wrong ("" once the answer came whole).
 * @param {import("./model.js").AnyModel} model @param {(problem: string) => void} show
 * @param {{wait?: number, timers?: {setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout}}} [options]
 * @returns {() => void} clean-up
 */
export function checkFrontEnd(model, show, { wait = HELLO_WAIT_MS, timers = globalThis } = {}) {
  let answered = false;
  const timer = timers.setTimeout(() => answered || show(NO_ANSWER), wait);
  const stop = receive(model, {
    hello: (content, buffers) => {
      if (answered) return; // a second view's hello is answered to every view
      answered = true;
      timers.clearTimeout(timer);
      show(helloProblem(content, buffers));
    },
  });
  model.send(msg.hello());
  return () => {
    timers.clearTimeout(timer);
    stop();
  };
}
