// Entry of the openrosa-xpath-evaluator bundle (scripts/vendor-assets.sh builds it with esbuild
// into static/vendor/openrosa-xpath-evaluator-<version>/ as one ES module). It exports the
// library's parts rather than its ready-made evaluator so that static/collect/xpath.js can
// add what the library leaves to its host (instance(), current(), jr:choice-name()) and read
// regex() patterns as ODK Collect does, before the evaluator is made.
import ExtendedXPathEvaluator from "openrosa-xpath-evaluator/src/extended-xpath.js";
import openrosaExtensions from "openrosa-xpath-evaluator/src/openrosa-extensions.js";
import XPR from "openrosa-xpath-evaluator/src/xpr.js";
import casts from "openrosa-xpath-evaluator/src/utils/xpath-cast.js";
import dates from "openrosa-xpath-evaluator/src/date-extensions.js";

export const { asBoolean, asNumber, asString } = casts;
export const { toISOLocalString } = dates;
export { ExtendedXPathEvaluator, openrosaExtensions, XPR };
