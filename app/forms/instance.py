"""The instance tree XPath walks: answers (dicts and lists of dicts) seen as XForm nodes.

No XML is built: a node is a question, group or repeat of the form model together with the
answers object that holds its value (the survey's, or one repeat instance's). Groups are
transparent in answers (names are unique outside repeats), so a group node shares its parent's
object. Secondary instances (choice lists, CSV files) are built once per form.
"""

from __future__ import annotations

from typing import Any

from app.forms.xpath_values import answer_number, as_text, text_number


class XNode:
    """A node: its name, parent, text (string value) and children by name."""

    __slots__ = ("parent",)
    name = ""

    def text(self) -> str:
        return ""

    def children(self, name: str | None) -> list[XNode]:
        return []

    def number(self) -> float:
        """asNumber of the node."""
        return text_number(self.text())

    def index(self) -> int:
        """Position among the preceding siblings of the same name, from 1."""
        return 1


class DocumentNode(XNode):
    """The root `/` of the primary instance."""

    __slots__ = ("answers", "root")

    def __init__(self, root: Any, answers: dict[str, Any]) -> None:
        self.parent = None
        self.root = root
        self.answers = answers

    def text(self) -> str:
        return self.children(None)[0].text()

    def children(self, name: str | None) -> list[XNode]:
        if name is None or name == self.root.name:
            return [ElementNode(self.root, self.answers, self, 1)]
        return []


class ElementNode(XNode):
    """A group, a repeat instance or the root element."""

    __slots__ = ("position", "schema", "scope")

    def __init__(self, schema: Any, scope: dict[str, Any], parent: XNode, position: int) -> None:
        self.schema = schema
        self.scope = scope
        self.parent = parent
        self.position = position

    @property
    def name(self) -> str:  # type: ignore[override]
        return str(self.schema.name)

    def index(self) -> int:
        return self.position

    def text(self) -> str:
        return "".join(child.text() for child in self.children(None))

    def children(self, name: str | None) -> list[XNode]:
        if name is None:
            found: list[XNode] = []
            for child in self.schema.children:
                found.extend(self.children(child.name))
            return found
        child = self.schema.by_name.get(name)
        if child is None:
            return []
        if child.kind == "question":
            return [LeafNode(child, self.scope, self)]
        if child.kind == "group":
            return [ElementNode(child, self.scope, self, 1)]
        instances = self.scope.get(name)
        if type(instances) is not list:
            return []
        return [
            ElementNode(child, item, self, i)
            for i, item in enumerate(instances, 1)
            if type(item) is dict
        ]


class LeafNode(XNode):
    """A question: its text is its answer as the phone writes it into the instance."""

    __slots__ = ("schema", "scope")

    def __init__(self, schema: Any, scope: dict[str, Any], parent: XNode | None) -> None:
        self.schema = schema
        self.scope = scope
        self.parent = parent

    @property
    def name(self) -> str:  # type: ignore[override]
        return str(self.schema.name)

    def text(self) -> str:
        return as_text(self.scope.get(self.schema.name))

    def number(self) -> float:
        return answer_number(self.scope.get(self.schema.name))


class ValueNode(XNode):
    """A node holding a value: a `${name}` answer for quality rules, a field of a list item."""

    __slots__ = ("_name", "value")

    def __init__(self, name: str, value: Any, parent: XNode | None = None) -> None:
        self._name = name
        self.value = value
        self.parent = parent

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name

    def text(self) -> str:
        return as_text(self.value)


class ItemNode(XNode):
    """An `item` of a secondary instance: its columns are its children."""

    __slots__ = ("fields", "position")

    name = "item"

    def __init__(self, item: dict[str, Any], parent: XNode, position: int, language: str) -> None:
        self.parent = parent
        self.position = position
        fields: dict[str, XNode] = {}
        for key, value in item.items():
            if key == "label" and isinstance(value, dict):
                value = value.get(language) or next(iter(value.values()), "")
            fields[key] = ValueNode(key, value, self)
        self.fields = fields

    def index(self) -> int:
        return self.position

    def text(self) -> str:
        return "".join(node.text() for node in self.fields.values())

    def children(self, name: str | None) -> list[XNode]:
        if name is None:
            return list(self.fields.values())
        found = self.fields.get(name)
        return [found] if found is not None else []


class ListNode(XNode):
    """An element holding children of one name: the `root` of a secondary instance."""

    __slots__ = ("_name", "items")

    def __init__(self, name: str, parent: XNode | None) -> None:
        self._name = name
        self.parent = parent
        self.items: list[XNode] = []

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name

    def text(self) -> str:
        return "".join(item.text() for item in self.items)

    def children(self, name: str | None) -> list[XNode]:
        if name is None:
            return list(self.items)
        return [item for item in self.items if item.name == name]


def secondary_instance(items: list[dict[str, Any]], language: str) -> XNode:
    """instance('id'): a document whose `root` element holds one `item` per choice."""
    document = ListNode("#document", None)
    root = ListNode("root", document)
    document.items.append(root)
    root.items.extend(ItemNode(item, root, i, language) for i, item in enumerate(items, 1))
    return document
