"""Fixtures of the DCI tests: a registry key of our own (generated per test), two families in Kabupaten
Kulon Progo (34.01) and one in Bantul (34.02), a ranking run giving them a desil, a PKH membership, and
partners acting as a Dinsos verifier of Kulon Progo (with or without the right to see full NIKs).

`signed_post(client, path, envelope, key)` signs an envelope like a partner does and posts it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.contrib.auth import get_user_model
from django.utils import timezone

from dtsen.accounts.models import Role
from dtsen.accounts.services import role_assign, system_actor
from dtsen.dci.services import partner_register
from dtsen.dci.signing import private_pem, public_pem, sign
from dtsen.programs.models import Membership, MembershipStatus
from dtsen.ranking.models import RankingResult, RankingRun, RunStatus
from dtsen.registry import choices as c
from dtsen.registry.crypto import nik_decrypt
from dtsen.registry.models import Family, Person
from dtsen.registry.services import family_register
from tests.registry.factories import VILLAGE_A, VILLAGE_B, condition, household, person

VILLAGE_BANTUL = "34.02.01.2001"  # Poncosari, Srandakan, Bantul
REGISTRY_ID = "dtsen-test"
SYNC_SEARCH = "/dci/registry/sync/search"
SEARCH = "/dci/registry/search"
SYNC_STATUS = "/dci/registry/sync/txn/status"
STATUS = "/dci/registry/txn/status"


@pytest.fixture(autouse=True)
def _registry_key(settings, tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "dci_registry.pem"
    path.write_bytes(private_pem(key))
    settings.DCI_KEY_FILE = str(path)
    settings.DCI_REGISTRY_ID = REGISTRY_ID
    settings.DCI_KEY_ID = "reg1"
    return key


@pytest.fixture
def registry_public(_registry_key) -> str:
    return public_pem(_registry_key)


@dataclass
class PartnerClient:
    sender_id: str
    key_id: str
    key: ed25519.Ed25519PrivateKey
    partner: Any

    def envelope(self, message: dict[str, Any], *, action: str = "search", total: int | None = None,
                 **header: Any) -> dict[str, Any]:  # fmt: skip
        items = message.get("search_request")
        head = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": timezone.now().isoformat(),
            "action": action,
            "sender_id": self.sender_id,
            "receiver_id": REGISTRY_ID,
            "total_count": total if total is not None else (len(items) if isinstance(items, list) else 1),
            "is_msg_encrypted": False,
            **header,
        }
        return self.sign({"header": head, "message": message})

    def sign(self, envelope: dict[str, Any], *, key: Any = None, key_id: str = "") -> dict[str, Any]:
        envelope = dict(envelope)
        envelope["signature"] = sign(private_key=key or self.key, sender_id=self.sender_id,
                                     key_id=key_id or self.key_id, header=envelope["header"],
                                     message=envelope.get("message"))  # fmt: skip
        return envelope


def post(client, path: str, envelope: dict[str, Any]):
    return client.post(path, data=json.dumps(envelope), content_type="application/json")


def make_partner(sender_id: str, *, region: str = "34.01", role: str = Role.DINSOS_VERIFIER, nik: bool = False,
                 callback_url: str = "http://127.0.0.1:9/dci",
                 query_types: tuple[str, ...] = ("idtype-value", "expression", "predicate"),
                 ) -> PartnerClient:  # fmt: skip
    user = get_user_model().objects.create_user(f"dci-{sender_id}"[:150])
    role_assign(user=user, role=role, region_code=region, reason="uji / test")
    key = ed25519.Ed25519PrivateKey.generate()
    partner = partner_register(actor=system_actor(), sender_id=sender_id, name=f"Test {sender_id}", user=user,
                               callback_url=callback_url, query_types=list(query_types), may_see_nik=nik,
                               key_id="k1", public_key_pem=public_pem(key))  # fmt: skip
    return PartnerClient(sender_id, "k1", key, partner)


@pytest.fixture
def kulon_progo(db) -> PartnerClient:
    """A partner of Kulon Progo (34.01) that sees full NIKs."""
    return make_partner("siks.kulonprogo", nik=True)


@pytest.fixture
def masked_partner(db) -> PartnerClient:
    return make_partner("spmis.kulonprogo", nik=False)


@dataclass
class Registry:
    temon: Family  # desil 2, 3 members, PKH
    wates: Family  # desil 7, 1 member
    bantul: Family  # another kabupaten
    widow: Person  # a widowed woman of the Wates family... (see fixture)
    run: RankingRun


def nik(person_: Person) -> str:
    return nik_decrypt(person_.nik_enc)


def _run(families: dict[Family, int]) -> RankingRun:
    now = timezone.now()
    run = RankingRun.objects.create(
        period="2026-Q1", cutoff=dt.date(2026, 3, 17), frozen_at=now - dt.timedelta(days=1), engine="duckdb",
        model_id="test", model_sha256="0" * 64, model_artefact={}, status=RunStatus.FINISHED, finished_at=now,
    )  # fmt: skip
    for family, desil in families.items():
        RankingResult.objects.create(
            run=run, family=family, family_code=family.family_code, village_code=family.village_code,
            region_group="test", persons=1, score=0, predicted_pce=1, percentile=desil * 10 - 5, desil=desil,
        )  # fmt: skip
    return run


@pytest.fixture
def registry(db) -> Registry:
    actor = system_actor()
    head, others = household(serial0=31, kec="34.01.01")
    temon = family_register(actor=actor, channel=c.Channel.REGSOSEK, reason="Pendataan Regsosek 2022",
                            kk_number="3401012001250031", village_code=VILLAGE_A, head=head, members=others,
                            rt="002", rw="001", address="Dusun Kaligintung", condition=condition())  # fmt: skip
    widow = person("34.01.02", dt.date(1950, 8, 17), "P", 41, "Sri Rahayu", c.Relationship.HEAD,
                   marital_status=c.MaritalStatus.WIDOWED)  # fmt: skip
    wates = family_register(actor=actor, channel=c.Channel.REGSOSEK, reason="Pendataan Regsosek 2022",
                            kk_number="3401022001250041", village_code=VILLAGE_B, head=widow,
                            condition=condition())  # fmt: skip
    head_b, others_b = household(serial0=51, kec="34.02.01")
    bantul = family_register(actor=actor, channel=c.Channel.REGSOSEK, reason="Pendataan Regsosek 2022",
                             kk_number="3402012001250051", village_code=VILLAGE_BANTUL, head=head_b, members=others_b,
                             condition=condition())  # fmt: skip
    run = _run({temon: 2, wates: 7, bantul: 1})
    Membership.objects.create(family=temon, program="pkh", status=MembershipStatus.ACTIVE, since=dt.date(2025, 1, 1))
    return Registry(temon, wates, bantul, Person.objects.get(family=wates), run)


def id_search(value: str, *, id_type: str = "NIK", entity: str | None = None, reference_id: str = "ref-1",
              page: dict[str, int] | None = None) -> dict[str, Any]:  # fmt: skip
    criteria: dict[str, Any] = {"version": "1.0.0", "reg_event_type": "REGISTER", "query_type": "idtype-value",
                                "query": {"type": id_type, "value": value}}  # fmt: skip
    if entity:
        criteria["response_entity"] = entity
    if page:
        criteria["pagination"] = page
    return {"transaction_id": "txn-1", "search_request": [
        {"reference_id": reference_id, "timestamp": timezone.now().isoformat(), "search_criteria": criteria}]}
