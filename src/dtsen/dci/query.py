"""Parsing a `search_criteria` of the standard into what we search (no database here).

Three query forms are understood (`query_type`):

- `idtype-value`: `{"type": "NIK" | "UIN" | "NID" | "NationalID", "value": "<16-digit NIK>"}` finds a person,
  `{"type": "KK" | "KK_NUMBER" | "FAMILY_BOOK", "value": "<16-digit KK>"}` a family;
- `expression`: the NoSql template of the standard, `{"type": "ns:org:QueryType:NoSql", "value":
  {"expression": {"collection": "Group", "query": {"$and": [{"poverty_score": {"$lt": 5}}]}}}}`
  with `$and`, `$or`, `$not` and the operators `$eq $lt $lte $gt $gte $in` (`$le`/`$ge` too);
- `predicate` (and `expression` whose query is a list, as in the standard's own examples): a list of
  `{seq_num, expression1, condition, expression2, ...}` with operators `eq lt le gt ge in` and conditions
  `and`, `or`, `not`.

Attributes (case-insensitive; a dotted prefix such as `demographic_info.person.` is ignored) are listed in
ATTRIBUTES. Unknown attributes, operators or values reject the request item with `rjct.filter.invalid`,
an unknown sort attribute with `rjct.sort.invalid`, bad pagination with `rjct.pagination.invalid`, an
unsupported query type or identifier type with `rjct.search_criteria.invalid`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from dtsen.dci.models import QueryType

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10

# Reason codes of the standard (SearchStatusReasonCode).
CRITERIA_INVALID = "rjct.search_criteria.invalid"
FILTER_INVALID = "rjct.filter.invalid"
SORT_INVALID = "rjct.sort.invalid"
PAGINATION_INVALID = "rjct.pagination.invalid"
REFERENCE_INVALID = "rjct.reference_id.invalid"
REFERENCE_DUPLICATE = "rjct.reference_id.duplicate"
TIMESTAMP_INVALID = "rjct.timestamp.invalid"

NIK_TYPES = frozenset({"nik", "uin", "nid", "nationalid", "national_id"})
KK_TYPES = frozenset({"kk", "kk_number", "no_kk", "family_book", "kartu_keluarga"})

GROUP, MEMBER = "group", "member"
_ENTITIES = {"group": GROUP, "household": GROUP, "family": GROUP, "member": MEMBER, "person": MEMBER,
             "srperson": MEMBER, "individual": MEMBER}  # fmt: skip
_COLLECTIONS = {"group": GROUP, "household": GROUP, "family": GROUP, "person": MEMBER, "member": MEMBER,
                "individual": MEMBER}  # fmt: skip

# attribute -> canonical name; which entity it applies to is decided by the selectors.
ATTRIBUTES: dict[str, str] = {
    "poverty_score": "desil", "desil": "desil",
    "group_size": "size", "household_size": "size",
    "region_code": "region", "region": "region", "location": "region", "village_code": "region",
    "program": "program", "programme": "program", "programme_identifier": "program",
    "sex": "sex", "gender": "sex",
    "marital_status": "marital_status",
    "age": "age",
    "birth_date": "birth_date", "dob": "birth_date",
    "uin": "nik", "nik": "nik", "nid": "nik", "nationalid": "nik",
    "kk": "kk", "kk_number": "kk",
}  # fmt: skip
SORTABLE = {"desil": "desil", "size": "size", "nik": "code", "kk": "code", "birth_date": "birth_date",
            "age": "age", "region": "region", "registration_date": "registered",
            "family_code": "code", "person_code": "code"}  # fmt: skip
SORT_ALIASES = {**ATTRIBUTES, "registration_date": "registration_date", "family_code": "family_code",
                "person_code": "person_code", "group_identifier": "kk", "member_identifier": "nik"}  # fmt: skip
OPERATORS = {"eq": "eq", "lt": "lt", "le": "le", "lte": "le", "gt": "gt", "ge": "ge", "gte": "ge", "in": "in",
             "ne": "ne"}  # fmt: skip
SEX = {"female": "P", "f": "P", "p": "P", "perempuan": "P", "male": "L", "m": "L", "l": "L", "laki-laki": "L"}
MARITAL = {"w": "cerai_mati", "widow": "cerai_mati", "widowed": "cerai_mati", "widower": "cerai_mati",
           "cerai_mati": "cerai_mati", "m": "kawin", "married": "kawin", "kawin": "kawin",
           "s": "belum_kawin", "single": "belum_kawin", "belum_kawin": "belum_kawin",
           "d": "cerai_hidup", "divorced": "cerai_hidup", "cerai_hidup": "cerai_hidup"}  # fmt: skip
_REGION = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
_DIGITS16 = re.compile(r"^\d{16}$")
_IDENTIFIER = re.compile(r"^\d{1,20}$")
_PROGRAM = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


class ItemRejected(Exception):
    """A search_request item we answer with status rjct and this reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Leaf:
    attribute: str  # canonical name
    operator: str  # eq lt le gt ge in ne
    value: Any  # normalised: Decimal, str, date, or a tuple of them for "in"


@dataclass(frozen=True)
class Node:
    op: str  # and, or, not
    children: tuple[Node | Leaf, ...]


Condition = Node | Leaf


@dataclass
class Criteria:
    query_type: str
    entity: str
    id_type: str = ""  # "nik" or "kk" for idtype-value
    id_value: str = ""
    condition: Condition | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (canonical attribute, descending)
    page_size: int = DEFAULT_PAGE_SIZE
    page_number: int = 1

    def attributes(self) -> set[str]:
        out: set[str] = set()

        def walk(c: Condition | None) -> None:
            if isinstance(c, Leaf):
                out.add(c.attribute)
            elif isinstance(c, Node):
                for child in c.children:
                    walk(child)

        walk(self.condition)
        return out


def _attribute(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ItemRejected(FILTER_INVALID, "attribute name missing")
    key = name.strip().lower().rsplit(".", 1)[-1].removeprefix("spdci:")
    if key not in ATTRIBUTES:
        raise ItemRejected(FILTER_INVALID, f"unsupported attribute {name[:60]!r}")
    return ATTRIBUTES[key]


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ItemRejected(FILTER_INVALID, "a number is needed")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ItemRejected(FILTER_INVALID, f"not a number: {str(value)[:40]!r}") from None
    if not number.is_finite() or abs(number) > 10**6:
        raise ItemRejected(FILTER_INVALID, "number out of range")
    return number


def _scalar(attribute: str, value: Any) -> Any:
    if isinstance(value, dict | list):
        raise ItemRejected(FILTER_INVALID, f"{attribute}: a single value is needed")
    text = str(value).strip()
    if attribute in ("desil", "size", "age"):
        return _number(value)
    if attribute == "sex":
        if text.lower() not in SEX:
            raise ItemRejected(FILTER_INVALID, "sex must be female/male (F/M)")
        return SEX[text.lower()]
    if attribute == "marital_status":
        if text.lower() not in MARITAL:
            raise ItemRejected(FILTER_INVALID, "marital_status must be single, married, divorced or widowed")
        return MARITAL[text.lower()]
    if attribute == "region":
        if not _REGION.match(text):
            raise ItemRejected(FILTER_INVALID, "region_code must be a Kemendagri code such as 34.01")
        return text
    if attribute == "program":
        if not _PROGRAM.match(text):
            raise ItemRejected(FILTER_INVALID, "program must be a program code such as pkh")
        return text.lower()
    if attribute in ("nik", "kk"):  # a number that is no NIK/KK (e.g. the examples' UIN) matches nobody
        if not _IDENTIFIER.match(text):
            raise ItemRejected(FILTER_INVALID, f"{attribute} must be digits")
        return text
    if attribute == "birth_date":
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            raise ItemRejected(FILTER_INVALID, "birth_date must be YYYY-MM-DD") from None
    raise ItemRejected(FILTER_INVALID, f"unsupported attribute {attribute}")


_EQUALITY_ONLY = {"sex", "marital_status", "region", "program", "nik", "kk"}


def leaf(attribute_name: Any, operator: Any, value: Any) -> Leaf:
    attribute = _attribute(attribute_name)
    op = OPERATORS.get(str(operator).strip().lower().lstrip("$")) if isinstance(operator, str) else None
    if op is None:
        raise ItemRejected(FILTER_INVALID, f"unsupported operator {str(operator)[:20]!r}")
    if attribute in _EQUALITY_ONLY and op not in ("eq", "in", "ne"):
        raise ItemRejected(FILTER_INVALID, f"{attribute} supports eq, ne and in only")
    if op == "in":
        values = value if isinstance(value, list) else str(value).split(",")
        if not 1 <= len(values) <= 50:
            raise ItemRejected(FILTER_INVALID, "in needs 1 to 50 values")
        return Leaf(attribute, op, tuple(_scalar(attribute, v) for v in values))
    return Leaf(attribute, op, _scalar(attribute, value))


def _nosql(query: Any, depth: int = 0) -> Condition:
    if depth > 8:
        raise ItemRejected(FILTER_INVALID, "expression nested too deeply")
    if not isinstance(query, dict) or not query:
        raise ItemRejected(FILTER_INVALID, "an expression object is needed")
    parts: list[Condition] = []
    for key, value in query.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise ItemRejected(FILTER_INVALID, f"{key} needs a list")
            parts.append(Node(key[1:], tuple(_nosql(v, depth + 1) for v in value)))
        elif key == "$not":
            parts.append(Node("not", (_nosql(value, depth + 1),)))
        elif isinstance(value, dict):
            if not value:
                raise ItemRejected(FILTER_INVALID, f"{key}: no operator")
            parts.extend(leaf(key, op, v) for op, v in value.items())
        else:
            parts.append(leaf(key, "eq", value))
    return parts[0] if len(parts) == 1 else Node("and", tuple(parts))


def _predicates(items: list[Any]) -> Condition:
    if not items or len(items) > 20:
        raise ItemRejected(FILTER_INVALID, "1 to 20 predicates are needed")
    ordered = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ItemRejected(FILTER_INVALID, "a predicate must be an object")
        try:
            seq = float(item.get("seq_num") or index)
        except (TypeError, ValueError):
            seq = float(index)
        expressions = []
        for key in sorted(k for k in item if re.fullmatch(r"expression\d+", k)):
            expr = item[key]
            if expr in ("", None, {}):
                continue
            if not isinstance(expr, dict):
                raise ItemRejected(FILTER_INVALID, f"{key} must be an object")
            expressions.append(leaf(expr.get("attribute_name"), expr.get("operator"), expr.get("attribute_value")))
        if not expressions:
            raise ItemRejected(FILTER_INVALID, "a predicate needs expression1")
        condition = str(item.get("condition") or "and").lower()
        if condition not in ("and", "or", "not"):
            raise ItemRejected(FILTER_INVALID, f"unsupported condition {condition[:10]!r}")
        if condition == "not":  # expression1 and not (the others)
            cond: Condition = expressions[0]
            if len(expressions) > 1:
                cond = Node("and", (expressions[0], Node("not", tuple(expressions[1:]))))
        else:
            cond = expressions[0] if len(expressions) == 1 else Node(condition, tuple(expressions))
        ordered.append((seq, index, cond))
    ordered.sort(key=lambda t: (t[0], t[1]))
    conditions = tuple(c for _, _, c in ordered)
    return conditions[0] if len(conditions) == 1 else Node("and", conditions)


def _entity(criteria: dict[str, Any], default: str) -> str:
    value = criteria.get("response_entity")
    if value in (None, ""):
        return default
    if not isinstance(value, str) or value.strip().lower() not in _ENTITIES:
        raise ItemRejected(CRITERIA_INVALID, "response_entity must be Group or Member")
    return _ENTITIES[value.strip().lower()]


def _pagination(criteria: Criteria, raw: Any) -> None:
    if raw in (None, "", {}):
        return
    if not isinstance(raw, dict):
        raise ItemRejected(PAGINATION_INVALID, "pagination must be an object")
    try:
        size = int(raw.get("page_size", DEFAULT_PAGE_SIZE))
        number = int(raw.get("page_number") or 1)
    except (TypeError, ValueError):
        raise ItemRejected(PAGINATION_INVALID, "page_size and page_number must be integers") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ItemRejected(PAGINATION_INVALID, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if number < 1:
        raise ItemRejected(PAGINATION_INVALID, "page_number starts at 1")
    criteria.page_size, criteria.page_number = size, number


def _sort(criteria: Criteria, raw: Any) -> None:
    if raw in (None, "", []):
        return
    if not isinstance(raw, list) or len(raw) > 5:
        raise ItemRejected(SORT_INVALID, "sort must be a list of at most 5 items")
    for item in raw:
        if not isinstance(item, dict):
            raise ItemRejected(SORT_INVALID, "a sort item must be an object")
        name = str(item.get("attribute_name", "")).strip().lower().rsplit(".", 1)[-1]
        canonical = SORT_ALIASES.get(name)
        if canonical is None or canonical not in SORTABLE:
            raise ItemRejected(SORT_INVALID, f"cannot sort by {name[:40]!r}")
        order = str(item.get("sort_order") or "asc").lower()
        if order not in ("asc", "desc"):
            raise ItemRejected(SORT_INVALID, "sort_order must be asc or desc")
        criteria.sort.append((SORTABLE[canonical], order == "desc"))


def criteria_parse(raw: Any, *, allowed_query_types: list[str]) -> Criteria:
    """The item's search_criteria as Criteria, or ItemRejected with the standard's reason code."""
    if not isinstance(raw, dict):
        raise ItemRejected(CRITERIA_INVALID, "search_criteria must be an object")
    query_type = raw.get("query_type")
    if query_type not in QueryType.values:
        raise ItemRejected(CRITERIA_INVALID, f"unsupported query_type {str(query_type)[:30]!r}")
    if query_type not in allowed_query_types:
        raise ItemRejected(CRITERIA_INVALID, f"query_type {query_type} is not allowed for this partner")
    event = raw.get("reg_event_type")
    if event not in (None, "", "REGISTER", "SEARCH", "spdci:common:RegistryEventType:Register"):
        raise ItemRejected(CRITERIA_INVALID, f"unsupported reg_event_type {str(event)[:40]!r}")
    query = raw.get("query")
    if query_type == QueryType.IDTYPE_VALUE:
        if not isinstance(query, dict):
            raise ItemRejected(CRITERIA_INVALID, "query must be {type, value}")
        id_type = str(query.get("type", "")).strip().lower()
        value = str(query.get("value", "")).strip()
        if id_type in NIK_TYPES:
            kind, default = "nik", MEMBER
        elif id_type in KK_TYPES:
            kind, default = "kk", GROUP
        else:
            raise ItemRejected(CRITERIA_INVALID, f"unsupported identifier type {id_type[:30]!r}: NIK or KK")
        if not _DIGITS16.match(value):
            raise ItemRejected(CRITERIA_INVALID, f"{kind.upper()} must have 16 digits")
        criteria = Criteria(query_type, _entity(raw, default), id_type=kind, id_value=value)
    elif isinstance(query, list):
        criteria = Criteria(query_type, _entity(raw, MEMBER), condition=_predicates(query))
    elif query_type == QueryType.EXPRESSION and isinstance(query, dict):
        template = query.get("value")
        expression = template.get("expression") if isinstance(template, dict) else None
        if not isinstance(expression, dict):
            raise ItemRejected(CRITERIA_INVALID, "query.value.expression is needed")
        collection = str(expression.get("collection") or "").strip().lower()
        if collection and collection not in _COLLECTIONS:
            raise ItemRejected(CRITERIA_INVALID, f"unknown collection {collection[:30]!r}")
        default = _COLLECTIONS.get(collection, MEMBER)
        criteria = Criteria(query_type, _entity(raw, default), condition=_nosql(expression.get("query")))
    else:
        raise ItemRejected(CRITERIA_INVALID, "the query does not match its query_type")
    _sort(criteria, raw.get("sort"))
    _pagination(criteria, raw.get("pagination"))
    return criteria
