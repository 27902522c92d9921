"""Async search: ACK at once, the result POSTed to the partner's /registry/on-search by `dtsen dci deliver`
(a local HTTP server plays the partner), transaction status, retries with backoff, and the CLI."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from dtsen.dci import spec
from dtsen.dci.models import DeliveryStatus, Partner, Transaction
from dtsen.dci.services import MAX_ATTEMPTS, transactions_deliver_due
from dtsen.dci.signing import private_pem, public_pem, signature_parse, signature_verify
from tests.dci.conftest import SEARCH, STATUS, SYNC_STATUS, id_search, make_partner, nik, post

pytestmark = pytest.mark.django_db


class Callback:
    """A partner's callback server on 127.0.0.1 that records what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"message": {"ack_status": "ACK"}}')

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/dci"


@pytest.fixture
def callback():
    server = Callback()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _status_request(partner, txn_id: str, *, action: str = "txn-status"):
    message = {"transaction_id": "status-1", "txnstatus_request": {
        "reference_id": "s-1", "txn_type": "search", "attribute_type": "transaction_id", "attribute_value": txn_id}}
    return partner.envelope(message, action=action, total=1)


def test_async_search_is_delivered_to_the_callback(client, registry, callback, registry_public):
    partner = make_partner("pip.async", nik=True, callback_url=callback.url)
    response = post(client, SEARCH, partner.envelope(id_search(nik(registry.temon.head))))
    assert response.status_code == 202
    ack = response.json()
    assert spec.errors(spec.ACK, ack) == []
    assert ack["message"]["ack_status"] == "ACK"
    txn = Transaction.objects.get(correlation_id=ack["message"]["correlation_id"])
    assert txn.delivery_status == DeliveryStatus.PENDING
    assert nik(registry.temon.head) not in txn.request_enc

    status = post(client, SYNC_STATUS, _status_request(partner, "txn-1")).json()
    assert spec.errors(spec.SYNC_STATUS_RESPONSE, status) == []
    assert status["message"]["txnstatus_response"]["txn_status"]["search_response"][0]["status"] == "pdng"

    assert transactions_deliver_due() == (1, 0)

    [(path, body)] = callback.received
    assert path == "/dci/registry/on-search"
    assert spec.errors(spec.ON_SEARCH, body) == []
    signature_verify(signature_parse(body["signature"]), public_pem=registry_public, header=body["header"],
                     message=body["message"])  # fmt: skip
    assert body["message"]["correlation_id"] == txn.correlation_id
    [record] = body["message"]["search_response"][0]["data"]["reg_records"]
    assert record["identifier"][0]["identifier_value"] == nik(registry.temon.head)
    txn.refresh_from_db()
    assert txn.delivery_status == DeliveryStatus.DELIVERED
    assert txn.status == "succ"
    assert txn.request_enc == ""

    status = post(client, SYNC_STATUS, _status_request(partner, "txn-1")).json()
    [item] = status["message"]["txnstatus_response"]["txn_status"]["search_response"]
    assert item["status"] == "succ"
    assert item["reference_id"] == "ref-1"
    assert item["pagination"]["total_count"] == 1
    assert "data" not in item  # the status never repeats the records


def test_async_txn_status_goes_to_the_on_status_callback(client, registry, callback):
    partner = make_partner("pip.status", callback_url=callback.url)
    post(client, SEARCH, partner.envelope(id_search(nik(registry.temon.head))))
    response = post(client, STATUS, _status_request(partner, "txn-1"))
    assert response.status_code == 202
    assert response.json()["message"]["ack_status"] == "ACK"
    assert transactions_deliver_due() == (2, 0)
    paths = [p for p, _ in callback.received]
    assert paths == ["/dci/registry/on-search", "/dci/registry/txn/on-status"]
    body = callback.received[1][1]
    assert spec.errors(spec.ON_STATUS, body) == []
    assert body["message"]["txnstatus_response"]["txn_status"]["search_response"][0]["status"] == "succ"


def test_another_partners_transaction_is_not_reported(client, registry, callback):
    owner = make_partner("owner", callback_url=callback.url)
    other = make_partner("other", callback_url=callback.url)
    post(client, SEARCH, owner.envelope(id_search(nik(registry.temon.head))))
    status = post(client, SYNC_STATUS, _status_request(other, "txn-1")).json()
    assert status["message"]["txnstatus_response"]["txn_status"]["search_response"] == []


def test_failed_delivery_is_retried_with_backoff_then_given_up(client, registry):
    partner = make_partner("unreachable", callback_url="http://127.0.0.1:9/dci")  # discard port: refused
    post(client, SEARCH, partner.envelope(id_search(nik(registry.temon.head))))
    assert transactions_deliver_due() == (0, 1)
    txn = Transaction.objects.get(partner=partner.partner)
    assert txn.attempts == 1
    assert txn.delivery_status == DeliveryStatus.PENDING
    assert txn.last_error
    assert 25 <= (txn.next_attempt_at - timezone.now()).total_seconds() <= 31
    assert transactions_deliver_due() == (0, 0)  # not due yet
    for _ in range(MAX_ATTEMPTS - 1):
        Transaction.objects.filter(pk=txn.pk).update(next_attempt_at=timezone.now())
        transactions_deliver_due()
    txn.refresh_from_db()
    assert txn.attempts == MAX_ATTEMPTS
    assert txn.delivery_status == DeliveryStatus.FAILED
    assert txn.request_enc == ""


def test_async_search_without_callback_is_refused(client, registry):
    partner = make_partner("no.callback", callback_url="")
    response = post(client, SEARCH, partner.envelope(id_search(nik(registry.temon.head))))
    assert response.status_code == 400
    body = response.json()
    assert body["header"]["status_reason_code"] == "rjct.action.not_supported"
    assert body["message"]["ack_status"] == "ERR"
    assert spec.errors(spec.ACK, body) == []


def test_cli_partner_add_list_deactivate(tmp_path, db):
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("pip-client")
    key = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "k1.pem").write_text(public_pem(key))
    call_command("dci", "partner", "add", "--sender-id", "pip.kemdikdasmen", "--name", "PIP", "--user", "pip-client",
                 "--key-id", "k1", "--public-key", str(tmp_path / "k1.pem"), "--query-type", "idtype-value",
                 "--callback-url", "https://pip.example/dci", stdout=StringIO())  # fmt: skip
    out = StringIO()
    call_command("dci", "partner", "list", stdout=out)
    listed = json.loads(out.getvalue())
    assert listed["sender_id"] == "pip.kemdikdasmen"
    assert listed["keys"][0]["algorithm"] == "ed25519"
    assert listed["may_see_nik"] is False
    assert listed["query_types"] == ["idtype-value"]
    call_command("dci", "partner", "deactivate", "pip.kemdikdasmen", "--reason", "selesai", stdout=StringIO())
    assert Partner.objects.get(sender_id="pip.kemdikdasmen").active is False
    (tmp_path / "k.pem").write_bytes(private_pem(key))
    out = StringIO()
    call_command("dci", "key", stdout=out)
    assert "registry_id: dtsen-test" in out.getvalue()
    assert "BEGIN PUBLIC KEY" in out.getvalue()
