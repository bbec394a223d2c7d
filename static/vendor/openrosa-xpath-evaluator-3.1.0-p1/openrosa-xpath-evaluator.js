// openrosa-xpath-evaluator 3.1.0 (Apache-2.0, see LICENSE), bundled
// by scripts/vendor-assets.sh from vendor/package-lock.json and vendor/openrosa-xpath-entry.js,
// with vendor/patches/openrosa-xpath-evaluator-3.1.0.patch.
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __require = /* @__PURE__ */ ((x) => typeof require !== "undefined" ? require : typeof Proxy !== "undefined" ? new Proxy(x, {
  get: (a, b) => (typeof require !== "undefined" ? require : a)[b]
}) : x)(function(x) {
  if (typeof require !== "undefined") return require.apply(this, arguments);
  throw Error('Dynamic require of "' + x + '" is not supported');
});
var __commonJS = (cb, mod) => function __require2() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// node_modules/openrosa-xpath-evaluator/src/utils/date.js
var require_date = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/utils/date.js"(exports, module) {
    var DATE_STRING = /^\d\d\d\d-\d{1,2}-\d{1,2}(?:T\d\d:\d\d:\d\d\.?\d?\d?(?:Z|[+-]\d\d:\d\d)|.*)?$/s;
    var ISO_DATE = /^(\d{4})-(\d\d)-(\d\d)$/;
    var ISO_DATETIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?(Z|([+-])(\d\d):(\d\d))?\n?$/;
    var PYTHON_SPACE = "[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*";
    var PYTHON_INT = new RegExp(`^${PYTHON_SPACE}([+-]?\\d+(?:_\\d+)*)${PYTHON_SPACE}$`);
    function wholeNumber(text) {
      const match = PYTHON_INT.exec(text);
      return match ? Number(match[1].replace(/_/g, "")) : NaN;
    }
    function moment(utc, year, month, day, hours = 0, minutes = 0, seconds = 0) {
      const d = /* @__PURE__ */ new Date(0);
      if (utc) {
        d.setUTCFullYear(year, month - 1, day);
        d.setUTCHours(hours, minutes, seconds, 0);
      } else {
        d.setFullYear(year, month - 1, day);
        d.setHours(hours, minutes, seconds, 0);
      }
      return d;
    }
    function parseDateTime(text) {
      const alone = ISO_DATE.exec(text);
      if (alone) {
        const [year2, month2, day2] = alone.slice(1).map(Number);
        if (year2 < 1 || month2 < 1 || month2 > 12 || day2 < 1 || day2 > 31) return /* @__PURE__ */ new Date(NaN);
        return moment(true, year2, month2, day2);
      }
      const m = ISO_DATETIME.exec(text);
      if (!m) return /* @__PURE__ */ new Date(NaN);
      const [year, month, day, hours, minutes] = m.slice(1, 6).map(Number);
      const seconds = Number(m[6] || 0);
      if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(month - 1, year)) {
        return /* @__PURE__ */ new Date(NaN);
      }
      if (hours > 23 || minutes > 59 || seconds > 59) return /* @__PURE__ */ new Date(NaN);
      const zone = m[8];
      const offset = zone && zone !== "Z" ? Number(m[10]) * 60 + Number(m[11]) : 0;
      if (zone && zone !== "Z" && (Number(m[10]) > 23 || Number(m[11]) > 59)) {
        return /* @__PURE__ */ new Date(NaN);
      }
      const at = moment(Boolean(zone), year, month, day, hours, minutes, seconds);
      const sign = m[9] === "-" ? -1 : 1;
      const milliseconds = Number((m[7] || "0").slice(0, 3).padEnd(3, "0"));
      return new Date(at.getTime() - sign * offset * 6e4 + milliseconds);
    }
    function dateToDays(d) {
      return d.getTime() / (1e3 * 60 * 60 * 24);
    }
    function dateStringToDays(d) {
      let temp = null;
      if (d.indexOf("T") > 0) {
        temp = parseDateTime(d);
      } else {
        temp = d.split("-");
        temp = new Date(temp[0], temp[1] - 1, temp[2]);
      }
      return dateToDays(temp);
    }
    var daysInMonth = function(m, y) {
      switch (m) {
        case 1:
          return y % 4 === 0 && y % 100 || y % 400 === 0 ? 29 : 28;
        case 8:
        case 3:
        case 5:
        case 10:
          return 30;
        default:
          return 31;
      }
    };
    var isValidDate = function(y, m, d) {
      m = parseInt(m, 10) - 1;
      return m >= 0 && m < 12 && d > 0 && d <= daysInMonth(m, y);
    };
    module.exports = {
      DATE_STRING,
      dateToDays,
      dateStringToDays,
      isValidDate,
      moment,
      parseDateTime,
      wholeNumber
    };
  }
});

// node_modules/openrosa-xpath-evaluator/src/date-extensions.js
var require_date_extensions = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/date-extensions.js"(exports, module) {
    var BlankDate = class extends Date {
      constructor() {
        super(NaN);
      }
      toString() {
        return "";
      }
    };
    var toISOLocalString2 = (date) => {
      if (["Invalid Date", ""].includes(date.toString())) {
        return date.toString();
      }
      const dt = new Date(date.getTime() - date.getTimezoneOffset() * 60 * 1e3).toISOString().replace("Z", getTimezoneOffsetAsTime(date));
      if (dt.indexOf("T00:00:00.000") > 0) {
        return dt.split("T")[0];
      }
      return dt;
    };
    var getTimezoneOffsetAsTime = (date) => {
      const pad2 = function(x) {
        return x < 10 ? `0${x}` : x;
      };
      if (date.toString() === "Invalid Date") {
        return date.toString();
      }
      const offsetMinutesTotal = date.getTimezoneOffset();
      const direction = offsetMinutesTotal < 0 ? "+" : "-";
      const hours = pad2(Math.floor(Math.abs(offsetMinutesTotal / 60)));
      const minutes = pad2(Math.floor(Math.abs(offsetMinutesTotal % 60)));
      return `${direction + hours}:${minutes}`;
    };
    Date.prototype.toISOLocalString = function() {
      return toISOLocalString2(this);
    };
    Date.prototype.getTimezoneOffsetAsTime = function() {
      return getTimezoneOffsetAsTime(this);
    };
    module.exports = {
      BlankDate,
      getTimezoneOffsetAsTime,
      toISOLocalString: toISOLocalString2
    };
  }
});

// node_modules/openrosa-xpath-evaluator/src/utils/xpath-cast.js
var require_xpath_cast = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/utils/xpath-cast.js"(exports, module) {
    var { DATE_STRING, dateToDays, dateStringToDays } = require_date();
    var { toISOLocalString: toISOLocalString2 } = require_date_extensions();
    module.exports = {
      asBoolean: asBoolean2,
      asNumber: asNumber2,
      asString: asString2
    };
    function asBoolean2(r) {
      if (isDomNode(r)) return !!asString2(r).trim();
      switch (r.t) {
        case "arr":
          return !!r.v.length;
        case "date":
          return !Number.isNaN(Number(r.v));
        // TODO should be handled in an extension rather than core code
        default:
          return !!r.v;
      }
    }
    function asNumber2(r) {
      if (r.t === "num") return r.v;
      if (r.t === "bool") return r.v ? 1 : 0;
      if (r.t === "date") return dateToDays(r.v);
      const str = asString2(r).trim();
      if (str === "") return NaN;
      if (DATE_STRING.test(str)) return dateStringToDays(str);
      return +str;
    }
    function asString2(r) {
      if (isDomNode(r)) return nodeToString(r);
      switch (r.t) {
        case "str":
          return r.v;
        case "arr":
          return r.v.length ? r.v[0].textContent || "" : "";
        case "date":
          return toISOLocalString2(r.v).replace(/T00:00:00.000.*/, "");
        // TODO should be handled in an extension rather than core code
        case "num":
        case "bool":
        default:
          return r.v.toString();
      }
    }
    function nodeToString(node) {
      switch (node.nodeType) {
        case Node.DOCUMENT_NODE:
          return node.documentElement.textContent;
        case Node.TEXT_NODE:
        case Node.CDATA_SECTION_NODE:
        case Node.PROCESSING_INSTRUCTION_NODE:
        case Node.COMMENT_NODE:
        case Node.ELEMENT_NODE:
          return node.textContent;
        // potentially not to spec for Element, but much simpler than recursing
        case Node.ATTRIBUTE_NODE:
          return node.value;
        default:
          throw new Error(`TODO No handling for node type: ${node.nodeType}`);
      }
    }
    function isDomNode(thing) {
      return thing instanceof Node;
    }
  }
});

// node_modules/openrosa-xpath-evaluator/src/utils/operation.js
var require_operation = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/utils/operation.js"(exports, module) {
    var { asBoolean: asBoolean2, asNumber: asNumber2, asString: asString2 } = require_xpath_cast();
    module.exports = {
      handleOperation
    };
    var OR = 0;
    var AND = 4;
    var EQ = 8;
    var NE = 9;
    var LT = 12;
    var LTE = 13;
    var GT = 14;
    var GTE = 15;
    var PLUS = 16;
    var MINUS = 17;
    var MULT = 20;
    var DIV = 21;
    var MOD = 22;
    var UNION = 24;
    function handleOperation(lhs, op, rhs) {
      switch (op) {
        case OR:
          return asBoolean2(lhs) || asBoolean2(rhs);
        case AND:
          return asBoolean2(lhs) && asBoolean2(rhs);
        case EQ:
          return equalityCompare(lhs, rhs, (a, b) => a === b);
        case NE:
          return equalityCompare(lhs, rhs, (a, b) => a !== b);
        case LT:
          return relationalCompare(lhs, rhs, (a, b) => a < b);
        case LTE:
          return relationalCompare(lhs, rhs, (a, b) => a <= b);
        case GT:
          return relationalCompare(lhs, rhs, (a, b) => a > b);
        case GTE:
          return relationalCompare(lhs, rhs, (a, b) => a >= b);
        case PLUS:
          return asNumber2(lhs) + asNumber2(rhs);
        case MINUS:
          return asNumber2(lhs) - asNumber2(rhs);
        case MULT:
          return asNumber2(lhs) * asNumber2(rhs);
        case DIV:
          return asNumber2(lhs) / asNumber2(rhs);
        case MOD:
          return asNumber2(lhs) % asNumber2(rhs);
        case UNION:
          return [...lhs.v, ...rhs.v];
        default:
          throw new Error(`No handling for op ${op}`);
      }
    }
    function bothOf(lhs, rhs, t) {
      return lhs.t === t && rhs.t === t;
    }
    function oneOf(lhs, rhs, t) {
      return lhs.t === t || rhs.t === t;
    }
    function castFor(r) {
      switch (r.t) {
        case "num":
          return asNumber2;
        case "str":
          return asString2;
        default:
          throw new Error(`No cast for type: ${r.t}`);
      }
    }
    function relationalCompare(lhs, rhs, compareFn) {
      let i;
      let j;
      if (bothOf(lhs, rhs, "arr")) {
        for (i = lhs.v.length - 1; i >= 0; --i) {
          for (j = rhs.v.length - 1; j >= 0; --j) {
            if (compareFn(asNumber2(lhs.v[i]), asNumber2(rhs.v[j])))
              return true;
          }
        }
        return false;
      }
      if (lhs.t === "arr") {
        rhs = asNumber2(rhs);
        return lhs.v.map(asNumber2).some((v) => compareFn(v, rhs));
      }
      if (rhs.t === "arr") {
        lhs = asNumber2(lhs);
        return rhs.v.map(asNumber2).some((v) => compareFn(lhs, v));
      }
      return compareFn(asNumber2(lhs), asNumber2(rhs));
    }
    function equalityCompare(lhs, rhs, compareFn) {
      let i;
      let j;
      if (bothOf(lhs, rhs, "arr")) {
        for (i = lhs.v.length - 1; i >= 0; --i) {
          for (j = rhs.v.length - 1; j >= 0; --j) {
            if (compareFn(lhs.v[i].textContent, rhs.v[j].textContent))
              return true;
          }
        }
        return false;
      }
      if (oneOf(lhs, rhs, "bool"))
        return compareFn(asBoolean2(lhs), asBoolean2(rhs));
      if (lhs.t === "arr") {
        const cast = castFor(rhs);
        rhs = cast(rhs);
        return lhs.v.map(cast).some((v) => compareFn(v, rhs));
      }
      if (rhs.t === "arr") {
        const cast = castFor(lhs);
        lhs = cast(lhs);
        return rhs.v.map(cast).some((v) => compareFn(v, lhs));
      }
      if (oneOf(lhs, rhs, "num")) return compareFn(asNumber2(lhs), asNumber2(rhs));
      if (oneOf(lhs, rhs, "str")) return compareFn(asString2(lhs), asString2(rhs));
      throw new Error(`not handled yet for these types: ${compareFn.toString()}`);
    }
  }
});

// node_modules/openrosa-xpath-evaluator/src/xpr.js
var require_xpr = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/xpr.js"(exports, module) {
    module.exports = {
      boolean: (v) => ({ t: "bool", v }),
      number: (v) => ({ t: "num", v }),
      string: (v) => ({ t: "str", v }),
      date: (v) => ({ t: "date", v })
    };
  }
});

// node_modules/openrosa-xpath-evaluator/src/utils/native.js
var require_native = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/utils/native.js"(exports, module) {
    var { asNumber: asNumber2, asString: asString2 } = require_xpath_cast();
    var xpr = require_xpr();
    module.exports = { preprocessNativeArgs };
    var cast = { num: asNumber2, str: asString2 };
    var fns = {
      ceiling: { min: 1, max: 1, cast: ["num"] },
      contains: { min: 2, max: 2, cast: ["str", "str"] },
      floor: { min: 1, max: 1, cast: ["num"] },
      id: {
        min: 1,
        max: 1,
        conv: (r) => [
          xpr.string(
            r.t === "arr" ? r.v.map(asString2).join(" ") : asString2(r)
          )
        ]
      },
      lang: { min: 1, max: 1, cast: ["str"] },
      "starts-with": { min: 2, max: 2, cast: ["str", "str"] },
      substring: { min: 2, max: 3, conv: convertSubstringArgs },
      "substring-after": { min: 2, max: 2, cast: ["str", "str"] },
      "substring-before": { min: 2, max: 2, cast: ["str", "str"] },
      translate: { min: 3, max: 3, cast: ["str", "str", "str"] }
    };
    function preprocessNativeArgs(name, args) {
      const def = fns[name];
      if (!def) return args;
      if (args.length < def.min) throw new Error("too few args");
      if (args.length > def.max) throw new Error("too many args");
      if (def.conv) {
        return def.conv(...args);
      }
      if (def.cast) {
        return args.map((v, i) => {
          const t = def.cast[i];
          return { t, v: cast[t](v) };
        });
      }
      return args;
    }
    function convertSubstringArgs(str, start, len) {
      str = xpr.string(asString2(str));
      start = asNumber2(start);
      if (len === void 0) {
        return [str, xpr.number(Math.max(0, start))];
      }
      return [str, xpr.number(start), xpr.number(asNumber2(len))];
    }
  }
});

// node_modules/openrosa-xpath-evaluator/src/utils/sort-by-document-order.js
var require_sort_by_document_order = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/utils/sort-by-document-order.js"(exports, module) {
    module.exports = function(ir) {
      if (ir.ordrd) return;
      ir.v.sort(byDocumentOrder);
    };
    function byDocumentOrder(a, b) {
      const compare = a.compareDocumentPosition(b);
      if (compare & Node.DOCUMENT_POSITION_PRECEDING) {
        return 1;
      }
      if (compare & Node.DOCUMENT_POSITION_FOLLOWING) {
        return -1;
      }
      return 0;
    }
  }
});

// node_modules/openrosa-xpath-evaluator/src/utils/result.js
var require_result = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/utils/result.js"(exports, module) {
    var sortByDocumentOrder = require_sort_by_document_order();
    module.exports = { toSnapshotResult };
    function toSnapshotResult(arr, resultType, singleItem) {
      if (resultType === XPathResult.ORDERED_NODE_ITERATOR_TYPE || resultType === XPathResult.ORDERED_NODE_SNAPSHOT_TYPE) {
        sortByDocumentOrder(arr);
      }
      return ((nodes) => {
        let idx = 0;
        return {
          resultType,
          singleNodeValue: singleItem || nodes[0] || null,
          snapshotLength: nodes.length,
          snapshotItem: (i) => nodes[i] || null,
          iterateNext: () => nodes[idx++] || null
        };
      })(arr.v);
    }
  }
});

// node_modules/openrosa-xpath-evaluator/src/extended-xpath.js
var require_extended_xpath = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/extended-xpath.js"(exports, module) {
    var { handleOperation } = require_operation();
    var { preprocessNativeArgs } = require_native();
    var { toSnapshotResult } = require_result();
    var { asBoolean: asBoolean2, asNumber: asNumber2, asString: asString2 } = require_xpath_cast();
    var OR = 0;
    var AND = 4;
    var EQ = 8;
    var NE = 9;
    var LT = 12;
    var LTE = 13;
    var GT = 14;
    var GTE = 15;
    var PLUS = 16;
    var MINUS = 17;
    var MULT = 20;
    var DIV = 21;
    var MOD = 22;
    var UNION = 24;
    var FUNCTION_NAME = /^[a-z]/;
    var D = 57005;
    module.exports = function(wrapped, extensions) {
      const extendedFuncs = extensions.func || {};
      const extendedProcessors = extensions.process || {};
      const toInternalResult = function(r) {
        let v;
        let i;
        let ordrd;
        switch (r.resultType) {
          case XPathResult.NUMBER_TYPE:
            return { t: "num", v: r.numberValue };
          case XPathResult.BOOLEAN_TYPE:
            return { t: "bool", v: r.booleanValue };
          case XPathResult.STRING_TYPE:
            return { t: "str", v: r.stringValue };
          case XPathResult.ORDERED_NODE_ITERATOR_TYPE:
            ordrd = true;
          /* falls through */
          case XPathResult.UNORDERED_NODE_ITERATOR_TYPE:
            v = [];
            while (i = r.iterateNext()) v.push(i);
            return { t: "arr", v, ordrd };
          case XPathResult.ORDERED_NODE_SNAPSHOT_TYPE:
            ordrd = true;
          /* falls through */
          case XPathResult.UNORDERED_NODE_SNAPSHOT_TYPE:
            v = [];
            for (i = 0; i < r.snapshotLength; ++i) {
              v.push(r.snapshotItem(i));
            }
            return { t: "arr", v, ordrd };
          case XPathResult.ANY_UNORDERED_NODE_TYPE:
          case XPathResult.FIRST_ORDERED_NODE_TYPE:
            return { t: "arr", v: [r.singleNodeValue] };
          default:
            throw new Error(`no handling for result type: ${r.resultType}`);
        }
      };
      const toExternalResult = function(r, rt) {
        if (extendedProcessors.toExternalResult) {
          const res = extendedProcessors.toExternalResult(r, rt);
          if (res) return res;
        }
        switch (rt) {
          case null:
          case void 0:
          case XPathResult.ANY_TYPE:
            switch (r.t) {
              case "num":
                return toExternalResult(r, XPathResult.NUMBER_TYPE);
              case "str":
                return toExternalResult(r, XPathResult.STRING_TYPE);
              case "bool":
                return toExternalResult(r, XPathResult.BOOLEAN_TYPE);
              case "arr":
                return toExternalResult(
                  r,
                  XPathResult.UNORDERED_NODE_ITERATOR_TYPE
                );
              default:
                throw new Error(`unrecognised internal type: ${r.t}`);
            }
          case XPathResult.NUMBER_TYPE:
            return {
              resultType: rt,
              stringValue: asString2(r),
              numberValue: asNumber2(r)
            };
          case XPathResult.STRING_TYPE:
            return { resultType: rt, stringValue: asString2(r) };
          case XPathResult.BOOLEAN_TYPE:
            return {
              resultType: rt,
              stringValue: asString2(r),
              booleanValue: asBoolean2(r)
            };
          case XPathResult.UNORDERED_NODE_ITERATOR_TYPE:
          case XPathResult.ORDERED_NODE_ITERATOR_TYPE:
          case XPathResult.UNORDERED_NODE_SNAPSHOT_TYPE:
          case XPathResult.ORDERED_NODE_SNAPSHOT_TYPE:
          case XPathResult.ANY_UNORDERED_NODE_TYPE:
          case XPathResult.FIRST_ORDERED_NODE_TYPE:
            return toSnapshotResult(r, rt);
          default:
            throw new Error("unrecognised return type:", rt);
        }
      };
      const typefor = function(val) {
        if (extendedProcessors.typefor) {
          const res = extendedProcessors.typefor(val);
          if (res) return res;
        }
        if (typeof val === "boolean") return "bool";
        if (typeof val === "number") return "num";
        return "str";
      };
      const evaluate = function(input, cN, nR, rT, _, contextSize = 1, contextPosition = 1) {
        let i;
        let cur;
        const stack = [{ t: "root", tokens: [] }];
        const peek = () => stack[stack.length - 1];
        const pushToken = (t) => {
          const { tokens } = peek();
          if (prevToken() !== D || t !== D) tokens.push(t);
        };
        const isDeadBranch = () => {
          const { dead, t, tokens } = peek();
          if (dead) return true;
          if (t === "fn") {
            return prevToken() === D;
          }
          return tokens.includes(D);
        };
        const err = (m) => {
          throw new Error((m || "") + JSON.stringify({ stack, cur }));
        };
        const newCurrent = function() {
          cur = { v: "" };
        };
        const pushOp = function(t) {
          if (t <= AND) {
            evalOps(t);
          }
          pushToken({ t: "op", v: t });
          if (t <= AND) {
            const { tokens } = peek();
            const prev = asBoolean2(tokens[tokens.length - 2]);
            if (t === OR ? prev : !prev) pushToken(D);
          }
          newCurrent();
        };
        const callFn = function(name, supplied) {
          const args = [];
          for (let i2 = 0; i2 < supplied.length; ++i2) {
            if (i2 % 2) {
              if (supplied[i2] !== ",")
                throw new Error(
                  `Weird args (should be separated by commas):${JSON.stringify(
                    supplied
                  )}`
                );
            } else args.push(supplied[i2]);
          }
          if (Object.prototype.hasOwnProperty.call(extendedFuncs, name)) {
            return extendedFuncs[name].apply(
              { cN, contextSize, contextPosition },
              args
            );
          }
          return callNative(name, preprocessNativeArgs(name, args));
        };
        const callNative = function(name, args) {
          let argString = `${name}(`;
          for (let i2 = 0; i2 < args.length; ++i2) {
            if (i2) argString += ",";
            const arg = args[i2];
            switch (arg.t) {
              case "arr":
                throw new Error(
                  `callNative() can't handle nodeset functions yet for ${name}()`
                );
              case "bool":
                argString += `${arg.v}()`;
                break;
              case "num":
                if (arg.v === Infinity) argString += "( 1 div 0)";
                else if (arg.v === -Infinity) argString += "(-1 div 0)";
                else argString += arg.v.toFixed(20);
                break;
              case "str": {
                const quote = arg.quote || (arg.v.indexOf('"') === -1 ? '"' : "'");
                if (arg.v.indexOf(quote) !== -1)
                  argString += `concat("${arg.v.split('"').join(`", '"', "`)}")`;
                else argString += quote + arg.v + quote;
                break;
              }
              // there aren't any other native types TODO do we need a hook for allowing date conversion?
              default:
                break;
            }
          }
          return toInternalResult(
            wrapped.evaluate(
              `${argString})`,
              cN,
              nR,
              XPathResult.ANY_TYPE,
              null
            )
          );
        };
        const evalOp = function(lhs, op, rhs) {
          if (op > AND && (lhs === D || rhs === D)) {
            return D;
          }
          if (extendedProcessors.handleInfix) {
            let res = extendedProcessors.handleInfix(err, lhs, op, rhs);
            if (res && res.t === "continue") {
              lhs = res.lhs;
              op = res.op;
              rhs = res.rhs;
              res = null;
            }
            if (typeof res !== "undefined" && res !== null) return res;
          }
          return handleOperation(lhs, op, rhs);
        };
        const evalOps = function(lastOp) {
          const { tokens } = peek();
          if (tokens.length < 2) return;
          if (tokens[2] === D && tokens[1].v >= lastOp) {
            const endExpr = tokens.indexOf(",", 2);
            tokens.splice(0, endExpr === -1 ? tokens.length : endExpr, {
              t: "bool",
              v: asBoolean2(tokens[0])
            });
          }
          for (let j = UNION; j >= lastOp; j -= 4) {
            let i2 = 1;
            while (i2 < tokens.length - 1) {
              if (tokens[i2].t === "op" && tokens[i2].v >= j) {
                const res = evalOp(
                  tokens[i2 - 1],
                  tokens[i2].v,
                  tokens[i2 + 1]
                );
                tokens.splice(i2, 2);
                tokens[i2 - 1] = { t: typefor(res), v: res };
              } else ++i2;
            }
          }
        };
        const handleXpathExpr = function() {
          if (isDeadBranch()) {
            newCurrent();
            return;
          }
          let expr = cur.v;
          const prev = prevToken();
          if (prev && prev.t === "arr") {
            if (expr.charAt(0) !== "/")
              err(
                `not sure how to handle expression called on nodeset that doesn't start with a '/': ${expr}`
              );
            expr = wrapped.createExpression(`.${expr}`, nR);
            const newNodeset = [];
            prev.v.forEach((node) => {
              const res = toInternalResult(expr.evaluate(node));
              newNodeset.push(...res.v);
            });
            prev.v = newNodeset;
          } else {
            const contextNode = cN?.nodeType === Node.ATTRIBUTE_NODE && expr.startsWith("/") ? cN.ownerDocument : cN;
            pushToken(
              toInternalResult(
                wrapped.evaluate(
                  expr,
                  contextNode,
                  nR,
                  XPathResult.ANY_TYPE,
                  null
                )
              )
            );
          }
          newCurrent();
        };
        const nextChar = function() {
          return input.charAt(i + 1);
        };
        const finaliseNum = function() {
          cur.v = parseFloat(cur.str);
          pushToken(cur);
          newCurrent();
        };
        const prevToken = function() {
          const peeked = peek().tokens;
          return peeked[peeked.length - 1];
        };
        const isNum = function(c) {
          return c >= "0" && c <= "9";
        };
        newCurrent();
        for (i = 0; i < input.length; ++i) {
          const c = input.charAt(i);
          if (cur.t === "sq") {
            if (cur.inString) {
              if (cur.inString === c) delete cur.inString;
            } else if (c === "[") {
              ++cur.depth;
            } else if (c === "'" || c === '"') {
              cur.inString = c;
            } else if (c === "]") {
              if (--cur.depth) {
                cur.v += c;
              } else {
                if (isDeadBranch()) {
                  newCurrent();
                  continue;
                }
                let contextNodes;
                const prev = prevToken();
                if (prev.t === "arr") {
                  contextNodes = prev.v;
                } else
                  throw new Error(
                    "Not sure how to handle context node for predicate in this situation."
                  );
                const expr = cur.v;
                const filteredNodes = contextNodes.filter((cN2, i2) => {
                  const res = toInternalResult(
                    evaluate(
                      expr,
                      cN2,
                      nR,
                      XPathResult.ANY_TYPE,
                      null,
                      contextNodes.length,
                      i2 + 1
                    )
                  );
                  return res.t === "num" ? asNumber2(res) === 1 + i2 : asBoolean2(res);
                });
                prev.v = filteredNodes;
                newCurrent();
              }
              continue;
            }
            cur.v += c;
            continue;
          }
          if (cur.t === "str") {
            if (c === cur.quote) {
              pushToken(cur);
              newCurrent();
            } else cur.v += c;
            continue;
          }
          if (cur.t === "num") {
            if (isNum(c) || c === "e" || c === "-" && input[i - 1] === "e") {
              cur.str += c;
              continue;
            } else if (c === " " && cur.str === "-") {
              continue;
            } else if (c === "." && !cur.decimal) {
              cur.decimal = 1;
              cur.str += c;
            } else finaliseNum();
          }
          if (isNum(c)) {
            if (cur.v === "") {
              cur = { t: "num", str: c };
            } else cur.v += c;
          } else
            switch (c) {
              case "'":
              case '"':
                if (cur.v === "") {
                  cur = { t: "str", quote: c, v: "" };
                } else err(`Not sure how to handle: ${c}`);
                break;
              case "(":
                stack.push({
                  v: cur.v,
                  t: "fn",
                  dead: isDeadBranch(),
                  tokens: []
                });
                newCurrent();
                break;
              case ")":
                if (cur.v !== "") handleXpathExpr();
                evalOps(OR);
                cur = stack.pop();
                if (cur.t !== "fn") err('")" outside function!');
                if (cur.dead) {
                  pushToken(D);
                } else if (cur.v) {
                  if (cur.v.charAt(0) === "/") {
                    if (cur.tokens.length)
                      err(
                        "Unexpected args for node test function!"
                      );
                    cur.v += "()";
                    handleXpathExpr();
                  } else {
                    pushToken(callFn(cur.v, cur.tokens));
                  }
                } else {
                  if (cur.tokens.length !== 1)
                    err(
                      `Expected one token, but found: ${cur.tokens.length}`
                    );
                  pushToken(cur.tokens[0]);
                }
                newCurrent();
                break;
              case ",":
                if (peek().t !== "fn")
                  err("Unexpected comma outside function arguments.");
                if (cur.v) handleXpathExpr();
                pushToken(",");
                break;
              case "*":
                {
                  const prev = prevToken();
                  if (!prev || prev === "," || prev.t === "op" || cur.v) {
                    cur.v += c;
                    break;
                  }
                  pushOp(MULT);
                }
                break;
              case "-":
                {
                  const prev = prevToken();
                  if (cur.v !== "" && nextChar() !== " " && input.charAt(i - 1) !== " ") {
                    cur.v += c;
                  } else if (cur.v === "" && (!prev || // match case: ...+-1
                  prev.t === "op" || // previous was a separate function arg
                  prev === ",")) {
                    cur = { t: "num", str: "-" };
                  } else {
                    pushOp(MINUS);
                  }
                }
                break;
              case "=":
                switch (cur.v) {
                  case "<":
                    pushOp(LTE);
                    break;
                  case ">":
                    pushOp(GTE);
                    break;
                  case "!":
                    pushOp(NE);
                    break;
                  default:
                    if (cur.v) handleXpathExpr();
                    pushOp(EQ);
                }
                break;
              case "!":
                if (cur.v) handleXpathExpr();
                cur.v = c;
                break;
              case ">":
              case "<":
                if (cur.v) handleXpathExpr();
                if (nextChar() === "=") {
                  cur.v = c;
                } else {
                  pushOp(c === ">" ? GT : LT);
                }
                break;
              case "+":
                if (cur.v) handleXpathExpr();
                pushOp(PLUS);
                break;
              case "|":
                if (cur.v) handleXpathExpr();
                pushOp(UNION);
                break;
              case "\n":
              case "\r":
              case "	":
              case " ":
                if (cur.v === "") break;
                if (!FUNCTION_NAME.test(cur.v)) handleXpathExpr();
                break;
              case "v":
                if (cur.v === "di") {
                  pushOp(DIV);
                } else cur.v += c;
                break;
              case "r":
                if (cur.v === "o") {
                  pushOp(OR);
                } else cur.v += c;
                break;
              case "d":
                if (cur.v === "an") {
                  pushOp(AND);
                } else if (cur.v === "mo") {
                  pushOp(MOD);
                } else cur.v += c;
                break;
              case "[":
                if (cur.v) {
                  handleXpathExpr();
                  newCurrent();
                }
                cur.t = "sq";
                cur.depth = 1;
                break;
              case ".":
                if (cur.v === "" && isNum(nextChar())) {
                  cur = { t: "num", str: c };
                  break;
                }
              /* falls through */
              default:
                cur.v += c;
            }
        }
        if (cur.t === "num") finaliseNum();
        if (cur.v) handleXpathExpr();
        if (stack.length !== 1) err("Stuff left on stack.");
        if (stack[0].t !== "root") err("Weird stuff on stack.");
        if (stack[0].tokens.length === 0) err("No tokens.");
        evalOps(OR);
        if (stack[0].tokens.length !== 1) err("Too many tokens.");
        return toExternalResult(stack[0].tokens[0], rT);
      };
      this.evaluate = evaluate;
    };
  }
});

// node_modules/openrosa-xpath-evaluator/src/geo.js
var require_geo = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/geo.js"(exports, module) {
    var EARTH_EQUATORIAL_RADIUS_METERS = 6378100;
    var PRECISION = 100;
    var { asString: asString2 } = require_xpath_cast();
    function _toLatLngs(geopoints) {
      return geopoints.map((geopoint) => geopoint.trim().split(" "));
    }
    function _toRadians(angle) {
      return angle * Math.PI / 180;
    }
    function _latLngsValid(latLngs) {
      return latLngs.every(
        (coords) => coords[0] !== "" && coords[0] >= -90 && coords[0] <= 90 && coords[1] !== "" && coords[1] >= -180 && coords[1] <= 180 && (typeof coords[2] === "undefined" || !Number.isNaN(Number(coords[2]))) && (typeof coords[3] === "undefined" || !Number.isNaN(Number(coords[3])) && coords[3] >= 0)
      );
    }
    function _distanceBetween(p1, p2) {
      const \u0394\u03BB = _toRadians(p1.lng - p2.lng);
      const \u03C61 = _toRadians(p1.lat);
      const \u03C62 = _toRadians(p2.lat);
      return Math.acos(
        Math.sin(\u03C61) * Math.sin(\u03C62) + Math.cos(\u03C61) * Math.cos(\u03C62) * Math.cos(\u0394\u03BB)
      ) * EARTH_EQUATORIAL_RADIUS_METERS;
    }
    function area(geopoints) {
      const latLngs = _toLatLngs(geopoints);
      if (!_latLngsValid(latLngs)) {
        return Number.NaN;
      }
      const pointsCount = latLngs.length;
      let area2 = 0;
      if (pointsCount > 2) {
        for (let i = 0; i < pointsCount; i++) {
          const p1 = {
            lat: latLngs[i][0],
            lng: latLngs[i][1]
          };
          const p2 = {
            lat: latLngs[(i + 1) % pointsCount][0],
            lng: latLngs[(i + 1) % pointsCount][1]
          };
          area2 += _toRadians(p2.lng - p1.lng) * (2 + Math.sin(_toRadians(p1.lat)) + Math.sin(_toRadians(p2.lat)));
        }
        area2 = area2 * EARTH_EQUATORIAL_RADIUS_METERS * EARTH_EQUATORIAL_RADIUS_METERS / 2;
      }
      return Math.abs(Math.round(area2 * PRECISION)) / PRECISION;
    }
    function distance(geopoints) {
      const latLngs = _toLatLngs(geopoints);
      if (!_latLngsValid(latLngs)) {
        return Number.NaN;
      }
      const pointsCount = latLngs.length;
      let distance2 = 0;
      if (pointsCount > 1) {
        for (let i = 1; i < pointsCount; i++) {
          const p1 = {
            lat: latLngs[i - 1][0],
            lng: latLngs[i - 1][1]
          };
          const p2 = {
            lat: latLngs[i][0],
            lng: latLngs[i][1]
          };
          distance2 += _distanceBetween(p1, p2);
        }
      }
      return Math.abs(Math.round(distance2 * PRECISION)) / PRECISION;
    }
    module.exports = {
      asGeopoints,
      area,
      distance
    };
    function asGeopoints(...r) {
      if (r.length > 1) {
        return r.map(asString2);
      }
      if (r[0].t === "arr" && r[0].v.length > 1) {
        return r[0].v.map(asString2);
      }
      return asString2(r[0]).split(";");
    }
  }
});

// node_modules/openrosa-xpath-evaluator/src/digest.js
var require_digest = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/digest.js"(exports, module) {
    module.exports = (message, algo, encoding) => {
      let forge;
      try {
        forge = __require("node-forge");
      } catch (err) {
        throw new Error(
          `Cannot find module 'node-forge'; this is required to use the digest() function.`
        );
      }
      message = message.v;
      algo = algo && algo.v && algo.v.toLowerCase();
      encoding = encoding && encoding.v && encoding.v.toLowerCase() || "base64";
      if (!algo || !/^(md5|sha-1|sha-256|sha-384|sha-512)$/.test(algo)) {
        throw new Error("Invalid algo.");
      }
      if (!/^(base64|hex)$/.test(encoding)) {
        throw new Error("Invalid encoding.");
      }
      const md = forge.md[algo.replace("-", "")].create();
      md.update(message);
      const hashBuffer = md.digest();
      if (!encoding || encoding === "base64") {
        return forge.util.encode64(hashBuffer.bytes());
      }
      return md.digest().toHex();
    };
  }
});

// node_modules/openrosa-xpath-evaluator/src/random-token.js
var require_random_token = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/random-token.js"(exports, module) {
    function _random13chars() {
      return Math.random().toString(16).substring(2);
    }
    function randomToken(length) {
      const loops = Math.ceil(length / 13);
      return new Array(loops).fill(_random13chars).reduce((string, func) => string + func(), "").substring(0, length);
    }
    module.exports = {
      randomToken
    };
  }
});

// node_modules/openrosa-xpath-evaluator/src/utils/shuffle.js
var require_shuffle = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/utils/shuffle.js"(exports, module) {
    var MAX_INT32 = 2147483647;
    var MINSTD = 16807;
    function shuffle(array, seed) {
      let rng;
      const result = [];
      if (typeof seed !== "undefined") {
        if (!Number.isInteger(seed)) {
          throw new Error(
            `Invalid seed argument. Integer required, but got: ${seed}`
          );
        }
        const rnd = new Random(seed);
        rng = rnd.nextFloat.bind(rnd);
      } else {
        rng = Math.random;
      }
      for (let i = 0; i < array.length; ++i) {
        const j = Math.floor(rng() * (i + 1));
        if (j !== i) {
          result[i] = result[j];
        }
        result[j] = array[i];
      }
      return result;
    }
    function Random(seed) {
      this._seed = seed % MAX_INT32;
      if (this._seed <= 0) {
        this._seed += MAX_INT32 - 1;
      }
    }
    Random.prototype.next = function() {
      this._seed = this._seed * MINSTD % MAX_INT32;
      return this._seed;
    };
    Random.prototype.nextFloat = function() {
      return (this.next() - 1) / (MAX_INT32 - 1);
    };
    module.exports = shuffle;
  }
});

// node_modules/openrosa-xpath-evaluator/src/openrosa-extensions.js
var require_openrosa_extensions = __commonJS({
  "node_modules/openrosa-xpath-evaluator/src/openrosa-extensions.js"(exports, module) {
    var { BlankDate, getTimezoneOffsetAsTime } = require_date_extensions();
    var { asGeopoints, area, distance } = require_geo();
    var digest = require_digest();
    var { randomToken } = require_random_token();
    var {
      DATE_STRING,
      dateStringToDays,
      dateToDays,
      isValidDate,
      moment,
      parseDateTime,
      wholeNumber
    } = require_date();
    var shuffle = require_shuffle();
    var { asBoolean: asBoolean2, asNumber: asNumber2, asString: asString2 } = require_xpath_cast();
    var sortByDocumentOrder = require_sort_by_document_order();
    var XPR2 = require_xpr();
    var RAW_NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;
    var EQ = 8;
    var GTE = 15;
    var PLUS = 16;
    var MINUS = 17;
    var openrosaXPathExtensions = function() {
      const TOO_MANY_ARGS = new Error("too many args");
      const TOO_FEW_ARGS = new Error("too few args");
      const _round = function(num) {
        if (num < 0) {
          return -Math.round(-num);
        }
        return Math.round(num);
      };
      const formatDate = function(date, format) {
        date = asDate(date);
        format = asString2(format);
        if (date.toString() === "" || Number.isNaN(Number(date))) return "";
        let c;
        let i;
        let sb = "";
        const year = 1900 + date.getYear();
        const month = 1 + date.getMonth();
        const day = date.getDate();
        const hour = date.getHours();
        const locale = globalThis.window?.enketoFormLocale;
        for (i = 0; i < format.length; ++i) {
          c = format.charAt(i);
          if (c === "%") {
            if (++i >= format.length) {
              throw new Error("date format string ends with %");
            }
            c = format.charAt(i);
            if (c === "%") {
              sb += "%";
            } else if (c === "Y") {
              sb += _zeroPad(year, 4);
            } else if (c === "y") {
              sb += _zeroPad(year, 4).substring(2);
            } else if (c === "m") {
              sb += _zeroPad(month, 2);
            } else if (c === "n") {
              sb += month;
            } else if (c === "b") {
              sb += date.toLocaleDateString(locale, { month: "short" });
            } else if (c === "d") {
              sb += _zeroPad(day, 2);
            } else if (c === "e") {
              sb += day;
            } else if (c === "H") {
              sb += _zeroPad(hour, 2);
            } else if (c === "h") {
              sb += hour;
            } else if (c === "M") {
              sb += _zeroPad(date.getMinutes(), 2);
            } else if (c === "S") {
              sb += _zeroPad(date.getSeconds(), 2);
            } else if (c === "3") {
              sb += _zeroPad(date.getMilliseconds(), 3);
            } else if (c === "a") {
              sb += date.toLocaleDateString(locale, { weekday: "short" });
            } else if (c === "Z" || c === "A" || c === "B") {
              throw new Error(
                `unsupported escape in date format string [%${c}]`
              );
            } else {
              throw new Error(
                `unrecognized escape in date format string [%${c}]`
              );
            }
          } else {
            sb += c;
          }
        }
        return sb;
      };
      const ret = {};
      const func = {
        abs(r) {
          return XPR2.number(Math.abs(asNumber2(r)));
        },
        acos(r) {
          return XPR2.number(Math.acos(asNumber2(r)));
        },
        asin(r) {
          return XPR2.number(Math.asin(asNumber2(r)));
        },
        atan(r) {
          return XPR2.number(Math.atan(asNumber2(r)));
        },
        atan2(r, ...rest) {
          if (rest.length > 0) {
            const y = asNumber2(r);
            const x = asNumber2(rest[0]);
            return XPR2.number(Math.atan2(y, x));
          }
          return XPR2.number(Math.atan2(asNumber2(r)));
        },
        boolean(r) {
          if (arguments.length === 0) throw new Error("too few args");
          if (arguments.length > 1) throw new Error("too few args");
          return XPR2.boolean(asBoolean2(r));
        },
        "boolean-from-string": function(r) {
          if (r.t === "num" && r.v > 0 && !r.decimal) {
            return XPR2.boolean(true);
          }
          r = asString2(r);
          return XPR2.boolean(r === "1" || r === "true");
        },
        area(r) {
          if (arguments.length === 0) throw TOO_FEW_ARGS;
          return XPR2.number(area(asGeopoints(r)));
        },
        checklist(min, max, ...list) {
          min = asNumber2(min);
          max = asNumber2(max);
          const trues = mapFn(asBoolean2, ...list).reduce(
            (acc, v) => v ? acc + 1 : acc,
            0
          );
          return XPR2.boolean(
            (min < 0 || trues >= min) && (max < 0 || trues <= max)
          );
        },
        coalesce(a, b) {
          return XPR2.string(asString2(a) || asString2(b));
        },
        concat(...args) {
          return XPR2.string(mapFn(asString2, ...args).join(""));
        },
        cos(r) {
          return XPR2.number(Math.cos(asNumber2(r)));
        },
        count(selecter) {
          if (arguments.length === 0) throw new Error("too few args");
          if (arguments.length > 1) throw new Error("too few args");
          if (selecter.t !== "arr")
            throw new Error(`Unpexpected arg type: '${selecter.t}'`);
          return XPR2.number(selecter.v.length);
        },
        "count-non-empty": function(r) {
          if (!arguments.length === 0) throw new Error("too few args");
          if (arguments.length > 1) throw new Error("too many args");
          if (r.t !== "arr")
            throw new Error(`wrong arg type:${JSON.stringify(r)}`);
          return XPR2.number(
            mapFn(asString2, r).reduce((acc, v) => v ? acc + 1 : acc, 0)
          );
        },
        "count-selected": function(s) {
          const parts = asString2(s).split(" ");
          let i = parts.length;
          let count = 0;
          while (--i >= 0) if (parts[i].length) ++count;
          return XPR2.number(count);
        },
        date(it) {
          return XPR2.date(asDate(it));
        },
        "decimal-date-time": function(r) {
          if (arguments.length > 1) throw TOO_MANY_ARGS;
          const days = r.t === "num" ? asNumber2(r) : dateStringToDays(asString2(r));
          return XPR2.number(days);
        },
        "decimal-time": function(r) {
          if (arguments.length > 1) throw TOO_MANY_ARGS;
          if (r.t === "num") return XPR2.number(NaN);
          const time = asString2(r);
          const m = time.match(
            /^(\d\d):(\d\d):(\d\d)(\.\d\d?\d?)?(\+|-)(\d\d):(\d\d)$/
          );
          let dec;
          if (m && m[1] < 24 && m[1] >= 0 && m[2] < 60 && m[2] >= 0 && m[3] < 60 && m[3] >= 0 && m[6] < 24 && m[6] >= 0 && // this could be tighter
          m[7] < 60 && m[7] >= 0) {
            const today = /* @__PURE__ */ new Date();
            const d = /* @__PURE__ */ new Date(
              `${today.getFullYear()}-${_zeroPad(
                today.getMonth() + 1
              )}-${_zeroPad(today.getDate())}T${time}`
            );
            if (d.toString() === "Invalid Date") {
              dec = NaN;
            } else {
              dec = (d.getSeconds() / 3600 + d.getMinutes() / 60 + d.getHours()) / 24;
            }
          } else {
            dec = NaN;
          }
          return XPR2.number(dec);
        },
        digest(msg, algo, encoding) {
          return XPR2.string(digest(msg, algo, encoding));
        },
        distance(...r) {
          if (arguments.length === 0) throw TOO_FEW_ARGS;
          return XPR2.number(distance(asGeopoints(...r)));
        },
        exp(r) {
          return XPR2.number(Math.exp(asNumber2(r)));
        },
        exp10(r) {
          return XPR2.number(10 ** asNumber2(r));
        },
        false() {
          if (arguments.length) throw TOO_MANY_ARGS;
          return XPR2.boolean(false);
        },
        "format-date": function(date, format) {
          if (arguments.length < 2)
            throw new Error("format-date() :: not enough args");
          return XPR2.string(formatDate(date, format));
        },
        if(con, a, b) {
          return asBoolean2(con) ? a : b;
        },
        "ends-with": function(a, b) {
          if (arguments.length > 2) throw TOO_MANY_ARGS;
          if (arguments.length < 2) throw TOO_FEW_ARGS;
          return XPR2.boolean(asString2(a).endsWith(asString2(b)));
        },
        int(v) {
          return XPR2.number(asInteger(v));
        },
        join(delim, ...args) {
          return XPR2.string(mapFn(asString2, ...args).join(asString2(delim)));
        },
        last() {
          if (arguments.length)
            throw new Error(`last() does not take arguments`);
          return XPR2.number(this.contextSize);
        },
        "local-name": function(r) {
          const name = getNodeName(this, r);
          return XPR2.string(name.match(/^(?:[^:]*:)?(.*)/)[1]);
        },
        name(r) {
          return XPR2.string(getNodeName(this, r));
        },
        log(r) {
          return XPR2.number(Math.log(asNumber2(r)));
        },
        log10(r) {
          return XPR2.number(Math.log10(asNumber2(r)));
        },
        max(...args) {
          const nums = mapFn(asNumber2, ...args);
          if (!nums.length || nums.some((v) => Number.isNaN(Number(v))))
            return XPR2.number(NaN);
          return XPR2.number(Math.max(...nums));
        },
        min(...args) {
          const nums = mapFn(asNumber2, ...args);
          if (!nums.length || nums.some((v) => Number.isNaN(Number(v))))
            return XPR2.number(NaN);
          return XPR2.number(Math.min(...nums));
        },
        "namespace-uri": function(r) {
          const node = getNode(this, r);
          return XPR2.string(node && node.namespaceURI || "");
        },
        "normalize-space": function(r) {
          if (arguments.length > 1) throw new Error("too many args");
          let res = asString2(r || this.cN);
          res = res.replace(/\f/g, "\\f");
          res = res.replace(/\r\v/g, "\v");
          res = res.replace(/\v/g, "\\v");
          res = res.replace(/\s+/g, " ");
          res = res.replace(/^\s+|\s+$/g, "");
          res = res.replace(/\\v/g, "\v");
          res = res.replace(/\\f/g, "\f");
          return XPR2.string(res);
        },
        /*
         * As per https://github.com/alxndrsn/openrosa-xpath-evaluator/issues/15,
         * the pass-through to the wrapped implementation always requests
         * XPathResult.STRING_TYPE.  This seems to cause an issue with the response
         * from `not()` calls, which should ideally be handled by the built-in
         * XPath implementation.  The following method is supplied as a workaround,
         * and ideally would be unnecessary.
         */
        not(r) {
          if (arguments.length === 0) throw TOO_FEW_ARGS;
          if (arguments.length > 1) throw TOO_MANY_ARGS;
          return XPR2.boolean(!asBoolean2(r));
        },
        now() {
          return XPR2.date(/* @__PURE__ */ new Date());
        },
        number(r) {
          if (arguments.length > 1)
            throw new Error(
              `number() passed wrong arg count (expected 0 or 1, but got ${arguments.length})`
            );
          const arg = arguments.length ? r : this.cN;
          const str = asString2(arg);
          if (DATE_STRING.test(str)) {
            return XPR2.number(dateStringToDays(str));
          }
          return XPR2.number(asNumber2(arg));
        },
        today() {
          return XPR2.date(ret._now());
        },
        /**
         * The once function returns the value of the parameter if its own value
         * is not empty, NaN, [Infinity or -Infinity]. The naming is therefore misleading!
         * Also note that the parameter expr is always evaluated.
         * This function simply decides whether to return the new result or the old value.
         */
        once(r) {
          const current = asString2(this.cN);
          return XPR2.string(current || asString2(r));
        },
        pi() {
          return XPR2.number(Math.PI);
        },
        position(r) {
          if (arguments.length > 1) throw new Error("too many args");
          if (r && r.t !== "arr")
            throw new Error(
              `wrong arg type for position() - expected nodeset, but got: ${r.t}`
            );
          if (r && !r.v.length)
            throw new Error("cannot call position() on an empty nodeset");
          if (!r) return XPR2.number(this.contextPosition);
          let position = 1;
          let node = r.v[0];
          const nodeName = node.tagName;
          while (node.previousElementSibling && node.previousElementSibling.tagName === nodeName) {
            node = node.previousElementSibling;
            position++;
          }
          return XPR2.number(position);
        },
        pow(x, y) {
          return XPR2.number(asNumber2(x) ** asNumber2(y));
        },
        random() {
          return XPR2.number(parseFloat(Math.random().toFixed(15)));
        },
        randomize(r, seed) {
          if (!arguments.length) throw TOO_FEW_ARGS;
          if (arguments.length > 2) throw TOO_MANY_ARGS;
          if (!r || r.t !== "arr")
            throw new Error("randomize() must be called on a nodeset");
          seed = seed && asNumber2(seed);
          return { t: "arr", v: shuffle(r.v, seed) };
        },
        regex(haystack, pattern) {
          return XPR2.boolean(
            new RegExp(asString2(pattern)).test(asString2(haystack))
          );
        },
        round(number, numDigits) {
          if (arguments.length === 0) throw TOO_FEW_ARGS;
          if (arguments.length > 2) throw TOO_MANY_ARGS;
          number = asNumber2(number);
          if (!numDigits) {
            return XPR2.number(_round(number));
          }
          numDigits = asInteger(numDigits);
          const pow = 10 ** Math.abs(numDigits);
          if (numDigits > 0) {
            return XPR2.number(_round(number * pow) / pow);
          }
          return XPR2.number(pow * _round(number / pow));
        },
        selected(haystack, needle) {
          return XPR2.boolean(
            asString2(haystack).split(" ").indexOf(asString2(needle).trim()) !== -1
          );
        },
        "selected-at": function(list, index) {
          if (!index)
            throw new Error(
              `No index provided for selected-at() [index=${index}; list=${JSON.stringify(
                list
              )}`
            );
          return XPR2.string(
            asString2(list).split(" ")[asInteger(index)] || ""
          );
        },
        sin(r) {
          return XPR2.number(Math.sin(asNumber2(r)));
        },
        sqrt(r) {
          return XPR2.number(Math.sqrt(asNumber2(r)));
        },
        string(r) {
          if (arguments.length > 1)
            throw new Error(
              `string() passed wrong arg count (expected 0 or 1, but got ${arguments.length})`
            );
          return XPR2.string(asString2(r || this.cN));
        },
        // TODO this is not an extension - should be a "native" function
        "string-length": function(r) {
          if (arguments.length > 1) throw new Error("too many args");
          const str = asString2(r || this.cN);
          return XPR2.number(str.length);
        },
        substr(s, startIndex, endIndex) {
          return XPR2.string(
            asString2(s).slice(
              asNumber2(startIndex),
              endIndex && asNumber2(endIndex)
            )
          );
        },
        sum(r) {
          if (!r || r.t !== "arr")
            throw new Error("sum() must be called on a nodeset");
          let sum = 0;
          let i = r.v.length;
          while (i--) sum += asNumber2(r.v[i]);
          return XPR2.number(sum);
        },
        tan(r) {
          return XPR2.number(Math.tan(asNumber2(r)));
        },
        true() {
          if (arguments.length) throw TOO_MANY_ARGS;
          return XPR2.boolean(true);
        },
        uuid(r) {
          if (r) return XPR2.string(randomToken(asNumber2(r)));
          return XPR2.string(uuid());
        },
        "weighted-checklist": function(min, max, ...list) {
          min = asNumber2(min);
          max = asNumber2(max);
          let values = [];
          let weights = [];
          let weightedTrues = 0;
          for (let i = 0; i < list.length; i += 2) {
            const v = list[i];
            const w = list[i + 1];
            if (v && w) {
              values = values.concat(mapFn(asBoolean2, v));
              weights = weights.concat(mapFn(asNumber2, w));
            }
          }
          for (let i = 0; i < values.length; i++) {
            if (values[i]) {
              weightedTrues += weights[i] || 0;
            }
          }
          return XPR2.boolean(
            (min < 0 || weightedTrues >= min) && (max < 0 || weightedTrues <= max)
          );
        }
      };
      func["date-time"] = func.date;
      func["format-date-time"] = func["format-date"];
      const process = {
        toExternalResult(r, resultType) {
          if (r.t === "arr" && resultType === XPathResult.NUMBER_TYPE) {
            const str = asString2(r);
            if (DATE_STRING.test(str)) {
              return { resultType, numberValue: dateStringToDays(str) };
            }
          }
          if (r.t === "date") {
            switch (resultType) {
              case XPathResult.BOOLEAN_TYPE:
                return {
                  resultType,
                  booleanValue: !Number.isNaN(Number(r.v))
                };
              case XPathResult.NUMBER_TYPE:
                return { resultType, numberValue: asNumber2(r) };
              case XPathResult.ANY_TYPE:
              case XPathResult.STRING_TYPE:
                return { resultType, stringValue: asString2(r) };
              default:
                throw new Error(
                  `toExternalResult() doesn't know how to convert a date to ${resultType}`
                );
            }
          }
        },
        typefor(val) {
          if (val instanceof Date) return "date";
        },
        handleInfix(err, lhs, op, rhs) {
          if (lhs.t === "date" || rhs.t === "date") {
            if (lhs.t === "bool" || rhs.t === "bool") {
              return;
            }
            if (lhs.t === "arr" || lhs.t === "str")
              lhs = XPR2.date(asDate(lhs));
            if (rhs.t === "arr" || rhs.t === "str")
              rhs = XPR2.date(asDate(rhs));
            if (lhs.t === "date") lhs = { t: "num", v: dateToDays(lhs.v) };
            if (rhs.t === "date") rhs = { t: "num", v: dateToDays(rhs.v) };
            return { t: "continue", lhs, op, rhs };
          }
          if (op === PLUS || op === MINUS) {
            const lStr = asString2(lhs);
            if (DATE_STRING.test(lStr)) {
              const lDays = dateStringToDays(lStr);
              const rDays = asNumber2(rhs);
              const delta = op === PLUS ? lDays + rDays : lDays - rDays;
              return delta;
            }
            const rStr = asString2(rhs);
            if (DATE_STRING.test(rStr)) {
              const rDays = dateStringToDays(rStr);
              const lDays = asNumber2(lhs);
              const delta = op === PLUS ? lDays + rDays : lDays - rDays;
              return delta;
            }
          } else if (op >= EQ && op <= GTE) {
            const lStr = asString2(lhs);
            if (DATE_STRING.test(lStr))
              lhs = XPR2.number(dateStringToDays(lStr));
            const rStr = asString2(rhs);
            if (DATE_STRING.test(rStr))
              rhs = XPR2.number(dateStringToDays(rStr));
            return { t: "continue", lhs, op, rhs };
          }
        }
      };
      ret.func = func;
      ret.process = process;
      ret.XPR = XPR2;
      ret._now = function() {
        const t = /* @__PURE__ */ new Date();
        return new Date(t.getFullYear(), t.getMonth(), t.getDate());
      };
      return ret;
    };
    module.exports = openrosaXPathExtensions;
    function mapFn(fn, ...args) {
      const res = [];
      for (let i = 0; i < args.length; ++i) {
        if (args[i].t === "arr") {
          for (let j = 0; j < args[i].v.length; ++j) {
            res.push(fn(args[i].v[j]));
          }
        } else res.push(fn(args[i]));
      }
      return res;
    }
    function asInteger(r) {
      const num = asNumber2(r);
      return num > 0 ? Math.floor(num) : Math.ceil(num);
    }
    function asDate(r) {
      let temp;
      let timeComponent;
      switch (r.t) {
        case "bool":
          return /* @__PURE__ */ new Date(NaN);
        case "date":
          return r.v;
        case "num":
          temp = /* @__PURE__ */ new Date(0);
          temp.setTime(temp.getTime() + r.v * 24 * 60 * 60 * 1e3);
          return temp;
        case "arr":
        case "str":
          r = asString2(r);
          if (r.length === 0) return new BlankDate();
          if (RAW_NUMBER.test(r)) {
            temp = /* @__PURE__ */ new Date(0);
            temp.setTime(
              temp.getTime() + parseInt(r, 10) * 24 * 60 * 60 * 1e3
            );
            return temp;
          }
          if (DATE_STRING.test(r)) {
            temp = r.indexOf("T");
            if (temp !== -1) {
              timeComponent = r.substring(temp);
              r = r.substring(0, temp);
            }
            temp = r.split("-").slice(0, 3).map(wholeNumber);
            if (isValidDate(temp[0], temp[1], temp[2])) {
              if (!timeComponent) {
                return moment(false, temp[0], temp[1], temp[2]);
              }
              const time = `${_zeroPad(temp[0], 4)}-${_zeroPad(
                temp[1]
              )}-${_zeroPad(temp[2])}${timeComponent}`;
              return parseDateTime(time);
            }
          }
          return parseDateTime(r);
        default:
          throw new Error(`asDate() can't handle ${r.t}s yet :-(`);
      }
    }
    function _zeroPad(n, len) {
      len = len || 2;
      n = n.toString();
      while (n.length < len) n = `0${n}`;
      return n;
    }
    function getNodeName(ctx, r) {
      const node = getNode(ctx, r);
      return node ? node.nodeName : "";
    }
    function getNode(ctx, r) {
      if (arguments.length > 2) throw new Error("too many args");
      if (!r) return isNodeish(ctx.cN) ? ctx.cN : null;
      if (r.t !== "arr") throw new Error("wrong arg type");
      if (!r.v.length) return;
      sortByDocumentOrder({ t: "arr", v: r.v.filter(isNodeish) });
      return r.v[0];
    }
    var NODEISH = {
      [Node.ELEMENT_NODE]: true,
      [Node.ATTRIBUTE_NODE]: true,
      [Node.PROCESSING_INSTRUCTION_NODE]: true,
      [Node.DOCUMENT_TYPE_NODE]: true
    };
    function isNodeish({ nodeType }) {
      return NODEISH[nodeType];
    }
    function uuid() {
      return ("10000000-1000-4000-8000" + -1e11).replace(
        /[018]/g,
        (c) => (c ^ crypto.getRandomValues(new Uint8Array(1))[0] & 15 >> c / 4).toString(16)
      );
    }
  }
});

// openrosa-xpath-entry.js
var import_extended_xpath = __toESM(require_extended_xpath());
var import_openrosa_extensions = __toESM(require_openrosa_extensions());
var import_xpr = __toESM(require_xpr());
var import_xpath_cast = __toESM(require_xpath_cast());
var import_date_extensions = __toESM(require_date_extensions());
var { asBoolean, asNumber, asString } = import_xpath_cast.default;
var { toISOLocalString } = import_date_extensions.default;
var export_ExtendedXPathEvaluator = import_extended_xpath.default;
var export_XPR = import_xpr.default;
var export_openrosaExtensions = import_openrosa_extensions.default;
export {
  export_ExtendedXPathEvaluator as ExtendedXPathEvaluator,
  export_XPR as XPR,
  asBoolean,
  asNumber,
  asString,
  export_openrosaExtensions as openrosaExtensions,
  toISOLocalString
};
