// The markdown ODK allows in labels and hints, built as DOM nodes (never HTML from data):
// # headings, **bold** / __bold__, *italic* / _italic_, [links](https://...), line breaks,
// backslash escapes, and ${name} outputs. An output's value is inserted as text after the
// markdown is read, so an answer holding `**` or `<img ...>` shows as typed. ODK's
// <span style="..."> tags are dropped (their text stays); any other tag shows as text.

const SAFE_LINK = /^(https?:|mailto:|tel:)/i;
/**
 * An XML name as pyxform and the server read names (app/forms/xpath.py): a letter of any
 * script or `_` first (`tuổi`, `địa_chỉ`), then letters, digits, marks, `_`, `.`, `-`.
 * Question names in `${name}` and the columns of a choice list or CSV are such names.
 */
export const XML_NAME = "[\\p{L}\\p{Nl}_][\\p{L}\\p{Nl}\\p{Nd}\\p{Mn}\\p{Mc}_.\\-\\u00B7]*";
const OUTPUT = new RegExp(`\\$\\{(${XML_NAME})\\}`, "gu");
// Private-use characters mark where an output goes; stripped from the text before reading.
const OPEN = "\uE000";
const CLOSE = "\uE001";
const MARKED = new RegExp(`${OPEN}([^${CLOSE}]*)${CLOSE}`, "gu");
// A backslash-escaped mark (`\*`) is held as a private-use character until it is text again.
const ESCAPABLE = "\\`*_{}[]()#+-.!<>";
const ESCAPED = /\\([\\`*_{}[\]()#+\-.!<>])/g;
const HELD = /[\uE100-\uE11F]/g;

function unhold(text) {
  return text.replace(HELD, (held) => ESCAPABLE[held.charCodeAt(0) - 0xE100]);
}

function textWithOutputs(text, values) {
  const nodes = [];
  const parts = text.split(MARKED);
  parts.forEach((part, index) => {
    if (index % 2) {
      const span = document.createElement("span");
      span.className = "output";
      span.dataset.output = part;
      span.textContent = values?.[part] ?? "";
      nodes.push(span);
    } else if (part) {
      nodes.push(document.createTextNode(unhold(part)));
    }
  });
  return nodes;
}

// Inline: links, strong, emphasis; everything else is text.
const INLINE = /\[([^\]]+)\]\(([^)\s]+)\)|\*\*(?!\s)(.+?)(?<!\s)\*\*|__(?!\s)(.+?)(?<!\s)__|\*(?!\s)(.+?)(?<!\s)\*|(?<![\p{L}\p{N}])_(?!\s)(.+?)(?<!\s)_(?![\p{L}\p{N}])/gu;

function inline(text, values) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push(...textWithOutputs(text.slice(last, match.index), values));
    const [, linkText, heldHref, strong1, strong2, em1, em2] = match;
    if (linkText !== undefined) {
      // ${name} in a link's address is its value (the label is drawn again when answers
      // change), URI-escaped; the address is judged once it holds the values.
      const href = unhold(heldHref).replace(MARKED, (_, name) => encodeURI(values?.[name] ?? ""));
      if (SAFE_LINK.test(href)) {
        const anchor = document.createElement("a");
        anchor.href = href;
        anchor.target = "_blank";
        anchor.rel = "noopener noreferrer";
        anchor.append(...inline(linkText, values));
        nodes.push(anchor);
      } else {
        nodes.push(...inline(linkText, values));
      }
    } else {
      const element = document.createElement(strong1 !== undefined || strong2 !== undefined ? "strong" : "em");
      element.append(...inline(strong1 ?? strong2 ?? em1 ?? em2, values));
      nodes.push(element);
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(...textWithOutputs(text.slice(last), values));
  return nodes;
}

/**
 * A label or hint as a DocumentFragment: `text` is the form's text (markdown, ${name}
 * outputs), `values` the outputs' values by name.
 */
export function renderMarkdown(text, values = {}) {
  const fragment = document.createDocumentFragment();
  if (!text) return fragment;
  const marked = String(text)
    .replace(/[\uE000-\uE1FF]/g, "")
    .replace(ESCAPED, (_, mark) => String.fromCharCode(0xE100 + ESCAPABLE.indexOf(mark)))
    .replace(/<\/?span(\s[^<>]*)?>/gi, "")
    .replace(OUTPUT, (_, name) => `${OPEN}${name}${CLOSE}`);
  const lines = marked.split(/\r?\n/);
  let paragraph = [];
  const flush = () => {
    if (!paragraph.length) return;
    paragraph.forEach((line, index) => {
      if (index) fragment.append(document.createElement("br"));
      fragment.append(...inline(line, values));
    });
    paragraph = [];
  };
  for (const line of lines) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const element = document.createElement(`h${Math.min(6, heading[1].length + 2)}`);
      element.className = "md-heading";
      element.append(...inline(heading[2], values));
      fragment.append(element);
    } else {
      paragraph.push(line);
    }
  }
  flush();
  return fragment;
}

/** The text of a label with its outputs filled in and markdown marks removed (titles, lists). */
export function plainText(text, values = {}) {
  const holder = document.createElement("div");
  holder.append(renderMarkdown(text, values));
  return holder.textContent;
}
