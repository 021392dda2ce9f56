from __future__ import annotations

from sqlalchemy import select, update
from starlette.testclient import TestClient

from servicehub.core.models import Customer, Message
from servicehub.core.runtime import Runtime
from tests.factories import World
from tests.workbench.conftest import hear, login


def _customer_of(runtime: Runtime, request_id: int) -> int:
    with runtime.sessions() as s:
        customer_id = s.scalars(select(Message.customer_id).where(Message.request_id == request_id)).first()
        assert customer_id is not None
        s.execute(update(Customer).where(Customer.id == customer_id).values(phone="13812345678"))
        s.commit()
        return customer_id


def test_history_spans_accounts_in_scope_and_phone_is_masked_for_partners(
    client: TestClient, world: World, sqlite_runtime: Runtime
) -> None:
    first = hear(
        sqlite_runtime, world.inhouse_account_id, "4900000000000001", "总部这边：宽带断了", author_uid="777"
    )
    hear(sqlite_runtime, world.partner_account_id, "4900000000000002", "上海这边：信号也差", author_uid="777")
    customer_id = _customer_of(sqlite_runtime, first)

    login(client, "manager")  # all accounts, may see phone numbers
    page = client.get(f"/customers/{customer_id}")
    assert page.status_code == 200
    assert "总部这边：宽带断了" in page.text and "上海这边：信号也差" in page.text
    assert "13812345678" in page.text

    client.cookies.clear()
    login(client, "lina")  # partner: only its company's account, phone masked
    page = client.get(f"/customers/{customer_id}")
    assert page.status_code == 200
    assert "上海这边：信号也差" in page.text and "总部这边：宽带断了" not in page.text
    assert "13812345678" not in page.text and "138****5678" in page.text

    client.cookies.clear()
    login(client, "zhaolei")  # another company: the customer does not exist for them
    assert client.get(f"/customers/{customer_id}").status_code == 404
