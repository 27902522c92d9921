"""The DCI endpoints: envelope and signature checks with the standard's codes, identifier and expression
searches within the partner's region, NIK masking, pagination, replay refusal, key rotation, auditing."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from dtsen.accounts.models import Role
from dtsen.accounts.services import system_actor
from dtsen.audit.models import AuditRecord
from dtsen.dci import spec
from dtsen.dci.services import partner_deactivate, partner_key_add, partner_key_revoke
from dtsen.dci.signing import public_pem, sign, signature_parse, signature_verify
from dtsen.registry.crypto import nik_mask
from tests.dci.conftest import SYNC_SEARCH, id_search, make_partner, nik, post

pytestmark = pytest.mark.django_db


def _items(response):
    body = response.json()
    assert spec.errors(spec.SYNC_SEARCH_RESPONSE, body) == []
    return body["message"]["search_response"]


def _transport_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert code in spec.enumeration("Error")
    assert body["errors"][0]["code"] == code
    assert body["message"]["ack_status"] == "ERR"
    assert body["message"]["error"]["code"] == code
    assert spec.errors(spec.HTTP_ERROR, body) == []
    assert spec.errors(spec.ACK, body) == []


# ------------------------------------------------------------------------------------------ envelope


def test_search_by_nik_returns_the_person_signed_by_the_registry(client, registry, kulon_progo, registry_public):
    head = registry.temon.head
    response = post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(head))))
    assert response.status_code == 200
    body = response.json()
    [item] = _items(response)
    assert item["status"] == "succ"
    assert item["pagination"]["total_count"] == 1
    [record] = item["data"]["reg_records"]
    assert record["identifier"][0] == {"@type": "Identifier", "identifier_type": "NIK", "identifier_value": nik(head)}
    assert record["household_identifier"] == registry.temon.family_code
    assert record["poverty_score"] == 2
    parsed = signature_parse(body["signature"])
    assert parsed.sender_id == "dtsen-test"
    assert parsed.key_id == "reg1"
    signature_verify(parsed, public_pem=registry_public, header=body["header"], message=body["message"])


def test_unknown_partner_is_refused(client, registry, kulon_progo):
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    envelope["header"]["sender_id"] = "stranger.example.org"
    _transport_error(post(client, SYNC_SEARCH, kulon_progo.sign(envelope)), 401, "err.sender_id.invalid")


def test_deactivated_partner_is_refused(client, registry, kulon_progo):
    partner_deactivate(actor=system_actor(), partner=kulon_progo.partner, reason="kontrak selesai")
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    _transport_error(post(client, SYNC_SEARCH, envelope), 401, "err.sender_id.invalid")


def test_bad_signature_is_refused(client, registry, kulon_progo):
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    envelope["message"]["search_request"][0]["search_criteria"]["query"]["value"] = nik(registry.wates.head)
    _transport_error(post(client, SYNC_SEARCH, envelope), 401, "err.signature.invalid")


def test_signature_by_another_key_is_refused(client, registry, kulon_progo):
    other = ed25519.Ed25519PrivateKey.generate()
    envelope = kulon_progo.sign(kulon_progo.envelope(id_search(nik(registry.temon.head))), key=other)
    _transport_error(post(client, SYNC_SEARCH, envelope), 401, "err.signature.invalid")


def test_missing_signature_is_refused(client, registry, kulon_progo):
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    del envelope["signature"]
    _transport_error(post(client, SYNC_SEARCH, envelope), 401, "err.signature.missing")


def test_expired_signature_is_refused(client, registry, kulon_progo):
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    envelope["signature"] = sign(private_key=kulon_progo.key, sender_id=kulon_progo.sender_id, key_id="k1",
                                 header=envelope["header"], message=envelope["message"],
                                 created=int(time.time()) - 4000, lifetime=600)  # fmt: skip
    _transport_error(post(client, SYNC_SEARCH, envelope), 401, "err.signature.invalid")


def test_wrong_receiver_and_not_json_are_refused(client, registry, kulon_progo):
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)), receiver_id="another-registry")
    _transport_error(post(client, SYNC_SEARCH, envelope), 400, "err.receiver_id.invalid")
    response = client.post(SYNC_SEARCH, data="{not json", content_type="application/json")
    _transport_error(response, 400, "err.request.bad")


def test_replayed_message_id_is_refused(client, registry, kulon_progo):
    envelope = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    assert _items(post(client, SYNC_SEARCH, envelope))[0]["status"] == "succ"
    again = post(client, SYNC_SEARCH, envelope).json()
    assert again["header"]["status"] == "rjct"
    assert again["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    assert "rjct.message_id.duplicate" in spec.enumeration("MsgHeaderStatusReasonCode")
    assert "message" not in again
    assert spec.errors(spec.SYNC_SEARCH_RESPONSE, again) == []


def test_header_errors_get_header_reason_codes(client, registry, kulon_progo):
    bad_count = kulon_progo.envelope(id_search(nik(registry.temon.head)), total=3)
    assert post(client, SYNC_SEARCH, bad_count).json()["header"]["status_reason_code"] == "rjct.total_count.invalid"
    bad_action = kulon_progo.envelope(id_search(nik(registry.temon.head)), action="subscribe")
    assert post(client, SYNC_SEARCH, bad_action).json()["header"]["status_reason_code"] == "rjct.action.invalid"


def test_key_rotation(client, registry, kulon_progo):
    new_key = ed25519.Ed25519PrivateKey.generate()
    partner_key_add(actor=system_actor(), partner=kulon_progo.partner, key_id="k2", public_key_pem=public_pem(new_key))
    with_new = kulon_progo.sign(kulon_progo.envelope(id_search(nik(registry.temon.head))), key=new_key, key_id="k2")
    assert post(client, SYNC_SEARCH, with_new).status_code == 200
    partner_key_revoke(actor=system_actor(), partner=kulon_progo.partner, key_id="k1")
    with_old = kulon_progo.envelope(id_search(nik(registry.temon.head)))
    _transport_error(post(client, SYNC_SEARCH, with_old), 401, "err.signature.invalid")


# ------------------------------------------------------------------------------------------ item codes


@pytest.mark.parametrize("criteria", [
    {"query_type": "graphql", "query": {"type": "NIK", "value": "3401011205800031"}},
    {"query_type": "idtype-value", "query": {"type": "PASSPORT", "value": "A1234567"}},
    {"query_type": "idtype-value", "reg_event_type": "DEATH", "query": {"type": "NIK", "value": "3401011205800031"}},
])  # fmt: skip
def test_unsupported_query_type_is_rejected(client, registry, kulon_progo, criteria):
    message = id_search("3401011205800031")
    message["search_request"][0]["search_criteria"] = criteria
    [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(message)))
    assert item["status"] == "rjct"
    assert item["status_reason_code"] == "rjct.search_criteria.invalid"
    assert item["status_reason_code"] in spec.enumeration("SearchStatusReasonCode")


def test_query_type_not_allowed_for_the_partner_is_rejected(client, registry):
    partner = make_partner("nik-only", query_types=("idtype-value",))
    message = id_search("x")
    message["search_request"][0]["search_criteria"] = {
        "query_type": "predicate",
        "query": [{"expression1": {"attribute_name": "poverty_score", "operator": "le", "attribute_value": 3}}]}
    [item] = _items(post(client, SYNC_SEARCH, partner.envelope(message)))
    assert item["status_reason_code"] == "rjct.search_criteria.invalid"


def _expression(query, *, entity="Group", page=None, sort=None):
    criteria = {"query_type": "expression", "response_entity": entity,
                "query": {"type": "ns:org:QueryType:NoSql", "value": {"expression": {"collection": "Group",
                                                                                  "query": query}}}}  # fmt: skip
    if page:
        criteria["pagination"] = page
    if sort:
        criteria["sort"] = sort
    message = id_search("x")
    message["search_request"][0]["search_criteria"] = criteria
    return message


def test_page_beyond_the_end_is_rejected(client, registry, kulon_progo):
    query = {"region_code": {"$eq": "34.01"}}
    first = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(_expression(query, page={"page_size": 1}))))[0]
    assert first["status"] == "succ"
    assert first["pagination"]["total_count"] == 2
    second = _expression(query, page={"page_size": 1, "page_number": 2})
    assert len(_items(post(client, SYNC_SEARCH, kulon_progo.envelope(second)))[0]["data"]["reg_records"]) == 1
    beyond = _expression(query, page={"page_size": 1, "page_number": 3})
    [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(beyond)))
    assert item["status"] == "rjct"
    assert item["status_reason_code"] == "rjct.pagination.invalid"


def test_unknown_filter_and_sort_are_rejected(client, registry, kulon_progo):
    [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(_expression({"income": {"$lt": 5}}))))
    assert item["status_reason_code"] == "rjct.filter.invalid"
    message = _expression({"desil": {"$lt": 5}}, sort=[{"attribute_name": "name", "sort_order": "asc"}])
    [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(message)))
    assert item["status_reason_code"] == "rjct.sort.invalid"


# ------------------------------------------------------------------------------------------ searching


def test_expression_desil_range_region_and_program(client, registry, kulon_progo):
    def codes(query, **kw):
        [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(_expression(query, **kw))))
        assert item["status"] == "succ", item
        return [r["@id"].rsplit(":", 1)[1] for r in item["data"]["reg_records"]]

    temon, wates = registry.temon.family_code, registry.wates.family_code
    assert codes({"$and": [{"desil": {"$gte": 1}}, {"desil": {"$lte": 3}}]}) == [temon]
    assert codes({"desil": {"$in": [7, 8]}}) == [wates]
    assert codes({"region_code": {"$eq": "34.01.02"}}) == [wates]
    assert codes({"program": {"$eq": "PKH"}}) == [temon]
    assert codes({"$or": [{"desil": {"$eq": 7}}, {"program": {"$eq": "pkh"}}]},
                 sort=[{"attribute_name": "poverty_score", "sort_order": "desc"}]) == [wates, temon]
    assert codes({"group_size": {"$gt": 2}}) == [temon]


def test_search_by_kk_returns_the_family(client, registry, kulon_progo):
    [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(registry.temon.kk_number, id_type="KK"))))
    [record] = item["data"]["reg_records"]
    assert record["@type"] == "Group"
    assert record["group_size"] == 3
    assert record["group_identifier"][0]["identifier_value"] == registry.temon.kk_number
    assert record["group_head_info"]["demographic_info"]["name"]["given_name"] == registry.temon.head.name


def test_a_nik_of_another_kabupaten_is_not_found(client, registry, kulon_progo):
    """The Kulon Progo partner cannot find a Bantul person (an empty result, like a NIK that does not exist)."""
    bantul_nik = nik(registry.bantul.head)
    [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(bantul_nik))))
    assert item["status"] == "succ"
    assert item["data"]["reg_records"] == []
    assert item["pagination"]["total_count"] == 0
    [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(registry.bantul.kk_number, id_type="KK"))))
    assert item["data"]["reg_records"] == []
    [item] = _items(post(client, SYNC_SEARCH, kulon_progo.envelope(_expression({"region_code": {"$eq": "34.02"}}))))
    assert item["data"]["reg_records"] == []
    national = make_partner("pusdatin", region="", role=Role.PUSDATIN)
    [item] = _items(post(client, SYNC_SEARCH, national.envelope(id_search(bantul_nik))))
    assert len(item["data"]["reg_records"]) == 1


def test_nik_is_masked_for_partners_without_the_permission(client, registry, masked_partner):
    head = registry.temon.head
    [item] = _items(post(client, SYNC_SEARCH, masked_partner.envelope(id_search(nik(head), entity="Group"))))
    [record] = item["data"]["reg_records"]
    niks = [m["demographic_info"]["identifier"][0]["identifier_value"] for m in record["member_list"]]
    assert nik_mask(nik(head)) in niks
    assert nik(head) not in niks
    assert record["group_identifier"][0]["identifier_value"] == nik_mask(registry.temon.kk_number)


def test_every_request_is_audited_without_the_full_nik(client, registry, kulon_progo):
    head = registry.temon.head
    post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(head))))
    record = AuditRecord.objects.filter(action="dci.sync_search").latest("seq")
    assert record.actor_id == kulon_progo.partner.user_id
    assert record.channel == "dci"
    assert record.after["sender_id"] == kulon_progo.sender_id
    assert record.after["items"] == [{"reference_id": "ref-1", "status": "succ", "count": 1, "total": 1}]
    assert record.after["query_types"] == ["idtype-value"]
    assert f",{head.pk}," in record.persons
    assert nik(head) not in str(record.after)
    assert record.after["identifiers"] == [nik_mask(nik(head))]
    envelope = kulon_progo.envelope(id_search(nik(head)))
    envelope["header"]["sender_id"] = "stranger"
    post(client, SYNC_SEARCH, envelope)
    refused = AuditRecord.objects.filter(action="dci.search").latest("seq")
    assert refused.after["outcome"] == "err.sender_id.invalid"
    assert refused.after["sender_id"] == "stranger"


def test_a_partner_over_the_rate_limit_gets_429_and_nothing_is_searched(client, registry, kulon_progo, settings,
                                                                        monkeypatch):
    from types import SimpleNamespace

    from django.core.cache import cache

    from dtsen.audit.models import AuditRecord
    from dtsen.core import ratelimits

    monkeypatch.setattr(ratelimits, "time", SimpleNamespace(time=lambda: 1_900_000_000))
    cache.clear()
    settings.RATE_LIMITS = {"dci": "2/m"}
    for _ in range(2):
        assert post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.temon.head)))).status_code == 200
    before = AuditRecord.objects.count()
    response = post(client, SYNC_SEARCH, kulon_progo.envelope(id_search(nik(registry.temon.head))))
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many requests" in response.json()["message"]
    assert AuditRecord.objects.count() == before  # refused before the message was read
