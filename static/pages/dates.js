/* Times as the page's language writes them, for every page whose scripts show one (review,
 * admin: page.js; the map pages, progress and national: offline.js's note), in Vietnam's
 * time: 07/12/2026 10:05 in Vietnamese (day before month), 7 Dec 2026, 10:05 in English.
 * The server writes days the same way (app.i18n.date_text); ISO forms stay in data, links
 * and inputs. `cdfmapDates.time("2026-12-07T03:05:00Z", "vi")`: a text, or null for a value
 * that is no time. */
(function () {
  "use strict";

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // The parts of an instant in Vietnam's calendar and clock (formatToParts: digits only).
  var clock = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Ho_Chi_Minh",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });

  function two(number) {
    return (number < 10 ? "0" : "") + number;
  }

  function written(year, month, day, language) {
    return language === "en"
      ? day + " " + MONTHS[month - 1] + " " + year
      : two(day) + "/" + two(month) + "/" + year;
  }

  /** An instant (ISO 8601 with its offset) as Vietnam's day and hour:minute. */
  function time(iso, language) {
    var date = new Date(iso);
    if (!iso || isNaN(date.getTime())) return null;
    var parts = {};
    clock.formatToParts(date).forEach(function (part) {
      parts[part.type] = part.value;
    });
    var hour = parts.hour === "24" ? "00" : parts.hour;
    var shown = written(+parts.year, +parts.month, +parts.day, language);
    return shown + (language === "en" ? ", " : " ") + hour + ":" + parts.minute;
  }

  window.cdfmapDates = { time: time };
})();
