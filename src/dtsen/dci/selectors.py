"""Reads of the DCI API: partners and their keys, and the searches themselves.

Every search starts from the registry's scoped selectors (`family_qs`, `person_qs`, `person_find_by_nik`)
with the partner's user as the actor, so a partner sees exactly the regions and records that user may see:
a NIK or KK number outside them is "not found" (an empty result), like one that does not exist. The desil
comes from the latest finished ranking run (published results; a provisional desil of a family changed since
the run is not searched), program membership only for partners whose user may see programs (program.view).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from dtsen.accounts.permissions import PROGRAM_VIEW, REGISTRY_VIEW
from dtsen.accounts.selectors import Actor, Scope, require_scope, roles_generation, scope_for
from dtsen.audit.services import actor_fields
from dtsen.core.db import fetch_prepared
from dtsen.core.errors import PermissionDenied
from dtsen.dci.models import Partner, PartnerKey, Transaction
from dtsen.dci.query import (
    FILTER_INVALID,
    GROUP,
    PAGINATION_INVALID,
    Criteria,
    ItemRejected,
    Leaf,
    Node,
)
from dtsen.programs.models import Membership, MembershipStatus
from dtsen.ranking.models import RankingResult, RankingRun, RunStatus
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_hash
from dtsen.registry.models import Family, Person
from dtsen.registry.nik import InvalidNik, parse_nik
from dtsen.registry.selectors import family_qs, person_qs

# ------------------------------------------------------------------------------------------ partners


def partner_by_sender(*, sender_id: str) -> Partner | None:
    """The active partner registered with this sender_id."""
    if not sender_id or len(sender_id) > 100:
        return None
    return Partner.objects.select_related("user").filter(sender_id=sender_id, active=True).first()


def partner_key(*, partner: Partner, key_id: str) -> PartnerKey | None:
    return PartnerKey.objects.filter(partner=partner, key_id=key_id, active=True).first()


@dataclass
class PartnerWithKey:
    partner: Partner | None
    key: PartnerKey | None
    scope: Scope | None = None  # the partner user's registry.view scope
    actor_fields: dict[str, Any] | None = None  # who the partner's user is, for its audit records


# The hot path of every request reads the partner, its key and its user's scope from a cache kept by each
# worker process for PARTNER_CACHE_SECONDS: a deactivated partner, a revoked key or a changed role of the
# partner's user takes effect in the other workers within that time (at once in the process that made the
# change: the services clear it). Tests clear it between tests (tests/conftest.py).
PARTNER_CACHE_SECONDS = 5.0
_partner_cache: dict[tuple[str, str], tuple[float, int, PartnerWithKey]] = {}
_run_cache: list[tuple[float, RankingRun | None]] = []


def dci_cache_clear() -> None:
    """Forget the cached partners, keys, scopes and latest run of this process."""
    _partner_cache.clear()
    _run_cache.clear()


def partner_keys(*, sender_id: str, key_id: str) -> PartnerWithKey:
    """The active partner with this sender_id, its active key `key_id` and the scope of its user (cached, see
    PARTNER_CACHE_SECONDS); the partner alone when it has no such key."""
    if not sender_id or len(sender_id) > 100:
        return PartnerWithKey(None, None)
    now = time.monotonic()
    cached = _partner_cache.get((sender_id, key_id))
    if cached is not None and cached[0] > now and cached[1] == roles_generation():
        return cached[2]
    generation = roles_generation()
    found = _partner_keys_read(sender_id=sender_id, key_id=key_id)
    if found.partner is not None:
        found.scope = scope_for(found.partner.user, REGISTRY_VIEW)
        found.actor_fields = actor_fields(found.partner.user)
    if len(_partner_cache) > 1000:
        _partner_cache.clear()
    _partner_cache[(sender_id, key_id)] = (now + PARTNER_CACHE_SECONDS, generation, found)
    return found


def _partner_keys_read(*, sender_id: str, key_id: str) -> PartnerWithKey:
    keys = PartnerKey.objects.filter(partner=OuterRef("pk"), key_id=key_id, active=True)
    partner = (
        Partner.objects.select_related("user")
        .filter(sender_id=sender_id, active=True)
        .annotate(key_pk=Subquery(keys.values("pk")[:1]), key_pem=Subquery(keys.values("public_key_pem")[:1]))
        .first()
    )
    if partner is None:
        return PartnerWithKey(None, None)
    key_pk = getattr(partner, "key_pk", None)
    if key_pk is None:
        return PartnerWithKey(partner, None)
    pem = getattr(partner, "key_pem", "")
    return PartnerWithKey(partner, PartnerKey(pk=key_pk, partner=partner, key_id=key_id, public_key_pem=pem))


def partner_list() -> list[Partner]:
    return list(Partner.objects.select_related("user").prefetch_related("keys").order_by("sender_id"))


def partner_get(*, sender_id: str) -> Partner | None:
    return Partner.objects.filter(sender_id=sender_id).first()


def transaction_for_status(*, partner: Partner, attribute_type: str, value: Any) -> list[Transaction]:
    """The partner's own transactions named by a txn/status request (never another partner's)."""
    qs = Transaction.objects.filter(partner=partner, kind="search")
    if attribute_type == "transaction_id" and isinstance(value, str | int):
        qs = qs.filter(transaction_id=str(value)[:99])
    elif attribute_type == "correlation_id" and isinstance(value, str | int):
        qs = qs.filter(correlation_id=str(value)[:99])
    elif attribute_type == "reference_id_list" and isinstance(value, list):
        refs = {str(v)[:99] for v in value[:100]}
        return [t for t in qs.order_by("-pk")[:500] if refs & {i.get("reference_id") for i in t.items}]
    else:
        return []
    return list(qs.order_by("pk")[:100])


# ------------------------------------------------------------------------------------------ searches


@dataclass
class SearchPage:
    entity: str
    total: int
    families: list[Family] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    members: dict[int, list[Person]] = field(default_factory=dict)  # family id -> active members
    desil: dict[int, int] = field(default_factory=dict)  # family id -> desil of the latest run
    run: RankingRun | None = None


def _today() -> dt.date:
    return timezone.localdate()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _int_bounds(op: str, value: Decimal) -> tuple[str, int] | None:
    """An integer column compared with a decimal: the equivalent integer comparison (None: nothing matches)."""
    if op == "lt":
        return "lte", math.ceil(value) - 1
    if op == "le":
        return "lte", math.floor(value)
    if op == "gt":
        return "gte", math.floor(value) + 1
    if op == "ge":
        return "gte", math.ceil(value)
    if value != value.to_integral_value():
        return None
    return "exact", int(value)


class _Builder:
    """Turns a condition tree into a Q on families (GROUP) or persons, with the annotations it needs."""

    def __init__(self, *, actor: Actor, entity: str, run: RankingRun | None) -> None:
        self.actor = actor
        self.group = entity == GROUP
        self.run = run
        self.family = "" if self.group else "family__"
        self.person = "head__" if self.group else ""
        self.needs: set[str] = set()

    def q(self, cond: Node | Leaf) -> Q:
        if isinstance(cond, Node):
            parts = [self.q(child) for child in cond.children]
            if cond.op == "not":
                out = Q()
                for part in parts:
                    out &= part
                return ~out
            out = parts[0]
            for part in parts[1:]:
                out = out | part if cond.op == "or" else out & part
            return out
        q = self._leaf(cond)
        return ~q if cond.operator == "ne" else q

    def _values(self, leaf: Leaf) -> tuple[Any, ...]:
        return leaf.value if leaf.operator == "in" else (leaf.value,)

    def _integer(self, name: str, leaf: Leaf) -> Q:
        self.needs.add(name)
        if leaf.operator == "in":
            ints = [int(v) for v in leaf.value if v == v.to_integral_value()]
            return Q(**{f"{name}__in": ints})
        op = "eq" if leaf.operator == "ne" else leaf.operator
        bound = _int_bounds(op, leaf.value)
        return Q(pk__in=[]) if bound is None else Q(**{f"{name}__{bound[0]}": bound[1]})

    def _age(self, leaf: Leaf) -> Q:
        today = _today()
        field_name = f"{self.person}birth_date"
        out = Q(pk__in=[])
        ops = [("eq", v) for v in leaf.value] if leaf.operator == "in" else [
            ("eq" if leaf.operator == "ne" else leaf.operator, leaf.value)]  # fmt: skip
        for op, value in ops:
            bound = _int_bounds(op, value)
            if bound is None:
                continue
            kind, years = bound
            q = Q()
            if kind in ("lte", "exact"):  # age <= n: born after today - (n + 1) years
                q &= Q(**{f"{field_name}__gt": _years_before(today, years + 1)})
            if kind in ("gte", "exact"):  # age >= n: born on or before today - n years
                q &= Q(**{f"{field_name}__lte": _years_before(today, max(years, 0))})
            out |= q
        return out

    def _leaf(self, leaf: Leaf) -> Q:
        a = leaf.attribute
        values = self._values(leaf)
        if a == "desil":
            return self._integer("dci_desil", leaf)
        if a == "size":
            return self._integer("dci_size", leaf)
        if a == "age":
            return self._age(leaf)
        if a == "region":
            out = Q(pk__in=[])
            for code in values:
                out |= Q(**{f"{self.family}village_code": code}) | Q(
                    **{f"{self.family}village_code__startswith": code + "."}
                )
            return out
        if a == "program":
            scope = scope_for(self.actor, PROGRAM_VIEW)
            if scope.empty:
                raise ItemRejected(FILTER_INVALID, "this partner may not search by program")
            families = Membership.objects.filter(
                scope.q("family__village_code"), program__in=values, status=MembershipStatus.ACTIVE
            ).values("family_id")
            return Q(**{f"{self.family}pk__in": families}) if not self.group else Q(pk__in=families)
        if a == "kk":
            return Q(**{f"{self.family}kk_number__in": values})
        if a == "nik":
            hashes = [nik_hash(v) for v in values]
            if self.group:
                return Q(pk__in=person_qs(actor=self.actor).filter(nik_hash__in=hashes).values("family_id"))
            return Q(nik_hash__in=hashes)
        if a == "birth_date":
            op = {"eq": "exact", "ne": "exact", "lt": "lt", "le": "lte", "gt": "gt", "ge": "gte", "in": "in"}
            value = values if leaf.operator == "in" else leaf.value
            return Q(**{f"{self.person}birth_date__{op[leaf.operator]}": value})
        name = {"sex": "sex", "marital_status": "marital_status"}[a]
        return Q(**{f"{self.person}{name}__in": values})

    def annotate(self, qs: QuerySet[Any], sort_keys: set[str]) -> QuerySet[Any]:
        ref = "pk" if self.group else "family_id"
        if "dci_desil" in self.needs or "desil" in sort_keys:
            run_id = self.run.pk if self.run is not None else -1
            desil = RankingResult.objects.filter(run_id=run_id, family_id=OuterRef(ref)).values("desil")[:1]
            qs = qs.annotate(dci_desil=Subquery(desil, output_field=IntegerField()))
        if "dci_size" in self.needs or "size" in sort_keys:
            size = (
                person_qs(actor=self.actor)
                .filter(family_id=OuterRef(ref), status=c.RecordStatus.ACTIVE)
                .order_by()
                .values("family_id")
                .annotate(n=Count("pk"))
                .values("n")
            )
            qs = qs.annotate(dci_size=Coalesce(Subquery(size, output_field=IntegerField()), 0))
        return qs


def _order(entity: str, sort: list[tuple[str, bool]]) -> list[Any]:
    group = entity == GROUP
    fields = {
        "desil": "dci_desil",
        "size": "dci_size",
        "code": "family_code" if group else "person_code",
        "birth_date": "head__birth_date" if group else "birth_date",
        "age": "head__birth_date" if group else "birth_date",
        "region": "village_code" if group else "family__village_code",
        "registered": "created_at",
    }
    out: list[Any] = []
    for key, descending in sort:
        name = fields[key]
        desc = not descending if key == "age" else descending  # ascending age is descending birth date
        out.append(F(name).desc(nulls_last=True) if desc else F(name).asc(nulls_last=True))
    return [*out, "pk"]


def _latest_run() -> RankingRun | None:
    """The latest finished ranking run: national metadata (`ranking.selectors.run_latest` without its scope
    check, which the search's own scoped selector has already made); cached like the partners."""
    now = time.monotonic()
    if _run_cache and _run_cache[0][0] > now:
        return _run_cache[0][1]
    run = RankingRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk").first()
    _run_cache[:] = [(now + PARTNER_CACHE_SECONDS, run)]
    return run


# What a person record shows (dtsen.dci.records.person_record): the columns the NIK search reads; the other
# fields of the instances it returns are deferred.
PERSON_FIELDS = ("id", "family_id", "person_code", "nik_enc", "name", "sex", "birth_date", "marital_status",
                 "disability", "life_status", "death_date", "occupation", "relationship", "status", "created_at",
                 "updated_at")  # fmt: skip
FAMILY_FIELDS = ("id", "family_code", "address", "rt", "rw", "village_code", "status", "created_at", "updated_at")


@lru_cache(maxsize=16)
def _reader(model: type[models.Model], names: tuple[str, ...], vendor: str
            ) -> tuple[list[str], list[str], list[Any]]:  # fmt: skip
    """`names` in the model's field order (as `Model.from_db` expects them), their quoted columns and, per
    column, the converters the ORM would apply to a value read from this database (none on PostgreSQL for these
    fields; dates and booleans on SQLite)."""
    ordered, columns, converters = [], [], []
    for f in model._meta.concrete_fields:
        if f.attname not in names:
            continue
        col = f.get_col(model._meta.db_table)
        ordered.append(f.attname)
        columns.append(connection.ops.quote_name(f.column))
        converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    return ordered, columns, converters


def _instance(model: type[models.Model], names: list[str], converters: list[Any], values: Any, conn: Any) -> Any:
    row = list(values)
    for i, (col, funcs) in enumerate(converters):
        for func in funcs:
            row[i] = func(row[i], col, conn)
    return model.from_db(conn.alias, names, row)


def persons_by_nik(*, actor: Actor, scope: Scope, nik: str, run: RankingRun | None
                   ) -> tuple[list[Person], dict[int, int]]:  # fmt: skip
    """The active persons with this NIK in `scope` (the actor's registry.view scope, from `partner_keys`), each
    with its family, and the desil of those families in `run`: one statement (the sync search by NIK is the
    hot path of partners; `registry.selectors.person_find_by_nik` does the same in three). The instances hold
    `PERSON_FIELDS` and `FAMILY_FIELDS` (what a DCI record shows)."""
    if scope.empty:
        raise PermissionDenied("Anda tidak berwenang melakukan tindakan ini.", "You are not allowed to do this.")
    try:
        parsed = parse_nik(nik)
    except InvalidNik:
        return [], {}
    conn = connections[DEFAULT_DB_ALIAS]
    pnames, pcols, pconv = _reader(Person, PERSON_FIELDS, conn.vendor)
    fnames, fcols, fconv = _reader(Family, FAMILY_FIELDS, conn.vendor)
    where, params = [], [run.pk if run is not None else None, nik_hash(parsed.nik), c.RecordStatus.ACTIVE]
    if not scope.national:
        for code in scope.prefixes:
            where.append("f.village_code = %s OR f.village_code LIKE %s")
            params += [code, code + ".%"]
    sql = (  # table and column names from the models, every value a parameter
        f"SELECT {', '.join('p.' + col for col in pcols)}, {', '.join('f.' + col for col in fcols)}, r.desil"  # noqa: S608
        f" FROM {Person._meta.db_table} p JOIN {Family._meta.db_table} f ON f.id = p.family_id"
        f" LEFT JOIN {RankingResult._meta.db_table} r ON r.family_id = f.id AND r.run_id = %s"
        " WHERE p.nik_hash = %s AND p.status = %s"
        + (f" AND ({' OR '.join(where)})" if where else "")
        + " ORDER BY p.id"
    )
    persons, desil = [], {}
    for row in fetch_prepared(sql, params):
        person = _instance(Person, pnames, pconv, row[: len(pcols)], conn)
        person.family = _instance(Family, fnames, fconv, row[len(pcols) : len(pcols) + len(fcols)], conn)
        persons.append(person)
        if row[-1] is not None:
            desil[person.family_id] = row[-1]
    return persons, desil


def search(*, actor: Actor, criteria: Criteria, scope: Scope | None = None) -> SearchPage:
    """One page of what the criteria find among the records the actor may see (`scope`: the actor's
    registry.view scope when the caller has it, as `partner_keys` gives it)."""
    group = criteria.entity == GROUP
    page = SearchPage(entity=criteria.entity, total=0)
    offset = (criteria.page_number - 1) * criteria.page_size
    if criteria.id_type == "nik" and not group:
        run = _latest_run()
        persons, desil = persons_by_nik(actor=actor, scope=scope or require_scope(actor, REGISTRY_VIEW),
                                        nik=criteria.id_value, run=run)  # fmt: skip
        page.total = len(persons)
        page.persons = persons[offset : offset + criteria.page_size]
        if criteria.page_number > 1 and offset >= page.total:
            raise ItemRejected(PAGINATION_INVALID, f"page {criteria.page_number} is beyond the last page")
        page.run = run if page.persons else None
        page.desil = {p.family_id: desil[p.family_id] for p in page.persons if p.family_id in desil}
        return page
    else:
        qs: QuerySet[Any]  # the scoped selectors check the actor's scope first (PermissionDenied without one)
        if group:
            qs = family_qs(actor=actor).filter(status=c.RecordStatus.ACTIVE).select_related("head")
        else:
            qs = person_qs(actor=actor).filter(status=c.RecordStatus.ACTIVE).select_related("family")
        run = _latest_run()
        builder = _Builder(actor=actor, entity=criteria.entity, run=run)
        where = Q()
        if criteria.id_type:
            where = builder.q(Leaf(criteria.id_type, "eq", criteria.id_value))
        elif criteria.condition is not None:
            where = builder.q(criteria.condition)
        qs = builder.annotate(qs, {k for k, _ in criteria.sort}).filter(where)
        page.total = qs.count()
        rows = list(qs.order_by(*_order(criteria.entity, criteria.sort))[offset : offset + criteria.page_size])
        if group:
            page.families = rows
        else:
            page.persons = rows
    if criteria.page_number > 1 and offset >= page.total:
        raise ItemRejected(PAGINATION_INVALID, f"page {criteria.page_number} is beyond the last page")
    family_ids = [f.pk for f in page.families] or sorted({p.family_id for p in page.persons})
    if group and page.families:
        for person in person_qs(actor=actor).filter(family_id__in=family_ids, status=c.RecordStatus.ACTIVE):
            page.members.setdefault(person.family_id, []).append(person)
        order: dict[str, int] = {c.Relationship.HEAD: 0, c.Relationship.SPOUSE: 1}
        for members in page.members.values():
            members.sort(key=lambda p: (order.get(p.relationship, 2), p.birth_date, p.pk))
    page.run = run
    if run is not None and family_ids:
        page.desil = dict(
            RankingResult.objects.filter(run=run, family_id__in=family_ids).values_list("family_id", "desil")
        )
    return page
