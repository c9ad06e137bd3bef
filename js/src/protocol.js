// The messages between the front end and the kernel, as anchoral_widget/protocol.py declares
// them: protocol.json is written from it (`python -m anchoral_widget.protocol`), never by hand.
// Every message the views send is built by `command`, which checks it against the declaration;
// the kernel checks it again on arrival. Every message the kernel sends reaches the views through
// `receive`, which checks it first (kind, fields, binary buffers) and hands it to the handler of
// its kind; what it refuses, or a handler fails on, is reported (`onMessageProblem`), never
// thrown at the view. DOM-free.
import PROTOCOL from "./protocol.json";

export { PROTOCOL };

/**
 * @typedef {{type: string, optional: boolean, help: string}} Field
 * @typedef {Record<string, {help: string, fields: Record<string, Field>, buffers?: boolean}>} Declared
 * @typedef {(content: any, buffers: any[]) => void} Handler
 * @typedef {{on: (event: string, callback: Function) => void, off: (event: string, callback: Function) => void}} Listenable
 */

const isInt = (/** @type {unknown} */ v) => Number.isInteger(v);

/** @type {Record<string, (v: any) => boolean>} */
const CHECKS = {
  int: isInt,
  str: (v) => typeof v === "string",
  bool: (v) => typeof v === "boolean",
  class: (v) => typeof v === "string",
  ids: (v) => Array.isArray(v) && v.length > 0 && v.every(isInt) && new Set(v).size === v.length,
  list: (v) => Array.isArray(v),
  object: (v) => typeof v === "object" && v !== null && !Array.isArray(v),
};

/**
 * What is wrong with a message, in words; [] when it follows the declaration.
 * @param {any} content `{kind, ...fields}`
 * @param {Declared} [declared] the commands (front end -> kernel) or the messages (kernel -> front end)
 * @returns {string[]}
 */
export function problems(content, declared = PROTOCOL.commands) {
  const kind = content?.kind;
  if (typeof content !== "object" || content === null || typeof kind !== "string" || !Object.hasOwn(declared, kind)) {
    return [`unknown kind ${JSON.stringify(kind)}; expected one of ${Object.keys(declared).join(", ")}`];
  }
  const fields = declared[kind].fields;
  const found = [];
  for (const name of Object.keys(content)) {
    if (name !== "kind" && !Object.hasOwn(fields, name)) found.push(`${kind} has no field "${name}"`);
  }
  for (const [name, field] of Object.entries(fields)) {
    if (!(name in content) || content[name] === undefined) {
      if (!field.optional) found.push(`${kind} needs "${name}" (${field.help})`);
    } else if (!CHECKS[field.type](content[name])) {
      found.push(`${kind}: "${name}" must be ${PROTOCOL.types[field.type]}, got ${JSON.stringify(content[name])}`);
    }
  }
  return found;
}

/**
 * A command for the kernel, checked against the declaration; throws an Error naming the problem.
 * @param {string} kind @param {Record<string, unknown>} [fields]
 * @returns {{kind: string} & Record<string, unknown>}
 */
export function command(kind, fields = {}) {
  const content = { kind, ...fields };
  const found = problems(content);
  if (found.length) throw new Error(`not a valid "${kind}" command: ${found.join("; ")}`);
  return content;
}

/** An ArrayBuffer, a typed array or a DataView: what a comm gives as a binary buffer. */
const isBinary = (/** @type {unknown} */ v) => ArrayBuffer.isView(v) || Object.prototype.toString.call(v) === "[object ArrayBuffer]";

/**
 * What is wrong with a message from the kernel, in words; [] when it follows its declaration in
 * PROTOCOL.messages: its fields, and binary buffers only where the declaration says they come.
 * @param {any} content `{kind, ...fields}` @param {unknown} [buffers] as the comm gives them
 * @returns {string[]}
 */
export function messageProblems(content, buffers = []) {
  const found = problems(content, PROTOCOL.messages);
  const kind = content?.kind;
  if (typeof kind !== "string" || !Object.hasOwn(PROTOCOL.messages, kind)) return found;
  const list = buffers ?? [];
  if (!Array.isArray(list)) found.push(`${kind}: its buffers must be a list, got ${typeof list}`);
  else if (!PROTOCOL.messages[kind].buffers && list.length) found.push(`${kind} carries no binary buffers, got ${list.length}`);
  else if (!list.every(isBinary)) found.push(`${kind}: every buffer must be binary (an ArrayBuffer or a view of one)`);
  return found;
}

/**
 * One checked path per model: its `msg:custom` listener, the views' handlers and who hears of
 * problems. One per model, so that a bad message is reported once however many views of one
 * render listen (anywidget gives each render a model of its own: once per render there).
 * @typedef {{handlers: Set<Record<string, Handler>>, reporters: Set<(problem: string) => void>, listener: Handler | null}} Path
 * @type {WeakMap<Listenable, Path>}
 */
const paths = new WeakMap();

/**
 * Hand the kernel's messages to `handlers`, keyed by declared message kinds; each message is
 * checked against its declaration first. A message that is not as declared reaches no handler;
 * a handler that throws leaves the other views' handlers to run. Both are reported.
 * Throws at once for a handler of a kind the declaration lacks.
 * @param {Listenable} model @param {Record<string, Handler>} handlers
 * @returns {() => void} stops listening
 */
export function receive(model, handlers) {
  for (const kind of Object.keys(handlers)) {
    if (!Object.hasOwn(PROTOCOL.messages, kind)) {
      throw new Error(`the kernel sends no "${kind}" message; it sends ${Object.keys(PROTOCOL.messages).join(", ")}`);
    }
  }
  return join(model, (path) => path.handlers, handlers);
}

/**
 * Hear of every message from the kernel that was refused or that a view failed on, in words
 * (they also go to the console).
 * @param {Listenable} model @param {(problem: string) => void} report
 * @returns {() => void} stops listening
 */
export function onMessageProblem(model, report) {
  return join(model, (path) => path.reporters, report);
}

/**
 * @template T
 * @param {Listenable} model @param {(path: Path) => Set<T>} set @param {T} member
 */
function join(model, set, member) {
  /** @type {Path} */
  const path = paths.get(model) ?? { handlers: new Set(), reporters: new Set(), listener: null };
  paths.set(model, path);
  if (!path.listener) {
    path.listener = (content, buffers) => deliver(path, content, buffers);
    model.on("msg:custom", path.listener);
  }
  set(path).add(member);
  return () => {
    set(path).delete(member);
    if (path.listener && !path.handlers.size && !path.reporters.size) {
      model.off("msg:custom", path.listener);
      path.listener = null;
    }
  };
}

/** @param {Path} path @param {any} content @param {any} buffers */
function deliver(path, content, buffers) {
  const found = messageProblems(content, buffers);
  if (found.length) {
    report(path, `refused a message from the kernel: ${found.join("; ")}`);
    return;
  }
  for (const handlers of [...path.handlers]) {
    const handle = handlers[content.kind];
    if (!handle) continue;
    try {
      handle(content, buffers ?? []);
    } catch (error) {
      report(path, `a "${content.kind}" message from the kernel could not be shown: ${error instanceof Error ? error.message : error}`);
    }
  }
}

/** @param {Path} path @param {string} problem */
function report(path, problem) {
  console.error(`anchoral-widget: ${problem}`);
  for (const tell of [...path.reporters]) tell(problem);
}
