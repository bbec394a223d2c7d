// The phone's XPath: openrosa-xpath-evaluator (Enketo's XPath 1.0 + ODK functions engine,
// vendored in static/vendor/), with what the library leaves to its host:
//   instance('name')   a secondary instance (choice lists, CSV files) as its own document
//   current()          the question the expression belongs to (inside itemset predicates too)
//   jr:choice-name()   the label of a choice, in the language the server reads (form.js)
//   regex()            read as ODK Collect reads it (Java): `\p{Lu}` works, so patterns are
//                      compiled with the `u` flag; what JS refuses in `u` mode but Java reads
//                      (`\-` or `\#` outside a class, `[\w-.]`) is spelt so that it may.
// and what it reads otherwise than the server and ODK Collect (app/forms/xpath_functions.py):
//   format-date()      %a and %b in English (Sun, Dec), not in the phone's locale
//   boolean-from-string()  true for the text 'true' or '1' only (2.0 and 4 div 2 are false)
//   and, or            each operand read as boolean() (a date is true when it is one)
//   |                  a node-set: each node once, in document order
// today() and now() are the phone's local time, as in ODK Collect (Vietnam: +07:00).
// See docs/forms-engine.md: the server is held to the same verdicts by tests/forms/.

import {
  ExtendedXPathEvaluator, XPR, asBoolean, asNumber, asString, openrosaExtensions,
} from "../vendor/openrosa-xpath-evaluator-3.1.0-p1/openrosa-xpath-evaluator.js";

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
// RegExp's SyntaxCharacter and `/`: the only characters `\` may escape in `u` mode.
const SYNTAX = new Set("^$\\.*+?()[]{}|/");
const ASCII_PUNCTUATION = /^[ -/:-@[-`{-~]$/;
const SET_ESCAPES = new Set("dDwWsS");

/**
 * A pattern JavaScript refuses with the `u` flag, written as it reads in Java (ODK Collect)
 * and on the server, so that it may be read with the flag: an escaped punctuation mark other
 * than a syntax character (`\-`, `\#` outside a class) is that mark (`\x2d`), and a `-` after a
 * class escape in a class (`[\w-.]`) is a `-`. Read without the flag instead, `.` and `[^..]`
 * would take half of an emoji and `\p{Lu}` would mean `p{Lu}`.
 */
function unicodeSpelling(pattern) {
  let out = "";
  let inClass = false;
  let afterSet = false; // the last item in a class was a class escape (\w, \p{L}...)
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) {
      const next = pattern[i + 1];
      i += 1;
      if (ASCII_PUNCTUATION.test(next) && !SYNTAX.has(next) && !(inClass && next === "-")) {
        out += `\\x${next.charCodeAt(0).toString(16).padStart(2, "0")}`;
        afterSet = false;
      } else if ((next === "p" || next === "P") && pattern[i + 1] === "{" && pattern.includes("}", i)) {
        const end = pattern.indexOf("}", i);
        out += pattern.slice(i - 1, end + 1);
        i = end;
        afterSet = inClass;
      } else {
        out += c + next;
        afterSet = inClass && SET_ESCAPES.has(next);
      }
      continue;
    }
    if (inClass && c === "-" && afterSet && pattern[i + 1] !== "]") {
      out += "\\-";
    } else {
      if (c === "[" && !inClass) inClass = true;
      else if (c === "]" && inClass) inClass = false;
      out += c;
    }
    afterSet = false;
  }
  return out;
}

/** A form's regex pattern as a JS RegExp, read as Java reads it where the two can agree. */
export function odkRegex(pattern) {
  let compiled = patterns.get(pattern);
  if (!compiled) {
    try {
      compiled = new RegExp(pattern, "u");
    } catch {
      try {
        compiled = new RegExp(unicodeSpelling(pattern), "u");
      } catch {
        compiled = new RegExp(pattern); // throws for a pattern that is wrong either way
      }
    }
    patterns.set(pattern, compiled);
  }
  return compiled;
}

// format-date()'s %a and %b: English short names, as the server and ODK Collect write them
// (the library writes them in the phone's locale: "CN" and "thg 12" in vi-VN).
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// The library's operator codes (src/utils/operation.js).
const OR = 0;
const AND = 4;
const UNION = 24;

function byDocumentOrder(a, b) {
  if (a === b) return 0;
  return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
}

const extensions = openrosaExtensions();
const { date: asDateValue, "format-date": formatDate } = extensions.func;

/** format-date() with %a and %b in English; the other codes are the library's. */
function englishFormatDate(...args) {
  if (args.length < 2) return formatDate.apply(this, args); // its error
  const [value, format] = args;
  const pattern = asString(format);
  if (!/%[ab]/.test(pattern)) return formatDate.call(this, value, format);
  const moment = asDateValue(value).v;
  if (moment.toString() === "" || Number.isNaN(Number(moment))) return XPR.string("");
  let out = "";
  let run = "";
  const flush = () => {
    if (run) out += formatDate.call(this, value, XPR.string(run)).v;
    run = "";
  };
  for (let i = 0; i < pattern.length; i += 1) {
    const code = pattern[i] === "%" ? pattern[i + 1] : undefined;
    if (code === "a" || code === "b") {
      flush();
      out += code === "a" ? WEEKDAYS[moment.getDay()] : MONTHS[moment.getMonth()];
      i += 1;
    } else if (code !== undefined) {
      run += pattern[i] + code;
      i += 1;
    } else {
      run += pattern[i];
    }
  }
  flush();
  return XPR.string(out);
}

const { handleInfix, typefor } = extensions.process;
Object.assign(extensions.process, {
  handleInfix(err, lhs, op, rhs) {
    // `date('2026-01-01') and 'x'`: the library read both operands as dates ('x' is none).
    if (op === OR || op === AND) return undefined;
    if (op === UNION) {
      if (lhs.t !== "arr" || rhs.t !== "arr") throw new Error("'|' joins node-sets only");
      return [...new Set([...lhs.v, ...rhs.v])].sort(byDocumentOrder);
    }
    return handleInfix(err, lhs, op, rhs);
  },
  typefor(value) {
    // The library's union gave a bare list, read as a string ("sum() must be called on a nodeset").
    return Array.isArray(value) ? "arr" : typefor(value);
  },
});

Object.assign(extensions.func, {
  "format-date": englishFormatDate,
  "format-date-time": englishFormatDate,
  "boolean-from-string": function booleanFromString(value) {
    return XPR.boolean(["true", "1"].includes(asString(value)));
  },
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
    return XPR.string(scope.choiceName(name, asString(path).trim(), scope.current) ?? "");
  },
});
const evaluator = new ExtendedXPathEvaluator(new XPathEvaluator(), extensions);

const RESULT = {
  boolean: XPathResult.BOOLEAN_TYPE,
  number: XPathResult.NUMBER_TYPE,
  string: XPathResult.STRING_TYPE,
  nodes: XPathResult.ORDERED_NODE_SNAPSHOT_TYPE,
};

// Secondary instances are documents of their own, so an absolute path (`/data/province`) read
// with an item of a choice list as context would look in that list's document: such paths are
// read from the primary instance, as `instance(' primary')/data/province` (a name no form can
// give, the space).
const PRIMARY = " primary";
const anchoredCache = new Map();

function anchored(expression, root) {
  const cacheKey = `${root}\u0000${expression}`;
  let result = anchoredCache.get(cacheKey);
  if (result !== undefined) return result;
  result = "";
  let quote = null;
  let previous = ""; // the last character outside spaces
  for (let i = 0; i < expression.length; i += 1) {
    const c = expression[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "/" && !/[\w.)\]*@:/-]/u.test(previous)
      && expression.startsWith(root, i + 1) && !/[\w.:-]/u.test(expression[i + 1 + root.length] ?? "")) {
      result += `instance('${PRIMARY}')`;
    }
    result += c;
    if (!/\s/.test(c)) previous = c;
  }
  anchoredCache.set(cacheKey, result);
  return result;
}

// Negation (XPath's `- expr`, JavaRosa's too): the library reads `-` only before a number
// literal (`-${x}` fails, `--3` is NaN), so every other one is written as `(-1 * (expr))`,
// its operand being what XPath's grammar makes it: a union expression, through brackets, up
// to the next operator. Tokens as the server reads them (app/forms/xpath.py, _tokenize).
const TOKEN = /\s*(?:((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)|('[^']*'|"[^"]*")|(\$\{[^}\s]*\})|(\/\/|\/|\.\.|\.|::|!=|<=|>=|[()[\]@,|+\-=<>*$])|([\p{L}_][\p{L}\p{M}\p{N}_.-]*(?::[\p{L}_][\p{L}\p{M}\p{N}_.-]*)?))/uy;
const OPERATORS = new Set(["|", "+", "-", "=", "!=", "<", "<=", ">", ">="]);
const OPERATOR_NAMES = new Set(["and", "or", "div", "mod"]);
const negatedCache = new Map();

function tokens(text) {
  const found = [];
  const length = text.trimEnd().length;
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < length) {
    const match = TOKEN.exec(text);
    if (!match) return null; // not read here: the library says what is wrong
    const [, number, , , op, name] = match;
    const value = match.slice(1).find((part) => part !== undefined);
    const previous = found.at(-1);
    // XPath 1.0, 3.7: after a token that ends an operand, `*` and these names are operators.
    const endsOperand = Boolean(previous) && !previous.operator && !["@", "::", "(", "[", ","].includes(previous.value);
    const operator = (op !== undefined && OPERATORS.has(value))
      || (endsOperand && (op === "*" || (name !== undefined && OPERATOR_NAMES.has(value))));
    found.push({
      value, operator, number: number !== undefined, unary: value === "-" && !endsOperand,
      start: TOKEN.lastIndex - value.length, end: TOKEN.lastIndex,
    });
  }
  return found;
}

function negated(expression) {
  let result = negatedCache.get(expression);
  if (result !== undefined) return result;
  result = expression;
  for (let rewrites = expression.includes("-") ? 0 : 100; rewrites < 100; rewrites += 1) {
    const list = tokens(result) ?? [];
    let rewritten = false;
    for (let i = 0; i < list.length && !rewritten; i += 1) {
      if (!list[i].unary) continue;
      let first = i + 1;
      while (list[first]?.unary) first += 1;
      let end = first;
      for (let depth = 0; end < list.length; end += 1) {
        const { value, operator } = list[end];
        if (depth === 0 && ((operator && value !== "|" && end > first) || [")", "]", ","].includes(value))) break;
        if (value === "(" || value === "[") depth += 1;
        else if (value === ")" || value === "]") depth -= 1;
      }
      if (end === first || (first === i + 1 && end === first + 1 && list[first].number)) continue;
      const operand = result.slice(list[i + 1].start, list[end - 1].end);
      result = `${result.slice(0, list[i].start)}(-1 * (${operand}))${result.slice(list[end - 1].end)}`;
      rewritten = true;
    }
    if (!rewritten) break;
  }
  negatedCache.set(expression, result);
  return result;
}

/**
 * Evaluate `expression` with `context` (a node of the instance) as context node and current();
 * `as` is "boolean", "number", "string" or "nodes"; `env` gives `instances` ({name: Document}),
 * `primary` (the survey's instance document, whose root element is `root`), `current` (when
 * not the context node) and `choiceName(value, path, current)` (`current`: the node a relative
 * path is read from). Errors of the expression are
 * ExpressionErrors.
 */
export function evaluate(expression, context, as = "string", env = {}) {
  const saved = scope;
  const instances = env.primary ? { ...env.instances, [PRIMARY]: env.primary } : env.instances ?? {};
  scope = { current: env.current ?? context, instances, choiceName: env.choiceName ?? null };
  const text = negated(String(expression).trim());
  const source = env.primary ? anchored(text, env.primary.documentElement.nodeName) : text;
  try {
    const result = evaluator.evaluate(source, context, null, RESULT[as], null);
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
