// The XLSForm expression subset of app/forms/xpath.py, line for line, so that the phone and
// the server agree on relevance and constraints. Supported: `.`, ${name}, numbers, 'strings',
// = != < <= > >=, and, or, + - * div mod, parentheses, and the functions not, selected,
// count-selected, string-length, regex, true, false, number, string, if, contains,
// starts-with. tests/browser/test_xpath_js.py checks both evaluators on the same cases.

export class ExpressionError extends Error {
  constructor(message) {
    super(message);
    this.name = "ExpressionError";
  }
}

// Python's \w and \d are Unicode-aware: mirror them with Unicode property classes.
const W = "[\\p{L}\\p{N}_\\p{Mn}\\p{Mc}\\p{Pc}]";
const D = "\\p{Nd}";
const TOKEN = new RegExp(
  "\\s*(?:" +
    `(?<number>${D}+(?:\\.${D}+)?|\\.${D}+)` +
    "|(?<string>'[^']*'|\"[^\"]*\")" +
    `|(?<ref>\\$\\{[A-Za-z_](?:${W}|[.-])*\\})` +
    "|(?<op><=|>=|!=|=|<|>|\\+|-|\\*|\\(|\\)|,)" +
    `|(?<dot>\\.(?!${W}|\\.))` +
    `|(?<name>[A-Za-z_](?:${W}|-)*)` +
    ")",
  "uy",
);
const KINDS = ["number", "string", "ref", "op", "dot", "name"];

export const FUNCTIONS = new Set([
  "not", "selected", "count-selected", "string-length", "regex", "true", "false", "number",
  "string", "if", "contains", "starts-with",
]);
// How many arguments each function reads (Python raises IndexError -> ExpressionError).
const ARITY = {
  not: 1, selected: 2, "count-selected": 1, "string-length": 1, regex: 2, true: 0, false: 0,
  number: 1, string: 1, if: 2, contains: 2, "starts-with": 2,
};
const PRECEDENCE = {
  or: 1, and: 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5, "*": 6,
  div: 6, mod: 6,
};

function pyStrip(text) {
  return text.replace(/^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/gu, "");
}

function tokenize(source) {
  const tokens = [];
  const text = pyStrip(source);
  let pos = 0;
  while (pos < text.length) {
    TOKEN.lastIndex = pos;
    const match = TOKEN.exec(text);
    if (!match || TOKEN.lastIndex === pos) {
      throw new ExpressionError(`cannot read the expression at: '${text.slice(pos)}'`);
    }
    pos = TOKEN.lastIndex;
    const kind = KINDS.find((k) => match.groups[k] !== undefined);
    if (kind === undefined) {
      throw new ExpressionError(`cannot read the expression at: '${text.slice(pos)}'`);
    }
    tokens.push([kind, match.groups[kind]]);
  }
  return tokens;
}

function node(kind, value = null, args = []) {
  return { kind, value, args };
}

class Parser {
  constructor(text) {
    this.tokens = tokenize(text);
    this.pos = 0;
  }

  peek() {
    return this.pos < this.tokens.length ? this.tokens[this.pos] : null;
  }

  take() {
    const token = this.peek();
    if (token === null) throw new ExpressionError("the expression ends too early");
    this.pos += 1;
    return token;
  }

  expect(value) {
    const [, text] = this.take();
    if (text !== value) throw new ExpressionError(`expected '${value}', found '${text}'`);
  }

  parse() {
    const result = this.expression(0);
    if (this.peek() !== null) throw new ExpressionError(`unexpected '${this.peek()[1]}'`);
    return result;
  }

  binaryOperator() {
    const token = this.peek();
    if (token === null) return null;
    const [kind, text] = token;
    if ((kind === "op" || kind === "name") && Object.hasOwn(PRECEDENCE, text)) return text;
    return null;
  }

  expression(minPrecedence) {
    let left = this.unary();
    for (;;) {
      const operator = this.binaryOperator();
      if (operator === null || PRECEDENCE[operator] < minPrecedence) return left;
      const precedence = PRECEDENCE[operator];
      this.take();
      const right = this.expression(precedence + 1);
      left = node("op", operator, [left, right]);
    }
  }

  unary() {
    const [kind, text] = this.take();
    if (kind === "op" && text === "-") return node("op", "neg", [this.unary()]);
    if (kind === "op" && text === "(") {
      const inner = this.expression(0);
      this.expect(")");
      return inner;
    }
    if (kind === "number") return node("num", Number(text));
    if (kind === "string") return node("str", text.slice(1, -1));
    if (kind === "ref") return node("ref", text.slice(2, -1));
    if (kind === "dot") return node("dot");
    if (kind === "name") {
      if (!FUNCTIONS.has(text)) {
        throw new ExpressionError(`the function or path '${text}' is not supported`);
      }
      this.expect("(");
      const args = [];
      const next = this.peek();
      if (!(next !== null && next[0] === "op" && next[1] === ")")) {
        args.push(this.expression(0));
        for (;;) {
          const sep = this.peek();
          if (!(sep !== null && sep[0] === "op" && sep[1] === ",")) break;
          this.take();
          args.push(this.expression(0));
        }
      }
      this.expect(")");
      return node("call", text, args);
    }
    throw new ExpressionError(`unexpected '${text}'`);
  }
}

/** Parse an expression, throwing ExpressionError outside the supported subset. */
export function parse(text) {
  return new Parser(text).parse();
}

/** Names of the questions an expression refers to with ${name}. */
export function references(tree) {
  const found = new Set(tree.kind === "ref" ? [tree.value] : []);
  for (const arg of tree.args) for (const name of references(arg)) found.add(name);
  return found;
}

const PY_FLOAT =
  /^[+-]?(?:(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)$/;

function toNumber(value) {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value;
  if (value === null || value === undefined) return NaN;
  const text = pyStrip(String(value));
  if (PY_FLOAT.test(text)) return Number(text.replace(/_/g, ""));
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2].toLowerCase() === "nan") return NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  return NaN;
}

function toText(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "nan";
    if (value === Infinity) return "inf";
    if (value === -Infinity) return "-inf";
    if (Number.isInteger(value)) return BigInt(value).toString();
    if (Math.abs(value) < 1e-4) {
      // Python's repr: 1e-05, 1.5e-07 (JS would write 0.00001).
      const [mantissa, exponent] = value.toExponential().split("e");
      const sign = exponent[0] === "-" ? "-" : "+";
      return `${mantissa}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
    }
    return String(value);
  }
  return String(value);
}

function toBoolean(value) {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0 && !Number.isNaN(value);
  return toText(value) !== "";
}

function split(value) {
  return toText(value).split(/\s+/u).filter((part) => part !== "");
}

function compare(operator, left, right) {
  if (operator === "=" || operator === "!=") {
    let equal;
    if (typeof left === "boolean" || typeof right === "boolean") {
      equal = toBoolean(left) === toBoolean(right);
    } else if (typeof left === "number" || typeof right === "number") {
      equal = toNumber(left) === toNumber(right);
    } else {
      equal = toText(left) === toText(right);
    }
    return operator === "=" ? equal : !equal;
  }
  const a = toNumber(left);
  const b = toNumber(right);
  return { "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b }[operator];
}

function regexSearch(text, pattern) {
  let expression;
  try {
    expression = new RegExp(pattern, "u");
  } catch {
    expression = new RegExp(pattern);
  }
  return expression.test(text);
}

function call(name, args) {
  if (args.length < ARITY[name]) throw new ExpressionError(`${name}() needs more arguments`);
  switch (name) {
    case "not": return !toBoolean(args[0]);
    case "true": return true;
    case "false": return false;
    case "selected": return split(args[0]).includes(toText(args[1]));
    case "count-selected": return split(args[0]).length;
    case "string-length": return [...toText(args[0])].length;
    case "regex": return regexSearch(toText(args[0]), toText(args[1]));
    case "number": return toNumber(args[0]);
    case "string": return toText(args[0]);
    case "if":
      if (toBoolean(args[0])) return args[1];
      if (args.length < 3) throw new ExpressionError("if() needs more arguments");
      return args[2];
    case "contains": return toText(args[0]).includes(toText(args[1]));
    case "starts-with": return toText(args[0]).startsWith(toText(args[1]));
    default: throw new ExpressionError(`the function '${name}' is not supported`);
  }
}

function pythonModulo(a, b) {
  // Python's float % takes the sign of the divisor.
  let result = a % b;
  if (result !== 0 && result < 0 !== b < 0) result += b;
  return result;
}

/** Evaluate a parsed expression against answers; `.` is the current answer. */
export function evaluate(tree, answers, current = null) {
  if (tree.kind === "num" || tree.kind === "str") return tree.value;
  if (tree.kind === "ref") {
    return Object.hasOwn(answers, tree.value) ? answers[tree.value] : null;
  }
  if (tree.kind === "dot") return current === undefined ? null : current;
  if (tree.kind === "call") {
    return call(tree.value, tree.args.map((arg) => evaluate(arg, answers, current)));
  }
  const operator = tree.value;
  if (operator === "neg") return -toNumber(evaluate(tree.args[0], answers, current));
  if (operator === "and") {
    return (
      toBoolean(evaluate(tree.args[0], answers, current)) &&
      toBoolean(evaluate(tree.args[1], answers, current))
    );
  }
  if (operator === "or") {
    return (
      toBoolean(evaluate(tree.args[0], answers, current)) ||
      toBoolean(evaluate(tree.args[1], answers, current))
    );
  }
  const left = evaluate(tree.args[0], answers, current);
  const right = evaluate(tree.args[1], answers, current);
  if (["=", "!=", "<", "<=", ">", ">="].includes(operator)) return compare(operator, left, right);
  const a = toNumber(left);
  const b = toNumber(right);
  if (operator === "+") return a + b;
  if (operator === "-") return a - b;
  if (operator === "*") return a * b;
  if (operator === "div") return b ? a / b : NaN;
  return b ? pythonModulo(a, b) : NaN;
}

/** Evaluate an expression as a boolean (XPath boolean() rules). */
export function isTrue(tree, answers, current = null) {
  return toBoolean(evaluate(tree, answers, current));
}

/** Parse (with a small cache) and evaluate an expression text as a boolean. */
const cache = new Map();
export function check(text, answers, current = null) {
  let tree = cache.get(text);
  if (tree === undefined) {
    tree = parse(text);
    cache.set(text, tree);
  }
  return isTrue(tree, answers, current);
}
