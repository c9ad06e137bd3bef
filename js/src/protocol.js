// The messages between the front end and the kernel, as anchoral_widget/protocol.py declares
// them: protocol.json is written from it (`python -m anchoral_widget.protocol`), never by hand.
// Every message the views send is built by `command`, which checks it against the declaration;
// the kernel checks it again on arrival. DOM-free.
import PROTOCOL from "./protocol.json";

export { PROTOCOL };

/**
 * @typedef {{type: string, optional: boolean, help: string}} Field
 * @typedef {Record<string, {help: string, fields: Record<string, Field>}>} Declared
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
