// The phone's XPath: openrosa-xpath-evaluator (Enketo's XPath 1.0 + ODK functions engine,
// vendored in static/vendor/), with what the library leaves to its host:
//   instance('name')   a secondary instance (choice lists, CSV files) as its own document
//   current()          the question the expression belongs to (inside itemset predicates too)
//   jr:choice-name()   the label of a choice, in the language on screen
//   regex()            read as ODK Collect reads it (Java): `\p{Lu}` works, so patterns are
//                      compiled with the `u` flag; a pattern JS refuses in `u` mode but not
//                      without it (e.g. `\-` outside a class) is read without it.
// today() and now() are the phone's local time, as in ODK Collect (Vietnam: +07:00).
// See docs/forms-engine.md: the server is held to the same verdicts by tests/forms/.

import {
  ExtendedXPathEvaluator, XPR, asBoolean, asNumber, asString, openrosaExtensions,
} from "../vendor/openrosa-xpath-evaluator-3.1.0/openrosa-xpath-evaluator.js";

export class ExpressionError extends Error {
  constructor(message, expression) {
    super(message);
    this.name = "ExpressionError";
    this.expression = expression;
  }
}

// What the functions above need of the evaluation in progress (evaluation is synchronous).
let scope = { current: null, instances: {}, choiceName: null };

const patterns = new Map();

/** A form's regex pattern as a JS RegExp, read as Java reads it where the two can agree. */
export function odkRegex(pattern) {
  let compiled = patterns.get(pattern);
  if (!compiled) {
    try {
      compiled = new RegExp(pattern, "u");
    } catch {
      compiled = new RegExp(pattern); // throws for a pattern that is wrong either way
    }
    patterns.set(pattern, compiled);
  }
  return compiled;
}

const extensions = openrosaExtensions();
Object.assign(extensions.func, {
  regex(haystack, pattern) {
    return XPR.boolean(odkRegex(asString(pattern)).test(asString(haystack)));
  },
  instance(name) {
    const id = asString(name);
    const document = scope.instances?.[id];
    if (!document) throw new ExpressionError(`no secondary instance '${id}'`);
    return { t: "arr", v: [document] };
  },
  current() {
    return { t: "arr", v: scope.current ? [scope.current] : [] };
  },
  "jr:choice-name": function choiceName(value, path) {
    const name = asString(value);
    if (!scope.choiceName) return XPR.string(name);
    return XPR.string(scope.choiceName(name, asString(path).trim()) ?? "");
  },
});
const evaluator = new ExtendedXPathEvaluator(new XPathEvaluator(), extensions);

const RESULT = {
  boolean: XPathResult.BOOLEAN_TYPE,
  number: XPathResult.NUMBER_TYPE,
  string: XPathResult.STRING_TYPE,
  nodes: XPathResult.ORDERED_NODE_SNAPSHOT_TYPE,
};

/**
 * Evaluate `expression` with `context` (a node of the instance) as context node and current();
 * `as` is "boolean", "number", "string" or "nodes"; `env` gives `instances` ({name: Document})
 * and `choiceName(value, path)`. Errors of the expression are ExpressionErrors.
 */
export function evaluate(expression, context, as = "string", env = {}) {
  const saved = scope;
  scope = { current: env.current ?? context, instances: env.instances ?? {}, choiceName: env.choiceName ?? null };
  try {
    const result = evaluator.evaluate(String(expression).trim(), context, null, RESULT[as], null);
    if (as === "boolean") return result.booleanValue;
    if (as === "number") return result.numberValue;
    if (as === "string") return result.stringValue;
    const nodes = [];
    for (let i = 0; i < result.snapshotLength; i += 1) nodes.push(result.snapshotItem(i));
    return nodes;
  } catch (error) {
    if (error instanceof ExpressionError) throw error;
    throw new ExpressionError(error?.message ?? String(error), expression);
  } finally {
    scope = saved;
  }
}

export { asBoolean, asNumber, asString };
