"""What the form model takes from pyxform's XForm: the expressions as ODK Collect reads them.

pyxform turns `${name}` into instance paths (relative ones inside repeats), turns dynamic
defaults into `setvalue` actions and choice filters into itemset predicates. Reading them back
from the XForm keeps the model equal to what ODK Collect and Enketo see, with no second copy
of pyxform's rules here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

XFORMS = "{http://www.w3.org/2002/xforms}"
JR = "{http://openrosa.org/javarosa}"
_ITEMSET = re.compile(r"^\s*instance\(\s*'([^']+)'\s*\)\s*/root/item\s*(?:\[(.*)\])?\s*$", re.S)
_ITEXT_REF = re.compile(r"^\s*jr:itext\(\s*'([^']+)'\s*\)\s*$")
_RANDOMIZE = re.compile(r"^\s*randomize\((.*)\)\s*$", re.S)
BIND_KEYS = ("relevant", "required", "constraint", "calculate", "readonly")


@dataclass
class XFormParts:
    """The parts of an XForm the model needs, keyed by the instance path of their node."""

    binds: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)  # XPath (setvalue) or a literal
    dynamic_defaults: set[str] = field(default_factory=set)
    # Nodes Collect sets when another question changes (the `trigger` column): not a
    # default, which would fill them at once, answered or not; kept as the phone sends them.
    triggered: set[str] = field(default_factory=set)
    itemsets: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    repeat_counts: dict[str, str] = field(default_factory=dict)
    # path -> ("label" | "hint") -> list of output expressions, per language
    outputs: dict[str, dict[str, list[list[str]]]] = field(default_factory=dict)
    instances: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    instance_files: dict[str, str] = field(default_factory=dict)  # id -> jr://file-csv/...
    itext: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> lang -> plain text


def _unshuffled(nodeset: str) -> str:
    """The list of `randomize(list)` or `randomize(list, seed)`, as pyxform writes the
    `randomize` parameter of a select: ODK Collect shows the choices shuffled, the web phone
    in the list's order; the choices, and so every verdict, are the same."""
    match = _RANDOMIZE.match(nodeset)
    if match is None:
        return nodeset
    inner, depth, quote = match.group(1), 0, ""
    for index, char in enumerate(inner):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            return inner[:index]
    return inner


def _outputs(element: ET.Element) -> list[str]:
    return [str(out.get("value", "")).strip() for out in element.iter(f"{XFORMS}output")]


def _text(element: ET.Element) -> str:
    return "".join(element.itertext()).strip()


def read_xform(xml: str) -> XFormParts:
    """Read binds, setvalues, itemsets, repeat counts, outputs and secondary instances."""
    parts = XFormParts()
    root = ET.fromstring(xml)
    head = root.find("{http://www.w3.org/1999/xhtml}head")
    model = head.find(f"{XFORMS}model") if head is not None else None
    if model is None:
        return parts
    itext_outputs: dict[str, list[list[str]]] = {}
    for translation in model.iter(f"{XFORMS}translation"):
        lang = translation.get("lang", "default")
        for text in translation.findall(f"{XFORMS}text"):
            text_id = text.get("id", "")
            values = [v for v in text.findall(f"{XFORMS}value") if v.get("form") is None]
            if not values:
                continue
            parts.itext.setdefault(text_id, {})[lang] = _text(values[0])
            itext_outputs.setdefault(text_id, []).append(_outputs(values[0]))
    for bind in model.findall(f"{XFORMS}bind"):
        path = bind.get("nodeset", "")
        attrs = {key: value for key in BIND_KEYS if (value := bind.get(key)) is not None}
        attrs["type"] = bind.get("type", "string")
        parts.binds[path] = attrs
    for setvalue in root.iter(f"{XFORMS}setvalue"):
        ref = setvalue.get("ref", "")
        if "xforms-value-changed" in setvalue.get("event", ""):
            parts.triggered.add(ref)
            continue
        if "odk-instance-first-load" in setvalue.get("event", "") or ref not in parts.defaults:
            parts.defaults[ref] = setvalue.get("value", "")
            parts.dynamic_defaults.add(ref)
    instances = model.findall(f"{XFORMS}instance")
    if instances:
        _static_defaults(instances[0], parts)
    for instance in instances[1:]:
        name = instance.get("id", "")
        if instance.get("src"):
            parts.instance_files[name] = str(instance.get("src"))
            continue
        items = []
        for item in instance.iter(f"{XFORMS}item"):
            items.append({child.tag.removeprefix(XFORMS): _text(child) for child in item})
        parts.instances[name] = items
    body = root.find("{http://www.w3.org/1999/xhtml}body")
    if body is not None:
        for element in body.iter():
            ref = element.get("ref") or element.get("nodeset") or ""
            if not ref:
                continue
            if element.tag == f"{XFORMS}repeat":
                count = element.get(f"{JR}count")
                if count:
                    parts.repeat_counts[ref] = count.strip()
                continue
            itemset = element.find(f"{XFORMS}itemset")
            if itemset is not None:
                match = _ITEMSET.match(_unshuffled(itemset.get("nodeset", "")))
                if match:
                    predicate = match.group(2)
                    parts.itemsets[ref] = (match.group(1), predicate.strip() if predicate else None)
            for kind in ("label", "hint"):
                child = element.find(f"{XFORMS}{kind}")
                if child is None:
                    continue
                itext = _ITEXT_REF.match(child.get("ref", ""))
                found = itext_outputs.get(itext.group(1), []) if itext else [_outputs(child)]
                if any(found):
                    parts.outputs.setdefault(ref, {})[kind] = found
    return parts


def _static_defaults(instance: ET.Element, parts: XFormParts) -> None:
    """Values written in the primary instance (static defaults), the template of a repeat first."""

    def walk(element: ET.Element, path: str) -> None:
        seen: set[str] = set()
        for child in element:
            tag = child.tag.removeprefix(XFORMS)
            if tag in seen:
                continue  # a repeat's second instance (pyxform writes a template, then one)
            seen.add(tag)
            child_path = f"{path}/{tag}"
            if len(child):
                walk(child, child_path)
            elif child.text and child.text.strip() and child_path not in parts.defaults:
                parts.defaults[child_path] = child.text.strip()

    for data in instance:
        walk(data, "/" + data.tag.removeprefix(XFORMS))


# Where an XForm names a file Collect must download with the form: label media in itext
# (`<value form="image">jr://images/a.jpg</value>`, also audio, video, big-image, for
# questions and choices alike) and external secondary instances (`<instance src=
# "jr://file-csv/streets.csv">`, select_one_from_file, pulldata).
_MEDIA_URI = re.compile(r"^jr://(?:images|audio|video|file|file-csv)/(.+)$", re.S)


def media_references(xml: str) -> tuple[str, ...]:
    """The names of the files the XForm refers to (what follows `jr://images/`, `jr://audio/`,
    `jr://video/`, `jr://file/` or `jr://file-csv/`), each once, in the order they appear;
    whether each is a safe name is the caller's to check."""
    found: dict[str, None] = {}
    for element in ET.fromstring(xml).iter():
        media_value = element.tag == f"{XFORMS}value" and element.get("form") is not None
        candidates = [element.text or ""] if media_value else []
        candidates.extend(element.attrib.values())
        for candidate in candidates:
            match = _MEDIA_URI.match(candidate.strip())
            if match:
                found.setdefault(match.group(1), None)
    return tuple(found)
